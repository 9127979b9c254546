// Kernel selection by CPU features, and the conversion of activations to a kernel's format.
#include "backend/cpu/quant_dot.h"

#include "backend/cpu/cpu_isa.h"
#include "backend/cpu/packed_gemm.h"
#include "backend/cpu/rows32_gemm.h"
#include "backend/cpu/thread_pool.h"

namespace tessera::backend::cpu {
namespace {

using gguf::TensorType;

struct Table {
  Isa isa = Isa::scalar;
  const DotKernel* by_type[64] = {};
  DotKernel kquant[64] = {};  // K-quant kernels, which come as bare tile functions
  const PackedGemm* packed[64] = {};
};

const Table& table() {
  static Table t;  // filled once, in place (by_type points into kquant)
  static const bool filled = [] {
    t.isa = cpu_isa();
    if (t.isa == Isa::scalar) return true;
    for (uint32_t id = 0; id < 64; ++id) {
      if (gguf::tensor_type_info(id) == nullptr) continue;
      const auto type = static_cast<TensorType>(id);
      if (t.isa == Isa::avx512vnni) t.packed[id] = find_packed_gemm_vnni(type);
      if (t.isa == Isa::avx512vnni) t.by_type[id] = find_dot_kernel_avx512(type);
      if (t.by_type[id] == nullptr) t.by_type[id] = find_dot_kernel_avx2(type);
      if (t.by_type[id] != nullptr) continue;
      if (const DotTileFn fn = find_kquant_tile_avx2(type); fn != nullptr) {
        t.kquant[id] = DotKernel{TensorType::Q8_K, fn, "avx2"};
        t.by_type[id] = &t.kquant[id];
      }
    }
    return true;
  }();
  (void)filled;
  return t;
}

}  // namespace

const DotKernel* find_dot_kernel(TensorType type) {
  const auto id = static_cast<uint32_t>(type);
  return id < 64 ? table().by_type[id] : nullptr;
}

const PackedGemm* find_packed_gemm(TensorType type) {
  const auto id = static_cast<uint32_t>(type);
  return id < 64 ? table().packed[id] : nullptr;
}

Rows32GemmFn find_rows32_gemm() {
  switch (table().isa) {
    case Isa::avx512vnni:
      return rows32_gemm_avx512;
    case Isa::avx2:
      return rows32_gemm_avx2;
    case Isa::scalar:
      break;
  }
  return nullptr;
}

const char* dot_kernels_isa() {
  return isa_name(table().isa);
}

size_t act_row_bytes(TensorType act_type, int64_t cols) {
  const gguf::TensorTypeInfo* info = gguf::tensor_type_info(act_type);
  return static_cast<size_t>(cols / info->block_size) * info->block_bytes;
}

void convert_activations(TensorType act_type, const float* x, int64_t n_rows, int64_t cols,
                         uint8_t* out, ThreadPool* pool) {
  const size_t row_bytes = act_row_bytes(act_type, cols);
  const bool simd = table().isa != Isa::scalar;
  const bool fast_q8_0 = act_type == TensorType::Q8_0 && simd;
  const bool fast_q8_k = act_type == TensorType::Q8_K && simd;
  const gguf::TensorTypeInfo* info = gguf::tensor_type_info(act_type);
  parallel_for(pool, n_rows, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      uint8_t* dst = out + static_cast<size_t>(r) * row_bytes;
      if (fast_q8_0) {
        quantize_row_q8_0_avx2(x + r * cols, dst, cols);
      } else if (fast_q8_k) {
        quantize_row_q8_k_avx2(x + r * cols, dst, cols);
      } else {
        info->quantize(x + r * cols, dst, cols);
      }
    }
  });
}

}  // namespace tessera::backend::cpu
