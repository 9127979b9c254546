// The encoder runtime (encoder.h) against llama.cpp's outputs for the tiny BERT models in
// ../shared/testdata (embeddings: cosine >= 0.9999 and the same token ids; rerank scores
// within 2e-3 with the same pair tokens and ranking; the checks of llm_test_util.h), batching
// without cross-talk, and bad input.
#include "engine/llm/encoder.h"

#include <string>
#include <vector>

#include "llm_test_util.h"

namespace tessera::test {
namespace {

using engine::EmbedOptions;
using engine::EncoderModel;

// The goldens' comparisons are llm_test_util.h's, shared with cuda_golden_test.cpp.
TEST(EncoderGolden, BertTinyEmbeddingsAndTokensMatchTheReference) {
  auto m = load_encoder_model("bert-tiny");
  ASSERT_NE(m, nullptr);
  expect_matches_embedding_golden(*m);
}

TEST(EncoderBatching, SixtyFourTextsAtOnceEqualOneByOne) {
  auto m = load_encoder_model("bert-tiny");
  ASSERT_NE(m, nullptr);
  const std::vector<std::string> texts = batching_texts();
  auto all = m->embed(texts);
  ASSERT_TRUE(all.ok()) << all.error().message;
  for (size_t i = 0; i < texts.size(); ++i) {
    auto one = m->embed({texts[i]});
    ASSERT_TRUE(one.ok());
    EXPECT_GE(cosine_similarity((*all)[i].values, (*one)[0].values), 0.99999) << i;
    EXPECT_EQ((*all)[i].values, (*one)[0].values) << "text " << i << ": not the same bits";
    EXPECT_EQ((*all)[i].n_tokens, (*one)[0].n_tokens);
  }
}

// On the CPU a document scored alone gets the same bits as in a batch (batch-invariant).
TEST(EncoderGolden, RerankerScoresTokensAndRankingMatchTheReference) {
  auto m = load_encoder_model("bert-rerank-tiny");
  ASSERT_NE(m, nullptr);
  expect_matches_rerank_golden(*m, 0.0);
}

TEST(EncoderErrors, BadInputGetsClearErrors) {
  auto m = load_encoder_model("bert-tiny");
  ASSERT_NE(m, nullptr);
  // Empty text: WordPiece still gives [CLS] [SEP], which is embedded like the reference does;
  // a text with no tokens at all is an error naming it.
  auto empty = m->embed({""});
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ((*empty)[0].n_tokens, 2);
  auto none = m->embed_tokens({{101, 102}, {}});
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.error().message.find("text 1 has no tokens"), std::string::npos);
  auto out_of_vocab = m->embed_tokens({{101, 999999}});
  ASSERT_FALSE(out_of_vocab.ok());
  EXPECT_NE(out_of_vocab.error().message.find("outside the vocabulary"), std::string::npos);
  // Longer than the context (256): cut to it, keeping the final [SEP], and flagged; an error
  // when truncation is off.
  std::string longer;
  for (int i = 0; i < 300; ++i) longer += " word";
  auto cut = m->embed({"short", longer});
  ASSERT_TRUE(cut.ok());
  EXPECT_FALSE((*cut)[0].truncated);
  EXPECT_TRUE((*cut)[1].truncated);
  EXPECT_EQ((*cut)[1].n_tokens, 256);
  EmbedOptions strict;
  strict.truncate = false;
  auto refused = m->embed({"short", longer}, strict);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(
      refused.error().message.find("text 1 has 302 tokens, more than the model's context of 256"),
      std::string::npos)
      << refused.error().message;
  // Not UTF-8.
  auto bytes = m->embed({"fine", std::string("bad \xff\xfe bytes")});
  ASSERT_FALSE(bytes.ok());
  EXPECT_NE(bytes.error().message.find("text 1 is not valid UTF-8"), std::string::npos);
  // An embedding model is no reranker; rank pooling is for rerank().
  auto no_head = m->rerank("q", {"d"});
  ASSERT_FALSE(no_head.ok());
  EXPECT_NE(no_head.error().message.find("not a reranker"), std::string::npos);
  // A decoder is not an encoder.
  auto decoder = EncoderModel::load(model_path("qwen2-tiny"));
  ASSERT_FALSE(decoder.ok());
  EXPECT_NE(decoder.error().message.find("qwen2 decoder"), std::string::npos)
      << decoder.error().message;
}

// Broken encoder files are refused with the tensor named.
TEST(EncoderErrors, BrokenFilesNameTheTensor) {
  TempDir dir;
  const std::string missing = dir.file("missing.gguf");
  copy_model(model_path("bert-tiny"), missing,
             [](const gguf::TensorInfo& t, std::vector<int64_t>&) {
               return t.name != "blk.1.ffn_up.bias";
             });
  auto m = EncoderModel::load(missing);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.error().message.find("blk.1.ffn_up.bias is missing"), std::string::npos)
      << m.error().message;
  const std::string short_pos = dir.file("short.gguf");
  copy_model(model_path("bert-tiny"), short_pos,
             [](const gguf::TensorInfo& t, std::vector<int64_t>& ne) {
               if (t.name == "position_embd.weight") ne[1] = 100;
               return true;
             });
  auto s = EncoderModel::load(short_pos);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("position_embd.weight has shape [64, 100], expected [64, 256]"),
            std::string::npos)
      << s.error().message;
  const std::string headless = dir.file("headless.gguf");
  copy_model(model_path("bert-rerank-tiny"), headless,
             [](const gguf::TensorInfo& t, std::vector<int64_t>&) {
               return t.name != "cls.output.weight";
             });
  auto h = EncoderModel::load(headless);
  ASSERT_FALSE(h.ok());
  EXPECT_NE(h.error().message.find("cls.output.weight is missing"), std::string::npos)
      << h.error().message;
}

}  // namespace
}  // namespace tessera::test
