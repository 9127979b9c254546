#include "engine/memory_estimate.h"

#include <algorithm>
#include <array>
#include <initializer_list>
#include <limits>
#include <string>
#include <string_view>

namespace tessera::engine {
namespace {

__extension__ typedef unsigned __int128 u128;

using gguf::TensorType;

constexpr uint64_t kPage = 4096;
constexpr uint64_t kMiB = uint64_t{1} << 20;

Error bad(const std::string& what) {
  return make_error(ErrorCode::invalid_argument, what);
}

uint64_t align64(uint64_t bytes) {
  return (bytes + 63) / 64 * 64;
}

uint64_t round_up(uint64_t bytes, uint64_t to) {
  return (bytes + to - 1) / to * to;
}

Result<uint64_t> kv_cache_bytes(const ModelInfo& m, int64_t cells, TensorType kv_type) {
  const gguf::TensorTypeInfo* info = gguf::tensor_type_info(kv_type);
  u128 per_cell = 0;
  for (int64_t heads : m.n_head_kv_per_layer) {
    const auto k = gguf::row_bytes(*info, static_cast<uint64_t>(heads * m.head_dim_k));
    const auto v = gguf::row_bytes(*info, static_cast<uint64_t>(heads * m.head_dim_v));
    if (!k || !v) {
      return bad(std::string("KV cache type ") + info->name + " needs KV rows that are a " +
                 "multiple of " + std::to_string(info->block_size) + " values; this model has " +
                 std::to_string(heads * m.head_dim_k) + " (use f16)");
    }
    per_cell += *k + *v;
  }
  const u128 total = per_cell * static_cast<u128>(cells);
  if (total > std::numeric_limits<int64_t>::max()) return bad("KV cache size overflows");
  return static_cast<uint64_t>(total);
}

// ---- what the runtime allocates (engine/llm), in its terms.

struct Widths {
  uint64_t embd, ff, q, kv, vocab;
};

Widths widths_of(const ModelInfo& m) {
  const auto u = [](int64_t v) { return static_cast<uint64_t>(std::max<int64_t>(v, 0)); };
  return {u(m.n_embd), u(m.n_ff), u(m.n_head * m.head_dim_k), u(m.n_head_kv * m.head_dim_k),
          u(m.n_vocab)};
}

// forward_buffers.cpp: the decoder context's activations, index arrays and cell table, each
// tensor 64-byte aligned.
uint64_t decoder_work_bytes(const Widths& w, uint64_t ub, uint64_t cells) {
  uint64_t b = 0;
  for (uint64_t cols : {w.embd, w.embd, w.q, w.kv, w.kv, w.q, w.ff, w.ff}) {
    b += align64(ub * cols * 4);
  }
  b += 4 * align64(ub * 4) + align64(ub * 16);  // ids, pos, cells, out_rows; queries
  return b + 2 * align64(cells * 4);            // cell_seq, cell_pos
}

// encoder_run.cpp: one pass of n tokens (index arrays, activations, f32 K/V scratch cells).
uint64_t encoder_work_bytes(const Widths& w, uint64_t n) {
  return 6 * align64(n * 4) + align64(n * 16) + 8 * align64(n * w.embd * 4) + align64(n * w.ff * 4);
}

bool is_matmul_weight(const TensorSummary& t) {
  // Every 2-D tensor of the blocks is a matrix the forward pass multiplies by (llama, qwen2,
  // bert); the output projection too.
  if (t.n_dims != 2) return false;
  const std::string_view n = t.name;
  return (n.starts_with("blk.") && n.ends_with(".weight")) || n == "output.weight";
}

const TensorSummary* find_tensor(const ModelInfo& m, std::string_view name) {
  for (const TensorSummary& t : m.tensors) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

// The output projection is the token embedding (llm_model.cpp: no output.weight where the
// architecture allows it).
bool tied_output(const ModelInfo& m) {
  if (m.kind != ModelKind::decoder || find_tensor(m, "output.weight") != nullptr) return false;
  const ArchSpec* spec = find_architecture(m.arch);
  return spec == nullptr || spec->decoder == nullptr || spec->decoder->output_may_be_tied;
}

// ---- the CPU.

// The rows8 and rows32 arrangements of backend/cpu/weight_repack.h, and the kernels that read
// them (cpu_backend.cpp's prepare_weight copies a weight only where one does).
struct CopyLayout {
  TensorType type;
  CpuKernels needs;      // the least instruction set with a kernel for it
  int64_t group_rows;    // rows padded to a multiple of this
  int64_t block_values;  // values per group block
  uint64_t group_block;  // bytes of one group block (all group_rows rows)
};
constexpr std::array<CopyLayout, 6> kCpuCopies = {{
    {TensorType::Q8_0, CpuKernels::avx512vnni, 8, 32, 8 * 34},
    {TensorType::Q4_0, CpuKernels::avx512vnni, 8, 32, 8 * 18},
    {TensorType::Q5_0, CpuKernels::avx512vnni, 8, 32, 8 * 22},
    // 8 x 144 bytes plus the unpacked 6-bit scales and mins
    {TensorType::Q4_K, CpuKernels::avx512vnni, 8, 256, 1184},
    {TensorType::F16, CpuKernels::avx2, 32, 1, 32 * 2},
    {TensorType::BF16, CpuKernels::avx2, 32, 1, 32 * 2},
}};

// Host memory of the tokenizer (engine/tokenizer: texts, scores, attributes, lookup tables,
// merge ranks) per token and per merge, measured on the test data's vocabularies (30k to
// 152k tokens, 0 to 280k merges; tests/llm/memory_accuracy_test.cpp).
constexpr uint64_t kTokenizerBytesPerToken = 88;
constexpr uint64_t kTokenizerBytesPerMerge = 72;
// A decoder context's worker threads (stacks, their allocator arenas, the kernels'
// thread-local scratch) and what the allocator keeps of the memory freed during load (1 to 3
// MiB measured); an encoder's stream and threads (under 1 MiB).
constexpr uint64_t kCpuContextOverhead = 2 * kMiB;
constexpr uint64_t kCpuEncoderOverhead = 1 * kMiB;
// File pages mapped around the in-place reads of each layer's vectors (norms, biases): the
// kernel maps up to 64 KiB around a page fault (fault-around), neighbours' pages included;
// about 1.5 such windows a layer measured.
constexpr uint64_t kFaultAroundPerLayer = 96 * 1024;

// The GGUF file's header, metadata and tensor table (resident once parsed), the parsed string
// arrays (a view per entry) and the tokenizer.
uint64_t file_and_tokenizer_bytes(const ModelInfo& m) {
  const uint64_t entries = m.tokenizer.n_tokens + m.tokenizer.n_merges;
  return round_up(m.header_bytes, kPage) + 16 * entries +
         kTokenizerBytesPerToken * m.tokenizer.n_tokens +
         kTokenizerBytesPerMerge * m.tokenizer.n_merges;
}

// The converted activations of the CPU matmul (quantized per 32 values with a scale and sums,
// at most 1.25 bytes a value), thread-local on the decoding thread: the widest input of a
// pass.
uint64_t cpu_activation_scratch(const Widths& w, uint64_t n) {
  return n * std::max(w.embd, w.ff) * 5 / 4;
}

struct Parts {
  uint64_t copies = 0, compute = 0, overhead = 0, host = 0;
};

Parts cpu_parts(const ModelInfo& m, const MemoryEstimate& e, CpuKernels kernels) {
  Parts p;
  const Widths w = widths_of(m);
  const auto ub = static_cast<uint64_t>(e.micro_batch);
  uint64_t copied = 0;
  for (const TensorSummary& t : m.tensors) {
    if (!is_matmul_weight(t)) continue;
    const uint64_t copy = cpu_weight_copy_bytes(t.type, t.rows, t.cols, kernels);
    if (copy == 0) continue;
    p.copies += copy > t.bytes ? copy - t.bytes : 0;
    ++copied;
  }
  if (tied_output(m)) {
    if (const TensorSummary* embd = find_tensor(m, "token_embd.weight")) {
      p.copies += cpu_weight_copy_bytes(embd->type, embd->rows, embd->cols, kernels);
    }
  }
  // A copied weight's pages are given back but for the ones it shares with its neighbours.
  p.copies += copied * kPage;

  p.overhead = file_and_tokenizer_bytes(m) +
               static_cast<uint64_t>(std::max<int64_t>(m.n_layer, 0)) * kFaultAroundPerLayer;
  if (m.kind == ModelKind::encoder) {
    p.overhead += kCpuEncoderOverhead;
    // The pass's buffer, the host copies of its hidden states (the output and each text's).
    p.compute = encoder_work_bytes(w, ub) + 2 * ub * w.embd * 4 + cpu_activation_scratch(w, ub);
    return p;
  }
  const auto cells = static_cast<uint64_t>(e.kv_cells);
  const auto parallel = static_cast<uint64_t>(e.n_parallel);
  p.compute =
      decoder_work_bytes(w, ub, cells) + parallel * w.vocab * 4 + cpu_activation_scratch(w, ub);
  // The context's host copy of the cell table, per-sequence and per-batch-entry arrays.
  p.overhead += kCpuContextOverhead + cells * 8 + parallel * 24 + ub * 40;
  return p;
}

// ---- CUDA (backend/cuda): its sizes, kept equal by hand (the plugin's sources need the CUDA
// toolkit); tests/llm/cuda_memory_test.cpp compares the result with the backend's account.

constexpr uint64_t kCublasWorkspace = 32 * kMiB;  // per stream (cuda_stream.cpp)
constexpr uint64_t kStreamErrorWord = 256;
constexpr uint64_t kStepBlock = 4 * kMiB;     // pinned, per stream
constexpr uint64_t kStagingChunk = 1 * kMiB;  // pinned staging chunks, per stream
constexpr int64_t kMatvecMaxTokens = 8;       // quant_matvec.h: up to this many tokens, matvec
constexpr uint64_t kSliceValues = uint64_t{16} << 20;  // cuda_matmul.cpp: f16 weight slice
constexpr int64_t kAttentionTile = 32;                 // attention.cu: cells per tile
constexpr int64_t kMinSegmentTiles = 8;
constexpr int64_t kMaxSegments = 32;
constexpr uint64_t kSplitMaxBytes = 32 * kMiB;

uint64_t align256(uint64_t bytes) {
  return (bytes + 255) / 256 * 256;
}

// attention.cu's attention_scratch_bytes.
uint64_t attention_scratch(int64_t n, int64_t heads, int64_t head_dim, int64_t cells) {
  if (n <= 0 || heads <= 0 || head_dim <= 0) return 256;
  const int64_t tiles = (cells + kAttentionTile - 1) / kAttentionTile;
  const int64_t segments =
      std::min((tiles + kMinSegmentTiles - 1) / kMinSegmentTiles, kMaxSegments);
  if (segments <= 1) return 256;
  const auto per_token = static_cast<uint64_t>(segments * heads * (head_dim + 2) * 4);
  if (static_cast<uint64_t>(n) >= kSplitMaxBytes / per_token) return kSplitMaxBytes;
  return std::max<uint64_t>(static_cast<uint64_t>(n) * per_token, 256);
}

// A CUDA stream's scratch slots (cuda_stream.h), grown as requests come: a request larger than
// the slot allocates 1.5 x the request and retires the old buffer, which stays allocated until
// the stream is idle (synchronize(), the end of a decode). peak(): the most they held at once.
class ScratchSim {
 public:
  enum Slot { quant_activations, half_activations, half_weights, attention, count };
  void request(Slot s, uint64_t bytes) {
    uint64_t& cur = slots_[s];
    if (cur >= bytes) return;
    retired_ += cur;
    cur = bytes + bytes / 2;
    peak_ = std::max(peak_, held());
  }
  void idle() { retired_ = 0; }
  uint64_t peak() const { return peak_; }

 private:
  uint64_t held() const {
    uint64_t b = retired_;
    for (uint64_t s : slots_) b += s;
    return b;
  }
  std::array<uint64_t, count> slots_{};
  uint64_t retired_ = 0;
  uint64_t peak_ = 0;
};

bool is_float_type(TensorType t) {
  return t == TensorType::F32 || t == TensorType::F16 || t == TensorType::BF16;
}

// cuda_matmul.cpp's requests for one matmul of n tokens.
void matmul_requests(ScratchSim& sim, const TensorSummary& w, int64_t n) {
  const auto cols = static_cast<uint64_t>(w.cols);
  const auto un = static_cast<uint64_t>(n);
  if (n <= kMatvecMaxTokens) {
    const uint64_t values = un * cols;
    sim.request(ScratchSim::quant_activations,
                std::max<uint64_t>(align256(values) + align256(values / 32 * 4), 256));
    return;
  }
  if (w.type == TensorType::F32) return;  // SGEMM on the f32 activations
  sim.request(ScratchSim::half_activations, un * cols * 2);
  if (is_float_type(w.type)) return;
  const uint64_t rows = static_cast<uint64_t>(std::max<int64_t>(w.rows, 1));
  const uint64_t slice = std::clamp<uint64_t>(kSliceValues / std::max<uint64_t>(cols, 1), 1, rows);
  sim.request(ScratchSim::half_weights, slice * cols * 2);
}

// The scratch of the first full micro-batch (prompt) and of the decode steps after it, in the
// order of the forward pass's ops.
uint64_t cuda_scratch_peak(const ModelInfo& m, const MemoryEstimate& e) {
  ScratchSim sim;
  const bool encoder = m.kind == ModelKind::encoder;
  const int64_t cells = encoder ? e.micro_batch : e.kv_cells;
  const auto pass = [&](int64_t n) {
    for (int64_t l = 0; l < m.n_layer; ++l) {
      const std::string b = "blk." + std::to_string(l) + ".";
      const auto mm = [&](const char* name) {
        if (const TensorSummary* t = find_tensor(m, b + name)) matmul_requests(sim, *t, n);
      };
      mm("attn_q.weight");
      mm("attn_k.weight");
      mm("attn_v.weight");
      sim.request(ScratchSim::attention,
                  attention_scratch(n, m.n_head, std::max(m.head_dim_k, m.head_dim_v), cells));
      mm("attn_output.weight");
      if (!encoder) mm("ffn_gate.weight");
      mm("ffn_up.weight");
      mm("ffn_down.weight");
    }
    if (encoder) return;
    const TensorSummary* out = find_tensor(m, "output.weight");
    if (out == nullptr) out = find_tensor(m, "token_embd.weight");
    if (out != nullptr) matmul_requests(sim, *out, std::min(n, e.n_parallel));
  };
  pass(e.micro_batch);
  sim.idle();
  if (!encoder) pass(std::min(e.n_parallel, e.kv_cells));  // a decode step of every sequence
  return sim.peak();
}

Parts cuda_parts(const ModelInfo& m, const MemoryEstimate& e) {
  Parts p;
  const Widths w = widths_of(m);
  const auto ub = static_cast<uint64_t>(e.micro_batch);
  const uint64_t data = m.file_size > m.header_bytes ? m.file_size - m.header_bytes : 0;
  // The whole data section is copied, the alignment between tensors included.
  p.overhead = kCublasWorkspace + kStreamErrorWord + (data > e.weights ? data - e.weights : 0);
  // Host: the file's header and tokenizer, the file pages read for the copy, the stream's
  // pinned step block and staging.
  p.host = file_and_tokenizer_bytes(m) + round_up(data, kPage) + kStepBlock + kPage;
  const uint64_t scratch = cuda_scratch_peak(m, e);
  if (m.kind == ModelKind::encoder) {
    p.compute = encoder_work_bytes(w, ub) + scratch;
    p.host += kStagingChunk + 3 * ub * w.embd * 4;  // staging, the pass's output, the texts'
    return p;
  }
  const auto cells = static_cast<uint64_t>(e.kv_cells);
  const auto parallel = static_cast<uint64_t>(e.n_parallel);
  const uint64_t logits = parallel * w.vocab * 4;
  p.compute = decoder_work_bytes(w, ub, cells) + logits + scratch;
  // The logits' host copy; staging of a prompt's index arrays and cell table and the logits.
  const uint64_t staged = cells * 8 + ub * 32 + logits;
  p.host += logits + std::max(kStagingChunk, staged) + kStagingChunk + cells * 8 + parallel * 24 +
            ub * 40;
  return p;
}

}  // namespace

const char* memory_device_name(MemoryDevice device) {
  return device == MemoryDevice::cuda ? "cuda" : "cpu";
}

uint64_t cpu_weight_copy_bytes(TensorType type, int64_t rows, int64_t cols, CpuKernels kernels) {
  if (rows <= 0 || cols <= 0) return 0;
  for (const CopyLayout& c : kCpuCopies) {
    if (c.type != type) continue;
    if (static_cast<int>(kernels) < static_cast<int>(c.needs)) return 0;
    if (cols % c.block_values != 0) return 0;
    const auto groups = static_cast<uint64_t>((rows + c.group_rows - 1) / c.group_rows);
    return groups * static_cast<uint64_t>(cols / c.block_values) * c.group_block;
  }
  return 0;
}

Result<MemoryEstimate> estimate_memory(const ModelInfo& m, const MemoryOptions& o) {
  MemoryEstimate e;
  if (o.n_ctx < 0) return bad("context length must be positive, got " + std::to_string(o.n_ctx));
  if (o.n_parallel < 1) {
    return bad("parallel sequences must be at least 1, got " + std::to_string(o.n_parallel));
  }
  e.device = o.device;
  e.n_ctx = o.n_ctx > 0
                ? o.n_ctx
                : (m.n_ctx_train > 0 ? std::min(m.n_ctx_train, kDefaultContext) : kDefaultContext);
  e.n_parallel = o.n_parallel;
  if (static_cast<u128>(e.n_ctx) * static_cast<u128>(e.n_parallel) > (u128{1} << 32)) {
    return bad("context x parallel sequences = " + std::to_string(e.n_ctx) + " x " +
               std::to_string(e.n_parallel) + " is past the limit of 2^32 cached tokens");
  }
  const bool has_kv = m.kind == ModelKind::decoder;
  e.kv_cells = has_kv ? e.n_ctx * e.n_parallel : 0;
  // A decoder's pass takes up to 512 of its cells; an encoder's, whole texts up to 512 tokens
  // together, or one longer text alone (encoder_run.cpp).
  e.micro_batch = has_kv ? std::min(kMicroBatch, e.kv_cells) : std::max(kMicroBatch, e.n_ctx);
  e.weights = m.weight_bytes;
  if (has_kv) {
    auto kv = kv_cache_bytes(m, e.kv_cells, o.kv_type);
    if (!kv.ok()) return kv.error();
    e.kv_cache = *kv;
  }
  // Past 2^40 tokens x widths the sizes below could overflow; refuse such shapes.
  const u128 widest = static_cast<u128>(std::max({m.n_embd, m.n_ff, m.n_vocab, int64_t{1}}));
  if (widest * static_cast<u128>(std::max<int64_t>(e.micro_batch, e.kv_cells)) > (u128{1} << 56)) {
    return bad("memory total overflows");
  }
  const Parts p =
      o.device == MemoryDevice::cuda ? cuda_parts(m, e) : cpu_parts(m, e, o.cpu_kernels);
  e.weight_copies = p.copies;
  e.compute = p.compute;
  e.overhead = p.overhead;
  e.host = p.host;
  const u128 total =
      static_cast<u128>(e.weights) + e.weight_copies + e.kv_cache + e.compute + e.overhead;
  if (total > std::numeric_limits<int64_t>::max()) return bad("memory total overflows");
  e.total = static_cast<uint64_t>(total);
  return e;
}

}  // namespace tessera::engine
