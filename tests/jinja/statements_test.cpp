// Statements: if, for (loop variable, else, filters, unpacking, break/continue), set and
// its scoping, namespace, macros, call / filter / with / generation blocks.
#include "render_helper.h"

namespace tessera::jinja::test {
namespace {

TEST(If, ElifAndElse) {
  const char* src = "{% if n > 1 %}many{% elif n == 1 %}one{% else %}none{% endif %}";
  EXPECT_EQ(render(src, {{"n", 3}}), "many");
  EXPECT_EQ(render(src, {{"n", 1}}), "one");
  EXPECT_EQ(render(src, {{"n", 0}}), "none");
  EXPECT_EQ(render("{% if undefined_var %}x{% endif %}|{% if not undefined_var %}y{% endif %}"),
            "|y");
}

TEST(For, LoopVariable) {
  EXPECT_EQ(render("{% for x in 'abc' %}{{ loop.index }}{{ loop.index0 }}{{ loop.revindex }}"
                   "{{ loop.revindex0 }}{{ loop.first|int }}{{ loop.last|int }}{{ loop.length }} "
                   "{% endfor %}"),
            "1032103 2121003 3210013 ");
  EXPECT_EQ(render("{% for x in [1, 2, 3] %}{{ loop.previtem|default('-') }}{{ x }}"
                   "{{ loop.nextitem|default('-') }} {% endfor %}"),
            "-12 123 23- ");
  EXPECT_EQ(render("{% for x in range(4) %}{{ loop.cycle('a', 'b') }}{% endfor %}"), "abab");
  EXPECT_EQ(render("{% for x in [1, 1, 2, 2, 1] %}{{ loop.changed(x)|int }}{% endfor %}"), "10101");
}

TEST(For, ElseRunsWhenNothingWasIterated) {
  EXPECT_EQ(render("{% for x in [] %}{{ x }}{% else %}empty{% endfor %}"), "empty");
  EXPECT_EQ(render("{% for x in undefined_var %}{{ x }}{% else %}empty{% endfor %}"), "empty");
  EXPECT_EQ(render("{% for x in [1] %}{{ x }}{% else %}empty{% endfor %}"), "1");
}

TEST(For, FilterClauseCountsOnlyKeptItems) {
  EXPECT_EQ(render("{% for x in range(10) if x is odd %}{{ x }}/{{ loop.length }} {% endfor %}"),
            "1/5 3/5 5/5 7/5 9/5 ");
}

TEST(For, IteratesDictsStringsAndUnpacks) {
  const ordered_json vars = {{"d", {{"b", 1}, {"a", 2}}}};
  EXPECT_EQ(render("{% for k in d %}{{ k }}{% endfor %}", vars), "ba");
  EXPECT_EQ(render("{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}", vars), "b=1;a=2;");
  EXPECT_EQ(render("{% for k, v in d|dictsort %}{{ k }}={{ v }};{% endfor %}", vars), "a=2;b=1;");
  EXPECT_EQ(render("{% for a, (b, c) in [(1, (2, 3))] %}{{ a }}{{ b }}{{ c }}{% endfor %}"), "123");
  EXPECT_NE(render("{% for a, b in [(1, 2, 3)] %}{% endfor %}").find("too many values to unpack"),
            std::string::npos);
  EXPECT_NE(render("{% for x in 42 %}{% endfor %}").find("'int' object is not iterable"),
            std::string::npos);
}

TEST(For, BreakAndContinue) {
  EXPECT_EQ(
      render("{% for x in range(10) %}{% if x == 3 %}{% break %}{% endif %}{{ x }}{% endfor %}"),
      "012");
  EXPECT_EQ(render("{% for x in range(5) %}{% if x is even %}{% continue %}{% endif %}{{ x }}"
                   "{% endfor %}"),
            "13");
  EXPECT_EQ(render("{% for x in [1, 2] %}{% for y in [1, 2] %}{% if y == 2 %}{% break %}{% endif %}"
                   "{{ x }}{{ y }} {% endfor %}{% endfor %}"),
            "11 21 ");
  EXPECT_NE(render("{% break %}").find("'break' outside of a loop"), std::string::npos);
}

TEST(For, NestedLoopsHaveTheirOwnLoopVariable) {
  EXPECT_EQ(render("{% for a in [1, 2] %}{% set outer = loop %}{% for b in [1, 2, 3] %}"
                   "{{ outer.index }}{{ loop.index }} {% endfor %}{% endfor %}"),
            "11 12 13 21 22 23 ");
}

TEST(Set, AssignsExpressionsAndTuples) {
  EXPECT_EQ(render("{% set x = 1 + 2 %}{{ x }}"), "3");
  EXPECT_EQ(render("{% set a, b = 1, 2 %}{{ a }}{{ b }}"), "12");
  EXPECT_EQ(render("{% set t = 1, 2 %}{{ t }}"), "(1, 2)");
  EXPECT_EQ(
      render("{% set messages = messages[1:] %}{{ messages|length }}", {{"messages", {1, 2, 3}}}),
      "2");
}

TEST(Set, BlockFormCapturesOutputAndAppliesFilters) {
  EXPECT_EQ(render("{% set x %}a{{ 1 + 1 }}b{% endset %}[{{ x }}]"), "[a2b]");
  EXPECT_EQ(render("{% set x | upper | trim %}  hi  {% endset %}[{{ x }}]"), "[HI]");
}

TEST(Set, LoopScopeDoesNotLeakButNamespacesDo) {
  EXPECT_EQ(render("{% set n = 0 %}{% for x in [1, 2, 3] %}{% set n = n + x %}{% endfor %}{{ n }}"),
            "0");
  EXPECT_EQ(render("{% set n = 0 %}{% for x in [1, 2, 3] %}{% set n = n + x %}{{ n }}{% endfor %}"),
            "123");
  EXPECT_EQ(render("{% set ns = namespace(n=0) %}{% for x in [1, 2, 3] %}{% set ns.n = ns.n + x %}"
                   "{% endfor %}{{ ns.n }}"),
            "6");
  EXPECT_EQ(render("{% if true %}{% set y = 5 %}{% endif %}{{ y }}"), "5");  // if has no scope
  EXPECT_EQ(render("{% for x in [1] %}{% set inner = 1 %}{% endfor %}[{{ inner }}]"), "[]");
}

TEST(Set, NamespaceForms) {
  EXPECT_EQ(render("{% set ns = namespace() %}{% set ns.a = 1 %}{{ ns.a }}"), "1");
  EXPECT_EQ(render("{% set ns = namespace({'a': 1}, b=2) %}{{ ns.a }}{{ ns.b }}"), "12");
  EXPECT_EQ(render("{% set ns = namespace(a=1) %}{{ ns }}"), "<Namespace {'a': 1}>");
  EXPECT_NE(render("{% set d = {} %}{% set d.x = 1 %}").find("non-namespace object"),
            std::string::npos);
  // A namespace that contains itself is fine (the render breaks the cycle when it ends).
  EXPECT_EQ(render("{% set ns = namespace() %}{% set ns.me = ns %}{{ ns.me.me is defined }}"),
            "True");
}

TEST(Macro, ArgumentsDefaultsAndKeywords) {
  const char* src =
      "{% macro greet(name, greeting='Hello', punct='!') -%}"
      "{{ greeting }}, {{ name }}{{ punct }}"
      "{%- endmacro %}"
      "{{ greet('Ann') }}|{{ greet('Bo', 'Hi') }}|{{ greet(punct='?', name='Cy') }}|{{ greet() }}";
  EXPECT_EQ(render(src), "Hello, Ann!|Hi, Bo!|Hello, Cy?|Hello, !");
}

TEST(Macro, VarargsKwargsAndErrors) {
  EXPECT_EQ(
      render("{% macro m(a) %}{{ a }}{{ varargs }}{{ kwargs }}{% endmacro %}{{ m(1, 2, x=3) }}"),
      "1(2,){'x': 3}");
  EXPECT_NE(render("{% macro m(a) %}{% endmacro %}{{ m(1, 2) }}").find("takes not more than 1"),
            std::string::npos);
  EXPECT_NE(render("{% macro m(a) %}{% endmacro %}{{ m(b=2) }}").find("no keyword argument 'b'"),
            std::string::npos);
}

TEST(Macro, OutputIsAStringAndMacrosSeeTemplateVariables) {
  EXPECT_EQ(
      render("{% macro m() %}{{ who }}{% endmacro %}{% set x = m() %}{{ x is string }}{{ x }}",
             {{"who", "me"}}),
      "Trueme");
  EXPECT_EQ(
      render("{% set g = 'top' %}{% macro m() %}{{ g }}{% set g = 'local' %}{{ g }}{% endmacro %}"
             "{{ m() }}{{ g }}"),
      "toplocaltop");
}

TEST(Macro, RecursionWorks) {
  EXPECT_EQ(render("{% macro fact(n) %}{{ 1 if n <= 1 else n * fact(n - 1)|int }}{% endmacro %}"
                   "{{ fact(5) }}"),
            "120");
}

TEST(CallBlock, PassesCaller) {
  EXPECT_EQ(render("{% macro wrap() %}<{{ caller() }}>{% endmacro %}"
                   "{% call wrap() %}inside{% endcall %}"),
            "<inside>");
  EXPECT_EQ(
      render("{% macro each(items) %}{% for i in items %}{{ caller(i) }}{% endfor %}{% endmacro %}"
             "{% call(x) each([1, 2]) %}[{{ x }}]{% endcall %}"),
      "[1][2]");
}

TEST(FilterBlock, FiltersItsBody) {
  EXPECT_EQ(render("{% filter upper %}abc{{ 'd' }}{% endfilter %}"), "ABCD");
  EXPECT_EQ(render("{% filter replace('a', 'b') | upper %}aaa{% endfilter %}"), "BBB");
}

TEST(OtherBlocks, WithGenerationBlockAndPrint) {
  EXPECT_EQ(render("{% with a = 1, b = 2 %}{{ a + b }}{% endwith %}[{{ a }}]"), "3[]");
  EXPECT_EQ(render("a{% generation %}b{{ 1 }}{% endgeneration %}c"), "ab1c");
  EXPECT_EQ(render("{% block body %}x{% endblock %}{% block b2 %}y{% endblock b2 %}"), "xy");
  EXPECT_EQ(render("{% print 'p' ~ 1 %}"), "p1");
}

TEST(Globals, RangeDictCyclerJoiner) {
  EXPECT_EQ(render("{{ range(3)|list }} {{ range(1, 7, 2)|list }} {{ range(3, 0, -1)|list }}"),
            "[0, 1, 2] [1, 3, 5] [3, 2, 1]");
  EXPECT_EQ(render("{{ dict(a=1, b=2) }} {{ dict([('x', 1)]) }}"), "{'a': 1, 'b': 2} {'x': 1}");
  EXPECT_EQ(render("{% set c = cycler('a', 'b') %}{{ c.next() }}{{ c.next() }}{{ c.next() }}"
                   "{{ c.current }}"),
            "abab");
  EXPECT_EQ(
      render("{% set j = joiner(', ') %}{% for x in [1, 2, 3] %}{{ j() }}{{ x }}{% endfor %}"),
      "1, 2, 3");
}

TEST(Globals, RaiseExceptionAndStrftimeNow) {
  const Error e = render_error("\n  {{ raise_exception('bad input: ' ~ 42) }}");
  EXPECT_EQ(e.code, ErrorCode::invalid_argument);
  EXPECT_EQ(e.message, "t:2:6: bad input: 42");

  Options o;
  std::tm tm{};
  tm.tm_year = 2024 - 1900;
  tm.tm_mon = 6;
  tm.tm_mday = 5;
  tm.tm_hour = 14;
  tm.tm_min = 3;
  tm.tm_isdst = -1;
  const auto t = std::chrono::system_clock::from_time_t(std::mktime(&tm));
  o.now = [t] { return t; };
  EXPECT_EQ(render("{{ strftime_now('%Y-%m-%d %H:%M') }}|{{ strftime_now('%d %b %Y') }}|"
                   "{{ strftime_now('%B %d, %Y') }}",
                   {}, o),
            "2024-07-05 14:03|05 Jul 2024|July 05, 2024");
  EXPECT_EQ(render("{{ strftime_now is defined }}"), "True");
}

}  // namespace
}  // namespace tessera::jinja::test
