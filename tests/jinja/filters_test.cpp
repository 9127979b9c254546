// Filters, one test (or a few lines) each, with Jinja2 3.1's results.
#include "render_helper.h"

namespace tessera::jinja::test {
namespace {

TEST(Filters, Tojson) {
  const ordered_json vars = {{"v",
                              {{"name", "x\"y"},
                               {"n", 1},
                               {"f", 2.5},
                               {"ok", true},
                               {"none", nullptr},
                               {"list", {1, "\u00e9\n"}},
                               {"empty", ordered_json::object()}}}};
  EXPECT_EQ(render("{{ v|tojson }}", vars),
            R"({"name": "x\"y", "n": 1, "f": 2.5, "ok": true, "none": null, "list": [1, ")"
            "\u00e9\\n\"], \"empty\": {}}");
  EXPECT_EQ(render("{{ v.list|tojson(ensure_ascii=true) }}", vars), R"([1, "\u00e9\n"])");
  EXPECT_EQ(render("{{ {'b': [1, {}], 'a': []}|tojson(indent=2) }}"),
            "{\n  \"b\": [\n    1,\n    {}\n  ],\n  \"a\": []\n}");
  EXPECT_EQ(render("{{ {'b': 1, 'a': 2}|tojson(sort_keys=true) }}"), R"({"a": 2, "b": 1})");
  EXPECT_EQ(render("{{ [1, 2]|tojson(separators=(',', ':')) }}"), "[1,2]");
  EXPECT_EQ(render("{{ '<a>&\\'' |tojson }}"), R"("<a>&'")");  // no HTML escaping (HF's tojson)
  EXPECT_EQ(render("{{ (1, 'a')|tojson }} {{ {1: 'x'}|tojson }} {{ 1.0|tojson }}"),
            R"([1, "a"] {"1": "x"} 1.0)");
  EXPECT_NE(render("{{ undefined_var|tojson }}").find("not JSON serializable"), std::string::npos);
}

TEST(Filters, StringCase) {
  EXPECT_EQ(render("{{ 'hello World'|upper }} {{ 'HeLLo'|lower }} {{ 'hello world'|capitalize }}"),
            "HELLO WORLD hello Hello world");
  EXPECT_EQ(render("{{ \"they're bill's-friends (ok)\"|title }}"), "They're Bill's-Friends (Ok)");
  EXPECT_EQ(render("{{ '\u00e9t\u00e9'|upper }}"), "\u00c9T\u00c9");
}

TEST(Filters, TrimReplaceAndIndent) {
  EXPECT_EQ(render("[{{ '  a b \n'|trim }}] [{{ 'xxaxx'|trim('x') }}]"), "[a b] [a]");
  EXPECT_EQ(render("{{ 'aaa'|replace('a', 'b') }} {{ 'aaa'|replace('a', 'b', 2) }}"), "bbb bba");
  EXPECT_EQ(render("{{ 'a\nb\n\nc'|indent(2) }}"), "a\n  b\n\n  c");
  EXPECT_EQ(render("{{ 'a\nb'|indent(2, first=true) }}|{{ 'a\n\nb'|indent('>', blank=true) }}"),
            "  a\n  b|a\n>\n>b");
  EXPECT_EQ(render("{{ '{\n'|indent(4, first=true) }}"), "    {\n");
}

TEST(Filters, DefaultAndBooleanDefault) {
  EXPECT_EQ(render("{{ x|default('d') }} {{ ''|default('d') }} {{ ''|default('d', true) }} "
                   "{{ none|d('n', boolean=true) }} {{ 0|default(5) }}"),
            "d  d n 0");
  EXPECT_EQ(render("[{{ x|default }}]"), "[]");
}

TEST(Filters, LengthCountFirstLast) {
  EXPECT_EQ(
      render("{{ [1, 2]|length }} {{ 'h\u00e9'|length }} {{ {'a': 1}|count }} {{ x|length }}"),
      "2 2 1 0");
  EXPECT_EQ(
      render("{{ [3, 4]|first }} {{ [3, 4]|last }} {{ 'abc'|first }} {{ []|first is defined }}"),
      "3 4 a False");
  EXPECT_NE(render("{{ 5|length }}").find("object of type 'int' has no len()"), std::string::npos);
}

TEST(Filters, JoinListItemsString) {
  EXPECT_EQ(render("{{ [1, 'a', none]|join(', ') }} {{ 'abc'|join('-') }} {{ [1, 2]|join }}"),
            "1, a, None a-b-c 12");
  EXPECT_EQ(render("{{ users|join(', ', attribute='name') }}",
                   {{"users", {{{"name", "a"}}, {{"name", "b"}}}}}),
            "a, b");
  EXPECT_EQ(render("{{ 'ab'|list }} {{ {'k': 1}|list }} {{ {'k': 1}|items|list }}"),
            "['a', 'b'] ['k'] [('k', 1)]");
  EXPECT_EQ(render("{{ 12|string ~ 3 }} {{ none|string }} {{ [1]|string }}"), "123 None [1]");
  EXPECT_NE(render("{{ 3|items }}").find("Can only get item pairs from a mapping"),
            std::string::npos);
}

TEST(Filters, MapSelectRejectAndAttrVariants) {
  const ordered_json vars = {
      {"msgs", {{{"role", "user"}, {"n", 1}}, {{"role", "bot"}, {"n", 2}}, {{"role", "user"}}}}};
  EXPECT_EQ(render("{{ msgs|selectattr('role', 'equalto', 'user')|list|length }}", vars), "2");
  EXPECT_EQ(render("{{ msgs|rejectattr('role', 'eq', 'user')|map(attribute='n')|list }}", vars),
            "[2]");
  EXPECT_EQ(render("{{ msgs|selectattr('n')|map(attribute='role')|join(',') }}", vars), "user,bot");
  EXPECT_EQ(render("{{ msgs|map(attribute='n', default=0)|list }}", vars), "[1, 2, 0]");
  EXPECT_EQ(render("{{ ['a', 'b']|map('upper')|list }} {{ [1, 2, 3]|select('odd')|list }} "
                   "{{ [1, 2, 3]|reject('odd')|list }} {{ [0, 1, '']|select|list }}"),
            "['A', 'B'] [1, 3] [2] [1]");
  EXPECT_EQ(
      render("{{ [1, 5, 9]|select('>', 2)|list }} {{ ['ab', 'c']|map('replace', 'a', 'x')|list }}"),
      "[5, 9] ['xb', 'c']");
  // Like Jinja2's generators, these results are true even when empty.
  EXPECT_EQ(render("{{ 'yes' if ([]|select) else 'no' }}"), "yes");
  EXPECT_NE(render("{{ [1]|map('nope')|list }}").find("No filter named 'nope'"), std::string::npos);
}

TEST(Filters, SortingAndAggregates) {
  EXPECT_EQ(
      render("{{ [3, 1, 2]|sort }} {{ [3, 1, 2]|sort(reverse=true) }} {{ ['b', 'A', 'c']|sort }} "
             "{{ ['b', 'A', 'c']|sort(case_sensitive=true) }}"),
      "[1, 2, 3] [3, 2, 1] ['A', 'b', 'c'] ['A', 'b', 'c']");
  EXPECT_EQ(render("{{ items|sort(attribute='k')|map(attribute='v')|join }}",
                   {{"items", {{{"k", 2}, {"v", "b"}}, {{"k", 1}, {"v", "a"}}}}}),
            "ab");
  EXPECT_EQ(
      render("{{ {'b': 1, 'A': 3, 'c': 2}|dictsort }} {{ {'b': 1, 'a': 3}|dictsort(by='value') }}"),
      "[('A', 3), ('b', 1), ('c', 2)] [('b', 1), ('a', 3)]");
  EXPECT_EQ(render("{{ {'b': 1, 'a': 3}|dictsort(reverse=true) }}"), "[('b', 1), ('a', 3)]");
  EXPECT_EQ(render("{{ [1, 2, 1, 'a', 'A']|unique|list }} {{ [3, 1, 2]|min }} {{ [3, 1, 2]|max }} "
                   "{{ ['b', 'A']|min }}"),
            "[1, 2, 'a'] 1 3 A");
  EXPECT_EQ(render("{{ [1, 2, 3]|sum }} {{ [1.5, 2]|sum }} {{ [[1], [2]]|sum(start=[]) }} "
                   "{{ items|sum(attribute='n') }}",
                   {{"items", {{{"n", 4}}, {{"n", 5}}}}}),
            "6 3.5 [1, 2] 9");
  EXPECT_EQ(render("{{ [1, 2, 3]|reverse|list }} {{ 'abc'|reverse }}"), "[3, 2, 1] cba");
  EXPECT_EQ(render("{{ people|sort(attribute='age,name')|map(attribute='name')|join }}",
                   {{"people",
                     {{{"name", "c"}, {"age", 2}},
                      {{"name", "b"}, {"age", 1}},
                      {{"name", "a"}, {"age", 2}}}}}),
            "bac");
  EXPECT_NE(render("{{ [1, 'a']|sort }}").find("not supported"), std::string::npos);
}

TEST(Filters, Numbers) {
  EXPECT_EQ(render("{{ '42'|int }} {{ '4.7'|int }} {{ 4.7|int }} {{ 'x'|int }} {{ 'x'|int(7) }} "
                   "{{ '0x1A'|int(0, 16) }} {{ ' 12 '|int }}"),
            "42 4 4 0 7 26 12");
  EXPECT_EQ(render("{{ '3.5'|float }} {{ 2|float }} {{ 'x'|float }} {{ '1e3'|float }}"),
            "3.5 2.0 0.0 1000.0");
  EXPECT_EQ(render("{{ -3|abs }} {{ (-2.5)|abs }}"), "3 2.5");
  EXPECT_NE(render("{{ nothing|int }}").find("'nothing' is undefined"), std::string::npos);
  EXPECT_EQ(
      render("{{ 2.5|round }} {{ 3.5|round }} {{ 2.675|round(2) }} {{ 2.1|round(0, 'ceil') }} "
             "{{ 2.9|round(method='floor') }} {{ 7|round }}"),
      "2.0 4.0 2.67 3.0 2.0 7");
}

TEST(Filters, TextUtilities) {
  EXPECT_EQ(render("{{ 'a b  c'|wordcount }} {{ 'x'|center(5) }}|{{ '<b>x</b>'|striptags }}"),
            "3   x  |x");
  EXPECT_EQ(render("{{ 'hello world foo'|truncate(9) }}|{{ 'hello world foo'|truncate(9, true) }}|"
                   "{{ 'hello'|truncate(9) }}",
                   {}),
            "hello...|hello ...|hello");
  EXPECT_EQ(render("{{ '<a href=\"x\">&\\'</a>'|escape }} {{ 'q'|e }}"),
            "&lt;a href=&#34;x&#34;&gt;&amp;&#39;&lt;/a&gt; q");
  EXPECT_EQ(render("{{ '%s=%d'|format('a', 1) }} {{ 'x'|safe }} {{ [1, 'a']|pprint }}"),
            "a=1 x [1, 'a']");
  EXPECT_EQ(render("{{ {'k': 'v'}|attr('k') is defined }} {{ 'ab'|attr('upper') is callable }}"),
            "False True");
}

TEST(Filters, BatchAndSlice) {
  EXPECT_EQ(render("{{ [1, 2, 3, 4, 5]|batch(2)|list }} {{ [1, 2, 3]|batch(2, 0)|list }}"),
            "[[1, 2], [3, 4], [5]] [[1, 2], [3, 0]]");
  EXPECT_EQ(render("{{ [1, 2, 3, 4, 5]|slice(2)|list }}"), "[[1, 2, 3], [4, 5]]");
}

TEST(Filters, UnknownFilterIsAParseError) {
  const Error e = render_error("line one\n{{ x | nosuchfilter }}");
  EXPECT_EQ(e.code, ErrorCode::malformed);
  EXPECT_EQ(e.message, "t:2:8: no filter named 'nosuchfilter'");
}

}  // namespace
}  // namespace tessera::jinja::test
