// AVX2 + FMA + F16C dot kernels of K-quant weights (Q4_K, Q5_K, Q6_K) against Q8_K activations
// (contract: quant_dot.h). The scalar references are the dequantizers of gguf/quant_kquant.cpp.
//
// Per 256-value super-block and (weight row, token) pair, everything before the block's f16/f32
// scales is integer and exact, in eight int32 lanes: _mm256_maddubs_epi16 multiplies 32
// unsigned weight codes with 32 int8 activation codes into 16 pair sums, _mm256_madd_epi16
// weighs those with the sub-block scales, and
//   Q4_K, Q5_K:  S = sum_s scale_s * sum_i q_i * y_i,  M = sum_s min_s * sum_i y_i (from the
//                Q8_K bsums);  acc += (d * dy) * S;  acc -= (dmin * dy) * M
//   Q6_K:        S = sum_g scale_g * sum_i (q_i + 32) * y_i - 32 * sum_g scale_g * bsum_g
//                (codes are stored biased by 32);  acc += (d * dy) * S
// with acc an 8-lane f32 accumulator per output, summed once at the end. Nothing overflows for
// any codes and scales: maddubs pair sums stay within 2 * 63 * 128 < 2^15, |S| < 2^26.
//
// A tile forms each weight code vector and its scales once per block and row, and multiplies
// it with the codes of every token of the tile while it sits in a register. Determinism: the
// integer parts are exact, and the f32 steps are written once (`add_block`, `sum_lanes`) with
// explicit FMA intrinsics, run in the same order for every element whatever the tile shape.
//
// Compiled with -mavx2 -mfma -mf16c and called only when the CPU has them: this file must not
// instantiate standard-library templates or header inline functions (the linker could pick
// these copies for generic code).
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "backend/cpu/quant_dot.h"

namespace tessera::backend::cpu {
namespace {

using gguf::TensorType;

constexpr int64_t kSuper = 256;  // values per super-block (QK_K)

// Q8_K activation block: f32 d, 256 int8 codes, 16 int16 sums of 16 codes each.
constexpr size_t kQ8kQs = 4, kQ8kBsums = 260, kQ8kBytes = 292;

[[gnu::always_inline]] inline __m256i load256(const uint8_t* p) {
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
}

[[gnu::always_inline]] inline float f16_at(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return _cvtsh_ss(h);
}

[[gnu::always_inline]] inline float f32_at(const uint8_t* p) {
  float f;
  std::memcpy(&f, p, 4);
  return f;
}

// The eight lanes, always added in the same order.
[[gnu::always_inline]] inline float sum_lanes(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// The only f32 arithmetic of a block: acc + (d * dy) * S - (dmin * dy) * M.
[[gnu::always_inline]] inline __m256 add_block(__m256 acc, float d, float dmin, float dy, __m256i s,
                                               __m256i m) {
  acc = _mm256_fmadd_ps(_mm256_set1_ps(d * dy), _mm256_cvtepi32_ps(s), acc);
  return _mm256_fnmadd_ps(_mm256_set1_ps(dmin * dy), _mm256_cvtepi32_ps(m), acc);
}

[[gnu::always_inline]] inline __m256 add_block(__m256 acc, float d, float dy, __m256i s) {
  return _mm256_fmadd_ps(_mm256_set1_ps(d * dy), _mm256_cvtepi32_ps(s), acc);
}

// _mm256_shuffle_epi8 masks, one per 32-value vector v: mask v fills the low 128-bit half with
// that half's int16 lane lo(v) and the high half with its int16 lane hi(v).
struct WordMasks {
  alignas(32) uint8_t bytes[8][32];
};

constexpr WordMasks make_word_masks(bool group_pairs) {
  WordMasks m{};
  for (int v = 0; v < 8; ++v) {
    const int lo = group_pairs ? 2 * (v % 4) : v;
    const int hi = group_pairs ? 2 * (v % 4) + 1 : v;
    for (int b = 0; b < 32; ++b) {
      m.bytes[v][b] = static_cast<uint8_t>(2 * (b < 16 ? lo : hi) + b % 2);
    }
  }
  return m;
}

constexpr WordMasks kSubBlockScaleMasks = make_word_masks(false);  // lane v in both halves
constexpr WordMasks kGroupScaleMasks = make_word_masks(true);      // lanes 2(v%4), 2(v%4)+1

[[gnu::always_inline]] inline __m256i word_mask(const WordMasks& m, int v) {
  return _mm256_load_si256(reinterpret_cast<const __m256i*>(m.bytes[v]));
}

// ---------------------------------------------------------------- weight formats
//
// Each format splits a super-block into eight 32-value vectors (vector v: values 32v .. 32v + 31)
// and provides, for one weight block:
//   Row prepare(blk)              what every vector needs (scales, d), once per block and row
//   __m256i codes(row, v)         the 32 unsigned codes of vector v
//   __m256i scales(row, v)        int16 multipliers for the 16 pair sums maddubs gives for v
//   __m256 finish(row, y, S, acc) acc plus the block's f32 contribution, from S = the sum over
//                                 v of madd(maddubs(codes, y codes), scales) and y's bsums
// Codes and scales are recomputed per vector (a few cheap ALU ops) rather than stored: they
// stay in registers while a tile's tokens use them.

// Q4_K / Q5_K sub-block v (32 values) has one 6-bit scale and min.
struct AffineRow {
  const uint8_t* blk;
  __m256i scales16;  // the 8 scales as int16, in both 128-bit halves
  __m256i mins;      // int16 lanes 2v and 2v + 1: min of sub-block v (pairs with the bsums)
  float d;
  float dmin;
};

// The 12 bytes of 6-bit (scale, min) pairs (layout: scale_min_k4 in gguf/quant_kquant.cpp),
// unpacked four at a time in 32-bit words.
[[gnu::always_inline]] inline AffineRow prepare_affine(const uint8_t* blk) {
  AffineRow r;
  r.blk = blk;
  r.d = f16_at(blk);
  r.dmin = f16_at(blk + 2);
  uint32_t u0, u1, u2;
  std::memcpy(&u0, blk + 4, 4);
  std::memcpy(&u1, blk + 8, 4);
  std::memcpy(&u2, blk + 12, 4);
  const uint32_t low6 = 0x3f3f3f3fu, low4 = 0x0f0f0f0fu, low2 = 0x03030303u;
  const uint32_t scales_0_3 = u0 & low6;
  const uint32_t mins_0_3 = u1 & low6;
  const uint32_t scales_4_7 = (u2 & low4) | (((u0 >> 6) & low2) << 4);
  const uint32_t mins_4_7 = ((u2 >> 4) & low4) | (((u1 >> 6) & low2) << 4);
  const __m128i scales8 =
      _mm_set_epi32(0, 0, static_cast<int>(scales_4_7), static_cast<int>(scales_0_3));
  const __m128i mins8 = _mm_set_epi32(0, 0, static_cast<int>(mins_4_7), static_cast<int>(mins_0_3));
  r.scales16 = _mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(scales8));
  r.mins = _mm256_cvtepu8_epi16(_mm_unpacklo_epi8(mins8, mins8));
  return r;
}

[[gnu::always_inline]] inline __m256i affine_scales(const AffineRow& r, int v) {
  return _mm256_shuffle_epi8(r.scales16, word_mask(kSubBlockScaleMasks, v));
}

[[gnu::always_inline]] inline __m256 affine_finish(const AffineRow& r, const uint8_t* y, __m256i s,
                                                   __m256 acc) {
  const __m256i m = _mm256_madd_epi16(load256(y + kQ8kBsums), r.mins);
  return add_block(acc, r.d, r.dmin, f32_at(y), s, m);
}

// Low four bits of Q4_K / Q5_K sub-block v: 32 bytes per pair of sub-blocks, the even one in
// the low nibbles, the odd one in the high nibbles.
[[gnu::always_inline]] inline __m256i nibbles(const uint8_t* qs, int v) {
  const __m256i q = load256(qs + 32 * (v / 2));
  const __m256i low4 = _mm256_set1_epi8(0x0f);
  return _mm256_and_si256(v % 2 == 0 ? q : _mm256_srli_epi16(q, 4), low4);
}

struct Q4K {
  static constexpr size_t kBytes = 144;  // f16 d, f16 dmin, scales[12], qs[128]
  using Row = AffineRow;
  [[gnu::always_inline]] static Row prepare(const uint8_t* blk) { return prepare_affine(blk); }
  [[gnu::always_inline]] static __m256i codes(const Row& r, int v) {
    return nibbles(r.blk + 16, v);
  }
  [[gnu::always_inline]] static __m256i scales(const Row& r, int v) { return affine_scales(r, v); }
  [[gnu::always_inline]] static __m256 finish(const Row& r, const uint8_t* y, __m256i s,
                                              __m256 acc) {
    return affine_finish(r, y, s, acc);
  }
};

// Q5_K fifth bit of sub-block v (bit v of each qh byte), moved to bit 4.
[[gnu::always_inline]] inline __m256i q5_high_bits(__m256i qh, int v) {
  const __m256i bit4 = _mm256_set1_epi8(0x10);
  switch (v) {
    case 0:
      return _mm256_and_si256(_mm256_slli_epi16(qh, 4), bit4);
    case 1:
      return _mm256_and_si256(_mm256_slli_epi16(qh, 3), bit4);
    case 2:
      return _mm256_and_si256(_mm256_slli_epi16(qh, 2), bit4);
    case 3:
      return _mm256_and_si256(_mm256_slli_epi16(qh, 1), bit4);
    case 4:
      return _mm256_and_si256(qh, bit4);
    case 5:
      return _mm256_and_si256(_mm256_srli_epi16(qh, 1), bit4);
    case 6:
      return _mm256_and_si256(_mm256_srli_epi16(qh, 2), bit4);
    default:
      return _mm256_and_si256(_mm256_srli_epi16(qh, 3), bit4);
  }
}

struct Q5K {
  static constexpr size_t kBytes = 176;  // f16 d, f16 dmin, scales[12], qh[32], qs[128]
  using Row = AffineRow;
  [[gnu::always_inline]] static Row prepare(const uint8_t* blk) { return prepare_affine(blk); }
  [[gnu::always_inline]] static __m256i codes(const Row& r, int v) {
    return _mm256_or_si256(nibbles(r.blk + 48, v), q5_high_bits(load256(r.blk + 16), v));
  }
  [[gnu::always_inline]] static __m256i scales(const Row& r, int v) { return affine_scales(r, v); }
  [[gnu::always_inline]] static __m256 finish(const Row& r, const uint8_t* y, __m256i s,
                                              __m256 acc) {
    return affine_finish(r, y, s, acc);
  }
};

// Q6_K: 16 groups of 16 values with int8 scales; vector v holds groups 2v (bytes 0-15) and
// 2v + 1 (bytes 16-31). Codes are stored as q + 32 (0..63); the -32 is folded in via the bsums.
struct Q6K {
  static constexpr size_t kBytes = 210;  // ql[128], qh[64], int8 scales[16], f16 d
  struct Row {
    const uint8_t* blk;
    __m256i scales_lo;  // scales of groups 0-7 as int16, in both 128-bit halves
    __m256i scales_hi;  // groups 8-15, likewise
    __m256i bias;       // the 16 group scales as int16, paired with the 16 bsums
    float d;
  };

  [[gnu::always_inline]] static Row prepare(const uint8_t* blk) {
    Row r;
    r.blk = blk;
    r.d = f16_at(blk + 208);
    const __m128i sc8 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + 192));
    r.bias = _mm256_cvtepi8_epi16(sc8);
    r.scales_lo = _mm256_broadcastsi128_si256(_mm_cvtepi8_epi16(sc8));
    r.scales_hi = _mm256_broadcastsi128_si256(_mm_cvtepi8_epi16(_mm_srli_si128(sc8, 8)));
    return r;
  }

  // Layout (q6_k_code in gguf/quant_kquant.cpp): half h = v / 4 owns ql[64h .. 64h + 63] and
  // qh[32h .. 32h + 31]; with k = v % 4, value l of vector v has the low nibble
  // (ql[64h + 32 * (k % 2) + l] >> 4 * (k / 2)) and the top bits (qh[32h + l] >> 2k) & 3.
  [[gnu::always_inline]] static __m256i codes(const Row& r, int v) {
    const int h = v / 4;
    const int k = v % 4;
    const __m256i ql = load256(r.blk + 64 * h + 32 * (k % 2));
    const __m256i qh = load256(r.blk + 128 + 32 * h);
    const __m256i low =
        _mm256_and_si256(k < 2 ? ql : _mm256_srli_epi16(ql, 4), _mm256_set1_epi8(0x0f));
    __m256i high;  // bits 2k, 2k + 1 of each qh byte, moved to bits 4, 5
    switch (k) {
      case 0:
        high = _mm256_slli_epi16(qh, 4);
        break;
      case 1:
        high = _mm256_slli_epi16(qh, 2);
        break;
      case 2:
        high = qh;
        break;
      default:
        high = _mm256_srli_epi16(qh, 2);
        break;
    }
    return _mm256_or_si256(low, _mm256_and_si256(high, _mm256_set1_epi8(0x30)));
  }

  [[gnu::always_inline]] static __m256i scales(const Row& r, int v) {
    return _mm256_shuffle_epi8(v < 4 ? r.scales_lo : r.scales_hi, word_mask(kGroupScaleMasks, v));
  }

  [[gnu::always_inline]] static __m256 finish(const Row& r, const uint8_t* y, __m256i s,
                                              __m256 acc) {
    const __m256i bias = _mm256_madd_epi16(load256(y + kQ8kBsums), r.bias);
    return add_block(acc, r.d, f32_at(y), _mm256_sub_epi32(s, _mm256_slli_epi32(bias, 5)));
  }
};

// ---------------------------------------------------------------- tiles

// One weight row against RN tokens. Per super-block, each code vector of the row is formed
// once and multiplied with the RN tokens' codes into RN integer sums held in registers.
//
// A tile's rows run one after the other, not interleaved block by block: sharing a token's
// codes between rows saves nothing (they are re-read from L1 for every product either way),
// while interleaved rows confuse the hardware prefetcher; measured on Zen 4, four rows read
// block by block streamed weights from DRAM at 5 GB/s, one row at a time at 19 GB/s.
template <class K, int RN>
void dot_row(int64_t blocks, const uint8_t* w, const uint8_t* x, size_t x_stride, float* out) {
  __m256 acc[RN];
  for (int j = 0; j < RN; ++j) acc[j] = _mm256_setzero_ps();
  for (int64_t b = 0; b < blocks; ++b) {
    const typename K::Row row = K::prepare(w + static_cast<size_t>(b) * K::kBytes);
    const uint8_t* y[RN];
    __m256i sum[RN];
    for (int j = 0; j < RN; ++j) {
      y[j] = x + static_cast<size_t>(j) * x_stride + static_cast<size_t>(b) * kQ8kBytes;
      sum[j] = _mm256_setzero_si256();
    }
#pragma GCC unroll 8
    for (int v = 0; v < 8; ++v) {
      const __m256i q = K::codes(row, v);
      const __m256i sc = K::scales(row, v);
      for (int j = 0; j < RN; ++j) {
        const __m256i p = _mm256_maddubs_epi16(q, load256(y[j] + kQ8kQs + 32 * v));
        sum[j] = _mm256_add_epi32(sum[j], _mm256_madd_epi16(p, sc));
        // Keeps the sum a running one: otherwise GCC regroups the 8 additions into a tree
        // and spills the products waiting for it.
        __asm__("" : "+x"(sum[j]));
      }
    }
    for (int j = 0; j < RN; ++j) acc[j] = K::finish(row, y[j], sum[j], acc[j]);
  }
  for (int j = 0; j < RN; ++j) out[j] = sum_lanes(acc[j]);
}

using RowImpl = void (*)(int64_t blocks, const uint8_t* w, const uint8_t* x, size_t x_stride,
                         float* out);

template <class K>
constexpr RowImpl kRowImpls[kMaxTile] = {dot_row<K, 1>, dot_row<K, 2>, dot_row<K, 3>,
                                         dot_row<K, 4>};
static_assert(kMaxTile == 4, "kRowImpls lists every token count up to kMaxTile");

// The DotTileFn: each row against the tokens in groups of at most kMaxTile (any rm, rn >= 0).
template <class K>
void dot_tile(int64_t n, const uint8_t* w, size_t w_stride, const uint8_t* x, size_t x_stride,
              int rm, int rn, float* out, size_t ldo) {
  const int64_t blocks = n / kSuper;
  for (int i = 0; i < rm; ++i) {
    for (int j = 0; j < rn; j += kMaxTile) {
      const int t = rn - j < kMaxTile ? rn - j : kMaxTile;
      kRowImpls<K>[t - 1](blocks, w + static_cast<size_t>(i) * w_stride,
                          x + static_cast<size_t>(j) * x_stride, x_stride,
                          out + static_cast<size_t>(i) * ldo + j);
    }
  }
}

}  // namespace

DotTileFn find_kquant_tile_avx2(TensorType type) {
  switch (type) {
    case TensorType::Q4_K:
      return dot_tile<Q4K>;
    case TensorType::Q5_K:
      return dot_tile<Q5K>;
    case TensorType::Q6_K:
      return dot_tile<Q6K>;
    default:
      return nullptr;
  }
}

// Q8_K activation rows, the same bytes as gguf::kernels::quantize_q8_k: m = the first value of
// largest magnitude (NaN ignored), codes round-half-even(x * (-127 / m)) clamped to
// [-128, 127] (NaN -> 0), d = m / -127, int16 sums per 16 codes.
void quantize_row_q8_k_avx2(const float* x, uint8_t* out, int64_t n) {
  constexpr int kSuper = 256;
  constexpr size_t kBytes = 292, kQs = 4, kSums = 260;
  const __m256 sign_mask = _mm256_set1_ps(-0.0f);
  for (int64_t b = 0; b < n / kSuper; ++b, x += kSuper, out += kBytes) {
    __m256 amax = _mm256_setzero_ps();
    for (int i = 0; i < kSuper; i += 8) {  // max(v, amax) keeps amax where v is NaN
      amax = _mm256_max_ps(_mm256_andnot_ps(sign_mask, _mm256_loadu_ps(x + i)), amax);
    }
    __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(amax), _mm256_extractf128_ps(amax, 1));
    m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
    m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
    const float a = _mm_cvtss_f32(m4);
    std::memset(out, 0, kBytes);
    if (a == 0.0f) continue;
    int first = 0;
    while (!(x[first] == a || x[first] == -a)) ++first;
    const float m = x[first];
    const float d = m / -127.0f;
    std::memcpy(out, &d, 4);
    const __m256 iscale = _mm256_set1_ps(-127.0f / m);
    const __m256 lo = _mm256_set1_ps(-128.0f), hi = _mm256_set1_ps(127.0f);
    const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    for (int i = 0; i < kSuper; i += 32) {
      __m256i q[4];
      for (int k = 0; k < 4; ++k) {
        __m256 t = _mm256_round_ps(_mm256_mul_ps(_mm256_loadu_ps(x + i + 8 * k), iscale),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        t = _mm256_and_ps(t, _mm256_cmp_ps(t, t, _CMP_ORD_Q));  // NaN -> 0
        q[k] = _mm256_cvtps_epi32(_mm256_min_ps(_mm256_max_ps(t, lo), hi));
      }
      for (int h = 0; h < 2; ++h) {  // the sums of codes [i + 16h, i + 16h + 16)
        const __m256i s8 = _mm256_add_epi32(q[2 * h], q[2 * h + 1]);
        __m128i s = _mm_add_epi32(_mm256_castsi256_si128(s8), _mm256_extracti128_si256(s8, 1));
        s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
        s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
        const auto sum = static_cast<int16_t>(_mm_cvtsi128_si32(s));
        std::memcpy(out + kSums + 2 * ((i + 16 * h) / 16), &sum, 2);
      }
      const __m256i p =
          _mm256_packs_epi16(_mm256_packs_epi32(q[0], q[1]), _mm256_packs_epi32(q[2], q[3]));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + kQs + i),
                          _mm256_permutevar8x32_epi32(p, order));
    }
  }
}

}  // namespace tessera::backend::cpu
