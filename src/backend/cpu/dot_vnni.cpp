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
constexpr int kGroup = 8;  // tokens per interleaved group

constexpr size_t kGroupBlockBytes = 320;  // 8 x 32 codes, 8 f32 scales, 8 int32 negated sums
constexpr size_t kScalesAt = 256;         // within a group block
constexpr size_t kSumsAt = 288;

inline int32_t i32_at(const uint8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

// Plain layout (fewer than 8 tokens): per token, nb x 32 codes, nb f32 scales, nb negated sums.
inline size_t plain_row_bytes(int64_t nb) {
  return static_cast<size_t>(nb) * (kBlock + 8);
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
  if (n_tokens < kGroup) return static_cast<size_t>(n_tokens) * plain_row_bytes(cols / kBlock);
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
  if (n_tokens < kGroup) {
    const size_t row = plain_row_bytes(nb);
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

// ---- Weights in the rows8 arrangement (weight_repack.h): per group block, the 8 rows'
// scales, and their unsigned codes (offset 1 << kShift) step by step.

struct Q8_0W {
  static constexpr bool kInPlace = true;  // steps are bytes [16, 272) as they are
  static constexpr size_t kGroupBlock = 272;
  static constexpr int kShift = 7;
  static void steps(const uint8_t* gb, __m256i st[8]) {
    for (int s = 0; s < 8; ++s) st[s] = load256(gb + 16 + 32 * s);
  }
};

struct Q4_0W {
  static constexpr bool kInPlace = false;
  static constexpr size_t kGroupBlock = 144;
  static constexpr int kShift = 3;
  static void steps(const uint8_t* gb, __m256i st[8]) {
    const __m256i low = _mm256_set1_epi8(0x0F);
    for (int s = 0; s < 4; ++s) {
      const __m256i v = load256(gb + 16 + 32 * s);
      st[s] = _mm256_and_si256(v, low);
      st[s + 4] = _mm256_and_si256(_mm256_srli_epi16(v, 4), low);
    }
  }
};

struct Q5_0W {
  static constexpr bool kInPlace = false;
  static constexpr size_t kGroupBlock = 176;
  static constexpr int kShift = 4;
  static void steps(const uint8_t* gb, __m256i st[8]) {
    Q4_0W::steps(gb, st);
    const __m256i bit4 = _mm256_set1_epi8(0x10);
    for (int s = 0; s < 8; ++s) {
      const auto high = static_cast<__mmask32>(static_cast<uint32_t>(i32_at(gb + 144 + 4 * s)));
      st[s] = _mm256_or_si256(st[s], _mm256_maskz_mov_epi8(high, bit4));
    }
  }
};

// ---- Few tokens: a group of 8 rows per vector (lanes = rows), 1 to 4 tokens at a time.

// Tokens [0, RN) of the plain layout at x (row stride xs) against one row group; out[j] = the
// contract's sums for token j, lane i = row i.
template <class W, int RN>
__attribute__((noinline)) void group_rows(int64_t nb, const uint8_t* gb, const uint8_t* x,
                                          size_t xs, __m256* out) {
  const size_t codes_bytes = static_cast<size_t>(nb) * kBlock;
  __m256 acc[RN];
  for (int j = 0; j < RN; ++j) acc[j] = _mm256_setzero_ps();
  for (int64_t b = 0; b < nb; ++b, gb += W::kGroupBlock) {
    const __m256 wsv = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(gb)));
    __m256i st[8];
    W::steps(gb, st);
    for (int j = 0; j < RN; ++j) {
      const uint8_t* xj = x + static_cast<size_t>(j) * xs;
      const uint8_t* xc = xj + b * kBlock;
      float xs_b;
      std::memcpy(&xs_b, xj + codes_bytes + b * 4, 4);
      const int32_t neg_sum = i32_at(xj + codes_bytes + (nb + b) * 4);
      __m256i d0 = _mm256_set1_epi32(neg_sum << W::kShift), d1 = _mm256_setzero_si256();
      for (int s = 0; s < 8; s += 2) {
        d0 = _mm256_dpbusd_epi32(d0, st[s], _mm256_set1_epi32(i32_at(xc + 4 * s)));
        d1 = _mm256_dpbusd_epi32(d1, st[s + 1], _mm256_set1_epi32(i32_at(xc + 4 * s + 4)));
      }
      const __m256 sc = _mm256_mul_ps(wsv, _mm256_set1_ps(xs_b));
      acc[j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_add_epi32(d0, d1)), sc, acc[j]);
    }
  }
  for (int j = 0; j < RN; ++j) out[j] = acc[j];
}

inline void store_rows(__m256 v, const float* bias, int64_t r0, int valid, float* y) {
  const auto mask = static_cast<__mmask8>((1u << valid) - 1u);
  if (bias != nullptr) v = _mm256_add_ps(v, _mm256_maskz_loadu_ps(mask, bias + r0));
  _mm256_mask_storeu_ps(y + r0, mask, v);
}

template <class W>
void run_plain(int64_t nb, const uint8_t* gb, int64_t r0, int valid, const uint8_t* packed,
               int64_t t_begin, int64_t t_end, const float* bias, float* y, size_t ldy) {
  const size_t xs = plain_row_bytes(nb);
  for (int64_t t = t_begin; t < t_end;) {
    __m256 out[4];
    const uint8_t* x = packed + static_cast<size_t>(t) * xs;
    const int64_t n = t_end - t < 4 ? t_end - t : 4;
    if (n == 4) {
      group_rows<W, 4>(nb, gb, x, xs, out);
    } else if (n == 3) {
      group_rows<W, 3>(nb, gb, x, xs, out);
    } else if (n == 2) {
      group_rows<W, 2>(nb, gb, x, xs, out);
    } else {
      group_rows<W, 1>(nb, gb, x, xs, out);
    }
    for (int j = 0; j < n; ++j) store_rows(out[j], bias, r0, valid, y + (t + j) * ldy);
    t += n;
  }
}

// ---- Batches: a row group against a group of 8 tokens, two ways (the same contract). Q4_0 /
// Q5_0 take lanes = rows, as for few tokens: the unpacked weight steps stay in registers and
// each token's 4 codes of a step are broadcast. Q8_0, whose steps need no unpacking, takes
// lanes = tokens: each row's 4 codes are broadcast from memory against the group's codes.
// (Measured: each way is 20-50% faster than the other for its types.)

template <class W>
__attribute__((noinline)) void group_tokens_rows(int64_t nb, const uint8_t* gb, const uint8_t* xg,
                                                 __m256 acc[kGroup]) {
  for (int j = 0; j < kGroup; ++j) acc[j] = _mm256_setzero_ps();
  for (int64_t b = 0; b < nb; ++b, gb += W::kGroupBlock, xg += kGroupBlockBytes) {
    const __m256 wsv = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(gb)));
    __m256i st[8];
    W::steps(gb, st);
    for (int j = 0; j < kGroup; ++j) {
      const uint8_t* xc = xg + 4 * j;
      __m256i d0 = _mm256_set1_epi32(i32_at(xg + kSumsAt + 4 * j) << W::kShift);
      __m256i d1 = _mm256_setzero_si256();
      for (int s = 0; s < 8; s += 2) {
        d0 = _mm256_dpbusd_epi32(d0, st[s], _mm256_set1_epi32(i32_at(xc + 32 * s)));
        d1 = _mm256_dpbusd_epi32(d1, st[s + 1], _mm256_set1_epi32(i32_at(xc + 32 * s + 32)));
      }
      float xs_j;
      std::memcpy(&xs_j, xg + kScalesAt + 4 * j, 4);
      const __m256 sc = _mm256_mul_ps(wsv, _mm256_set1_ps(xs_j));
      acc[j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_add_epi32(d0, d1)), sc, acc[j]);
    }
  }
}

template <class W>
__attribute__((noinline)) void group_tokens_lanes(int64_t nb, const uint8_t* gb, const uint8_t* xg,
                                                  __m256 acc[8]) {
  static_assert(W::kInPlace, "lanes = tokens reads the codes in place");
  for (int i = 0; i < 8; ++i) acc[i] = _mm256_setzero_ps();
  for (int64_t b = 0; b < nb; ++b, gb += W::kGroupBlock, xg += kGroupBlockBytes) {
    alignas(32) float ws[8];
    _mm256_store_ps(ws, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(gb))));
    const __m256i init = _mm256_slli_epi32(load256(xg + kSumsAt), W::kShift);
    const uint8_t* codes = gb + 16;  // step s of row i at 32s + 4i
    __m256i dot[8];
    for (int i = 0; i < 8; ++i) dot[i] = init;
    for (int s = 0; s < 8; ++s) {
      const __m256i xv = load256(xg + s * 32);
      for (int i = 0; i < 8; ++i) {
        const __m256i wv = _mm256_set1_epi32(i32_at(codes + 32 * s + 4 * i));
        dot[i] = _mm256_dpbusd_epi32(dot[i], wv, xv);
      }
    }
    const __m256 xsc = _mm256_loadu_ps(reinterpret_cast<const float*>(xg + kScalesAt));
    for (int i = 0; i < 8; ++i) {
      const __m256 sc = _mm256_mul_ps(_mm256_set1_ps(ws[i]), xsc);
      acc[i] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot[i]), sc, acc[i]);
    }
  }
}

template <class W>
void run_groups(int64_t nb, const uint8_t* gb, int64_t r0, int valid, const uint8_t* packed,
                int64_t n_tokens, int64_t t_begin, int64_t t_end, const float* bias, float* y,
                size_t ldy) {
  const size_t group_stride = static_cast<size_t>(nb) * kGroupBlockBytes;
  for (int64_t t0 = t_begin; t0 < t_end; t0 += kGroup) {
    const uint8_t* xg = packed + static_cast<size_t>(t0 / kGroup) * group_stride;
    __m256 acc[kGroup];
    if constexpr (W::kInPlace) {
      group_tokens_lanes<W>(nb, gb, xg, acc);
      alignas(32) float lanes[8][8];
      for (int i = 0; i < 8; ++i) _mm256_store_ps(lanes[i], acc[i]);
      for (int j = 0; j < kGroup && t0 + j < n_tokens; ++j) {
        float* yt = y + (t0 + j) * ldy + r0;
        for (int i = 0; i < valid; ++i) {
          yt[i] = lanes[i][j] + (bias != nullptr ? bias[r0 + i] : 0.0f);
        }
      }
    } else {
      group_tokens_rows<W>(nb, gb, xg, acc);
      for (int j = 0; j < kGroup && t0 + j < n_tokens; ++j) {
        store_rows(acc[j], bias, r0, valid, y + (t0 + j) * ldy);
      }
    }
  }
}

template <class W>
void run(int64_t cols, const uint8_t* w, int64_t r_begin, int64_t r_end, const uint8_t* packed,
         int64_t n_tokens, int64_t t_begin, int64_t t_end, const float* bias, float* y,
         size_t ldy) {
  const int64_t nb = cols / kBlock;
  const size_t group_bytes = static_cast<size_t>(nb) * W::kGroupBlock;
  for (int64_t r0 = r_begin; r0 < r_end; r0 += 8) {
    const uint8_t* gb = w + static_cast<size_t>(r0 / 8) * group_bytes;
    const int valid = static_cast<int>(r_end - r0 < 8 ? r_end - r0 : 8);
    if (n_tokens < kGroup) {
      run_plain<W>(nb, gb, r0, valid, packed, t_begin, t_end, bias, y, ldy);
    } else {
      run_groups<W>(nb, gb, r0, valid, packed, n_tokens, t_begin, t_end, bias, y, ldy);
    }
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
    case TensorType::Q4_K:
      return packed_gemm_q4_k_vnni();
    default:
      return nullptr;
  }
}

}  // namespace tessera::backend::cpu
