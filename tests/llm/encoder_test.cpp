// The encoder runtime (encoder.h) against llama.cpp's outputs for the tiny BERT models in
// ../shared/testdata (embeddings: cosine >= 0.9999 and the same token ids; rerank scores
// within 2e-3 with the same pair tokens and ranking), batching without cross-talk, and bad
// input.
#include "engine/llm/encoder.h"

#include <cmath>
#include <string>
#include <vector>

#include "llm_test_util.h"

namespace tessera::test {
namespace {

using engine::EmbedOptions;
using engine::EncoderModel;
using engine::Pooling;

std::shared_ptr<const EncoderModel> load_encoder(const std::string& name) {
  auto m = EncoderModel::load(model_path(name));
  EXPECT_TRUE(m.ok()) << (m.ok() ? "" : m.error().message);
  return m.ok() ? *m : nullptr;
}

double cosine(const std::vector<float>& a, const std::vector<float>& b) {
  double ab = 0, aa = 0, bb = 0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    ab += static_cast<double>(a[i]) * b[i];
    aa += static_cast<double>(a[i]) * a[i];
    bb += static_cast<double>(b[i]) * b[i];
  }
  return aa > 0 && bb > 0 ? ab / std::sqrt(aa * bb) : (aa == bb ? 1.0 : 0.0);
}

TEST(EncoderGolden, BertTinyEmbeddingsAndTokensMatchTheReference) {
  auto m = load_encoder("bert-tiny");
  ASSERT_NE(m, nullptr);
  const nlohmann::json g = read_golden("bert-tiny");
  const auto E = static_cast<size_t>(g["n_embd"].get<int>());
  for (const auto& p : g["prompts"]) {
    const std::string text = p["text"];
    SCOPED_TRACE("prompt " + std::to_string(p["index"].get<int>()));
    EXPECT_EQ(m->tokenizer().encode(text), p["tokens"].get<std::vector<int32_t>>());
    auto e = m->embed({text});
    ASSERT_TRUE(e.ok()) << e.error().message;
    ASSERT_EQ((*e)[0].values.size(), E);
    EXPECT_GE(cosine((*e)[0].values, p["embedding_l2"].get<std::vector<float>>()), 0.9999);
    EXPECT_EQ((*e)[0].n_tokens, static_cast<int32_t>(p["tokens"].size()));
    EXPECT_FALSE((*e)[0].truncated);
    // Every token's last hidden state (pooling none), and the unnormalized mean.
    EmbedOptions none;
    none.pooling = Pooling::none;
    auto t = m->embed({text}, none);
    ASSERT_TRUE(t.ok());
    const std::vector<float> want = base64_floats(p["token_embeddings_f32_b64"]);
    ASSERT_EQ((*t)[0].values.size(), want.size());
    for (size_t r = 0; r < want.size() / E; ++r) {
      const std::vector<float> got_row((*t)[0].values.begin() + r * E,
                                       (*t)[0].values.begin() + (r + 1) * E);
      const std::vector<float> want_row(want.begin() + r * E, want.begin() + (r + 1) * E);
      EXPECT_GE(cosine(got_row, want_row), 0.9999) << "token " << r;
    }
    EmbedOptions raw;
    raw.normalize = false;
    auto mean = m->embed({text}, raw);
    ASSERT_TRUE(mean.ok());
    const std::vector<float> want_mean = p["pooled_mean"].get<std::vector<float>>();
    for (size_t d = 0; d < E; ++d) EXPECT_NEAR((*mean)[0].values[d], want_mean[d], 2e-3) << d;
  }
}

TEST(EncoderBatching, SixtyFourTextsAtOnceEqualOneByOne) {
  auto m = load_encoder("bert-tiny");
  ASSERT_NE(m, nullptr);
  std::vector<std::string> texts;
  for (int i = 0; i < 64; ++i) {
    std::string t = "text " + std::to_string(i) + ":";
    for (int w = 0; w < (i * 37) % 150; ++w) t += " word" + std::to_string((w * 13 + i) % 97);
    texts.push_back(t);
  }
  texts[5] = "";
  texts[9] = "北京的天气怎么样 😀";
  auto all = m->embed(texts);
  ASSERT_TRUE(all.ok()) << all.error().message;
  for (size_t i = 0; i < texts.size(); ++i) {
    auto one = m->embed({texts[i]});
    ASSERT_TRUE(one.ok());
    EXPECT_GE(cosine((*all)[i].values, (*one)[0].values), 0.99999) << i;
    EXPECT_EQ((*all)[i].values, (*one)[0].values) << "text " << i << ": not the same bits";
    EXPECT_EQ((*all)[i].n_tokens, (*one)[0].n_tokens);
  }
}

TEST(EncoderGolden, RerankerScoresTokensAndRankingMatchTheReference) {
  auto m = load_encoder("bert-rerank-tiny");
  ASSERT_NE(m, nullptr);
  ASSERT_TRUE(m->has_rank_head());
  const nlohmann::json g = read_golden("bert-rerank-tiny");
  const auto queries = g["queries"].get<std::vector<std::string>>();
  const auto docs = g["documents"].get<std::vector<std::string>>();
  std::vector<std::vector<float>> scores(queries.size());
  for (size_t qi = 0; qi < queries.size(); ++qi) {
    auto r = m->rerank(queries[qi], docs);
    ASSERT_TRUE(r.ok()) << r.error().message;
    for (const auto& s : *r) scores[qi].push_back(s.score);
    for (size_t d = 0; d < docs.size(); ++d) {  // batch-invariant: each document alone
      auto one = m->rerank(queries[qi], {docs[d]});
      ASSERT_TRUE(one.ok());
      EXPECT_EQ((*one)[0].score, scores[qi][d]) << "query " << qi << " document " << d;
    }
  }
  for (const auto& p : g["pairs"]) {
    const auto qi = p["query_index"].get<size_t>();
    const auto di = p["document_index"].get<size_t>();
    SCOPED_TRACE("query " + std::to_string(qi) + " document " + std::to_string(di));
    EXPECT_EQ(m->pair_tokens(queries[qi], docs[di]), p["tokens"].get<std::vector<int32_t>>());
    EXPECT_NEAR(scores[qi][di], p["score"].get<double>(), 2e-3);
  }
  for (const auto& rk : g["rankings"]) {
    const auto qi = rk["query_index"].get<size_t>();
    std::vector<size_t> order(docs.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return scores[qi][a] > scores[qi][b]; });
    EXPECT_EQ(order, rk["document_indices"].get<std::vector<size_t>>()) << "query " << qi;
  }
  engine::RerankOptions sig;
  sig.sigmoid = true;
  auto s = m->rerank(queries[0], {docs[0]}, sig);
  ASSERT_TRUE(s.ok());
  EXPECT_NEAR((*s)[0].score, 1.0 / (1.0 + std::exp(-scores[0][0])), 1e-6);
}

TEST(EncoderErrors, BadInputGetsClearErrors) {
  auto m = load_encoder("bert-tiny");
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
