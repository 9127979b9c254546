#include "runtime/model_name.h"

#include <gtest/gtest.h>

#include <string>

namespace tessera::runtime {
namespace {

TEST(ModelName, HuggingFaceStemsAndTagsAreValid) {
  for (const char* name : {"Qwen2.5-0.5B-Instruct-Q4_K_M", "qwen2:0.5b", "llama-3.1-8b+lora", "a",
                           "model_v2.final", "X"}) {
    EXPECT_TRUE(validate_model_name(name).ok()) << name;
  }
  EXPECT_TRUE(validate_model_name(std::string(128, 'a')).ok());
}

TEST(ModelName, RefusedNamesSayWhatIsWrong) {
  struct Case {
    std::string name;
    std::string says;
  };
  const Case cases[] = {
      {"", "is empty"},
      {std::string(129, 'a'), "is 129 bytes long"},
      {".", "names a directory"},
      {"..", "names a directory"},
      {"../x", "'/' (a path separator) at byte 2"},
      {"a/b", "'/' (a path separator) at byte 1"},
      {"a\\b", "'\\' (a path separator) at byte 1"},
      {std::string("a\0b", 3), "a NUL byte at byte 1"},
      {"my model", "a space at byte 2"},
      {".hidden", "starts with '.'"},
      {"caf\xc3\xa9", "byte \\xc3 at byte 3"},
      {"a\nb", "byte \\x0a at byte 1"},
      {"x*y", "'*' at byte 1"},
  };
  for (const Case& c : cases) {
    auto st = validate_model_name(c.name);
    ASSERT_FALSE(st.ok()) << c.name;
    EXPECT_EQ(st.error().code, ErrorCode::invalid_argument);
    EXPECT_NE(st.error().message.find(c.says), std::string::npos) << st.error().message;
    EXPECT_NE(st.error().message.find(model_name_alphabet()), std::string::npos);
  }
}

TEST(ModelName, QuotingEscapesControlBytesAndCutsLongNames) {
  EXPECT_EQ(quote_name("ok"), "'ok'");
  EXPECT_EQ(quote_name(std::string("a\0\n'", 4)), "'a\\x00\\x0a\\x27'");
  const std::string q = quote_name(std::string(1000, 'x'));
  EXPECT_LT(q.size(), 210u);
  EXPECT_NE(q.find("..."), std::string::npos);
}

TEST(ModelName, CloseNamesFindTyposAndParts) {
  const std::vector<std::string> have = {"qwen2-tiny", "llama-spm-tiny", "bert-tiny", "other"};
  auto c = close_names("qwen2-tiyn", have);
  ASSERT_FALSE(c.empty());
  EXPECT_EQ(c[0], "qwen2-tiny");
  c = close_names("QWEN2", have);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0], "qwen2-tiny");
  EXPECT_TRUE(close_names("zzzzzzzzzz", have).empty());
}

}  // namespace
}  // namespace tessera::runtime
