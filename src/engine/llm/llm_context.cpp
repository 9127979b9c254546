// LlmContext: the KV cache's cells, batch validation and the decode entry point. The forward
// pass itself is in forward.cpp.
#include <algorithm>
#include <cmath>
#include <string>
#include <utility>

#include "engine/llm/forward_buffers.h"
#include "engine/llm/llm.h"
#include "engine/memory_estimate.h"

namespace tessera::engine {
namespace {

// Batches up to this many tokens (decode of up to this many sequences) are graph steps.
constexpr size_t kGraphStepTokens = 64;

}  // namespace

void Batch::add(TokenId token, int32_t seq_id, int32_t position, bool logits) {
  tokens.push_back(token);
  seq.push_back(seq_id);
  pos.push_back(position);
  want_logits.push_back(logits ? 1 : 0);
}

void Batch::clear() {
  tokens.clear();
  seq.clear();
  pos.clear();
  want_logits.clear();
}

LlmContext::~LlmContext() = default;

Result<std::unique_ptr<LlmContext>> LlmContext::create(std::shared_ptr<const LlmModel> model,
                                                       const ContextOptions& options) {
  if (model == nullptr) return make_error(ErrorCode::invalid_argument, "no model");
  const DecoderHparams& hp = model->hparams();
  int64_t n_ctx = options.n_ctx;
  if (n_ctx == 0) n_ctx = std::min(hp.n_ctx_train, kDefaultContext);
  if (n_ctx < 1 || n_ctx > (int64_t{1} << 31) - 1) {
    return make_error(ErrorCode::invalid_argument,
                      "context size " + std::to_string(options.n_ctx) +
                          " is out of range (1..2147483647, or 0 for the default)");
  }
  if (options.n_seq_max < 1) {
    return make_error(ErrorCode::invalid_argument,
                      "n_seq_max " + std::to_string(options.n_seq_max) + " must be at least 1");
  }
  if (options.n_batch < 1) {
    return make_error(ErrorCode::invalid_argument,
                      "n_batch " + std::to_string(options.n_batch) + " must be at least 1");
  }
  if (!options.kv_unified && n_ctx < options.n_seq_max) {
    return make_error(ErrorCode::invalid_argument,
                      "context size " + std::to_string(n_ctx) + " gives no cell to each of " +
                          std::to_string(options.n_seq_max) +
                          " sequences with per-sequence cells; make it at least n_seq_max");
  }
  TESSERA_TRY(backend::check_kv_layout(options.kv_type, hp.n_head_kv, hp.head_dim));

  std::unique_ptr<LlmContext> ctx(new LlmContext());
  ctx->model_ = std::move(model);
  ctx->options_ = options;
  ctx->options_.n_batch = std::min(options.n_batch, n_ctx);
  ctx->n_cells_ = n_ctx;
  ctx->seq_slot_ = options.kv_unified ? n_ctx : n_ctx / options.n_seq_max;
  const int threads = options.n_threads > 0 ? options.n_threads : ctx->model_->n_threads();
  const std::vector<ModelDevice>& devices = ctx->model_->devices();
  for (const ModelDevice& d : devices) {
    TESSERA_TRY_ASSIGN(buffers, Buffers::create(*d.backend, hp, d.layer_end - d.layer_begin,
                                                ctx->options_.n_batch, n_ctx, options.kv_type));
    ctx->buffers_.push_back(std::move(buffers));
    TESSERA_TRY_ASSIGN(stream, d.backend->create_stream({threads}));
    ctx->streams_.push_back(std::move(stream));
  }
  if (devices.size() > 1) {
    ctx->boundary_x_.resize(static_cast<size_t>(ctx->options_.n_batch * hp.n_embd));
  }
  ctx->cell_seq_.assign(static_cast<size_t>(n_ctx), -1);
  ctx->cell_pos_.assign(static_cast<size_t>(n_ctx), 0);
  ctx->seq_length_.assign(static_cast<size_t>(options.n_seq_max), 0);
  ctx->seq_cells_.assign(static_cast<size_t>(options.n_seq_max), {0, 0});
  return ctx;
}

Status LlmContext::check_batch(const Batch& batch) const {
  const size_t n = batch.tokens.size();
  if (batch.seq.size() != n || batch.pos.size() != n || batch.want_logits.size() != n) {
    return make_error(ErrorCode::invalid_argument,
                      "batch arrays differ in length (tokens " + std::to_string(n) + ", seq " +
                          std::to_string(batch.seq.size()) + ", pos " +
                          std::to_string(batch.pos.size()) + ", want_logits " +
                          std::to_string(batch.want_logits.size()) + ")");
  }
  const int64_t n_vocab = model_->n_vocab();
  std::vector<int32_t>& next = check_next_;  // next position per sequence, as the batch goes
  next = seq_length_;
  for (size_t i = 0; i < n; ++i) {
    const auto at = [i] { return "batch entry " + std::to_string(i) + ": "; };
    if (batch.tokens[i] < 0 || batch.tokens[i] >= n_vocab) {
      return make_error(ErrorCode::invalid_argument,
                        at() + "token id " + std::to_string(batch.tokens[i]) +
                            " is not in the vocabulary (0.." + std::to_string(n_vocab - 1) + ")");
    }
    const int32_t s = batch.seq[i];
    if (s < 0 || s >= options_.n_seq_max) {
      return make_error(ErrorCode::invalid_argument,
                        at() + "sequence id " + std::to_string(s) + " is out of range (0.." +
                            std::to_string(options_.n_seq_max - 1) + ")");
    }
    if (batch.pos[i] != next[static_cast<size_t>(s)]) {
      return make_error(ErrorCode::invalid_argument,
                        at() + "position " + std::to_string(batch.pos[i]) + " of sequence " +
                            std::to_string(s) + " is not its next position " +
                            std::to_string(next[static_cast<size_t>(s)]));
    }
    if (!options_.kv_unified && batch.pos[i] >= seq_slot_) {
      return make_error(ErrorCode::out_of_range,
                        at() + "context full: sequence " + std::to_string(s) + " holds " +
                            std::to_string(seq_slot_) + " KV cells (" + std::to_string(n_cells_) +
                            " shared by " + std::to_string(options_.n_seq_max) +
                            " sequences), position " + std::to_string(batch.pos[i]) +
                            " is past them");
    }
    ++next[static_cast<size_t>(s)];
  }
  if (static_cast<int64_t>(n) > n_cells_ - n_used_) {
    return make_error(ErrorCode::out_of_range,
                      "context full: the batch needs " + std::to_string(n) + " KV cells, " +
                          std::to_string(n_cells_ - n_used_) + " of " + std::to_string(n_cells_) +
                          " are free (" + std::to_string(n_used_) + " used)");
  }
  return {};
}

Status LlmContext::decode(const Batch& batch) {
  logits_index_.clear();
  n_logit_rows_ = 0;
  TESSERA_TRY(check_batch(batch));
  const size_t n = batch.size();
  if (n == 0) return {};

  // Assign cells (unified: the first free ones, in index order; per sequence: the cell of the
  // position in the sequence's own range) and remember the old state for rollback.
  batch_cells_.resize(n);
  saved_seq_cells_ = seq_cells_;
  int64_t cursor = 0;
  for (size_t i = 0; i < n; ++i) {
    const int32_t s = batch.seq[i];
    if (options_.kv_unified) {
      while (cell_seq_[static_cast<size_t>(cursor)] >= 0) ++cursor;
    } else {
      cursor = s * seq_slot_ + batch.pos[i];
    }
    const auto c = static_cast<int32_t>(cursor);
    batch_cells_[i] = c;
    cell_seq_[static_cast<size_t>(c)] = s;
    cell_pos_[static_cast<size_t>(c)] = batch.pos[i];
    auto& range = seq_cells_[static_cast<size_t>(s)];
    if (range.first == range.second) {
      range = {c, c + 1};
    } else {
      range.first = std::min(range.first, c);
      range.second = std::max(range.second, c + 1);
    }
    ++cursor;
  }
  n_used_ += static_cast<int64_t>(n);
  for (size_t i = 0; i < n; ++i) ++seq_length_[static_cast<size_t>(batch.seq[i])];

  logits_index_.assign(n, -1);
  for (size_t i = 0; i < n; ++i) {
    if (batch.want_logits[i]) logits_index_[i] = n_logit_rows_++;
  }
  if (Status s = reserve_logits(n_logit_rows_); !s.ok()) {
    undo(batch);
    return s;
  }
  // A small batch (decode) is one step a GPU stream records once and replays while the batch
  // keeps its shape (Stream::begin_graph); prompts run op by op. A split model's step stops at
  // each device boundary (a synchronize), so it runs op by op too.
  const bool step = n <= kGraphStepTokens && streams_.size() == 1;
  if (step) streams_.front()->begin_graph();
  for (size_t d = 0; d < streams_.size(); ++d) {
    const backend::KvLayer& table = buffers_[d]->layers.front();
    streams_[d]->write(table.cell_seq, cell_seq_.data());
    streams_[d]->write(table.cell_pos, cell_pos_.data());
  }
  Status run;
  const auto chunk = static_cast<size_t>(options_.n_batch);
  for (size_t b = 0; b < n && run.ok(); b += chunk) run = forward(batch, b, std::min(n, b + chunk));
  if (step) streams_.front()->end_graph();

  const auto V = static_cast<size_t>(model_->n_vocab());
  logits_ = nullptr;
  if (n_logit_rows_ > 0 && run.ok()) {
    logits_ = static_cast<const float*>(logits_buf_->host_data());
    if (logits_ == nullptr) {  // device memory: bring the logits to the host
      logits_host_.resize(static_cast<size_t>(n_logit_rows_) * V);
      streams_.back()->read(backend::make_tensor(gguf::TensorType::F32, logits_buf_->data(),
                                                 n_logit_rows_, model_->n_vocab()),
                            logits_host_.data());
      logits_ = logits_host_.data();
    }
  }
  const Status synced = synchronize_all();
  if (!run.ok() || !synced.ok()) {
    undo(batch);
    const Error& e = run.ok() ? synced.error() : run.error();
    return make_error(e.code, e.message + "; the batch was not applied");
  }

  for (size_t i = 0; i < n; ++i) {
    if (logits_index_[i] < 0) continue;
    const float* row = logits_ + static_cast<size_t>(logits_index_[i]) * V;
    for (size_t j = 0; j < V; ++j) {
      if (std::isfinite(row[j])) continue;
      undo(batch);
      return make_error(ErrorCode::malformed,
                        "the model produced " + std::string(std::isnan(row[j]) ? "NaN" : "Inf") +
                            " in the logits of batch entry " + std::to_string(i) + " (token " +
                            std::to_string(j) + "); the batch was not applied");
    }
  }
  return {};
}

void LlmContext::undo(const Batch& batch) {
  for (size_t k = 0; k < batch.size(); ++k) {
    cell_seq_[static_cast<size_t>(batch_cells_[k])] = -1;
    --seq_length_[static_cast<size_t>(batch.seq[k])];
  }
  n_used_ -= static_cast<int64_t>(batch.size());
  seq_cells_ = saved_seq_cells_;
  logits_index_.clear();
  n_logit_rows_ = 0;
}

Status LlmContext::reserve_logits(int64_t rows) {
  if (rows <= logits_capacity_) return {};
  const backend::Tensor need =
      backend::make_tensor(gguf::TensorType::F32, nullptr, rows, model_->n_vocab());
  logits_buf_.reset();
  logits_capacity_ = 0;
  TESSERA_TRY_ASSIGN(buf, model_->devices().back().backend->alloc(need.bytes(), "logits"));
  logits_buf_ = std::move(buf);
  logits_capacity_ = rows;
  return {};
}

Status LlmContext::synchronize_all() {
  Status first;
  for (size_t d = 0; d < streams_.size(); ++d) {
    Status s = streams_[d]->synchronize();
    if (s.ok() || !first.ok()) continue;
    first = device_error(d, s.error());
  }
  return first;
}

Error LlmContext::device_error(size_t d, const Error& e) const {
  std::string where(streams_[d]->device_name());
  if (streams_.size() > 1) {
    const ModelDevice& m = model_->devices()[d];
    where +=
        " (layers " + std::to_string(m.layer_begin) + "-" + std::to_string(m.layer_end - 1) + ")";
  }
  return make_error(e.code, "decode failed on " + where + ": " + e.message);
}

uint64_t LlmContext::backend_bytes() const {
  uint64_t bytes = logits_buf_ ? logits_buf_->size() : 0;
  for (const auto& b : buffers_) bytes += b->bytes();
  return bytes;
}

std::span<const float> LlmContext::logits(size_t i) const {
  if (i >= logits_index_.size() || logits_index_[i] < 0) return {};
  const auto V = static_cast<size_t>(model_->n_vocab());
  return {logits_ + static_cast<size_t>(logits_index_[i]) * V, V};
}

void LlmContext::clear_sequence(int32_t seq) {
  if (seq < 0 || seq >= options_.n_seq_max) return;
  auto& range = seq_cells_[static_cast<size_t>(seq)];
  for (int32_t c = range.first; c < range.second; ++c) {
    if (cell_seq_[static_cast<size_t>(c)] == seq) {
      cell_seq_[static_cast<size_t>(c)] = -1;
      --n_used_;
    }
  }
  range = {0, 0};
  seq_length_[static_cast<size_t>(seq)] = 0;
}

int32_t LlmContext::sequence_length(int32_t seq) const {
  if (seq < 0 || seq >= options_.n_seq_max) return 0;
  return seq_length_[static_cast<size_t>(seq)];
}

}  // namespace tessera::engine
