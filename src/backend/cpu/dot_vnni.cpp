// AVX-512 VNNI packed integer kernels (see packed_gemm.h): activation packing, the 8-row
// kernel for few tokens (lanes = rows) and the token-group kernel for batches (lanes = tokens).
//
// Compiled with AVX-512 F/BW/VL/VNNI (256-bit vectors, 32 registers) and called only when the
// CPU has them: this file must not instantiate standard-library templates.
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "backend/cpu/packed_gemm.h"

namespace tessera::backend::cpu {
namespace {

using gguf::TensorType;

constexpr int64_t kBlock = 32;
constexpr int kGroup = 8;                 // tokens per interleaved group
constexpr size_t kGroupBlockBytes = 320;  // 8 x 32 codes, 8 f32 scales, 8 int32 negated sums
constexpr size_t kScalesAt = 256;         // within a group block
constexpr size_t kSumsAt = 288;

inline float half_at(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return _cvtsh_ss(h);
}

inline int32_t i32_at(const uint8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

inline __m256i load256(const uint8_t* p) {
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
}

// ---- Activations.

// One block: 32 codes, its scale, and the negated code sum. (256-bit steps: GCC 12's 512-bit
// reduction intrinsics trip -Wmaybe-uninitialized.)
inline void quantize_block(const float* x, int8_t* codes, float* scale, int32_t* neg_sum) {
  __m256 v[4];
  __m256 amax = _mm256_setzero_ps();
  const __m256 sign = _mm256_set1_ps(-0.0f);
  for (int k = 0; k < 4; ++k) {
    v[k] = _mm256_loadu_ps(x + 8 * k);
    amax = _mm256_max_ps(amax, _mm256_andnot_ps(sign, v[k]));
  }
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(amax), _mm256_extractf128_ps(amax, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  m = _mm_max_ss(m, _mm_movehdup_ps(m));
  const float max_abs = _mm_cvtss_f32(m);
  const __m256 inv = _mm256_set1_ps(max_abs != 0.0f ? 127.0f / max_abs : 0.0f);
  __m256i sum = _mm256_setzero_si256();
  for (int k = 0; k < 4; ++k) {
    const __m256i q = _mm256_cvtps_epi32(_mm256_mul_ps(v[k], inv));  // round to nearest even
    sum = _mm256_add_epi32(sum, q);
    _mm_storel_epi64(reinterpret_cast<__m128i*>(codes + 8 * k),
                     _mm256_maskz_cvtsepi32_epi8(0xFF, q));
  }
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(sum), _mm256_extracti128_si256(sum, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
  *scale = max_abs / 127.0f;
  *neg_sum = -_mm_cvtsi128_si32(s);
}

size_t packed_bytes(int64_t n_tokens, int64_t cols) {
  const auto nb = static_cast<size_t>(cols / kBlock);
  if (n_tokens < kGroup) return static_cast<size_t>(n_tokens) * (nb * kBlock + nb * 8);
  const auto groups = static_cast<size_t>((n_tokens + kGroup - 1) / kGroup);
  return groups * nb * kGroupBlockBytes;
}

int64_t pack_units(int64_t n_tokens) {
  return n_tokens < kGroup ? n_tokens : (n_tokens + kGroup - 1) / kGroup;
}

int64_t token_step(int64_t n_tokens) {
  return n_tokens < kGroup ? n_tokens : kGroup;
}

void pack(const float* x, int64_t cols, int64_t n_tokens, int64_t u_begin, int64_t u_end,
          uint8_t* packed) {
  const int64_t nb = cols / kBlock;
  if (n_tokens < kGroup) {  // plain: codes, scales, negated sums per token
    const size_t row = static_cast<size_t>(nb) * (kBlock + 8);
    for (int64_t t = u_begin; t < u_end; ++t) {
      uint8_t* out = packed + static_cast<size_t>(t) * row;
      auto* codes = reinterpret_cast<int8_t*>(out);
      auto* scales = reinterpret_cast<float*>(out + nb * kBlock);
      auto* sums = reinterpret_cast<int32_t*>(out + nb * (kBlock + 4));
      for (int64_t b = 0; b < nb; ++b) {
        quantize_block(x + t * cols + b * kBlock, codes + b * kBlock, scales + b, sums + b);
      }
    }
    return;
  }
  for (int64_t g = u_begin; g < u_end; ++g) {  // interleaved: per group of 8 tokens
    uint8_t* out = packed + static_cast<size_t>(g * nb) * kGroupBlockBytes;
    for (int64_t b = 0; b < nb; ++b, out += kGroupBlockBytes) {
      std::memset(out, 0, kGroupBlockBytes);
      for (int j = 0; j < kGroup && g * kGroup + j < n_tokens; ++j) {
        alignas(32) int8_t codes[kBlock];
        float scale;
        int32_t neg_sum;
        quantize_block(x + (g * kGroup + j) * cols + b * kBlock, codes, &scale, &neg_sum);
        for (int s = 0; s < kGroup; ++s) std::memcpy(out + s * 32 + j * 4, codes + s * 4, 4);
        std::memcpy(out + kScalesAt + j * 4, &scale, 4);
        std::memcpy(out + kSumsAt + j * 4, &neg_sum, 4);
      }
    }
  }
}

// ---- Weights: 32 unsigned codes per block, the offset they carry (1 << kShift), the scale.

struct Q8_0W {
  static constexpr size_t kBytes = 34;
  static constexpr int kShift = 7;
  static __m256i codes(const uint8_t* blk) {
    return _mm256_xor_si256(load256(blk + 2), _mm256_set1_epi8(static_cast<char>(0x80)));
  }
};

struct Q4_0W {
  static constexpr size_t kBytes = 18;
  static constexpr int kShift = 3;
  static __m256i codes(const uint8_t* blk) {
    const __m128i q = _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + 2));
    const __m256i both = _mm256_set_m128i(_mm_srli_epi16(q, 4), q);
    return _mm256_and_si256(both, _mm256_set1_epi8(0x0F));
  }
};

struct Q5_0W {
  static constexpr size_t kBytes = 22;
  static constexpr int kShift = 4;
  static __m256i codes(const uint8_t* blk) {
    const __m128i q = _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + 6));
    const __m256i both = _mm256_set_m128i(_mm_srli_epi16(q, 4), q);
    const __m256i low = _mm256_and_si256(both, _mm256_set1_epi8(0x0F));
    const auto high_bits = static_cast<__mmask32>(static_cast<uint32_t>(i32_at(blk + 2)));
    return _mm256_or_si256(low, _mm256_maskz_mov_epi8(high_bits, _mm256_set1_epi8(0x10)));
  }
};

template <class W>
inline float scale_of(const uint8_t* blk) {
  return half_at(blk);
}

// ---- Few tokens: 8 rows per vector (lanes = rows), one token at a time.

// Lane i = the sum of the 8 lanes of d[i].
inline __m256i reduce8(const __m256i d[8]) {
  const __m256i h01 = _mm256_hadd_epi32(d[0], d[1]);
  const __m256i h23 = _mm256_hadd_epi32(d[2], d[3]);
  const __m256i h45 = _mm256_hadd_epi32(d[4], d[5]);
  const __m256i h67 = _mm256_hadd_epi32(d[6], d[7]);
  const __m256i lo4 = _mm256_hadd_epi32(h01, h23);  // [0..3 low halves | 0..3 high halves]
  const __m256i hi4 = _mm256_hadd_epi32(h45, h67);
  return _mm256_add_epi32(_mm256_permute2x128_si256(lo4, hi4, 0x20),
                          _mm256_permute2x128_si256(lo4, hi4, 0x31));
}

inline void store_rows(__m256 v, const float* bias, int64_t r0, int valid, float* y) {
  const auto mask = static_cast<__mmask8>((1u << valid) - 1u);
  if (bias != nullptr) v = _mm256_add_ps(v, _mm256_maskz_loadu_ps(mask, bias + r0));
  _mm256_mask_storeu_ps(y + r0, mask, v);
}

// Rows [r0, r0 + valid) (valid <= 8; missing rows repeat the last) against tokens
// [t0, t0 + RN) of the plain layout. `next` is prefetched: the next group's weights.
template <class W, int RN>
void rows8(int64_t nb, const uint8_t* w, size_t ws, int64_t r0, int valid, const uint8_t* x,
           size_t xs, int64_t t0, const float* bias, float* y, size_t ldy, const uint8_t* next,
           size_t next_bytes) {
  const uint8_t* row[8];
  for (int i = 0; i < 8; ++i)
    row[i] = w + static_cast<size_t>(r0 + (i < valid ? i : valid - 1)) * ws;
  const uint8_t* xr[RN];
  for (int j = 0; j < RN; ++j) xr[j] = x + static_cast<size_t>(t0 + j) * xs;
  const size_t codes_bytes = static_cast<size_t>(nb) * kBlock;
  __m256 acc[RN];
  for (int j = 0; j < RN; ++j) acc[j] = _mm256_setzero_ps();
  // The next group's bytes, a slice per block: one stream ahead of the 8 interleaved rows.
  const size_t slice = (next_bytes + static_cast<size_t>(nb) - 1) / static_cast<size_t>(nb);
  for (int64_t b = 0; b < nb; ++b) {
    for (size_t off = 0; off < slice; off += 64) {
      _mm_prefetch(reinterpret_cast<const char*>(next + static_cast<size_t>(b) * slice + off),
                   _MM_HINT_T0);
    }
    const size_t at = static_cast<size_t>(b) * W::kBytes;
    __m256i wc[8];
    alignas(16) uint16_t hs[8];  // the rows' f16 scales (lane i = row i)
    for (int i = 0; i < 8; ++i) {
      wc[i] = W::codes(row[i] + at);
      std::memcpy(&hs[i], row[i] + at, 2);
    }
    const __m256 wsv = _mm256_cvtph_ps(_mm_load_si128(reinterpret_cast<const __m128i*>(hs)));
    for (int j = 0; j < RN; ++j) {
      const __m256i xq = load256(xr[j] + b * kBlock);
      float xs_b;
      std::memcpy(&xs_b, xr[j] + codes_bytes + b * 4, 4);
      const int32_t neg_sum = i32_at(xr[j] + codes_bytes + nb * 4 + b * 4);
      __m256i d[8];
      for (int i = 0; i < 8; ++i) d[i] = _mm256_dpbusd_epi32(_mm256_setzero_si256(), wc[i], xq);
      const __m256i dot = _mm256_add_epi32(reduce8(d), _mm256_set1_epi32(neg_sum << W::kShift));
      const __m256 s = _mm256_mul_ps(wsv, _mm256_set1_ps(xs_b));
      acc[j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), s, acc[j]);
    }
  }
  for (int j = 0; j < RN; ++j) store_rows(acc[j], bias, r0, valid, y + (t0 + j) * ldy);
}

template <class W>
void run_plain(int64_t cols, const uint8_t* w, size_t ws, int64_t r_begin, int64_t r_end,
               const uint8_t* packed, int64_t t_begin, int64_t t_end, const float* bias, float* y,
               size_t ldy) {
  const int64_t nb = cols / kBlock;
  const size_t xs = static_cast<size_t>(nb) * (kBlock + 8);
  const size_t group_bytes = 8 * ws;
  for (int64_t r0 = r_begin; r0 < r_end; r0 += 8) {
    const int valid = static_cast<int>(r_end - r0 < 8 ? r_end - r0 : 8);
    const uint8_t* next = w + static_cast<size_t>(r0 + 8) * ws;
    const size_t next_bytes = r0 + 16 <= r_end ? group_bytes : 0;
    for (int64_t t = t_begin; t < t_end;) {
      const int64_t left = t_end - t;
      if (left >= 4) {
        rows8<W, 4>(nb, w, ws, r0, valid, packed, xs, t, bias, y, ldy, next, next_bytes);
        t += 4;
      } else if (left == 3) {
        rows8<W, 3>(nb, w, ws, r0, valid, packed, xs, t, bias, y, ldy, next, next_bytes);
        t += 3;
      } else if (left == 2) {
        rows8<W, 2>(nb, w, ws, r0, valid, packed, xs, t, bias, y, ldy, next, next_bytes);
        t += 2;
      } else {
        rows8<W, 1>(nb, w, ws, r0, valid, packed, xs, t, bias, y, ldy, next, next_bytes);
        t += 1;
      }
    }
  }
}

// ---- Batches: RM rows against G groups of 8 tokens (lanes = tokens).

template <class W, int RM, int G>
void tile_tokens(int64_t nb, const uint8_t* w, size_t ws, int64_t r0, const uint8_t* group0,
                 size_t group_stride, int64_t t0, int64_t n_tokens, const float* bias, float* y,
                 size_t ldy) {
  __m256 acc[RM][G];
  for (int i = 0; i < RM; ++i) {
    for (int g = 0; g < G; ++g) acc[i][g] = _mm256_setzero_ps();
  }
  alignas(32) uint8_t wbuf[RM][32];
  for (int64_t b = 0; b < nb; ++b) {
    float wsc[RM];
    for (int i = 0; i < RM; ++i) {
      const uint8_t* blk =
          w + static_cast<size_t>(r0 + i) * ws + static_cast<size_t>(b) * W::kBytes;
      _mm256_store_si256(reinterpret_cast<__m256i*>(wbuf[i]), W::codes(blk));
      wsc[i] = scale_of<W>(blk);
    }
    const uint8_t* xb[G];
    __m256i dot[RM][G];
    for (int g = 0; g < G; ++g) {
      xb[g] = group0 + g * group_stride + static_cast<size_t>(b) * kGroupBlockBytes;
      const __m256i init = _mm256_slli_epi32(load256(xb[g] + kSumsAt), W::kShift);
      for (int i = 0; i < RM; ++i) dot[i][g] = init;
    }
    for (int s = 0; s < 8; ++s) {
      __m256i xv[G];
      for (int g = 0; g < G; ++g) xv[g] = load256(xb[g] + s * 32);
      for (int i = 0; i < RM; ++i) {
        const __m256i wb = _mm256_set1_epi32(i32_at(wbuf[i] + s * 4));
        for (int g = 0; g < G; ++g) dot[i][g] = _mm256_dpbusd_epi32(dot[i][g], wb, xv[g]);
      }
    }
    for (int g = 0; g < G; ++g) {
      const __m256 xsc = _mm256_loadu_ps(reinterpret_cast<const float*>(xb[g] + kScalesAt));
      for (int i = 0; i < RM; ++i) {
        const __m256 s = _mm256_mul_ps(_mm256_set1_ps(wsc[i]), xsc);
        acc[i][g] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot[i][g]), s, acc[i][g]);
      }
    }
  }
  for (int g = 0; g < G; ++g) {
    alignas(32) float lanes[RM][8];
    for (int i = 0; i < RM; ++i) _mm256_store_ps(lanes[i], acc[i][g]);
    for (int j = 0; j < 8; ++j) {
      const int64_t t = t0 + g * 8 + j;
      if (t >= n_tokens) break;
      for (int i = 0; i < RM; ++i) {
        y[t * ldy + r0 + i] = lanes[i][j] + (bias != nullptr ? bias[r0 + i] : 0.0f);
      }
    }
  }
}

template <class W, int RM>
void tile_rows(int64_t nb, const uint8_t* w, size_t ws, int64_t r0, const uint8_t* packed,
               size_t group_stride, int64_t t_begin, int64_t t_end, int64_t n_tokens,
               const float* bias, float* y, size_t ldy) {
  for (int64_t t = t_begin; t < t_end; t += 2 * kGroup) {
    const uint8_t* g0 = packed + static_cast<size_t>(t / kGroup) * group_stride;
    if (t_end - t > kGroup) {
      tile_tokens<W, RM, 2>(nb, w, ws, r0, g0, group_stride, t, n_tokens, bias, y, ldy);
    } else {
      tile_tokens<W, RM, 1>(nb, w, ws, r0, g0, group_stride, t, n_tokens, bias, y, ldy);
    }
  }
}

template <class W>
void run_groups(int64_t cols, const uint8_t* w, size_t ws, int64_t r_begin, int64_t r_end,
                const uint8_t* packed, int64_t n_tokens, int64_t t_begin, int64_t t_end,
                const float* bias, float* y, size_t ldy) {
  const int64_t nb = cols / kBlock;
  const size_t group_stride = static_cast<size_t>(nb) * kGroupBlockBytes;
  for (int64_t r0 = r_begin; r0 < r_end; r0 += 4) {
    const int64_t left = r_end - r0;
    const auto args = [&](auto fn) {
      fn(nb, w, ws, r0, packed, group_stride, t_begin, t_end, n_tokens, bias, y, ldy);
    };
    if (left >= 4) {
      args(tile_rows<W, 4>);
    } else if (left == 3) {
      args(tile_rows<W, 3>);
    } else if (left == 2) {
      args(tile_rows<W, 2>);
    } else {
      args(tile_rows<W, 1>);
    }
  }
}

template <class W>
void run(int64_t cols, const uint8_t* w, size_t ws, int64_t r_begin, int64_t r_end,
         const uint8_t* packed, int64_t n_tokens, int64_t t_begin, int64_t t_end, const float* bias,
         float* y, size_t ldy) {
  if (n_tokens < kGroup) {
    run_plain<W>(cols, w, ws, r_begin, r_end, packed, t_begin, t_end, bias, y, ldy);
  } else {
    run_groups<W>(cols, w, ws, r_begin, r_end, packed, n_tokens, t_begin, t_end, bias, y, ldy);
  }
}

template <class W>
constexpr PackedGemm make_gemm() {
  PackedGemm g;
  g.packed_bytes = packed_bytes;
  g.pack_units = pack_units;
  g.pack = pack;
  g.token_step = token_step;
  g.run = run<W>;
  g.isa = "avx512vnni";
  return g;
}

const PackedGemm kQ8_0 = make_gemm<Q8_0W>();
const PackedGemm kQ4_0 = make_gemm<Q4_0W>();
const PackedGemm kQ5_0 = make_gemm<Q5_0W>();

}  // namespace

const PackedGemm* find_packed_gemm_vnni(TensorType type) {
  switch (type) {
    case TensorType::Q8_0:
      return &kQ8_0;
    case TensorType::Q4_0:
      return &kQ4_0;
    case TensorType::Q5_0:
      return &kQ5_0;
    default:
      return nullptr;
  }
}

}  // namespace tessera::backend::cpu
