// The acceptance test of the template engine: every case of
// shared/testdata/templates/golden.json (real chat templates rendered by Python's Jinja2 3.1
// as Hugging Face's apply_chat_template does) must render byte for byte, or fail where Jinja2
// raised.
#include <gtest/gtest.h>

#include <cctype>
#include <ctime>
#include <fstream>
#include <iomanip>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "jinja/template.h"
#include "support/test_support.h"

namespace tessera::jinja {
namespace {

using nlohmann::ordered_json;

struct GoldenCase {
  std::string template_file;
  std::string name;
  ordered_json vars;
  std::string expected;
  std::string error;  // Jinja2's exception, for cases that must fail
};

const ordered_json& golden() {
  static const ordered_json doc = [] {
    std::ifstream in(test::testdata("templates/golden.json"));
    return in ? ordered_json::parse(in, nullptr, false) : ordered_json();
  }();
  return doc;
}

std::vector<GoldenCase> load_cases() {
  std::vector<GoldenCase> cases;
  const ordered_json& doc = golden();
  if (!doc.is_object() || !doc.contains("cases")) return cases;
  for (const auto& c : doc["cases"]) {
    GoldenCase g;
    g.template_file = c.value("template", "");
    g.name = c.value("case", "");
    g.vars = c.value("vars", ordered_json::object());
    g.expected = c.value("expected", "");
    g.error = c.value("error", "");
    cases.push_back(std::move(g));
  }
  return cases;
}

// The fixed local time of the goldens' strftime_now ("now": "2026-11-21T08:30:00").
std::chrono::system_clock::time_point golden_now() {
  std::tm tm{};
  std::istringstream in(golden().value("now", "2026-11-21T08:30:00"));
  in >> std::get_time(&tm, "%Y-%m-%dT%H:%M:%S");
  tm.tm_isdst = -1;
  return std::chrono::system_clock::from_time_t(std::mktime(&tm));
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Control characters made visible, one output line per source line.
std::string visible(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '\n') {
      out += "\\n\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\r') {
      out += "\\r";
    } else {
      out += c;
    }
  }
  return out;
}

std::string first_difference(const std::string& want, const std::string& got) {
  size_t i = 0;
  while (i < want.size() && i < got.size() && want[i] == got[i]) ++i;
  const size_t from = i > 40 ? i - 40 : 0;
  return "first difference at byte " + std::to_string(i) + "\n  expected: ..." +
         visible(want.substr(from, 80)) + "\n  actual:   ..." + visible(got.substr(from, 80));
}

class GoldenTest : public testing::TestWithParam<GoldenCase> {};

TEST_P(GoldenTest, RendersLikeJinja2) {
  const GoldenCase& c = GetParam();
  const std::string source = read_file(test::testdata("templates/" + c.template_file));
  ASSERT_FALSE(source.empty()) << c.template_file;
  Options options;
  options.trim_blocks = true;
  options.lstrip_blocks = true;
  const auto now = golden_now();
  options.now = [now] { return now; };
  auto tpl = Template::parse(source, options, c.template_file);
  ASSERT_TRUE(tpl.ok()) << tpl.error().message;
  auto out = tpl->render(c.vars);
  if (!c.error.empty()) {
    ASSERT_FALSE(out.ok()) << c.template_file << " / " << c.name << ": expected an error ("
                           << c.error << "), rendered:\n"
                           << visible(*out);
    const std::string message = c.error.substr(c.error.find(": ") + 2);
    EXPECT_NE(out.error().message.find(message), std::string::npos)
        << "error " << out.error().message << " lacks the template's message: " << message;
    return;
  }
  ASSERT_TRUE(out.ok()) << c.template_file << " / " << c.name << ": " << out.error().message;
  EXPECT_EQ(*out, c.expected) << c.template_file << " / " << c.name << "\n"
                              << first_difference(c.expected, *out) << "\n--- expected\n"
                              << visible(c.expected) << "\n--- actual\n"
                              << visible(*out);
}

TEST(GoldenFile, HasAllCases) {
  EXPECT_EQ(load_cases().size(), 168u);
}

std::string case_name(const testing::TestParamInfo<GoldenCase>& info) {
  std::string name = info.param.template_file + "_" + info.param.name;
  for (char& ch : name) {
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  }
  return name;
}

INSTANTIATE_TEST_SUITE_P(Templates, GoldenTest, testing::ValuesIn(load_cases()), case_name);

}  // namespace
}  // namespace tessera::jinja
