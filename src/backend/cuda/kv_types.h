// The K/V cache value types as the kernels name them: plain ints in the order of
// backend::KvType (backend/ops.h), shared by kv_store (rows.h) and attention (attention.h).
#pragma once

namespace tessera::cuda {

inline constexpr int kKvF16 = 0;  // IEEE half, round to nearest even (NaN as util/half.h writes it)
inline constexpr int kKvF32 = 1;  // exact
inline constexpr int kKvQ8_0 = 2;  // GGUF Q8_0 blocks: {f16 d; int8 qs[32]}, 34 bytes per 32 values

}  // namespace tessera::cuda
