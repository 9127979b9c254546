// The encoder forward pass (BERT: post-LayerNorm blocks), pooling and the rank head:
//   x = LN(token_embd[t] + token_types[0] + position_embd[p])
//   per layer: q, k, v = W x + b; a = attention over the text's own tokens (both ways)
//     x = LN(x + W_o a + b_o);  x = LN(x + W_down gelu(W_up x + b_up) + b_down)
// then per text: mean / first / last token / all tokens; rank: cls head on the first token.
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "engine/llm/carver.h"
#include "engine/llm/encoder.h"
#include "util/utf8.h"

namespace tessera::engine {
namespace {

using backend::Tensor;
using gguf::TensorType;

constexpr int64_t kBatchTokens = 512;  // tokens per forward pass (whole texts; longer run alone)

Error bad_text(size_t index, const std::string& what) {
  return make_error(ErrorCode::invalid_argument, "text " + std::to_string(index) + " " + what);
}

Status check_utf8(std::string_view s, size_t index) {
  if (utf8::is_valid(s)) return {};
  return bad_text(index, "is not valid UTF-8; send text in UTF-8 (or clean it first)");
}

void l2_normalize(std::vector<float>& v) {
  double sum = 0;
  for (float x : v) sum += static_cast<double>(x) * x;
  if (sum <= 0) return;
  const auto inv = static_cast<float>(1.0 / std::sqrt(sum));
  for (float& x : v) x *= inv;
}

}  // namespace

Result<std::vector<TokenId>> EncoderModel::fit(std::vector<TokenId> tokens, bool truncate,
                                               size_t index, bool& truncated) const {
  truncated = false;
  if (tokens.empty()) return bad_text(index, "has no tokens to evaluate (empty text)");
  const auto max = static_cast<size_t>(hp_.n_ctx_train);
  if (tokens.size() <= max) return tokens;
  if (!truncate) {
    return bad_text(index, "has " + std::to_string(tokens.size()) +
                               " tokens, more than the model's context of " + std::to_string(max) +
                               "; shorten it or allow truncation");
  }
  // Keep the first max - 1 tokens and the last one (the closing [SEP] / EOS, if any).
  const TokenId last = tokens.back();
  const bool closes = last == tokenizer_.sep() || last == tokenizer_.eos();
  tokens.resize(max);
  if (closes) tokens.back() = last;
  truncated = true;
  return tokens;
}

Status EncoderModel::run(const std::vector<std::vector<TokenId>>& texts, int n_threads,
                         std::vector<std::vector<float>>& hidden) const {
  hidden.assign(texts.size(), {});
  const int threads = n_threads > 0 ? n_threads : n_threads_;
  std::unique_ptr<backend::Stream> stream;
  if (threads == n_threads_) {
    const std::lock_guard<std::mutex> lock(streams_mu_);
    if (!idle_streams_.empty()) {
      stream = std::move(idle_streams_.back());
      idle_streams_.pop_back();
    }
  }
  if (stream == nullptr) {
    TESSERA_TRY_ASSIGN(s, backend_->create_stream({threads}));
    stream = std::move(s);
  }
  backend::Stream& st = *stream;
  TESSERA_TRY(forward_all(st, texts, hidden));
  if (threads == n_threads_) {
    const std::lock_guard<std::mutex> lock(streams_mu_);
    idle_streams_.push_back(std::move(stream));
  }
  return {};
}

Status EncoderModel::forward_all(backend::Stream& st,
                                 const std::vector<std::vector<TokenId>>& texts,
                                 std::vector<std::vector<float>>& hidden) const {
  const int64_t E = hp_.n_embd;
  const int64_t F = hp_.n_ff;
  const backend::AttentionShape shape{hp_.n_head, hp_.n_head, hp_.head_dim, 0.0f};

  for (size_t first = 0; first < texts.size();) {
    // Whole texts, up to kBatchTokens tokens (a longer text runs alone).
    size_t end = first;
    int64_t n = 0;
    while (end < texts.size() &&
           (end == first || n + static_cast<int64_t>(texts[end].size()) <= kBatchTokens)) {
      n += static_cast<int64_t>(texts[end].size());
      ++end;
    }
    std::vector<int32_t> ids, pos, types(static_cast<size_t>(n), 0), cells, seq, cell_pos;
    std::vector<backend::AttentionQuery> queries;
    for (size_t i = first; i < end; ++i) {
      const auto begin = static_cast<int32_t>(ids.size());
      const auto len = static_cast<int32_t>(texts[i].size());
      for (int32_t p = 0; p < len; ++p) {
        ids.push_back(texts[i][static_cast<size_t>(p)]);
        pos.push_back(p);
        cells.push_back(begin + p);
        seq.push_back(static_cast<int32_t>(i - first));
        cell_pos.push_back(p);
        // Every token sees its whole text: a position past the end, the text's cells.
        queries.push_back({static_cast<int32_t>(i - first), std::numeric_limits<int32_t>::max(),
                           begin, begin + len});
      }
    }

    Carver c;
    Tensor t_ids, t_pos, t_types, t_cells, t_queries, t_seq, t_cpos, x, h, q, k, v, att, up;
    Tensor k_cache, v_cache;
    std::unique_ptr<backend::Buffer> work;
    for (int pass = 0; pass < 2; ++pass) {
      t_ids = c.take(TensorType::I32, 1, n);
      t_pos = c.take(TensorType::I32, 1, n);
      t_types = c.take(TensorType::I32, 1, n);
      t_cells = c.take(TensorType::I32, 1, n);
      t_seq = c.take(TensorType::I32, 1, n);
      t_cpos = c.take(TensorType::I32, 1, n);
      t_queries = c.take(TensorType::I32, n, 4);
      x = c.take(TensorType::F32, n, E);
      h = c.take(TensorType::F32, n, E);
      q = c.take(TensorType::F32, n, E);
      k = c.take(TensorType::F32, n, E);
      v = c.take(TensorType::F32, n, E);
      att = c.take(TensorType::F32, n, E);
      up = c.take(TensorType::F32, n, F);
      k_cache = c.take(backend::kv_tensor_type(backend::KvType::f32), n, E);
      v_cache = c.take(backend::kv_tensor_type(backend::KvType::f32), n, E);
      if (pass == 1) break;
      TESSERA_TRY_ASSIGN(buf, backend_->alloc(c.size(), "encoder activations"));
      work = std::move(buf);
      c.place_in(work.get());
    }
    st.write(t_ids, ids.data());
    st.write(t_pos, pos.data());
    st.write(t_types, types.data());
    st.write(t_cells, cells.data());
    st.write(t_seq, seq.data());
    st.write(t_cpos, cell_pos.data());
    st.write(t_queries, queries.data());
    const backend::KvLayer kv{k_cache, v_cache, t_seq, t_cpos};

    st.get_rows(token_embd_, t_ids, x);
    st.get_rows(token_types_, t_types, h);
    st.add(x, h, x);
    st.get_rows(position_embd_, t_pos, h);
    st.add(x, h, x);
    st.layer_norm(x, embd_norm_w_, embd_norm_b_, hp_.norm_eps, x);
    for (const EncoderLayer& L : layers_) {
      st.matmul(L.wq, x, q, L.bq);
      st.matmul(L.wk, x, k, L.bk);
      st.matmul(L.wv, x, v, L.bv);
      st.kv_store(k, t_cells, k_cache);
      st.kv_store(v, t_cells, v_cache);
      st.attention(q, t_queries, kv, shape, att);
      st.matmul(L.wo, att, h, L.bo);
      st.add(x, h, x);
      st.layer_norm(x, L.attn_norm_w, L.attn_norm_b, hp_.norm_eps, x);
      st.matmul(L.up, x, up, L.up_b);
      st.gelu(up, up);
      st.matmul(L.down, up, h, L.down_b);
      st.add(x, h, x);
      st.layer_norm(x, L.out_norm_w, L.out_norm_b, hp_.norm_eps, x);
    }
    std::vector<float> out(static_cast<size_t>(n * E));
    st.read(x, out.data());
    TESSERA_TRY(st.synchronize());
    size_t at = 0;
    for (size_t i = first; i < end; ++i) {
      const size_t len = texts[i].size() * static_cast<size_t>(E);
      hidden[i].assign(out.begin() + static_cast<std::ptrdiff_t>(at),
                       out.begin() + static_cast<std::ptrdiff_t>(at + len));
      at += len;
    }
    first = end;
  }
  return {};
}

Result<std::vector<Embedding>> EncoderModel::embed(const std::vector<std::string>& texts,
                                                   const EmbedOptions& options) const {
  std::vector<std::vector<TokenId>> tokens;
  tokens.reserve(texts.size());
  for (size_t i = 0; i < texts.size(); ++i) {
    TESSERA_TRY(check_utf8(texts[i], i));
    tokens.push_back(tokenizer_.encode(texts[i]));
  }
  return embed_tokens(tokens, options);
}

Result<std::vector<Embedding>> EncoderModel::embed_tokens(
    const std::vector<std::vector<TokenId>>& texts, const EmbedOptions& options) const {
  Pooling pooling =
      options.pooling.value_or(hp_.pooling == Pooling::rank ? Pooling::cls : hp_.pooling);
  if (pooling == Pooling::rank) {
    return make_error(ErrorCode::invalid_argument,
                      "pooling rank gives relevance scores, not embeddings: use rerank");
  }
  std::vector<std::vector<TokenId>> fitted;
  std::vector<Embedding> result(texts.size());
  for (size_t i = 0; i < texts.size(); ++i) {
    for (const TokenId id : texts[i]) {
      if (id < 0 || id >= hp_.n_vocab) {
        return bad_text(i, "has token id " + std::to_string(id) + ", outside the vocabulary of " +
                               std::to_string(hp_.n_vocab));
      }
    }
    TESSERA_TRY_ASSIGN(f, fit(texts[i], options.truncate, i, result[i].truncated));
    result[i].n_tokens = static_cast<int32_t>(f.size());
    fitted.push_back(std::move(f));
  }
  std::vector<std::vector<float>> hidden;
  TESSERA_TRY(run(fitted, options.n_threads, hidden));
  const auto E = static_cast<size_t>(hp_.n_embd);
  for (size_t i = 0; i < texts.size(); ++i) {
    const std::vector<float>& hs = hidden[i];
    const size_t n = fitted[i].size();
    std::vector<float>& out = result[i].values;
    switch (pooling) {
      case Pooling::none:
        out = hs;
        break;
      case Pooling::mean: {
        std::vector<double> sum(E, 0.0);
        for (size_t t = 0; t < n; ++t) {
          for (size_t d = 0; d < E; ++d) sum[d] += hs[t * E + d];
        }
        out.resize(E);
        for (size_t d = 0; d < E; ++d) out[d] = static_cast<float>(sum[d] / static_cast<double>(n));
        break;
      }
      case Pooling::cls:
        out.assign(hs.begin(), hs.begin() + static_cast<std::ptrdiff_t>(E));
        break;
      case Pooling::last:
        out.assign(hs.end() - static_cast<std::ptrdiff_t>(E), hs.end());
        break;
      case Pooling::rank:
        break;
    }
    if (options.normalize && pooling != Pooling::none) l2_normalize(out);
  }
  return result;
}

std::vector<TokenId> EncoderModel::pair_tokens(std::string_view query,
                                               std::string_view document) const {
  const Tokenizer& tk = tokenizer_;
  const TokenId eos = tk.eos() != kNoToken ? tk.eos() : tk.sep();
  std::vector<TokenId> out;
  if (tk.add_bos() && tk.bos() != kNoToken) out.push_back(tk.bos());
  const std::vector<TokenId> q = tk.encode(query, {false, false});
  out.insert(out.end(), q.begin(), q.end());
  if (tk.add_eos() && eos != kNoToken) out.push_back(eos);
  if (tk.add_sep() && tk.sep() != kNoToken) out.push_back(tk.sep());
  const std::vector<TokenId> d = tk.encode(document, {false, false});
  out.insert(out.end(), d.begin(), d.end());
  if (tk.add_eos() && eos != kNoToken) out.push_back(eos);
  return out;
}

Result<std::vector<RerankScore>> EncoderModel::rerank(std::string_view query,
                                                      const std::vector<std::string>& documents,
                                                      const RerankOptions& options) const {
  if (!has_rank_head()) {
    return make_error(ErrorCode::invalid_argument,
                      file_.name() +
                          " has no classification head (cls.output.weight): it is an "
                          "embedding model, not a reranker");
  }
  if (!utf8::is_valid(query)) {
    return make_error(ErrorCode::invalid_argument,
                      "the query is not valid UTF-8; send text in UTF-8 (or clean it first)");
  }
  std::vector<std::vector<TokenId>> pairs;
  std::vector<RerankScore> result(documents.size());
  for (size_t i = 0; i < documents.size(); ++i) {
    TESSERA_TRY(check_utf8(documents[i], i));
    TESSERA_TRY_ASSIGN(
        f, fit(pair_tokens(query, documents[i]), options.truncate, i, result[i].truncated));
    result[i].n_tokens = static_cast<int32_t>(f.size());
    pairs.push_back(std::move(f));
  }
  std::vector<std::vector<float>> hidden;
  TESSERA_TRY(run(pairs, options.n_threads, hidden));
  const auto E = static_cast<size_t>(hp_.n_embd);
  for (size_t i = 0; i < documents.size(); ++i) {
    std::vector<float> h(hidden[i].begin(), hidden[i].begin() + static_cast<std::ptrdiff_t>(E));
    if (!cls_w_.empty()) {  // dense + tanh (RoBERTa-style heads)
      std::vector<float> d(E);
      for (size_t r = 0; r < E; ++r) {
        float s = cls_b_[r];
        for (size_t c = 0; c < E; ++c) s += cls_w_[r * E + c] * h[c];
        d[r] = std::tanh(s);
      }
      h = std::move(d);
    }
    RerankScore& out = result[i];
    for (size_t r = 0; r < static_cast<size_t>(hp_.n_cls_out); ++r) {
      float s = cls_out_b_[r];
      for (size_t c = 0; c < E; ++c) s += cls_out_w_[r * E + c] * h[c];
      if (options.sigmoid) s = 1.0f / (1.0f + std::exp(-s));
      out.scores.push_back(s);
    }
    out.score = out.scores.front();
  }
  return result;
}

}  // namespace tessera::engine
