// `tessera tokenize` and `tessera template` as a user runs them: the golden token ids of
// every test model, the golden renderings of every chat-template case, and errors.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "support/test_support.h"

namespace tessera {
namespace {

using nlohmann::json;
using nlohmann::ordered_json;
using test::tessera;

ordered_json read_json(const std::string& path) {
  std::ifstream in(path);
  return ordered_json::parse(in);
}

// A word for the shell, in single quotes.
std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char ch : s) out += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
  return out + "'";
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

TEST(CliTokenize, GoldenIdsOfEveryModel) {
  test::TempDir dir;
  for (const auto& m : test::testdata_models()) {
    const ordered_json golden = read_json(test::testdata("golden/" + m + ".json"));
    if (!golden.contains("prompts")) continue;  // the reranker golden has pairs instead
    for (const auto& p : golden["prompts"]) {
      SCOPED_TRACE(m + " prompt " + std::to_string(p["index"].get<int>()));
      const std::string text_file = dir.file("prompt.txt");
      write_text(text_file, p["text"].get<std::string>());
      const std::string model = test::testdata("models/" + m + ".gguf");
      auto r = tessera("tokenize --json --model " + model + " --file " + text_file);
      ASSERT_EQ(r.exit_code, 0);
      const json out = json::parse(r.output);
      EXPECT_EQ(out["ids"], p["tokens_parse_special"]);
      EXPECT_EQ(out["pieces"].size(), out["ids"].size());
      r = tessera("tokenize --json --no-special --model " + model + " --file " + text_file);
      ASSERT_EQ(r.exit_code, 0);
      EXPECT_EQ(json::parse(r.output)["ids"], p["tokens_no_special"]);
    }
  }
}

TEST(CliTokenize, TextOutputShowsIdsAndQuotedPieces) {
  auto r = tessera("tokenize --model " + test::testdata("vocab/ggml-vocab-llama-spm.gguf") +
                   " 'Hi\tyou'");
  ASSERT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.output.substr(0, 14), "      1 '<s>'\n") << r.output;
  EXPECT_NE(r.output.find("\\t"), std::string::npos) << r.output;
  r = tessera("tokenize --json --model " + test::testdata("vocab/ggml-vocab-qwen2.gguf") +
              " '你好'");
  ASSERT_EQ(r.exit_code, 0);
  const json out = json::parse(r.output);
  EXPECT_EQ(out["ids"].size(), out["pieces"].size());
}

TEST(CliTokenize, BadInvocationsAndFiles) {
  const std::string spm = test::testdata("vocab/ggml-vocab-llama-spm.gguf");
  auto r = tessera("tokenize --model " + spm, true);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("give TEXT or --file"), std::string::npos) << r.output;
  r = tessera("tokenize --model " + spm + " --file /nonexistent/x.txt", true);
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.output.find("/nonexistent/x.txt"), std::string::npos) << r.output;
  test::TempDir dir;
  const std::string bare = dir.file("bare.gguf");
  test::write_file(bare,
                   test::Bytes().header(3, 0, 1).kv_str("general.architecture", "llama").data());
  r = tessera("tokenize --model " + bare + " hello", true);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("tokenizer"), std::string::npos) << r.output;
  // Invalid UTF-8 is replaced, not fatal.
  const std::string bad = dir.file("bad.txt");
  write_text(bad, "ok \xff\xfe \xe4\xbd end");
  r = tessera("tokenize --json --model " + spm + " --file " + bad);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_FALSE(json::parse(r.output)["ids"].empty());
}

TEST(CliTemplate, EveryGoldenCaseByteForByte) {
  const ordered_json golden = read_json(test::testdata("templates/golden.json"));
  const std::string now = golden["now"].get<std::string>();
  test::TempDir dir;
  int passed = 0;
  for (const auto& c : golden["cases"]) {
    const std::string name =
        c["template"].get<std::string>() + " / " + c["case"].get<std::string>();
    SCOPED_TRACE(name);
    const auto& vars = c["vars"];
    write_text(dir.file("messages.json"), vars["messages"].dump());
    std::string args = "template --template " +
                       test::testdata("templates/" + c["template"].get<std::string>()) +
                       " --messages @" + dir.file("messages.json") + " --now " + now + " --var " +
                       shell_quote("bos_token=" + vars["bos_token"].get<std::string>()) +
                       " --var " + shell_quote("eos_token=" + vars["eos_token"].get<std::string>());
    if (!vars["add_generation_prompt"].get<bool>()) args += " --no-generation-prompt";
    if (vars.contains("tools")) {
      write_text(dir.file("tools.json"), vars["tools"].dump());
      args += " --tools @" + dir.file("tools.json");
    }
    const auto r =
        test::run_command(std::string(TESSERA_BIN) + " " + args + " 2>" + dir.file("stderr.txt"));
    if (c.contains("error")) {
      EXPECT_NE(r.exit_code, 0);
      std::string message = c["error"].get<std::string>();
      message = message.substr(message.find(": ") + 2);  // without Jinja2's exception type
      std::ifstream err(dir.file("stderr.txt"));
      const std::string stderr_text((std::istreambuf_iterator<char>(err)), {});
      if (c["error"].get<std::string>().rfind("TemplateError", 0) == 0) {
        EXPECT_NE(stderr_text.find(message), std::string::npos) << stderr_text;
      }
      passed += r.exit_code != 0;
      continue;
    }
    EXPECT_EQ(r.exit_code, 0);
    EXPECT_EQ(r.output, c["expected"].get<std::string>());
    passed += r.exit_code == 0 && r.output == c["expected"].get<std::string>();
  }
  EXPECT_EQ(passed, static_cast<int>(golden["cases"].size()));
}

TEST(CliTemplate, ModelTemplateVarsAndErrors) {
  const std::string qwen = test::testdata("models/qwen2-tiny.gguf");
  auto r =
      tessera("template --model " + qwen + R"( --messages '[{"role": "user", "content": "Hi"}]')");
  ASSERT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.output,
            "<|im_start|>system\nYou are a helpful assistant<|im_end|>\n<|im_start|>user\nHi"
            "<|im_end|>\n<|im_start|>assistant\n");
  test::TempDir dir;
  const std::string t = dir.file("t.jinja");
  write_text(
      t, "{{ flag is sameas true }} {{ name }} {{ n + 1 }} {{ strftime_now('%Y-%m-%d %H:%M') }}");
  r = tessera(
      "template --template " + t +
      " --messages '[]' --var flag=true --var name=Ada --var n=41 --now 2026-01-02T03:04:05");
  ASSERT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.output, "True Ada 42 2026-01-02 03:04");

  r = tessera(
      "template --model " + test::testdata("models/llama-spm-tiny.gguf") + " --messages '[]'",
      true);
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.output.find("no chat template"), std::string::npos) << r.output;
  r = tessera("template --model " + qwen + " --messages '[{\"role\": '", true);
  EXPECT_EQ(r.exit_code, 5);
  EXPECT_NE(r.output.find("--messages"), std::string::npos) << r.output;
  r = tessera("template --model " + qwen + " --messages '{\"role\": \"user\"}'", true);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("messages must be a JSON array"), std::string::npos) << r.output;
  write_text(t, "line one\n{% if x %}\n  {{ x | no_such_filter }}\n{% endif %}");
  r = tessera("template --template " + t + " --messages '[]'", true);
  EXPECT_EQ(r.exit_code, 5);
  EXPECT_NE(r.output.find(t + ":3:"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("no_such_filter"), std::string::npos) << r.output;
  r = tessera("template --template " + t + " --model " + qwen + " --messages '[]'", true);
  EXPECT_EQ(r.exit_code, 2);
  r = tessera("template --template " + t + " --messages '[]' --var novalue", true);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("NAME=VALUE"), std::string::npos) << r.output;
  r = tessera("template --template " + t + " --messages @/nonexistent/m.json", true);
  EXPECT_EQ(r.exit_code, 3);
  r = tessera("template --template " + t + " --messages '[]' --now yesterday", true);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("--now"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace tessera
