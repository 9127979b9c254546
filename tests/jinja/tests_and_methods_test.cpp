// `is` tests, and the Python methods of str / list / dict that templates call.
#include "render_helper.h"

namespace tessera::jinja::test {
namespace {

// "1" when `value is <test>` holds, "0" otherwise, for each value of a list.
std::string test_row(const std::string& test) {
  return render(
      "{% for v in [none, true, 0, 1.5, 'ab', 'AB', [1], {'k': 1}, (1,)] %}"
      "{{ (v is " +
      test + ")|int }}{% endfor %}");
}

TEST(Tests, TypeTests) {
  //                                   none bool 0 1.5 'ab' 'AB' [1] {} ()
  EXPECT_EQ(test_row("none"), "100000000");
  EXPECT_EQ(test_row("boolean"), "010000000");
  EXPECT_EQ(test_row("integer"), "001000000");
  EXPECT_EQ(test_row("float"), "000100000");
  EXPECT_EQ(test_row("number"), "011100000");
  EXPECT_EQ(test_row("string"), "000011000");
  EXPECT_EQ(test_row("mapping"), "000000010");
  EXPECT_EQ(test_row("iterable"), "000011111");
  EXPECT_EQ(test_row("sequence"), "000011111");
  EXPECT_EQ(test_row("lower"), "000010010");  // str(value).islower(), as Jinja2
  EXPECT_EQ(test_row("upper"), "000001000");
  EXPECT_EQ(test_row("true"), "010000000");
  EXPECT_EQ(test_row("false"), "000000000");
  EXPECT_EQ(test_row("defined"), "111111111");
  EXPECT_EQ(test_row("callable"), "000000000");
}

TEST(Tests, DefinedAndUndefined) {
  EXPECT_EQ(
      render("{{ x is defined }} {{ x is undefined }} {{ x is not defined }} {{ x is iterable }}"),
      "False True True True");
  EXPECT_EQ(render("{{ range is callable }} {{ ''.upper is callable }} {{ false is false }}"),
            "True True True");
}

TEST(Tests, NumberTestsAndComparisons) {
  EXPECT_EQ(
      render("{{ 3 is odd }} {{ 4 is even }} {{ 9 is divisibleby 3 }} {{ 9 is divisibleby(4) }}"),
      "True True True False");
  EXPECT_EQ(render("{{ 2 is eq 2 }} {{ 2 is equalto 3 }} {{ 2 is ne 3 }} {{ 2 is lt 3 }} "
                   "{{ 2 is le 2 }} {{ 2 is gt 1 }} {{ 2 is ge 3 }} {{ 2 is greaterthan 1 }} "
                   "{{ 2 is lessthan 1 }} {{ [1, 2]|select('==', 2)|list }}"),
            "True False True True True True False True False [2]");
  EXPECT_EQ(render("{{ 2 is in [1, 2] }} {{ 'a' is in 'xyz' }} {{ none is sameas none }} "
                   "{{ [] is sameas [] }}"),
            "True False True False");
  EXPECT_EQ(render("{{ 'upper' is filter }} {{ 'nope' is filter }} {{ 'odd' is test }}"),
            "True False True");
}

TEST(Tests, BindTighterThanLogic) {
  EXPECT_EQ(
      render("{{ x is defined and x }}|{{ not x is defined }}|{{ 'a' if x is none else 'b' }}",
             {{"x", nullptr}}),
      "None|False|a");
}

TEST(Tests, UnknownTestIsAParseError) {
  const Error e = render_error("{% if x is frobnicated %}{% endif %}");
  EXPECT_EQ(e.code, ErrorCode::malformed);
  EXPECT_EQ(e.message, "t:1:12: no test named 'frobnicated'");
}

TEST(StrMethods, SplitAndStrip) {
  EXPECT_EQ(render("{{ 'a,b,,c'.split(',') }} {{ '  a  b '.split() }} {{ 'a,b,c'.split(',', 1) }} "
                   "{{ 'a,b,c'.rsplit(',', 1) }} {{ ' a b c '.rsplit(None, 1) }}"),
            "['a', 'b', '', 'c'] ['a', 'b'] ['a', 'b,c'] ['a,b', 'c'] [' a b', 'c']");
  EXPECT_EQ(render("[{{ '  x  '.strip() }}][{{ '  x  '.lstrip() }}][{{ '  x  '.rstrip() }}]"
                   "[{{ '\\n\\nx\\n'.lstrip('\\n') }}][{{ 'xyaxy'.strip('yx') }}]"),
            "[x][x  ][  x][x\n][a]");
  EXPECT_EQ(render("{{ 'a\\nb\\r\\nc'.splitlines() }}"), "['a', 'b', 'c']");
  EXPECT_NE(render("{{ 'a'.split('') }}").find("empty separator"), std::string::npos);
}

TEST(StrMethods, SearchAndTest) {
  EXPECT_EQ(
      render("{{ 'hello'.startswith('he') }} {{ 'hello'.endswith(('x', 'lo')) }} "
             "{{ 'hello'.find('l') }} {{ 'hello'.rfind('l') }} {{ 'hello'.find('z') }} "
             "{{ 'hello'.count('l') }} {{ 'h\u00e9llo'.find('l') }} {{ 'hello'.index('e') }}"),
      "True True 2 3 -1 2 2 1");
  EXPECT_EQ(
      render("{{ '123'.isdigit() }} {{ 'ab'.isalpha() }} {{ ' \\t'.isspace() }} "
             "{{ 'a1'.isalnum() }} {{ 'ab'.islower() }} {{ 'AB'.isupper() }} {{ ''.isdigit() }}"),
      "True True True True True True False");
}

TEST(StrMethods, TransformAndFormat) {
  EXPECT_EQ(render("{{ 'a-b'.replace('-', '+') }} {{ 'ab'.upper() }} {{ 'AB'.lower() }} "
                   "{{ 'hello world'.title() }} {{ 'hELLO'.capitalize() }} {{ 'aB'.swapcase() }}"),
            "a+b AB ab Hello World Hello Ab");
  EXPECT_EQ(
      render("{{ ', '.join(['a', 'b']) }} {{ 'x'.ljust(3, '.') }}|{{ 'x'.rjust(3) }}|"
             "{{ '7'.zfill(3) }} {{ 'a=b'.partition('=') }} {{ 'pre_x'.removeprefix('pre_') }}"),
      "a, b x..|  x|007 ('a', '=', 'b') x");
  EXPECT_EQ(
      render(
          "{{ '{} and {}'.format(1, 'b') }} {{ '{0}{0}'.format('x') }} {{ '{n:>4}'.format(n=7) }} "
          "{{ '{:.2f}'.format(3.14159) }} {{ '{{}}'.format() }}"),
      "1 and b xx    7 3.14 {}");
}

TEST(DictAndListMethods, ReadOnlyMethodsWork) {
  const ordered_json vars = {{"d", {{"a", 1}, {"b", 2}}}, {"l", {1, 2, 2}}};
  EXPECT_EQ(render("{{ d.get('a') }} {{ d.get('z') }} {{ d.get('z', 0) }} {{ d.keys()|list }} "
                   "{{ d.values()|list }} {{ d.items()|list }}",
                   vars),
            "1 None 0 ['a', 'b'] [1, 2] [('a', 1), ('b', 2)]");
  EXPECT_EQ(render("{{ d.keys() }} {{ l.index(2) }} {{ l.count(2) }}", vars),
            "dict_keys(['a', 'b']) 1 2");
}

TEST(DictAndListMethods, MutatingMethodsAreRefusedLikeTheSandbox) {
  const ordered_json vars = {{"d", {{"a", 1}}}, {"l", {1}}};
  EXPECT_NE(render("{{ l.append(2) }}", vars)
                .find("access to attribute 'append' of 'list' object is unsafe"),
            std::string::npos);
  EXPECT_NE(render("{{ d.update({'b': 2}) }}", vars).find("unsafe"), std::string::npos);
  EXPECT_NE(render("{{ d.pop('a') }}", vars).find("unsafe"), std::string::npos);
}

}  // namespace
}  // namespace tessera::jinja::test
