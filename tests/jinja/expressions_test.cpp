// Expressions: literals, operators with Python semantics, printing values like Python's
// str(), attribute / item access, slicing, calls.
#include "render_helper.h"

namespace tessera::jinja::test {
namespace {

TEST(Literals, PrintLikePythonStr) {
  EXPECT_EQ(render("{{ 1 }} {{ -3 }} {{ 1_000 }} {{ 0x1F }} {{ 0o17 }} {{ 0b101 }}"),
            "1 -3 1000 31 15 5");
  EXPECT_EQ(render("{{ 1.0 }} {{ 0.1 }} {{ 1e-5 }} {{ 1e16 }} {{ 2.5e3 }} {{ 1e400 }}"),
            "1.0 0.1 1e-05 1e+16 2500.0 inf");
  EXPECT_EQ(render("{{ true }} {{ True }} {{ false }} {{ none }} {{ None }}"),
            "True True False None None");
  EXPECT_EQ(render("{{ [1, 'a', none, true, 2.5] }}"), "[1, 'a', None, True, 2.5]");
  EXPECT_EQ(render("{{ (1,) }} {{ (1, 2) }} {{ () }}"), "(1,) (1, 2) ()");
  EXPECT_EQ(render("{{ {'a': 1, 'b': [2]} }} {{ {} }}"), "{'a': 1, 'b': [2]} {}");
  EXPECT_EQ(render("{{ {} }}"), "{}");
}

TEST(Literals, StringEscapesFollowPython) {
  EXPECT_EQ(render(R"({{ 'a\tb\\c\'d' }})"), "a\tb\\c'd");
  EXPECT_EQ(render(R"({{ "line\nbreak" }})"), "line\nbreak");
  EXPECT_EQ(render(R"({{ '\x41\u00e9\U0001F680\101' }})"), "A\u00e9\U0001F680A");
  EXPECT_EQ(render(R"({{ '\q' }})"), "\\q");        // unknown escapes stay
  EXPECT_EQ(render("{{ 'a' 'b' \"c\" }}"), "abc");  // adjacent literals join
}

TEST(Literals, ReprQuotesLikePython) {
  EXPECT_EQ(render(R"({{ ["it's", 'say "hi"', 'both \' "', 'a\nb', '\x01'] }})"),
            R"(["it's", 'say "hi"', 'both \' "', 'a\nb', '\x01'])");
  EXPECT_EQ(render("{{ ['\u00e9\u4e2d'] }}"), "['\u00e9\u4e2d']");
}

TEST(Arithmetic, FollowsPython) {
  EXPECT_EQ(render("{{ 1 + 2 }} {{ 1 + 2.0 }} {{ 7 - 10 }} {{ 3 * 4 }} {{ 7 / 2 }} {{ 6 / 3 }}"),
            "3 3.0 -3 12 3.5 2.0");
  EXPECT_EQ(render("{{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ -7 % 3 }} {{ 7 % -3 }}"),
            "3 -4 1 2 -2");
  EXPECT_EQ(render("{{ 7.5 // 2 }} {{ -7.5 % 2 }}"), "3.0 0.5");
  EXPECT_EQ(render("{{ 2 ** 10 }} {{ 2 ** -1 }} {{ 2 ** 3 ** 2 }}"), "1024 0.5 64");
  EXPECT_EQ(render("{{ true + 1 }} {{ -(3) }} {{ +3 }} {{ - - 3 }}"), "2 -3 3 3");
  EXPECT_EQ(render("{{ 0.1 + 0.2 }}"), "0.30000000000000004");
}

TEST(Arithmetic, SequencesAddAndRepeat) {
  EXPECT_EQ(render("{{ 'ab' + 'cd' }} {{ 'ab' * 3 }} {{ 2 * 'x' }} {{ 'x' * 0 }}|"),
            "abcd ababab xx |");
  EXPECT_EQ(render("{{ [1] + [2, 3] }} {{ [0] * 3 }} {{ (1,) + (2,) }}"),
            "[1, 2, 3] [0, 0, 0] (1, 2)");
  EXPECT_EQ(render("{{ 'a' ~ 1 ~ none ~ [2] ~ undefined_thing }}"), "a1None[2]");
}

TEST(Arithmetic, TypeErrorsAreReported) {
  EXPECT_NE(render("{{ 'a' + 1 }}").find("can only concatenate str (not \"int\") to str"),
            std::string::npos);
  EXPECT_NE(render("{{ 1 / 0 }}").find("division by zero"), std::string::npos);
  EXPECT_NE(render("{{ 1 // 0 }}").find("integer division or modulo by zero"), std::string::npos);
  EXPECT_NE(render("{{ [1] - [1] }}").find("unsupported operand type(s) for -: 'list' and 'list'"),
            std::string::npos);
  EXPECT_NE(render("{{ -'a' }}").find("bad operand type for unary -: 'str'"), std::string::npos);
  EXPECT_EQ(render_error("{{ 9223372036854775807 + 1 }}").code, ErrorCode::out_of_range);
}

TEST(Comparisons, FollowPython) {
  EXPECT_EQ(
      render("{{ 1 == 1.0 }} {{ 1 == true }} {{ 'a' == 'a' }} {{ 'a' != 'b' }} {{ 1 == '1' }}"),
      "True True True True False");
  EXPECT_EQ(render("{{ 1 < 2 }} {{ 2 <= 2 }} {{ 'b' > 'a' }} {{ [1, 2] < [1, 3] }} {{ 3 >= 4 }}"),
            "True True True True False");
  EXPECT_EQ(render("{{ 1 < 2 < 3 }} {{ 1 < 3 < 2 }}"), "True False");
  EXPECT_EQ(render("{{ {'a': 1, 'b': 2} == {'b': 2, 'a': 1} }} {{ [1, 2] == (1, 2) }}"),
            "True False");
  EXPECT_EQ(render("{{ none == none }} {{ x == y }} {{ x == none }}"), "True True False");
  EXPECT_NE(render("{{ 'a' < 1 }}").find("'<' not supported between instances of 'str' and 'int'"),
            std::string::npos);
}

TEST(Comparisons, MembershipWithInAndNotIn) {
  EXPECT_EQ(render("{{ 'b' in 'abc' }} {{ 2 in [1, 2] }} {{ 'k' in {'k': 1} }} {{ 3 not in [1] }}"),
            "True True True True");
  EXPECT_EQ(render("{{ 'x' in undefined_var }} {{ not 'a' in 'abc' }}"), "False False");
  EXPECT_NE(render("{{ 1 in 'abc' }}").find("'in <string>' requires string as left operand"),
            std::string::npos);
  EXPECT_NE(render("{{ 1 in 5 }}").find("argument of type 'int' is not iterable"),
            std::string::npos);
}

TEST(Logic, AndOrReturnOperandsLikePython) {
  EXPECT_EQ(render("{{ 0 or 'x' }} {{ 'a' and 'b' }} {{ '' and 'b' }}|{{ none or [] }}"),
            "x b |[]");
  EXPECT_EQ(render("{{ not 0 }} {{ not [1] }} {{ not none }}"), "True False True");
  EXPECT_EQ(render("{{ false and undefined_var.attr }}"), "False");  // short-circuits
  EXPECT_EQ(render("{{ 'y' if 1 > 0 else 'n' }} {{ 'y' if [] else 'n' }}|{{ 'y' if false }}|"),
            "y n||");
}

TEST(Truthiness, FollowsPython) {
  EXPECT_EQ(render("{% for v in [0, 0.0, '', [], {}, none, 1, 'a', [0], {'k': 0}] %}"
                   "{{ 'T' if v else 'F' }}{% endfor %}"),
            "FFFFFFTTTT");
  EXPECT_EQ(render("{{ 'T' if undefined_var else 'F' }}"), "F");
}

TEST(Access, AttributesAndItemsOfDicts) {
  const ordered_json vars = {{"m", {{"role", "user"}, {"items", 3}, {"n", {{"x", 1}}}}}};
  EXPECT_EQ(render("{{ m.role }} {{ m['role'] }} {{ m.n.x }} {{ m['n']['x'] }}", vars),
            "user user 1 1");
  // Like Jinja2: `.name` prefers dict methods, `['name']` prefers keys.
  EXPECT_EQ(render("{{ m['items'] }} {{ m.items is callable }}", vars), "3 True");
  EXPECT_EQ(render("{{ m.missing }}|{{ m['missing'] }}|{{ m.missing is defined }}", vars),
            "||False");
}

TEST(Access, ListAndStringIndexing) {
  const ordered_json vars = {{"l", {10, 20, 30}}, {"s", "h\u00e9llo"}};
  EXPECT_EQ(render("{{ l[0] }} {{ l[-1] }} {{ l.1 }} {{ l[5] is defined }}", vars),
            "10 30 20 False");
  EXPECT_EQ(render("{{ s[1] }} {{ s[-1] }} {{ s|length }}", vars), "\u00e9 o 5");
}

TEST(Access, SlicingFollowsPython) {
  const ordered_json vars = {{"l", {0, 1, 2, 3, 4}}, {"s", "h\u00e9llo"}};
  EXPECT_EQ(
      render("{{ l[1:3] }} {{ l[:2] }} {{ l[3:] }} {{ l[::-1] }} {{ l[::2] }} {{ l[-2:] }}", vars),
      "[1, 2] [0, 1] [3, 4] [4, 3, 2, 1, 0] [0, 2, 4] [3, 4]");
  EXPECT_EQ(render("{{ l[10:] }} {{ l[:-10] }} {{ l[4:1:-1] }}", vars), "[] [] [4, 3, 2]");
  EXPECT_EQ(render("{{ s[1:3] }} {{ s[::-1] }} {{ s[:-1] }}", vars),
            "\u00e9l oll\u00e9h h\u00e9ll");
  EXPECT_NE(render("{{ l[::0] }}", vars).find("slice step cannot be zero"), std::string::npos);
}

TEST(Access, UndefinedValues) {
  EXPECT_EQ(render("[{{ nothing }}]"), "[]");
  EXPECT_NE(render("{{ nothing.attr }}").find("'nothing' is undefined"), std::string::npos);
  EXPECT_NE(render("{{ d.a.b }}", {{"d", ordered_json::object()}})
                .find("'dict object' has no attribute 'a'"),
            std::string::npos);
  EXPECT_NE(render("{{ nothing + 1 }}").find("'nothing' is undefined"), std::string::npos);
  EXPECT_EQ(render("{{ none.attr is defined }}"), "False");
}

TEST(Calls, PositionalKeywordAndStarArguments) {
  EXPECT_EQ(render("{% macro f(a, b=2, c=3) %}{{ a }}{{ b }}{{ c }}{% endmacro %}"
                   "{{ f(1) }} {{ f(1, c=9) }} {{ f(*[7, 8]) }} {{ f(**{'a': 4, 'b': 5}) }}"),
            "123 129 783 453");
  EXPECT_NE(render("{{ 'x'() }}").find("'str' object is not callable"), std::string::npos);
}

TEST(Calls, PercentFormattingOfStrings) {
  EXPECT_EQ(render("{{ '%s is %d years, %.2f%%' % ('Ann', 30, 1.5) }}"), "Ann is 30 years, 1.50%");
  EXPECT_EQ(render("{{ '%5s|%-5s|%05d|%x|%r' % ('a', 'b', 42, 255, 'q') }}"),
            "    a|b    |00042|ff|'q'");
  EXPECT_EQ(render("{{ '%(name)s!' % {'name': 'Bo'} }} {{ 'v=%s' % 3 }}"), "Bo! v=3");
  EXPECT_NE(render("{{ '%s %s' % (1,) }}").find("not enough arguments"), std::string::npos);
}

TEST(Calls, NamesOfTheTemplateShadowGlobals) {
  EXPECT_EQ(render("{{ range }}", {{"range", 5}}), "5");
  EXPECT_EQ(render("{% set range = 'mine' %}{{ range }}"), "mine");
}

}  // namespace
}  // namespace tessera::jinja::test
