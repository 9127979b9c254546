#include "engine/sampling/sampling_params.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "gguf/reader.h"
#include "support/test_support.h"

namespace tessera::engine {
namespace {

// The error message when `edit` makes the params invalid ("" if they stay valid).
std::string error_of(const std::function<void(SamplingParams&)>& edit, size_t n_vocab = 0) {
  SamplingParams p;
  edit(p);
  Status s = validate_sampling_params(p, n_vocab);
  if (s.ok()) return "";
  EXPECT_EQ(s.error().code, ErrorCode::invalid_argument);
  return s.error().message;
}

// Whether the error for `edit` names `field`.
testing::AssertionResult names(const std::function<void(SamplingParams&)>& edit,
                               const std::string& field) {
  const std::string message = error_of(edit);
  if (message.find(field) != std::string::npos) return testing::AssertionSuccess();
  return testing::AssertionFailure() << "message '" << message << "' should name " << field;
}

TEST(SamplingParams, DefaultsAreValid) {
  EXPECT_TRUE(validate_sampling_params(SamplingParams{}).ok());
  EXPECT_EQ(error_of([](SamplingParams& p) {
              p.temperature = 0.0f;
              p.top_k = -1;
              p.top_p = 0.01f;
              p.min_p = 1.0f;
              p.penalty_last_n = -1;
              p.presence_penalty = -2.0f;
              p.frequency_penalty = 2.0f;
              p.max_tokens = 1;
              p.logit_bias = {{3, -INFINITY}, {4, 100.0f}};
              p.stop = {"\n"};
            }),
            "");
}

TEST(SamplingParams, InvalidFieldsAreNamed) {
  EXPECT_TRUE(names([](SamplingParams& p) { p.temperature = -0.1f; }, "temperature"));
  EXPECT_TRUE(names([](SamplingParams& p) { p.temperature = NAN; }, "temperature"));
  EXPECT_TRUE(names([](SamplingParams& p) { p.temperature = INFINITY; }, "temperature"));
  EXPECT_TRUE(names([](SamplingParams& p) { p.top_k = -2; }, "top_k"));
  EXPECT_TRUE(names([](SamplingParams& p) { p.top_p = 0.0f; }, "top_p"));
  EXPECT_TRUE(names([](SamplingParams& p) { p.top_p = 1.5f; }, "top_p"));
  EXPECT_TRUE(names([](SamplingParams& p) { p.top_p = NAN; }, "top_p"));
  EXPECT_TRUE(names([](SamplingParams& p) { p.min_p = -0.1f; }, "min_p"));
  EXPECT_TRUE(names([](SamplingParams& p) { p.min_p = 1.1f; }, "min_p"));
  EXPECT_TRUE(names([](SamplingParams& p) { p.repetition_penalty = 0.0f; }, "repetition_penalty"));
  EXPECT_TRUE(names([](SamplingParams& p) { p.penalty_last_n = -2; }, "penalty_last_n"));
  EXPECT_TRUE(names([](SamplingParams& p) { p.presence_penalty = 2.5f; }, "presence_penalty"));
  EXPECT_TRUE(names([](SamplingParams& p) { p.frequency_penalty = -3.0f; }, "frequency_penalty"));
  EXPECT_TRUE(names([](SamplingParams& p) { p.max_tokens = 0; }, "max_tokens"));
  EXPECT_TRUE(names([](SamplingParams& p) { p.max_tokens = -5; }, "max_tokens"));
  EXPECT_TRUE(names([](SamplingParams& p) { p.logit_bias[-1] = 1.0f; }, "logit_bias"));
  EXPECT_TRUE(names([](SamplingParams& p) { p.logit_bias[7] = NAN; }, "logit_bias"));
  EXPECT_TRUE(names([](SamplingParams& p) { p.logit_bias[7] = INFINITY; }, "logit_bias"));
  EXPECT_TRUE(names([](SamplingParams& p) { p.n_probs = -1; }, "n_probs"));
  EXPECT_TRUE(names([](SamplingParams& p) { p.stop = {"ok", ""}; }, "stop[1]"));
  EXPECT_TRUE(names([](SamplingParams& p) { p.stop_token_ids = {-3}; }, "stop_token_ids"));
  EXPECT_EQ(error_of([](SamplingParams& p) { p.top_p = 1.5f; }),
            "top_p must be in (0, 1] (1 = off), got 1.5");
}

TEST(SamplingParams, TokenIdsAreCheckedAgainstTheVocabulary) {
  EXPECT_EQ(error_of([](SamplingParams& p) { p.logit_bias[99] = 1.0f; }, 100), "");
  EXPECT_NE(error_of([](SamplingParams& p) { p.logit_bias[100] = 1.0f; }, 100)
                .find("logit_bias: token id 100 is outside the vocabulary (n_vocab 100)"),
            std::string::npos);
  EXPECT_NE(error_of(
                [](SamplingParams& p) {
                  p.stop_token_ids = {5, 100};
                },
                100)
                .find("stop_token_ids"),
            std::string::npos);
}

TEST(FinishReason, Names) {
  EXPECT_STREQ(finish_reason_name(FinishReason::stop), "stop");
  EXPECT_STREQ(finish_reason_name(FinishReason::length), "length");
  EXPECT_STREQ(finish_reason_name(FinishReason::none), "none");
}

TEST(FinishReason, StopTokenWinsOverLength) {
  SamplingParams p;
  p.max_tokens = 3;
  const StopTokenSet stops({2, 7, 2});
  EXPECT_EQ(stops.ids().size(), 2u);
  EXPECT_EQ(finish_reason_after(5, 1, false, p, stops), FinishReason::none);
  EXPECT_EQ(finish_reason_after(7, 1, false, p, stops), FinishReason::stop);
  EXPECT_EQ(finish_reason_after(5, 3, false, p, stops), FinishReason::length);
  EXPECT_EQ(finish_reason_after(2, 3, false, p, stops), FinishReason::stop);
  EXPECT_EQ(finish_reason_after(5, 2, true, p, stops), FinishReason::length);
  p.max_tokens = -1;
  EXPECT_EQ(finish_reason_after(5, 100000, false, p, stops), FinishReason::none);
}

TEST(StopTokenSet, TakesTheTokenizersEndOfGenerationTokens) {
  const std::string path = test::testdata("vocab/ggml-vocab-qwen2.gguf");
  if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " not found";
  auto file = gguf::GgufFile::open(path);
  ASSERT_TRUE(file.ok()) << file.error().message;
  auto tok = Tokenizer::from_gguf(*file);
  ASSERT_TRUE(tok.ok()) << tok.error().message;
  ASSERT_NE(tok->eos(), kNoToken);

  SamplingParams p;
  p.stop_token_ids = {42};
  const StopTokenSet with_eos(p, *tok);
  EXPECT_TRUE(with_eos.contains(tok->eos()));
  EXPECT_TRUE(with_eos.contains(42));
  EXPECT_FALSE(with_eos.contains(43));
  for (TokenId id : with_eos.ids()) EXPECT_TRUE(id == 42 || tok->is_end_of_generation(id));

  p.ignore_eos = true;
  const StopTokenSet without_eos(p, *tok);
  EXPECT_FALSE(without_eos.contains(tok->eos()));
  EXPECT_TRUE(without_eos.contains(42));
}

}  // namespace
}  // namespace tessera::engine
