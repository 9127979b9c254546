// Whitespace control, trim_blocks / lstrip_blocks, comments, raw blocks and newline handling,
// as Jinja2's lexer does them.
#include "render_helper.h"

namespace tessera::jinja::test {
namespace {

TEST(Whitespace, KeepsTextAsIsByDefault) {
  EXPECT_EQ(render("a  {% if true %}\n  b\n{% endif %}\nc"), "a  \n  b\n\nc");
}

TEST(Whitespace, DropsOneTrailingNewlineOfTheSource) {
  EXPECT_EQ(render("x\n"), "x");
  EXPECT_EQ(render("x\n\n"), "x\n");
  EXPECT_EQ(render("x\r\ny\r\n"), "x\ny");
  EXPECT_EQ(render("x\ry"), "x\ny");
}

TEST(Whitespace, MinusStripsAllWhitespaceOnItsSide) {
  EXPECT_EQ(render("a \n {%- if true %}b{% endif -%} \n c"), "abc");
  EXPECT_EQ(render("a \n {{- 'b' -}} \n\t c"), "abc");
  EXPECT_EQ(render("a \n {#- comment -#} \n c"), "ac");
}

TEST(Whitespace, MinusInsideExpressionIsAnOperatorWhenSpaced) {
  EXPECT_EQ(render("{{ 5 - 3 }}|{{ -1 }}"), "2|-1");
  EXPECT_EQ(render("a {{-1}}"), "a1");  // {{- is whitespace control, like in Jinja2
}

TEST(Whitespace, TrimBlocksDropsTheNewlineAfterBlockAndCommentTags) {
  Options o;
  o.trim_blocks = true;
  EXPECT_EQ(render("{% if true %}\nx\n{% endif %}\ny", {}, o), "x\ny");
  EXPECT_EQ(render("{# c #}\nx", {}, o), "x");
  EXPECT_EQ(render("{{ 'v' }}\nx", {}, o), "v\nx");                 // not after expressions
  EXPECT_EQ(render("{% if true +%}\nx{% endif %}", {}, o), "\nx");  // +%} keeps it
}

TEST(Whitespace, LstripBlocksDropsBlanksBeforeATagOnItsLine) {
  Options o;
  o.lstrip_blocks = true;
  EXPECT_EQ(render("  {% if true %}x{% endif %}", {}, o), "x");
  EXPECT_EQ(render("a\n \t {% if true %}x{% endif %}", {}, o), "a\nx");
  EXPECT_EQ(render("a  {% if true %}x{% endif %}", {}, o), "a  x");       // not at line start
  EXPECT_EQ(render("a\n  {{ 'x' }}", {}, o), "a\n  x");                   // not for expressions
  EXPECT_EQ(render("a\n  {%+ if true %}x{% endif %}", {}, o), "a\n  x");  // {%+ keeps them
  EXPECT_EQ(render("a\n  {# c #}b", {}, o), "a\nb");                      // comments too
}

TEST(Whitespace, TrimAndLstripTogetherMakeIndentedBlocksDisappear) {
  const char* src =
      "<ul>\n"
      "  {% for x in items %}\n"
      "    <li>{{ x }}</li>\n"
      "  {% endfor %}\n"
      "</ul>\n";
  EXPECT_EQ(render(src, {{"items", {1, 2}}}, chat_options()),
            "<ul>\n    <li>1</li>\n    <li>2</li>\n</ul>");
  EXPECT_EQ(render(src, {{"items", {1, 2}}}),
            "<ul>\n  \n    <li>1</li>\n  \n    <li>2</li>\n  \n</ul>");
}

TEST(Whitespace, LstripAppliesAfterATrimmedNewline) {
  EXPECT_EQ(render("{% if true %}\n    {% if true %}\nx\n    {% endif %}\n{% endif %}", {},
                   chat_options()),
            "x\n");
}

TEST(Whitespace, MinusAfterTagStripsNewlinesToo) {
  EXPECT_EQ(render("{% set x = 1 -%}\n\n   y", {}, chat_options()), "y");
}

TEST(Whitespace, CommentsVanish) {
  EXPECT_EQ(render("a{# {{ not rendered }} {% if %} #}b"), "ab");
  EXPECT_EQ(render("a{#\nmulti\nline\n#}b"), "ab");
}

TEST(Whitespace, RawBlocksKeepTemplateSyntax) {
  EXPECT_EQ(render("{% raw %}{{ x }}{% if %}{% endraw %}"), "{{ x }}{% if %}");
  EXPECT_EQ(render("{%- raw -%}  a  {%- endraw -%}"), "a");
  EXPECT_EQ(render("{% raw %}\nx{% endraw %}\ny", {}, chat_options()), "\nxy");
}

TEST(Whitespace, BracesInsideExpressionsDoNotEndTheTag) {
  EXPECT_EQ(render("{{ {'a': {'b': 1}}['a']['b'] }}"), "1");
  EXPECT_EQ(render("{{ '}}' }}"), "}}");
  EXPECT_EQ(render("{% set x = '%}' %}{{ x }}"), "%}");
}

TEST(Whitespace, UnicodeWhitespaceIsStrippedLikePython) {
  EXPECT_EQ(render("a\u00a0\u3000{{- 'b' }}"), "ab");
}

}  // namespace
}  // namespace tessera::jinja::test
