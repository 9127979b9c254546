// Memory a model needs to run, planned before anything is allocated: weights, KV cache,
// compute buffers and overhead, for a given device kind, context length, number of parallel
// sequences and KV type. A pure function of the file's description (model_info.h): the same
// inputs give the same figures on any machine. Formulas: docs/model-info.md.
//
// `total` is the bytes the model needs on its device, the figure a scheduler admits a model
// by:
//   - CPU: the growth of the process's resident memory (anonymous + file-backed) from before
//     the model is opened until it has run a full micro-batch: the mapped file pages it reads
//     (tensor data, header and metadata; all of the token embedding table, which get_rows
//     reads row by row as a server's requests use the vocabulary), the rearranged copies of matmul
//     weights the CPU keeps (`weight_copies`), the KV cache (the CPU backend commits what it
//     allocates), the activations and logits, and host state (tokenizer tables, the context's cell
//     tables, thread stacks) in `overhead`. tests/llm/memory_accuracy_test.cpp checks it within 10%
//     on every test model and on 0.5B / 1.1B-shaped ones; what a process pays once (code pages,
//     static tables) is not in it.
//   - CUDA: the peak of the backend's memory account (backend.h MemoryStats::peak) over load,
//     context creation and a full micro-batch: weights copied to the device, KV cache,
//     activations, logits, the stream's kernel scratch as it grows (tests/llm/
//     cuda_memory_test.cpp). Not in it: the CUDA context the driver keeps per process and
//     device (a few hundred MiB, outside any allocator). Host memory the model holds beside
//     the device (tokenizer, metadata, the file pages read for the copy, pinned staging, the
//     logits' host copy) is `host`, not part of `total`.
//
// Exact: the KV cache (every decoder layer keeps, per cached token, n_head_kv(layer) keys of
// head_dim_k values and as many values of head_dim_v values, in the KV type; each of the
// n_parallel sequences gets its own n_ctx tokens; encoders have none), the weights, the
// copies, activations and logits as the runtime allocates them. Estimated: the tokenizer
// tables (per token and per merge, measured), kernel scratch, thread stacks. Assumed: one
// logits row per sequence per decode (a caller asking for logits of every prompt token needs
// n_vocab x 4 bytes more per extra row), and on the CPU the rearranged copies of the fastest
// kernels of MemoryOptions::cpu_kernels (by default AVX-512 VNNI: rows8 copies of Q8_0 / Q4_0
// / Q5_0 / Q4_K, rows32 of F16 / BF16, the most a CPU keeps, so an upper bound on others).
// Not in it: a moment during load when one weight's file pages and its copy are both resident
// (up to the largest matmul weight more than `total`).
#pragma once

#include <cstdint>

#include "engine/model_info.h"
#include "gguf/tensor_type.h"
#include "util/result.h"

namespace tessera::engine {

inline constexpr int64_t kDefaultContext = 4096;  // when the caller names none
inline constexpr int64_t kMicroBatch = 512;  // tokens per pass (an encoder's longer text: alone)

// The kind of device a model runs on (backend::DeviceKind, which engine/ does not include).
enum class MemoryDevice { cpu, cuda };
const char* memory_device_name(MemoryDevice device);  // "cpu", "cuda"

// The CPU's vector instructions as its kernels use them (backend/cpu/cpu_isa.h: Isa), which
// decide the rearranged weight copies it keeps: avx512vnni rows8 (Q8_0, Q4_0, Q5_0, Q4_K) and
// rows32 (F16, BF16), avx2 rows32 only, scalar none.
enum class CpuKernels { scalar, avx2, avx512vnni };

struct MemoryOptions {
  int64_t n_ctx = 0;       // tokens per sequence; 0 = min(training context, kDefaultContext)
  int64_t n_parallel = 1;  // sequences decoded at once
  gguf::TensorType kv_type = gguf::TensorType::F16;
  MemoryDevice device = MemoryDevice::cpu;
  CpuKernels cpu_kernels = CpuKernels::avx512vnni;  // the CPU's (device cpu only)
};

struct MemoryEstimate {
  MemoryDevice device = MemoryDevice::cpu;
  int64_t n_ctx = 0;  // the context used (after defaulting)
  int64_t n_parallel = 0;
  int64_t kv_cells = 0;     // n_ctx * n_parallel (0 for encoders)
  int64_t micro_batch = 0;  // tokens of the largest forward pass
  uint64_t weights = 0;     // bytes of all tensors, as stored in the file
  // CPU: what its rearranged copies of matmul weights add to `weights` (a copied weight's
  // file pages are given back, so only the padding counts, and the whole copy of an output
  // projection tied to the token embedding, which stays mapped); 0 on CUDA.
  uint64_t weight_copies = 0;
  uint64_t kv_cache = 0;  // exact, see above
  uint64_t compute = 0;   // activations, index arrays, logits, kernel scratch
  // CPU: the file's header and metadata pages, the tokenizer, the context's host tables and
  // threads. CUDA: the stream's cuBLAS workspace and error word, the weights' alignment.
  uint64_t overhead = 0;
  uint64_t total = 0;  // on the device: weights + weight_copies + kv_cache + compute + overhead
  uint64_t host = 0;   // CUDA: host memory beside the device (see above); CPU: 0 (in total)
};

// Errors (invalid_argument): n_ctx or n_parallel out of range (n_ctx < 0, n_parallel < 1,
// n_ctx * n_parallel > 2^32), a KV type whose blocks do not tile a KV head row, a total
// past 2^63 bytes.
Result<MemoryEstimate> estimate_memory(const ModelInfo& model, const MemoryOptions& options);

// Bytes of the CPU's rearranged copy of a matmul weight of `rows` x `cols` values of `type`
// (backend/cpu/weight_repack.h: rows8 for Q8_0 / Q4_0 / Q5_0 / Q4_K, rows32 for F16 / BF16)
// on a CPU with `kernels`; 0 when it multiplies the type as stored. Kept equal to the
// backend's sizes and choices by tests/llm/memory_accuracy_test.cpp.
uint64_t cpu_weight_copy_bytes(gguf::TensorType type, int64_t rows, int64_t cols,
                               CpuKernels kernels = CpuKernels::avx512vnni);

}  // namespace tessera::engine
