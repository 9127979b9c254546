// The public API of Template: parsing, rendering, copies, concurrent renders.
#include "jinja/template.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "render_helper.h"

namespace tessera::jinja::test {
namespace {

TEST(Template, ParsesOnceAndRendersManyTimes) {
  auto t = Template::parse("Hello {{ name }}!", {}, "greeting");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->name(), "greeting");
  EXPECT_EQ(*t->render({{"name", "Ann"}}), "Hello Ann!");
  EXPECT_EQ(*t->render({{"name", "Bo"}}), "Hello Bo!");
  EXPECT_EQ(*t->render(nullptr), "Hello !");
}

TEST(Template, CopiesShareTheParsedTemplate) {
  auto t = Template::parse("{{ x * 2 }}");
  ASSERT_TRUE(t.ok());
  const Template copy = *t;
  Template moved = std::move(*t);
  EXPECT_EQ(*copy.render({{"x", 2}}), "4");
  EXPECT_EQ(*moved.render({{"x", 3}}), "6");
}

TEST(Template, VariablesKeepTheirJsonOrderAndTypes) {
  const auto vars = ordered_json::parse(R"({"d": {"z": 1, "a": 2.0, "m": [true, null, "s"]}})");
  EXPECT_EQ(
      render("{{ d }}|{{ d|tojson }}", vars),
      R"({'z': 1, 'a': 2.0, 'm': [True, None, 's']}|{"z": 1, "a": 2.0, "m": [true, null, "s"]})");
}

TEST(Template, RendersConcurrently) {
  auto t = Template::parse(
      "{% set ns = namespace(total=0) %}{% for m in messages %}{% set ns.total = ns.total + m.n %}"
      "{{ m.role|upper }}:{{ m.n }};{% endfor %}={{ ns.total }}",
      chat_options());
  ASSERT_TRUE(t.ok());
  std::vector<std::thread> threads;
  std::vector<int> failures(8, 0);
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      for (int round = 0; round < 200; ++round) {
        const ordered_json vars = {
            {"messages", {{{"role", "user"}, {"n", i}}, {{"role", "bot"}, {"n", round}}}}};
        auto out = t->render(vars);
        const std::string want = "USER:" + std::to_string(i) + ";BOT:" + std::to_string(round) +
                                 ";=" + std::to_string(i + round);
        if (!out.ok() || *out != want) ++failures[static_cast<size_t>(i)];
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int f : failures) EXPECT_EQ(f, 0);
}

TEST(Template, ErrorCodesTellWhatWentWrong) {
  EXPECT_EQ(render_error("{% if %}").code, ErrorCode::malformed);
  EXPECT_EQ(render_error("{% include 'a' %}").code, ErrorCode::unsupported);
  EXPECT_EQ(render_error("{{ raise_exception('no') }}").code, ErrorCode::invalid_argument);
  EXPECT_EQ(render_error("{{ 'x' * 10**10 }}").code, ErrorCode::out_of_range);
  EXPECT_EQ(render_error("{{ ok }}", {{"ok", 1}}).message, "");
}

}  // namespace
}  // namespace tessera::jinja::test
