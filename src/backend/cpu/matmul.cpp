#include "backend/cpu/matmul.h"

#include <algorithm>
#include <cassert>
#include <string>
#include <vector>

#include "backend/cpu/packed_gemm.h"
#include "backend/cpu/quant_dot.h"
#include "backend/cpu/rows32_gemm.h"

namespace tessera::backend::cpu {
namespace {

// Weight rows dequantized together, so each token row of x is read once per tile.
constexpr int64_t kRowTile = 4;

float* scratch(size_t n) {
  thread_local std::vector<float> buf;
  if (buf.size() < n) buf.resize(n);
  return buf.data();
}

uint8_t* act_scratch(size_t n) {
  thread_local std::vector<uint8_t> buf;
  if (buf.size() < n) buf.resize(n);
  return buf.data();
}

// The fast path: activations converted once to the kernel's format, then rm x rn tiles of
// dot products (quant_dot.h). Threads split groups of tile_rows weight rows; each thread walks
// its rows in blocks of tokens whose activations stay in the L2 cache.
void matmul_fast(const DotKernel& k, const WeightView& w, const float* x, int64_t n_tokens,
                 float* y, const float* bias, ThreadPool* pool) {
  const int64_t cols = w.cols;
  const int64_t rows = w.rows;
  const uint8_t* xa = reinterpret_cast<const uint8_t*>(x);
  size_t xs = static_cast<size_t>(cols) * sizeof(float);
  if (k.act_type != gguf::TensorType::F32) {
    xs = act_row_bytes(k.act_type, cols);
    uint8_t* buf = act_scratch(xs * static_cast<size_t>(n_tokens));
    convert_activations(k.act_type, x, n_tokens, cols, buf, pool);
    xa = buf;
  }
  const size_t ws = weight_row_bytes(w);
  const auto* base = static_cast<const uint8_t*>(w.data);
  const int64_t tr = k.tile_rows;
  const int64_t tc = k.tile_cols;
  assert(tr * tc <= kMaxTileArea);
  const int64_t n_groups = (rows + tr - 1) / tr;
  constexpr size_t kBlockBytes = 256 * 1024;
  const int64_t block = std::max<int64_t>(tc, static_cast<int64_t>(kBlockBytes / xs) / tc * tc);

  parallel_for(pool, n_groups, [&](int64_t g_begin, int64_t g_end) {
    float tile[kMaxTileArea];
    for (int64_t t_block = 0; t_block < n_tokens; t_block += block) {
      const int64_t t_end = std::min(n_tokens, t_block + block);
      for (int64_t g = g_begin; g < g_end; ++g) {
        const int64_t r0 = g * tr;
        const int rm = static_cast<int>(std::min<int64_t>(tr, rows - r0));
        for (int64_t t0 = t_block; t0 < t_end; t0 += tc) {
          const int rn = static_cast<int>(std::min<int64_t>(tc, t_end - t0));
          k.tile(cols, base + static_cast<size_t>(r0) * ws, ws, xa + static_cast<size_t>(t0) * xs,
                 xs, rm, rn, tile, static_cast<size_t>(tc));
          for (int j = 0; j < rn; ++j) {
            float* yt = y + (t0 + j) * rows + r0;
            for (int i = 0; i < rm; ++i) {
              yt[i] = tile[i * tc + j] + (bias != nullptr ? bias[r0 + i] : 0.0f);
            }
          }
        }
      }
    }
  });
}

// The packed path (packed_gemm.h): activations packed once, then threads split groups of
// kPackedRowGroup weight rows; each walks its rows over blocks of tokens whose packed
// activations stay in the L2 cache.
void matmul_packed(const PackedGemm& k, const WeightView& w, const float* x, int64_t n_tokens,
                   float* y, const float* bias, ThreadPool* pool) {
  const int64_t cols = w.cols;
  const int64_t rows = w.rows;
  const size_t bytes = k.packed_bytes(n_tokens, cols);
  uint8_t* packed = act_scratch(bytes);
  parallel_for(pool, k.pack_units(n_tokens),
               [&](int64_t begin, int64_t end) { k.pack(x, cols, n_tokens, begin, end, packed); });
  const auto* base = static_cast<const uint8_t*>(w.data);
  const int64_t step = k.token_step(n_tokens);
  constexpr size_t kBlockBytes = 256 * 1024;
  const size_t step_bytes = std::max<size_t>(1, bytes / static_cast<size_t>(n_tokens) * step);
  const int64_t block = std::max<int64_t>(1, static_cast<int64_t>(kBlockBytes / step_bytes)) * step;
  const int64_t n_groups = (rows + kPackedRowGroup - 1) / kPackedRowGroup;
  parallel_for(pool, n_groups, [&](int64_t g_begin, int64_t g_end) {
    const int64_t r_begin = g_begin * kPackedRowGroup;
    const int64_t r_end = std::min(rows, g_end * kPackedRowGroup);
    for (int64_t t = 0; t < n_tokens; t += block) {
      k.run(cols, base, r_begin, r_end, packed, n_tokens, t, std::min(n_tokens, t + block), bias, y,
            static_cast<size_t>(rows));
    }
  });
}

// The rows32 path (rows32_gemm.h): activations as they are; threads split pairs of row groups
// (64 rows), each walks its rows over blocks of tokens whose activations stay in the L2 cache.
void matmul_rows32(const WeightView& w, const float* x, int64_t n_tokens, float* y,
                   const float* bias, ThreadPool* pool) {
  const Rows32GemmFn run = find_rows32_gemm();
  assert(run != nullptr);  // prepare_weight arranges rows32 only where a kernel reads it
  const int64_t rows = w.rows;
  const bool bf16 = w.type == gguf::TensorType::BF16;
  const auto* base = static_cast<const uint8_t*>(w.data);
  constexpr int64_t kPair = 2 * kRows32Group;
  constexpr size_t kBlockBytes = 256 * 1024;
  const int64_t block = std::max<int64_t>(
      1, static_cast<int64_t>(kBlockBytes / (static_cast<size_t>(w.cols) * sizeof(float))));
  parallel_for(pool, (rows + kPair - 1) / kPair, [&](int64_t p_begin, int64_t p_end) {
    const int64_t r_begin = p_begin * kPair;
    const int64_t r_end = std::min(rows, p_end * kPair);
    for (int64_t t = 0; t < n_tokens; t += block) {
      run(bf16, w.cols, base, r_begin, r_end, x, t, std::min(n_tokens, t + block), bias, y,
          static_cast<size_t>(rows));
    }
  });
}

}  // namespace

float dot_f32(const float* a, const float* b, int64_t n) {
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    for (int j = 0; j < 8; ++j) acc[j] += a[i + j] * b[i + j];
  }
  for (; i < n; ++i) acc[0] += a[i] * b[i];
  return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

void matmul(const WeightView& w, const float* x, int64_t n_tokens, float* y, const float* bias,
            ThreadPool* pool) {
  assert(weight_type_supported(w.type));
  if (n_tokens <= 0 || w.rows <= 0) return;
  if (w.layout == backend::Layout::rows32) {
    matmul_rows32(w, x, n_tokens, y, bias, pool);
    return;
  }
  if (w.layout == backend::Layout::rows8) {
    const PackedGemm* k = find_packed_gemm(w.type);
    assert(k != nullptr);  // prepare_weight arranges rows8 only where a kernel reads it
    matmul_packed(*k, w, x, n_tokens, y, bias, pool);
    return;
  }
  if (const DotKernel* k = find_dot_kernel(w.type); k != nullptr) {
    matmul_fast(*k, w, x, n_tokens, y, bias, pool);
    return;
  }
  matmul_reference(w, x, n_tokens, y, bias, pool);
}

void matmul_reference(const WeightView& w, const float* x, int64_t n_tokens, float* y,
                      const float* bias, ThreadPool* pool) {
  assert(weight_type_supported(w.type));
  if (n_tokens <= 0 || w.rows <= 0) return;
  const gguf::TensorTypeInfo* info = gguf::tensor_type_info(w.type);
  const size_t row_bytes = weight_row_bytes(w);
  const auto* base = static_cast<const uint8_t*>(w.data);
  const int64_t cols = w.cols;
  const int64_t rows = w.rows;
  const bool is_f32 = w.type == gguf::TensorType::F32;

  parallel_for(
      pool, rows,
      [&](int64_t begin, int64_t end) {
        float* buf = is_f32 ? nullptr : scratch(static_cast<size_t>(kRowTile * cols));
        for (int64_t r0 = begin; r0 < end; r0 += kRowTile) {
          const int64_t nr = std::min(kRowTile, end - r0);
          const float* wrows[kRowTile];
          for (int64_t i = 0; i < nr; ++i) {
            const uint8_t* src = base + static_cast<size_t>(r0 + i) * row_bytes;
            if (is_f32) {
              wrows[i] = reinterpret_cast<const float*>(src);
            } else {
              info->dequantize(src, buf + i * cols, cols);
              wrows[i] = buf + i * cols;
            }
          }
          for (int64_t t = 0; t < n_tokens; ++t) {
            const float* xt = x + t * cols;
            float* yt = y + t * rows;
            for (int64_t i = 0; i < nr; ++i) {
              const float b = bias != nullptr ? bias[r0 + i] : 0.0f;
              yt[r0 + i] = dot_f32(wrows[i], xt, cols) + b;
            }
          }
        }
      },
      kRowTile);
}

Status get_rows(const WeightView& w, const int32_t* ids, int64_t n_ids, float* out,
                ThreadPool* pool) {
  assert(weight_type_supported(w.type));
  for (int64_t i = 0; i < n_ids; ++i) {
    if (ids[i] < 0 || ids[i] >= w.rows) {
      return make_error(ErrorCode::out_of_range,
                        "token id " + std::to_string(ids[i]) + " at index " + std::to_string(i) +
                            " is outside the vocabulary of " + std::to_string(w.rows));
    }
  }
  const gguf::TensorTypeInfo* info = gguf::tensor_type_info(w.type);
  const size_t row_bytes = weight_row_bytes(w);
  const auto* base = static_cast<const uint8_t*>(w.data);
  parallel_for(pool, n_ids, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      info->dequantize(base + static_cast<size_t>(ids[i]) * row_bytes, out + i * w.cols, w.cols);
    }
  });
  return {};
}

}  // namespace tessera::backend::cpu
