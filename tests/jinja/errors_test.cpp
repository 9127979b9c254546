// Errors: syntax errors with line and column, runtime errors, the limits of Options, and
// hostile input (garbage, truncated templates, deep nesting) never crashing.
#include <pthread.h>

#include <chrono>
#include <fstream>
#include <random>
#include <sstream>

#include "render_helper.h"
#include "support/test_support.h"

namespace tessera::jinja::test {
namespace {

Error parse_error(std::string_view source) {
  auto t = Template::parse(source, {}, "t");
  return t.ok() ? Error{ErrorCode::invalid_argument, ""} : t.error();
}

TEST(SyntaxErrors, CarryLineAndColumn) {
  EXPECT_EQ(parse_error("ab\n{% if %}x{% endif %}").message,
            "t:2:7: expected an expression, got end of tag");
  EXPECT_EQ(parse_error("{{ 1 + }}").message, "t:1:8: expected an expression, got end of tag");
  EXPECT_EQ(parse_error("{{ x y }}").message, "t:1:6: expected end of print statement, got 'y'");
  EXPECT_EQ(parse_error("{% for x of y %}{% endfor %}").message, "t:1:10: expected 'in', got 'of'");
  EXPECT_EQ(parse_error("{{ 'abc }}").message, "t:1:4: unterminated string literal");
  EXPECT_EQ(parse_error("x {# never closed").message, "t:1:3: missing end of comment tag (#})");
  EXPECT_EQ(parse_error("{{ a ? b }}").message, "t:1:6: unexpected character '?'");
  EXPECT_EQ(parse_error("{{ (1 }}").message, "t:1:7: unexpected '}', expected ')'");
  EXPECT_EQ(parse_error("{{ x").code, ErrorCode::malformed);
  EXPECT_EQ(parse_error("{% macro m(a=1, b) %}{% endmacro %}").message,
            "t:1:17: non-default argument follows default argument");
}

TEST(SyntaxErrors, UnclosedBlocksPointAtTheirOpeningTag) {
  EXPECT_EQ(parse_error("line\n  {% for x in y %}\n{{ x }}").message,
            "t:2:3: 'for' block is never closed (expected 'endfor' or 'else' before the end of "
            "the template)");
  EXPECT_EQ(parse_error("{% if a %}{% elif b %}").message,
            "t:1:1: 'if' block is never closed (expected 'elif', 'else' or 'endif' before the end "
            "of the template)");
  EXPECT_EQ(parse_error("{% macro m() %}").code, ErrorCode::malformed);
  EXPECT_EQ(parse_error("{% set x %}abc").code, ErrorCode::malformed);
  EXPECT_EQ(parse_error("{% raw %}abc").message,
            "t:1:1: missing end of raw directive ({% endraw %})");
}

TEST(SyntaxErrors, UnknownAndMisplacedTags) {
  EXPECT_EQ(parse_error("{% frobnicate %}").message, "t:1:4: unknown tag 'frobnicate'");
  EXPECT_EQ(parse_error("{% endif %}").message, "t:1:4: unknown tag 'endif'");
  EXPECT_EQ(parse_error("{% if x %}\n{% endfor %}").message,
            "t:2:4: unknown tag 'endfor' (expected 'elif', 'else' or 'endif' to close the 'if' "
            "block opened at 1:1)");
  EXPECT_EQ(parse_error("{% continue %}").message, "t:1:1: 'continue' outside of a loop");
  EXPECT_EQ(parse_error("{% include 'x.html' %}").code, ErrorCode::unsupported);
  EXPECT_EQ(parse_error("{% extends 'base' %}").code, ErrorCode::unsupported);
}

TEST(RuntimeErrors, CarryThePositionOfTheFailingExpression) {
  const ordered_json vars = {{"tool", {{"name", "f"}}}};
  const Error e = render_error("{{ tool.name }}\n{{ 'x: ' + tool.description }}", vars);
  EXPECT_EQ(e.code, ErrorCode::invalid_argument);
  EXPECT_EQ(e.message, "t:2:12: 'dict object' has no attribute 'description'");
  EXPECT_EQ(render_error("{{ a.b }}").message, "t:1:4: 'a' is undefined");
  EXPECT_EQ(render_error("{% macro m() %}\n  {{ raise_exception('inner') }}{% endmacro %}{{ m() }}")
                .message,
            "t:2:6: inner");
  EXPECT_EQ(render_error("{{ [1, 2]|sort(attribute=none) + 1 }}").message,
            "t:1:32: can only concatenate list (not \"int\") to list");
}

TEST(RuntimeErrors, VariablesMustBeAnObject) {
  auto t = Template::parse("x");
  ASSERT_TRUE(t.ok());
  EXPECT_TRUE(t->render(nullptr).ok());
  auto r = t->render(ordered_json::array({1}));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::invalid_argument);
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

TEST(Limits, HugeRangesStopAtOnce) {
  const auto start = std::chrono::steady_clock::now();
  const Error e = render_error("{% for i in range(10**12) %}x{% endfor %}");
  EXPECT_EQ(e.code, ErrorCode::out_of_range);
  EXPECT_NE(e.message.find("range too big"), std::string::npos);
  EXPECT_LT(seconds_since(start), 1.0);
}

TEST(Limits, EndlessLoopsRunOutOfSteps) {
  Options o;
  o.max_steps = 200'000;
  const auto start = std::chrono::steady_clock::now();
  const Error e = render_error(
      "{% for a in range(100000) %}{% for b in range(100000) %}{% if b < 0 %}{% break %}{% endif %}"
      "{% endfor %}{% endfor %}",
      {}, o);
  EXPECT_EQ(e.code, ErrorCode::out_of_range);
  EXPECT_NE(e.message.find("work"), std::string::npos);
  EXPECT_LT(seconds_since(start), 5.0);
  // A loop that cannot finish within the budget (and cannot break) fails before it starts.
  o.max_steps = 150'000;
  EXPECT_EQ(render_error("{% for a in range(100000) %}{% endfor %}", {}, o).code,
            ErrorCode::out_of_range);
}

TEST(Limits, DefaultBudgetStopsNestedLoopsQuickly) {
  const auto start = std::chrono::steady_clock::now();
  const Error e = render_error(
      "{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}");
  EXPECT_EQ(e.code, ErrorCode::out_of_range);
  const double seconds = seconds_since(start);
#ifdef NDEBUG  // unoptimized builds are many times slower
  EXPECT_LT(seconds, 10.0);
#else
  (void)seconds;
#endif
}

TEST(Limits, HugeStringsFailBeforeAllocating) {
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(render_error("{{ 'x' * 10**10 }}").code, ErrorCode::out_of_range);
  EXPECT_EQ(render_error("{{ [1] * 10**9 }}").code, ErrorCode::out_of_range);
  EXPECT_EQ(render_error("{{ 'x'|center(10**12) }}").code, ErrorCode::out_of_range);
  EXPECT_EQ(render_error("{{ 'ab'.replace('a', 'x' * 10**7) * 100 }}").code,
            ErrorCode::out_of_range);
  EXPECT_EQ(render_error("{{ '%999999999999d' % 1 }}").code, ErrorCode::out_of_range);
  // Doubling a string in a loop.
  EXPECT_EQ(render_error("{% set ns = namespace(s='x') %}{% for i in range(100) %}"
                         "{% set ns.s = ns.s ~ ns.s %}{% endfor %}")
                .code,
            ErrorCode::out_of_range);
  EXPECT_LT(seconds_since(start), 5.0);
}

TEST(Limits, OutputSize) {
  Options o;
  o.max_output_bytes = 1000;
  const Error e = render_error("{% for i in range(1000) %}0123456789{% endfor %}", {}, o);
  EXPECT_EQ(e.code, ErrorCode::out_of_range);
  EXPECT_NE(e.message.find("larger than the limit of 1000 bytes"), std::string::npos);
  EXPECT_EQ(render("{% for i in range(99) %}0123456789{% endfor %}", {}, o).size(), 990u);
}

TEST(Limits, DeepMacroRecursion) {
  const auto start = std::chrono::steady_clock::now();
  const Error e = render_error("{% macro r(n) %}{{ r(n + 1) }}{% endmacro %}{{ r(0) }}");
  EXPECT_EQ(e.code, ErrorCode::out_of_range);
  EXPECT_NE(e.message.find("nested deeper"), std::string::npos);
  Options o;
  o.max_depth = 10;
  EXPECT_EQ(
      render(
          "{% macro r(n) %}{{ n }}{% if n < 8 %}{{ r(n + 1) }}{% endif %}{% endmacro %}{{ r(0) }}",
          {}, o),
      "012345678");
  EXPECT_LT(seconds_since(start), 5.0);
}

TEST(Limits, DeeplyNestedSourceIsRefusedWhenParsing) {
  EXPECT_EQ(
      parse_error("{{ " + std::string(100000, '(') + "1" + std::string(100000, ')') + " }}").code,
      ErrorCode::out_of_range);
  EXPECT_EQ(parse_error("{{ " + std::string(100000, '[') + std::string(100000, ']') + " }}").code,
            ErrorCode::out_of_range);
  std::string chain = "{{ 1";
  for (int i = 0; i < 100000; ++i) chain += " + 1";
  EXPECT_EQ(parse_error(chain + " }}").code, ErrorCode::out_of_range);
  std::string nots = "{{ ";
  for (int i = 0; i < 100000; ++i) nots += "not ";
  EXPECT_EQ(parse_error(nots + "x }}").code, ErrorCode::out_of_range);
  std::string ifs;
  for (int i = 0; i < 100000; ++i) ifs += "{% if x %}";
  EXPECT_EQ(parse_error(ifs).code, ErrorCode::out_of_range);
  // Nesting within the limits is fine.
  EXPECT_EQ(render("{{ ((((1)))) + [[[2]]][0][0][0] }}"), "3");
}

TEST(Limits, DeeplyNestedValues) {
  ordered_json deep = 1;
  for (int i = 0; i < 3000; ++i) deep = ordered_json::array({std::move(deep)});
  EXPECT_EQ(render_error("{{ x }}", {{"x", deep}}).code, ErrorCode::out_of_range);
  // Built by the template: printing stops at the nesting limit; freeing does not recurse.
  const Error e = render_error(
      "{% set ns = namespace(x=1) %}{% for i in range(50000) %}{% set ns.x = [ns.x] %}{% endfor %}"
      "{{ ns.x }}");
  EXPECT_EQ(e.code, ErrorCode::out_of_range);
  EXPECT_EQ(render("{% set ns = namespace(x=1) %}{% for i in range(50000) %}{% set ns.x = [ns.x] %}"
                   "{% endfor %}done"),
            "done");
}

// Renders source on a thread with a small stack; deep recursion must end in an error.
Error render_on_small_stack(const std::string& source) {
  struct Job {
    std::string source;
    Error error;
  } job{source, {}};
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 256 * 1024);
  pthread_t thread;
  const int rc = pthread_create(
      &thread, &attr,
      [](void* arg) -> void* {
        auto* j = static_cast<Job*>(arg);
        j->error = render_error(j->source);
        return nullptr;
      },
      &job);
  pthread_attr_destroy(&attr);
  if (rc != 0) return Error{ErrorCode::io_error, "pthread_create failed"};
  pthread_join(thread, nullptr);
  return job.error;
}

TEST(Limits, SmallThreadStacksDoNotOverflow) {
  std::string chain = "x";
  for (int i = 0; i < 1000; ++i) chain += " ~ x";
  std::string lists = "n";
  for (int i = 0; i < 250; ++i) lists = "[" + lists + "]";
  const std::string sources[] = {
      "{% macro r(n) %}{{ r(n + 1) }}{% endmacro %}{{ r(0) }}",
      "{% set x = 'a' %}{% macro r(n) %}{{ " + chain + " }}{{ r(n) }}{% endmacro %}{{ r(0) }}",
      "{% macro r(n) %}{{ r(" + lists + ") }}{% endmacro %}{{ r(0) }}",
  };
  for (const std::string& src : sources) {
    EXPECT_EQ(render_on_small_stack(src).code, ErrorCode::out_of_range) << src.substr(0, 60);
  }
}

TEST(HostileInput, RandomTemplatesNeverCrash) {
  static const char* kPieces[] = {
      "{{",   "}}",      "{%",    "%}",     "{#",        "#}",        "-",     "+",      "if",
      "else", "elif",    "endif", "for",    "in",        "endfor",    "set",   "macro",  "endmacro",
      "call", "endcall", "x",     "loop",   ".",         "[",         "]",     "(",      ")",
      "{",    "}",       "'s'",   "\"",     "1",         "2.5",       ",",     "|",      "upper",
      "is",   "defined", "not",   "and",    "or",        "~",         "*",     "**",     "/",
      "//",   "%",       "=",     "==",     "ns",        "namespace", "raw",   "endraw", "\n",
      " ",    "\xff",    "\xc3",  "filter", "endfilter", "break",     "range", ":",      "caller"};
  std::mt19937 rng(1234);
  std::uniform_int_distribution<size_t> piece(0, std::size(kPieces) - 1);
  std::uniform_int_distribution<int> length(1, 40);
  const ordered_json vars = {{"x", {1, "a", {{"k", nullptr}}}}, {"ns", "s"}};
  Options o;
  o.max_steps = 100000;
  int parsed = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string src;
    for (int n = length(rng); n > 0; --n) src += kPieces[piece(rng)];
    auto t = Template::parse(src, o, "fuzz");
    if (!t.ok()) {
      EXPECT_FALSE(t.error().message.empty());
      continue;
    }
    ++parsed;
    auto out = t->render(vars);
    if (!out.ok()) {
      EXPECT_FALSE(out.error().message.empty());
    }
  }
  EXPECT_GT(parsed, 100);
}

TEST(HostileInput, TruncatedRealTemplatesNeverCrash) {
  std::ifstream in(tessera::test::testdata("templates/openai-gpt-oss-120b.jinja"));
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string full = ss.str();
  ASSERT_FALSE(full.empty());
  for (size_t cut = 0; cut < full.size(); cut += 7) {
    auto t = Template::parse(full.substr(0, cut), chat_options(), "cut");
    if (t.ok()) (void)t->render({{"messages", ordered_json::array()}});
  }
}

TEST(HostileInput, InvalidUtf8PassesThrough) {
  EXPECT_EQ(render("a\xff{{ x }}\xc3", {{"x", "b"}}),
            "a\xff"
            "b\xc3");
  EXPECT_EQ(render("{{ '\xe9t\xe9'|upper|length }}"), "3");
}

}  // namespace
}  // namespace tessera::jinja::test
