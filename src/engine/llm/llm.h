// The decoder runtime: a loaded model (LlmModel, immutable, shared) and per-user state
// (LlmContext: KV cache and scratch) that runs batches of tokens of several sequences.
//
// Both run on a compute backend (backend/backend.h): the model's weights are imported into it
// once (the CPU uses the mapped file in place; a GPU would copy them), and each context
// allocates its KV cache, activations and logits there and runs its forward pass on its own
// Stream. Every allocation counts against the backend's memory account, so a scheduler can
// give a model a budget and get an error value, not a crash, when it does not fit.
//
// A model too big for one device is split by layers over several (LoadOptions::backends):
// each device holds the weights of a contiguous run of layers, and a context keeps those
// layers' KV cache there and runs them on a stream of that device; the hidden state moves
// from one device to the next through the host. Same results as on one device (README.md).
//
// Threads: an LlmModel is read-only after load() and may be shared by any number of contexts
// on any threads. An LlmContext is used by one thread at a time.
//
// Numerics: f32 activations; weights are read in their stored GGUF type and dequantized on
// the fly. Results are bit-identical for any thread count, and a sequence's logits do not
// depend on what else is in the batch or the cache.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "backend/backend.h"
#include "engine/architecture.h"
#include "engine/tokenizer/tokenizer.h"
#include "gguf/reader.h"
#include "util/result.h"

namespace tessera::engine {

struct ContextOptions {
  int64_t n_ctx = 0;      // KV cells in total; 0 = min(n_ctx_train, 4096)
  int32_t n_seq_max = 1;  // sequences that may be in the cache at once (ids 0..n_seq_max-1)
  backend::KvType kv_type = backend::KvType::f16;
  int n_threads = 0;      // 0 = the model's
  int64_t n_batch = 512;  // tokens per forward pass; larger batches run in chunks
  // How sequences share the KV cells. Unified (true): every cell is open to every sequence,
  // the first free ones taken. Once a sequence has left a hole, another's new cells may lie
  // before its older ones; attention then sums its cells in another order (the same maths,
  // other rounding), so its logits may differ in the last bits from a run alone.
  // Per sequence (false): sequence s owns cells [s * slot, (s + 1) * slot), slot = n_ctx /
  // n_seq_max, its position p in cell s * slot + p; a sequence's logits are then bit for bit
  // those it gets alone, whatever the others do, and it is full at `slot` tokens.
  bool kv_unified = true;
};

struct LoadOptions {
  int n_threads = 0;  // default threads of the model's contexts; 0 = one per core
  // Where the model runs; null = the backend gpu::choose_backend() picks.
  std::shared_ptr<backend::Backend> backend;
  // Several devices (set this or `backend`, not both): a model whose layers do not fit the
  // first is split by layers over them, in order, each filled before the next (README.md). A
  // device's room is its memory limit minus what it already holds (no limit: room for all).
  // Devices not needed get nothing. One entry: the same as `backend`. Decoders only.
  std::vector<std::shared_ptr<backend::Backend>> backends{};
  // With several backends: the context every device keeps room for when the layers are split
  // (each layer's KV cache on its device, activations on each device, logits on the last).
  // Contexts up to this size fit afterwards; n_threads is not used.
  ContextOptions split_context{};
};

// Hyperparameters of a decoder, as read from the file's `<arch>.*` keys.
struct DecoderHparams {
  int64_t n_vocab = 0;
  int64_t n_ctx_train = 0;
  int64_t n_embd = 0;
  int64_t n_layer = 0;
  int64_t n_ff = 0;
  int n_head = 0;
  int n_head_kv = 0;
  int head_dim = 0;  // n_embd / n_head
  int n_rot = 0;     // rope.dimension_count, else head_dim
  float norm_eps = 1e-5f;
  float rope_freq_base = 10000.0f;
  float rope_freq_scale = 1.0f;  // 1 / rope.scaling.factor for linear scaling
};

// One transformer block's weights, in the backend's memory (biases absent unless the
// architecture has them). Matrices are rows x cols = out x in; vectors are 1 x n, F32.
struct DecoderLayer {
  backend::Tensor attn_norm;
  backend::Tensor wq, wk, wv, wo;
  backend::Tensor bq, bk, bv;
  backend::Tensor ffn_norm;
  backend::Tensor ffn_gate, ffn_up, ffn_down;
};

// One device of a loaded model: its backend and the layers [layer_begin, layer_end) whose
// weights live there (a context keeps their KV cache there too). The first device also holds
// the token embedding, the last the output norm and projection.
struct ModelDevice {
  std::shared_ptr<backend::Backend> backend;
  int64_t layer_begin = 0;
  int64_t layer_end = 0;
  backend::Tensor rope_freq_factors;  // this device's copy; absent unless the architecture has it
};

struct WeightPlacement;  // internal (weight_placement.h)
class Binder;            // internal (weight_binder.h)

class LlmModel {  // immutable after load; shared by contexts; thread-safe to read
 public:
  // Opens and maps `path`, checks every tensor's presence, type and shape, builds the
  // tokenizer. Errors: not a decoder / unsupported architecture (names it and the supported
  // ones), missing tensor or wrong shape (names the tensor, expected and actual shapes), a
  // weight type the backend cannot use, bad hyperparameters, tokenizer errors, the weights
  // not fitting the backend's memory limit (out_of_range); with several backends, the layer
  // plan's error (out_of_range: the layer that fits no device, each device's room) or bad
  // options (invalid_argument). Nothing stays allocated on any backend after an error.
  static Result<std::shared_ptr<const LlmModel>> load(const std::string& path,
                                                      const LoadOptions& options = {});

  const Tokenizer& tokenizer() const { return tokenizer_; }
  const gguf::GgufFile& file() const { return file_; }
  int64_t n_vocab() const { return hp_.n_vocab; }
  int64_t n_ctx_train() const { return hp_.n_ctx_train; }
  int64_t n_embd() const { return hp_.n_embd; }
  int64_t n_layer() const { return hp_.n_layer; }
  std::string_view architecture() const { return spec_->name; }

  // The runtime's view (used by LlmContext).
  const DecoderHparams& hparams() const { return hp_; }
  const DecoderTraits& traits() const { return *spec_->decoder; }
  int n_threads() const { return n_threads_; }
  // The devices holding the layers, in layer order: one unless the model was split.
  const std::vector<ModelDevice>& devices() const { return devices_; }
  // The first device's backend (the only one unless split).
  backend::Backend& backend() const { return *devices_.front().backend; }
  const std::shared_ptr<backend::Backend>& backend_ptr() const { return devices_.front().backend; }
  const backend::Tensor& token_embd() const { return token_embd_; }  // on the first device
  // On the last device: token_embd (its copy there) when tied.
  const backend::Tensor& output() const { return output_; }
  const backend::Tensor& output_norm() const { return output_norm_; }
  const DecoderLayer& layer(int64_t i) const { return layers_[static_cast<size_t>(i)]; }

  LlmModel(const LlmModel&) = delete;
  LlmModel& operator=(const LlmModel&) = delete;

 private:
  LlmModel(gguf::GgufFile file, Tokenizer tokenizer);
  Status bind_tensors(const WeightPlacement& placement);
  // Layers [begin, end) from one device's imported data.
  Status bind_layers(const Binder& bind, int64_t begin, int64_t end);
  // Each matmul weight in its device's preferred arrangement (Backend::prepare_weight).
  Status prepare_matmul_weights();
  gguf::GgufFile file_;
  Tokenizer tokenizer_;
  const ArchSpec* spec_ = nullptr;
  DecoderHparams hp_;
  int n_threads_ = 1;
  std::vector<ModelDevice> devices_;
  std::vector<std::unique_ptr<backend::Buffer>> weights_;   // the file's tensor data, imported
  std::vector<std::unique_ptr<backend::Buffer>> prepared_;  // matmul weights the backends copied
  backend::Tensor token_embd_, output_, output_norm_;
  bool tied_output_ = false;
  std::vector<DecoderLayer> layers_;
};

// Tokens of one forward pass: prompt chunks of some sequences and single decode tokens of
// others, in any order (a sequence's tokens must come in increasing position order).
struct Batch {
  std::vector<TokenId> tokens;
  std::vector<int32_t> seq;
  std::vector<int32_t> pos;
  std::vector<uint8_t> want_logits;
  void add(TokenId token, int32_t seq_id, int32_t position, bool logits);
  void clear();
  size_t size() const { return tokens.size(); }
};

class LlmContext {  // per-user state: KV cache + scratch; one thread at a time
 public:
  // Errors (invalid_argument): n_ctx < 0 or > 2^31 - 1, n_seq_max < 1, a KV type the head size
  // cannot hold (q8_0 needs a multiple of 32); out_of_range when the KV cache or the
  // activations do not fit a backend (the message says which and the sizes). On a split
  // model each device gets the KV cache of its layers, activations and a stream of its own.
  static Result<std::unique_ptr<LlmContext>> create(std::shared_ptr<const LlmModel> model,
                                                    const ContextOptions& options = {});
  ~LlmContext();

  // Runs the batch. Errors (nothing is changed in the cache on error): invalid token id, seq id
  // out of range, position not the next one of its sequence, no free KV cells left ("context
  // full": out_of_range, saying how many cells there are and how many are used), NaN/Inf
  // produced in the logits (malformed; names the batch entry), an error of the backend.
  // Logits of earlier decodes are gone after any call.
  Status decode(const Batch& batch);
  // Logits (n_vocab floats) of batch entry i of the last decode (i must have had want_logits;
  // otherwise, or after a failed decode, an empty span).
  std::span<const float> logits(size_t i) const;

  void clear_sequence(int32_t seq);            // frees its cells
  int32_t sequence_length(int32_t seq) const;  // tokens of seq in the cache (= next position)
  int64_t n_ctx() const { return n_cells_; }
  // Cells one sequence may hold: n_ctx, or n_ctx / n_seq_max with per-sequence cells.
  int64_t n_seq_cells() const { return seq_slot_; }
  int64_t n_cells_used() const { return n_used_; }
  const LlmModel& model() const { return *model_; }
  // Bytes this context holds in its backends (KV cache, activations, logits), all devices.
  uint64_t backend_bytes() const;

 private:
  struct Buffers;
  LlmContext() = default;
  Status check_batch(const Batch& batch) const;
  // Makes room for `rows` rows of logits on the last device (grows only).
  Status reserve_logits(int64_t rows);
  // Enqueues the forward pass of batch entries [begin, end) (at most n_batch) on the streams;
  // their cells are already assigned. On a split model the hidden state moves from each
  // device to the next through the host (a synchronize of the device it leaves: its error is
  // returned, and the pass stops there). Other errors surface at the streams' synchronize().
  Status forward(const Batch& batch, size_t begin, size_t end);
  // The ops of device d's layers on its stream, for the chunk's first n rows.
  void forward_layers(size_t d, int64_t n);
  // The output norm and projection of the chunk's rows that want logits (out_rows_, of n),
  // into logits rows from first_row on, on the last device.
  void forward_logits(int64_t n, int64_t first_row);
  // Synchronizes every stream; the first error, naming its device.
  Status synchronize_all();
  // "decode failed on <device>: <e>" (with the device's layers when split).
  Error device_error(size_t d, const Error& e) const;
  // Frees the cells of the batch just assigned and restores the sequences' state.
  void undo(const Batch& batch);

  std::shared_ptr<const LlmModel> model_;
  ContextOptions options_;
  // Per model device (ModelDevice): its stream and its memory.
  std::vector<std::unique_ptr<backend::Stream>> streams_;
  std::vector<std::unique_ptr<Buffers>> buffers_;
  std::vector<float> boundary_x_;  // the hidden state between two devices, on the host
  int64_t n_cells_ = 0;
  int64_t seq_slot_ = 0;  // n_seq_cells()
  int64_t n_used_ = 0;
  std::vector<int32_t> cell_seq_, cell_pos_;  // host copy of the cell table
  std::vector<int32_t> seq_length_;
  std::vector<std::pair<int32_t, int32_t>> seq_cells_;  // per sequence: cells [first, second)
  std::vector<std::pair<int32_t, int32_t>> saved_seq_cells_;
  mutable std::vector<int32_t> check_next_;       // check_batch's scratch
  std::vector<int32_t> batch_cells_;              // cell of each entry of the current batch
  std::vector<backend::AttentionQuery> queries_;  // per entry of the current chunk
  std::vector<int32_t> out_rows_;                 // chunk rows that want logits
  std::unique_ptr<backend::Buffer> logits_buf_;   // [capacity rows][n_vocab] f32
  int64_t logits_capacity_ = 0;
  std::vector<float> logits_host_;     // the logits when the backend's memory is not the host's
  const float* logits_ = nullptr;      // [n_logit_rows][n_vocab], host-readable
  std::vector<int64_t> logits_index_;  // batch entry -> row of logits_, or -1
  int64_t n_logit_rows_ = 0;
};

}  // namespace tessera::engine
