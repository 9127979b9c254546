// Helpers of the runtime tests: the golden files, base64, loading test models (on a given
// backend or a CPU one of their own), argmax, and the comparisons with the goldens that more
// than one test program makes (the decoder, embedding and rerank goldens).
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>
#include <span>
#include <sstream>
#include <string>
#include <vector>

#include "engine/llm/encoder.h"
#include "engine/llm/llm.h"
#include "gguf/writer.h"
#include "support/test_support.h"

namespace tessera::test {

inline std::string model_path(const std::string& name) {
  return testdata("models/" + name + ".gguf");
}

inline nlohmann::json read_golden(const std::string& name) {
  std::ifstream f(testdata("golden/" + name + ".json"));
  std::stringstream ss;
  ss << f.rdbuf();
  return nlohmann::json::parse(ss.str());
}

// Standard base64 (with '=' padding) to bytes.
inline std::vector<uint8_t> base64_decode(const std::string& s) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::vector<uint8_t> out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : s) {
    const int v = value(c);
    if (v < 0) continue;  // padding, whitespace
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<uint8_t>((acc >> bits) & 0xff));
    }
  }
  return out;
}

inline std::vector<float> base64_floats(const std::string& s) {
  const std::vector<uint8_t> bytes = base64_decode(s);
  std::vector<float> f(bytes.size() / 4);
  std::memcpy(f.data(), bytes.data(), f.size() * 4);
  return f;
}

// Index of the largest value (lowest index on ties).
inline int32_t argmax(std::span<const float> v) {
  size_t best = 0;
  for (size_t i = 1; i < v.size(); ++i) {
    if (v[i] > v[best]) best = i;
  }
  return static_cast<int32_t>(best);
}

// `backend` null: a CPU backend of the model's own.
inline std::shared_ptr<const engine::LlmModel> load_model_file(
    const std::string& path, int n_threads = 2,
    std::shared_ptr<backend::Backend> backend = nullptr) {
  auto m = engine::LlmModel::load(path, {.n_threads = n_threads, .backend = std::move(backend)});
  EXPECT_TRUE(m.ok()) << (m.ok() ? "" : m.error().message);
  return m.ok() ? *m : nullptr;
}

inline std::shared_ptr<const engine::LlmModel> load_model(
    const std::string& name, int n_threads = 2,
    std::shared_ptr<backend::Backend> backend = nullptr) {
  return load_model_file(model_path(name), n_threads, std::move(backend));
}

inline std::shared_ptr<const engine::EncoderModel> load_encoder_model(
    const std::string& name, std::shared_ptr<backend::Backend> backend = nullptr) {
  auto m =
      engine::EncoderModel::load(model_path(name), {.n_threads = 0, .backend = std::move(backend)});
  EXPECT_TRUE(m.ok()) << (m.ok() ? "" : m.error().message);
  return m.ok() ? *m : nullptr;
}

inline std::unique_ptr<engine::LlmContext> make_context(
    std::shared_ptr<const engine::LlmModel> model, int n_threads = 2, int64_t n_ctx = 256,
    int32_t n_seq = 1) {
  engine::ContextOptions o;
  o.n_ctx = n_ctx;
  o.n_seq_max = n_seq;
  o.kv_type = backend::KvType::f32;
  o.n_threads = n_threads;
  auto c = engine::LlmContext::create(std::move(model), o);
  EXPECT_TRUE(c.ok()) << (c.ok() ? "" : c.error().message);
  return c.ok() ? std::move(c).value() : nullptr;
}

// Copies `src` into `dst`, letting `edit` drop (return false) or reshape a tensor.
using TensorEdit = std::function<bool(const gguf::TensorInfo& t, std::vector<int64_t>& ne)>;

// `nan_tensor` (F32) is written full of NaNs.
inline void copy_model(const std::string& src, const std::string& dst, const TensorEdit& edit,
                       const std::string& nan_tensor = "") {
  auto file = gguf::GgufFile::open(src);
  ASSERT_TRUE(file.ok());
  gguf::Writer w(file->alignment());
  for (const auto& e : file->metadata()) w.set(e.key, e.value);
  std::vector<std::vector<uint8_t>> zeros;
  for (const auto& t : file->tensors()) {
    std::vector<int64_t> ne(t.ne.begin(), t.ne.begin() + t.n_dims);
    if (!edit(t, ne)) continue;
    uint64_t n = 1;
    for (int64_t d : ne) n *= static_cast<uint64_t>(d);
    if (t.name == nan_tensor) {
      std::vector<float> nans(n, std::numeric_limits<float>::quiet_NaN());
      zeros.emplace_back(reinterpret_cast<const uint8_t*>(nans.data()),
                         reinterpret_cast<const uint8_t*>(nans.data() + n));
      ASSERT_TRUE(w.add_tensor(t.name, t.type, ne, zeros.back()).ok());
    } else if (n == t.n_elements) {
      ASSERT_TRUE(w.add_tensor(t.name, t.type, ne, {t.data, t.n_bytes}).ok());
    } else {
      const auto* info = gguf::tensor_type_info(t.type);
      zeros.emplace_back(n / info->block_size * info->block_bytes, 0);
      ASSERT_TRUE(w.add_tensor(t.name, t.type, ne, zeros.back()).ok());
    }
  }
  ASSERT_TRUE(w.write(dst).ok());
}

// ---- The goldens (shared/testdata/golden; tolerances from its README).

// A decoder model of the goldens and its tolerance (absolute, on logits). Measured max |delta|
// of the last logits on the CPU (8 prompts; 2026 run): F32 6.2e-6, llama-bpe-tiny (F16) 0.054,
// llama-kq-tiny (F16) 0.0084, Q4_0 0.18, qwen2 (Q8_0) 0.27, Q4_K_M 0.28, Q3_K_M 0.25, Q2_K 0.31.
// Each tolerance is that with 20-50% headroom, in the README's 0.1-0.3 band for input-rounding
// differences (Q2_K slightly above: its coarsest weights amplify them); the F32 model is
// computed as the reference does up to summation order, so 1e-4.
struct DecoderGolden {
  const char* name;
  double tolerance;
};

inline const std::vector<DecoderGolden>& decoder_goldens() {
  static const std::vector<DecoderGolden> kGoldens = {
      {"llama-spm-tiny", 1e-4},       {"llama-spm-tiny-q4_0", 0.25}, {"llama-bpe-tiny", 0.1},
      {"qwen2-tiny", 0.35},           {"llama-kq-tiny", 0.03},       {"llama-kq-tiny-Q4_K_M", 0.35},
      {"llama-kq-tiny-Q3_K_M", 0.35}, {"llama-kq-tiny-Q2_K", 0.4},
  };
  return kGoldens;
}

inline void PrintTo(const DecoderGolden& g, std::ostream* os) {
  *os << g.name;
}

// A test name for a model ("llama-spm-tiny" -> "llama_spm_tiny").
inline std::string golden_test_name(const std::string& model) {
  std::string n = model;
  std::replace(n.begin(), n.end(), '-', '_');
  return n;
}

// Runs every prompt of the model's golden (F32 KV cache, the whole prompt in one batch, the
// goldens' settings) and compares: the tokens exactly; the last logits within `tol`; the top-10
// ids at every position where the golden's gaps exceed `tol`, and their logits within `tol`;
// greedy continuations (one token per decode) up to the first step whose margin is below `tol`.
inline void expect_matches_decoder_golden(const std::shared_ptr<const engine::LlmModel>& model,
                                          const std::string& name, double tol) {
  ASSERT_NE(model, nullptr);
  const nlohmann::json golden = read_golden(name);
  ASSERT_EQ(golden["n_vocab"].get<int64_t>(), model->n_vocab());

  double max_delta = 0.0;
  int greedy_compared = 0;
  int top10_compared = 0;
  for (const auto& p : golden["prompts"]) {
    if (p.contains("skipped")) continue;
    const std::string text = p["text"].get<std::string>();
    SCOPED_TRACE("prompt " + std::to_string(p["index"].get<int>()));
    const auto expected_tokens = p["tokens"].get<std::vector<engine::TokenId>>();
    const std::vector<engine::TokenId> tokens = model->tokenizer().encode(text);
    ASSERT_EQ(tokens, expected_tokens);

    auto ctx = make_context(model);
    ASSERT_NE(ctx, nullptr);
    engine::Batch batch;
    for (size_t i = 0; i < tokens.size(); ++i) {
      batch.add(tokens[i], 0, static_cast<int32_t>(i), true);
    }
    const Status st = ctx->decode(batch);
    ASSERT_TRUE(st.ok()) << st.error().message;

    // Last-position logits.
    const std::vector<float> want = base64_floats(p["last_logits_f32_b64"].get<std::string>());
    const std::span<const float> got = ctx->logits(tokens.size() - 1);
    ASSERT_EQ(want.size(), got.size());
    double delta = 0.0;
    for (size_t j = 0; j < want.size(); ++j) {
      delta = std::max(delta, std::abs(static_cast<double>(got[j]) - want[j]));
    }
    max_delta = std::max(max_delta, delta);
    EXPECT_LE(delta, tol);

    // Top-10 ids at every position, where the golden's gaps allow it; and their logits.
    const auto& top_ids = p["top10_ids"];
    const auto& top_logits = p["top10_logits"];
    ASSERT_EQ(top_ids.size(), tokens.size());
    for (size_t pos = 0; pos < tokens.size(); ++pos) {
      const auto ids = top_ids[pos].get<std::vector<int32_t>>();
      const auto vals = top_logits[pos].get<std::vector<double>>();
      const std::span<const float> row = ctx->logits(pos);
      std::vector<int32_t> order(row.size());
      for (size_t j = 0; j < order.size(); ++j) order[j] = static_cast<int32_t>(j);
      std::partial_sort(order.begin(), order.begin() + 11, order.end(), [&](int32_t a, int32_t b) {
        return row[a] > row[b] || (row[a] == row[b] && a < b);
      });
      for (size_t r = 0; r < ids.size(); ++r) {
        EXPECT_NEAR(row[static_cast<size_t>(ids[r])], vals[r], tol)
            << "position " << pos << " rank " << r;
        const bool apart_above = r == 0 || vals[r - 1] - vals[r] > tol;
        // Below the last rank the golden's 11th logit is unknown: it is ours within tol, so
        // rank 9 stands apart when our 11th is more than 2 tol below the golden 10th.
        const bool apart_below = r + 1 == ids.size()
                                     ? row[static_cast<size_t>(order[10])] < vals[r] - 2 * tol
                                     : vals[r] - vals[r + 1] > tol;
        if (apart_above && apart_below) {
          EXPECT_EQ(order[r], ids[r]) << "position " << pos << " rank " << r;
          ++top10_compared;
        }
      }
    }

    // Greedy continuation, one token per decode, up to the first near tie.
    const auto& steps = p["greedy"]["steps"];
    engine::TokenId next = argmax(got);
    int32_t position = static_cast<int32_t>(tokens.size());
    for (size_t k = 0; k < steps.size(); ++k) {
      if (steps[k]["margin"].get<double>() < tol) break;
      ASSERT_EQ(next, steps[k]["id"].get<engine::TokenId>()) << "greedy step " << k;
      ++greedy_compared;
      batch.clear();
      batch.add(next, 0, position++, true);
      const Status s2 = ctx->decode(batch);
      ASSERT_TRUE(s2.ok()) << s2.error().message;
      next = argmax(ctx->logits(0));
    }
  }
  std::printf(
      "[ golden   ] %-22s on %-6s max |delta| of last logits %.3g (tolerance %.3g); %d top-10 "
      "ids, %d greedy tokens compared\n",
      name.c_str(), std::string(model->backend().name()).c_str(), max_delta, tol, top10_compared,
      greedy_compared);
}

inline double cosine_similarity(const std::vector<float>& a, const std::vector<float>& b) {
  double ab = 0, aa = 0, bb = 0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    ab += static_cast<double>(a[i]) * b[i];
    aa += static_cast<double>(a[i]) * a[i];
    bb += static_cast<double>(b[i]) * b[i];
  }
  return aa > 0 && bb > 0 ? ab / std::sqrt(aa * bb) : (aa == bb ? 1.0 : 0.0);
}

// bert-tiny's golden: the token ids; the normalized mean embedding and every token's last
// hidden state (pooling none) with cosine >= 0.9999; the unnormalized mean within 2e-3 per
// component.
inline void expect_matches_embedding_golden(const engine::EncoderModel& m) {
  const nlohmann::json g = read_golden("bert-tiny");
  const auto E = static_cast<size_t>(g["n_embd"].get<int>());
  for (const auto& p : g["prompts"]) {
    const std::string text = p["text"];
    SCOPED_TRACE("prompt " + std::to_string(p["index"].get<int>()));
    EXPECT_EQ(m.tokenizer().encode(text), p["tokens"].get<std::vector<int32_t>>());
    auto e = m.embed({text});
    ASSERT_TRUE(e.ok()) << e.error().message;
    ASSERT_EQ((*e)[0].values.size(), E);
    EXPECT_GE(cosine_similarity((*e)[0].values, p["embedding_l2"].get<std::vector<float>>()),
              0.9999);
    EXPECT_EQ((*e)[0].n_tokens, static_cast<int32_t>(p["tokens"].size()));
    EXPECT_FALSE((*e)[0].truncated);
    engine::EmbedOptions none;
    none.pooling = engine::Pooling::none;
    auto t = m.embed({text}, none);
    ASSERT_TRUE(t.ok()) << t.error().message;
    const std::vector<float> want = base64_floats(p["token_embeddings_f32_b64"]);
    ASSERT_EQ((*t)[0].values.size(), want.size());
    for (size_t r = 0; r < want.size() / E; ++r) {
      const std::vector<float> got_row((*t)[0].values.begin() + r * E,
                                       (*t)[0].values.begin() + (r + 1) * E);
      const std::vector<float> want_row(want.begin() + r * E, want.begin() + (r + 1) * E);
      EXPECT_GE(cosine_similarity(got_row, want_row), 0.9999) << "token " << r;
    }
    engine::EmbedOptions raw;
    raw.normalize = false;
    auto mean = m.embed({text}, raw);
    ASSERT_TRUE(mean.ok()) << mean.error().message;
    const std::vector<float> want_mean = p["pooled_mean"].get<std::vector<float>>();
    for (size_t d = 0; d < E; ++d) EXPECT_NEAR((*mean)[0].values[d], want_mean[d], 2e-3) << d;
  }
}

// bert-rerank-tiny's golden: pair tokens exactly, scores within 2e-3 (the README's suggestion),
// the rankings, and the sigmoid option. Each document is also scored alone: the same score
// within `alone_tolerance` (0: the same bits).
inline void expect_matches_rerank_golden(const engine::EncoderModel& m, double alone_tolerance) {
  ASSERT_TRUE(m.has_rank_head());
  const nlohmann::json g = read_golden("bert-rerank-tiny");
  const auto queries = g["queries"].get<std::vector<std::string>>();
  const auto docs = g["documents"].get<std::vector<std::string>>();
  std::vector<std::vector<float>> scores(queries.size());
  for (size_t qi = 0; qi < queries.size(); ++qi) {
    auto r = m.rerank(queries[qi], docs);
    ASSERT_TRUE(r.ok()) << r.error().message;
    for (const auto& s : *r) scores[qi].push_back(s.score);
    for (size_t d = 0; d < docs.size(); ++d) {
      auto one = m.rerank(queries[qi], {docs[d]});
      ASSERT_TRUE(one.ok()) << one.error().message;
      if (alone_tolerance == 0.0) {
        EXPECT_EQ((*one)[0].score, scores[qi][d]) << "query " << qi << " document " << d;
      } else {
        EXPECT_NEAR((*one)[0].score, scores[qi][d], alone_tolerance)
            << "query " << qi << " document " << d;
      }
    }
  }
  for (const auto& p : g["pairs"]) {
    const auto qi = p["query_index"].get<size_t>();
    const auto di = p["document_index"].get<size_t>();
    SCOPED_TRACE("query " + std::to_string(qi) + " document " + std::to_string(di));
    EXPECT_EQ(m.pair_tokens(queries[qi], docs[di]), p["tokens"].get<std::vector<int32_t>>());
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
  auto s = m.rerank(queries[0], {docs[0]}, sig);
  auto raw = m.rerank(queries[0], {docs[0]});
  ASSERT_TRUE(s.ok()) << s.error().message;
  ASSERT_TRUE(raw.ok()) << raw.error().message;
  EXPECT_NEAR((*s)[0].score, 1.0 / (1.0 + std::exp(-(*raw)[0].score)), 1e-6);
}

// 64 texts of 2 to ~300 tokens, one empty and one of CJK and emoji: a batch whose texts must
// not see each other.
inline std::vector<std::string> batching_texts() {
  std::vector<std::string> texts;
  for (int i = 0; i < 64; ++i) {
    std::string t = "text " + std::to_string(i) + ":";
    for (int w = 0; w < (i * 37) % 150; ++w) t += " word" + std::to_string((w * 13 + i) % 97);
    texts.push_back(t);
  }
  texts[5] = "";
  texts[9] = "北京的天气怎么样 😀";
  return texts;
}

}  // namespace tessera::test
