// ChatTemplate: the template and special-token texts come from the GGUF file; inputs are
// checked; the clock is injectable.
#include "engine/chat_template.h"

#include <gtest/gtest.h>

#include "gguf/reader.h"
#include "support/test_support.h"

namespace tessera::engine {
namespace {

using nlohmann::ordered_json;

TEST(ChatTemplate, FromModelFileWithItsSpecialTokens) {
  auto file = gguf::GgufFile::open(test::testdata("models/qwen2-tiny.gguf"));
  ASSERT_TRUE(file.ok());
  auto t = ChatTemplate::from_gguf(*file);
  ASSERT_TRUE(t.ok()) << t.error().message;
  ChatTemplateInput in;
  in.messages = ordered_json::parse(R"([{"role": "system", "content": "Be brief."},
                                        {"role": "user", "content": "Hi"}])");
  auto text = t->render(in);
  ASSERT_TRUE(text.ok()) << text.error().message;
  EXPECT_EQ(*text,
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"
            "<|im_start|>assistant\n");
  in.add_generation_prompt = false;
  EXPECT_EQ(t->render(in).value(),
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n");

  auto own = ChatTemplate::from_source("{{ bos_token }}|{{ eos_token }}", "own");
  ASSERT_TRUE(own.ok());
  EXPECT_EQ(own->render(in).value(), "|");
  in.extra_vars = {{"bos_token", "<s>"}, {"eos_token", "</s>"}};
  EXPECT_EQ(own->render(in).value(), "<s>|</s>");
}

TEST(ChatTemplate, FileWithoutTemplateOrWithABrokenOne) {
  auto file = gguf::GgufFile::open(test::testdata("models/llama-spm-tiny.gguf"));
  ASSERT_TRUE(file.ok());
  auto t = ChatTemplate::from_gguf(*file);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.error().code, ErrorCode::not_found);
  EXPECT_NE(t.error().message.find("tokenizer.chat_template"), std::string::npos);
  auto broken = ChatTemplate::from_source("a\n{% for m in messages %}{{ m }", "broken.jinja");
  ASSERT_FALSE(broken.ok());
  EXPECT_EQ(broken.error().code, ErrorCode::malformed);
  EXPECT_NE(broken.error().message.find("broken.jinja:2:"), std::string::npos)
      << broken.error().message;
}

TEST(ChatTemplate, ChecksItsInputs) {
  auto t = ChatTemplate::from_source("{{ messages | length }}", "t");
  ASSERT_TRUE(t.ok());
  ChatTemplateInput in;
  in.messages = ordered_json::parse(R"({"role": "user"})");
  EXPECT_EQ(t->render(in).error().code, ErrorCode::invalid_argument);
  in.messages = ordered_json::parse(R"([{"role": "user"}, 3])");
  auto r = t->render(in);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("messages[1]"), std::string::npos);
  in.messages = ordered_json::array();
  in.tools = "not a list";
  EXPECT_EQ(t->render(in).error().code, ErrorCode::invalid_argument);
}

TEST(ChatTemplate, InjectedClock) {
  auto t = ChatTemplate::from_source("{{ strftime_now('%d %b %Y') }}", "t");
  ASSERT_TRUE(t.ok());
  ChatTemplateInput in;
  std::tm tm{};
  tm.tm_year = 2026 - 1900;
  tm.tm_mon = 10;
  tm.tm_mday = 21;
  tm.tm_hour = 8;
  tm.tm_isdst = -1;
  in.now = std::chrono::system_clock::from_time_t(std::mktime(&tm));
  EXPECT_EQ(t->render(in).value(), "21 Nov 2026");
}

}  // namespace
}  // namespace tessera::engine
