// The encoder runtime (BERT family: BERT, bge, MiniLM): embeddings and cross-encoder rerank
// scores, on the same backends as the decoders (llm.h).
//
// A forward pass takes many texts at once: their tokens are laid end to end, each text
// attends to its own tokens only (no cross-talk), with learned absolute positions from 0 per
// text; matrix products are batch-invariant, so a text's outputs are the same bits alone or
// in any batch. Texts longer than the model's context are cut to it (keeping the final
// [SEP]) and flagged, unless the caller asks for an error instead.
//
// Threads: an EncoderModel is read-only after load() and may be used from several threads at
// once; each call takes a stream of its own (reused from earlier calls) and its activations.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "backend/backend.h"
#include "engine/architecture.h"
#include "engine/llm/llm.h"
#include "engine/tokenizer/tokenizer.h"
#include "gguf/reader.h"
#include "util/result.h"

namespace tessera::engine {

struct EncoderHparams {
  int64_t n_vocab = 0;
  int64_t n_ctx_train = 0;  // rows of position_embd: the longest text
  int64_t n_embd = 0;
  int64_t n_layer = 0;
  int64_t n_ff = 0;
  int n_head = 0;
  int head_dim = 0;
  int64_t n_token_types = 0;
  float norm_eps = 1e-12f;
  Pooling pooling = Pooling::none;  // the file's pooling_type
  int n_cls_out = 0;                // rank models: scores per pair
};

struct EncoderLayer {
  backend::Tensor wq, wk, wv, wo, bq, bk, bv, bo;
  backend::Tensor attn_norm_w, attn_norm_b;  // attn_output_norm
  backend::Tensor up, up_b, down, down_b;
  backend::Tensor out_norm_w, out_norm_b;  // layer_output_norm
};

struct EmbedOptions {
  std::optional<Pooling> pooling;  // default: the file's (rank models: cls)
  bool normalize = true;           // L2-normalize pooled vectors (not pooling none)
  bool truncate = true;            // false: a text longer than the context is an error
  int n_threads = 0;               // 0 = the model's
};

struct Embedding {
  std::vector<float> values;  // n_embd floats; pooling none: n_tokens x n_embd, row per token
  int32_t n_tokens = 0;       // tokens evaluated (after truncation)
  bool truncated = false;
};

struct RerankOptions {
  bool sigmoid = false;  // 1 / (1 + e^-score) instead of the raw score
  bool truncate = true;
  int n_threads = 0;
};

struct RerankScore {
  float score = 0;            // the first output of the classification head
  std::vector<float> scores;  // all n_cls_out outputs
  int32_t n_tokens = 0;
  bool truncated = false;
};

class EncoderModel {
 public:
  // Opens and maps `path`, checks every tensor, builds the tokenizer. Errors: not an encoder
  // (a decoder's file names its architecture and says to use it for generation), unknown
  // architecture, missing tensor or wrong shape, causal attention, bad hyperparameters,
  // tokenizer errors, the weights not fitting the backend.
  static Result<std::shared_ptr<const EncoderModel>> load(const std::string& path,
                                                          const LoadOptions& options = {});

  // One embedding per text, in order. Errors (invalid_argument, naming the text's index): a
  // text that is not valid UTF-8 (with the byte offset), one with no tokens to evaluate, one
  // longer than the context with truncate off; a pooling the model cannot give (rank without
  // a classification head is for rerank()).
  Result<std::vector<Embedding>> embed(const std::vector<std::string>& texts,
                                       const EmbedOptions& options = {}) const;
  // The same from token ids (each id checked against the vocabulary).
  Result<std::vector<Embedding>> embed_tokens(const std::vector<std::vector<TokenId>>& texts,
                                              const EmbedOptions& options = {}) const;

  // A relevance score of each document for the query, in input order (the pair laid out as
  // pair_tokens() does). Errors: not a rank model (no classification head), bad UTF-8, a pair
  // longer than the context with truncate off.
  Result<std::vector<RerankScore>> rerank(std::string_view query,
                                          const std::vector<std::string>& documents,
                                          const RerankOptions& options = {}) const;

  // [BOS if add_bos] query [EOS if add_eos] [SEP if add_sep] document [EOS if add_eos], each
  // text tokenized without specials (EOS falls back to SEP when the vocabulary has none).
  std::vector<TokenId> pair_tokens(std::string_view query, std::string_view document) const;

  const Tokenizer& tokenizer() const { return tokenizer_; }
  const gguf::GgufFile& file() const { return file_; }
  const EncoderHparams& hparams() const { return hp_; }
  std::string_view architecture() const { return spec_->name; }
  bool has_rank_head() const { return hp_.n_cls_out > 0; }

  EncoderModel(const EncoderModel&) = delete;
  EncoderModel& operator=(const EncoderModel&) = delete;

 private:
  EncoderModel(gguf::GgufFile file, Tokenizer tokenizer);
  Status bind_tensors();
  Status read_rank_head();
  // Runs the texts (token ids, each within the context) in forward passes of at most
  // n_batch tokens; hidden[i] receives text i's last hidden states (n_tokens x n_embd).
  Status run(const std::vector<std::vector<TokenId>>& texts, int n_threads,
             std::vector<std::vector<float>>& hidden) const;
  Status forward_all(backend::Stream& st, const std::vector<std::vector<TokenId>>& texts,
                     std::vector<std::vector<float>>& hidden) const;
  Result<std::vector<TokenId>> fit(std::vector<TokenId> tokens, bool truncate, size_t index,
                                   bool& truncated) const;

  gguf::GgufFile file_;
  Tokenizer tokenizer_;
  const ArchSpec* spec_ = nullptr;
  EncoderHparams hp_;
  int n_threads_ = 1;
  std::shared_ptr<backend::Backend> backend_;
  std::unique_ptr<backend::Buffer> weights_;
  std::vector<std::unique_ptr<backend::Buffer>> prepared_;
  backend::Tensor token_embd_, token_types_, position_embd_, embd_norm_w_, embd_norm_b_;
  std::vector<EncoderLayer> layers_;
  // The classification head, on the host (a few rows): cls (optional), cls.output.
  std::vector<float> cls_w_, cls_b_, cls_out_w_, cls_out_b_;
  // Streams (each with its thread pool) of finished calls at the model's thread count, reused
  // so that a call does not start threads.
  mutable std::mutex streams_mu_;
  mutable std::vector<std::unique_ptr<backend::Stream>> idle_streams_;
};

}  // namespace tessera::engine
