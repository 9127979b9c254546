// Kernel selection by CPU features, and the conversion of activations to a kernel's format.
#include "backend/cpu/quant_dot.h"

#include "backend/cpu/packed_gemm.h"
#include "backend/cpu/thread_pool.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

namespace tessera::backend::cpu {
namespace {

using gguf::TensorType;

enum class Isa { scalar, avx2, avx512vnni };

// AVX2, FMA and F16C in the CPU (CPUID) and YMM state enabled by the OS (XGETBV); then
// AVX-512 F/BW/VL with VNNI and the opmask/ZMM state enabled.
Isa detect_isa() {
#if defined(__x86_64__) || defined(__i386__)
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (__get_cpuid(1, &a, &b, &c, &d) == 0) return Isa::scalar;
  const bool fma = (c >> 12) & 1u, osxsave = (c >> 27) & 1u, f16c = (c >> 29) & 1u;
  if (!fma || !osxsave || !f16c) return Isa::scalar;
  unsigned xcr0_lo = 0, xcr0_hi = 0;
  __asm__("xgetbv" : "=a"(xcr0_lo), "=d"(xcr0_hi) : "c"(0));
  if ((xcr0_lo & 0x6u) != 0x6u) return Isa::scalar;  // XMM and YMM state
  if (__get_cpuid_count(7, 0, &a, &b, &c, &d) == 0) return Isa::scalar;
  if (((b >> 5) & 1u) == 0) return Isa::scalar;                                  // AVX2
  const bool avx512 = ((b >> 16) & 1u) && ((b >> 30) & 1u) && ((b >> 31) & 1u);  // F, BW, VL
  const bool vnni = (c >> 11) & 1u;
  if (avx512 && vnni && (xcr0_lo & 0xE0u) == 0xE0u) return Isa::avx512vnni;
  return Isa::avx2;
#else
  return Isa::scalar;
#endif
}

struct Table {
  Isa isa = Isa::scalar;
  const DotKernel* by_type[64] = {};
  DotKernel kquant[64] = {};  // K-quant kernels, which come as bare tile functions
  const PackedGemm* packed[64] = {};
};

const Table& table() {
  static Table t;  // filled once, in place (by_type points into kquant)
  static const bool filled = [] {
    t.isa = detect_isa();
    if (t.isa == Isa::scalar) return true;
    for (uint32_t id = 0; id < 64; ++id) {
      if (gguf::tensor_type_info(id) == nullptr) continue;
      const auto type = static_cast<TensorType>(id);
      if (t.isa == Isa::avx512vnni) t.packed[id] = find_packed_gemm_vnni(type);
      t.by_type[id] = find_dot_kernel_avx2(type);
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

const char* dot_kernels_isa() {
  switch (table().isa) {
    case Isa::avx512vnni:
      return "avx512vnni";
    case Isa::avx2:
      return "avx2";
    default:
      return "scalar";
  }
}

size_t act_row_bytes(TensorType act_type, int64_t cols) {
  const gguf::TensorTypeInfo* info = gguf::tensor_type_info(act_type);
  return static_cast<size_t>(cols / info->block_size) * info->block_bytes;
}

void convert_activations(TensorType act_type, const float* x, int64_t n_rows, int64_t cols,
                         uint8_t* out, ThreadPool* pool) {
  const size_t row_bytes = act_row_bytes(act_type, cols);
  const bool fast_q8_0 = act_type == TensorType::Q8_0 && table().isa != Isa::scalar;
  const gguf::TensorTypeInfo* info = gguf::tensor_type_info(act_type);
  parallel_for(pool, n_rows, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      uint8_t* dst = out + static_cast<size_t>(r) * row_bytes;
      if (fast_q8_0) {
        quantize_row_q8_0_avx2(x + r * cols, dst, cols);
      } else {
        info->quantize(x + r * cols, dst, cols);
      }
    }
  });
}

}  // namespace tessera::backend::cpu
