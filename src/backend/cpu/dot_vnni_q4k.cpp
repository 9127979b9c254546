// AVX-512 VNNI packed kernel for Q4_K weights in the rows8 arrangement (weight_repack.h), the
// PackedGemm of packed_gemm.h for Q4_K. Lanes are 8 weight rows for any number of tokens: a
// sub-block's 8 steps of codes are unpacked into registers once and each token's 4 activation
// codes of a step are broadcast against them.
//
// Activations, per token and super-block (292 bytes, Q8_K's size): f32 d, 256 int8 codes
// (quantize_row_q8_k_avx2: the reference Q8_K rule), then the 8 int32 sums of each 32-code
// sub-block in place of Q8_K's 16 int16 sums.
//
// Arithmetic contract (every tile, batch and thread split): for weight row r and token t, per
// super-block in order, with the integer sums T = sum_j scale_j * sum_k code_k * x_k and
// M = sum_j min_j * xsum_j (exact in int32: |T| <= 8 * 63 * 32 * 15 * 128 < 2^25),
//   acc = fma(float(T), d * xd, acc);  acc = fma(-float(M), dmin * xd, acc)
// then y = acc (+ bias).
//
// Compiled with AVX-512 F/BW/VL/VNNI (256-bit vectors, 32 registers) and called only when the
// CPU has them: this file must not instantiate standard-library templates.
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "backend/cpu/packed_gemm.h"
#include "backend/cpu/quant_dot.h"

namespace tessera::backend::cpu {
namespace {

constexpr int64_t kSuper = 256;
constexpr size_t kGroupBlock = 1184;  // weight_repack.h
constexpr size_t kScalesAt = 32, kMinsAt = 96, kCodesAt = 160;
constexpr size_t kActBytes = 292;  // per token and super-block
constexpr size_t kActCodes = 4, kActSums = 260;
constexpr int kMaxTokens = 8;

inline int32_t i32_at(const uint8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

size_t packed_bytes(int64_t n_tokens, int64_t cols) {
  return static_cast<size_t>(n_tokens) * static_cast<size_t>(cols / kSuper) * kActBytes;
}

int64_t pack_units(int64_t n_tokens) {
  return n_tokens;
}

int64_t token_step(int64_t /*n_tokens*/) {
  return 1;
}

void pack(const float* x, int64_t cols, int64_t /*n_tokens*/, int64_t u_begin, int64_t u_end,
          uint8_t* packed) {
  const int64_t nsb = cols / kSuper;
  for (int64_t t = u_begin; t < u_end; ++t) {
    uint8_t* row = packed + static_cast<size_t>(t * nsb) * kActBytes;
    quantize_row_q8_k_avx2(x + t * cols, row, cols);
    for (int64_t b = 0; b < nsb; ++b) {
      uint8_t* sums = row + static_cast<size_t>(b) * kActBytes + kActSums;
      int16_t s16[16];
      std::memcpy(s16, sums, sizeof s16);
      for (int j = 0; j < 8; ++j) {
        const int32_t s = s16[2 * j] + s16[2 * j + 1];
        std::memcpy(sums + 4 * j, &s, 4);
      }
    }
  }
}

// Tokens [0, RN) (rows xs bytes apart) against one row group of nsb super-blocks.
template <int RN>
__attribute__((noinline)) void group(int64_t nsb, const uint8_t* gb, const uint8_t* x, size_t xs,
                                     __m256 out[RN]) {
  const __m256i low = _mm256_set1_epi8(0x0F);
  __m256 acc[RN];
  for (int t = 0; t < RN; ++t) acc[t] = _mm256_setzero_ps();
  for (int64_t b = 0; b < nsb; ++b, gb += kGroupBlock) {
    const uint8_t* xb = x + static_cast<size_t>(b) * kActBytes;
    __m256i sum[RN];
    for (int t = 0; t < RN; ++t) sum[t] = _mm256_setzero_si256();
    for (int j = 0; j < 8; ++j) {
      __m256i st[8];
      for (int s = 0; s < 4; ++s) {
        const __m256i v =
            _mm256_loadu_si256(reinterpret_cast<const __m256i*>(gb + kCodesAt + 128 * j + 32 * s));
        st[s] = _mm256_and_si256(v, low);
        st[s + 4] = _mm256_and_si256(_mm256_srli_epi16(v, 4), low);
      }
      const __m256i sc = _mm256_cvtepu8_epi32(
          _mm_loadl_epi64(reinterpret_cast<const __m128i*>(gb + kScalesAt + 8 * j)));
      for (int t = 0; t < RN; ++t) {
        const uint8_t* xc = xb + t * xs + kActCodes + 32 * j;
        __m256i d0 = _mm256_setzero_si256(), d1 = _mm256_setzero_si256();
        for (int s = 0; s < 8; s += 2) {
          d0 = _mm256_dpbusd_epi32(d0, st[s], _mm256_set1_epi32(i32_at(xc + 4 * s)));
          d1 = _mm256_dpbusd_epi32(d1, st[s + 1], _mm256_set1_epi32(i32_at(xc + 4 * s + 4)));
        }
        sum[t] = _mm256_add_epi32(sum[t], _mm256_mullo_epi32(_mm256_add_epi32(d0, d1), sc));
      }
    }
    const __m256 wd = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(gb)));
    const __m256 wmin = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(gb + 16)));
    for (int t = 0; t < RN; ++t) {
      const uint8_t* xt = xb + t * xs;
      __m256i mins = _mm256_setzero_si256();
      for (int j = 0; j < 8; ++j) {
        const __m256i m = _mm256_cvtepu8_epi32(
            _mm_loadl_epi64(reinterpret_cast<const __m128i*>(gb + kMinsAt + 8 * j)));
        mins = _mm256_add_epi32(
            mins, _mm256_mullo_epi32(m, _mm256_set1_epi32(i32_at(xt + kActSums + 4 * j))));
      }
      float xd;
      std::memcpy(&xd, xt, 4);
      const __m256 xdv = _mm256_set1_ps(xd);
      acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sum[t]), _mm256_mul_ps(wd, xdv), acc[t]);
      acc[t] = _mm256_fnmadd_ps(_mm256_cvtepi32_ps(mins), _mm256_mul_ps(wmin, xdv), acc[t]);
    }
  }
  for (int t = 0; t < RN; ++t) out[t] = acc[t];
}

using GroupFn = void (*)(int64_t, const uint8_t*, const uint8_t*, size_t, __m256*);
constexpr GroupFn kGroups[kMaxTokens] = {group<1>, group<2>, group<3>, group<4>,
                                         group<5>, group<6>, group<7>, group<8>};

void run(int64_t cols, const uint8_t* w, int64_t r_begin, int64_t r_end, const uint8_t* packed,
         int64_t /*n_tokens*/, int64_t t_begin, int64_t t_end, const float* bias, float* y,
         size_t ldy) {
  const int64_t nsb = cols / kSuper;
  const size_t xs = static_cast<size_t>(nsb) * kActBytes;
  for (int64_t r0 = r_begin; r0 < r_end; r0 += kPackedRowGroup) {
    const uint8_t* gb = w + static_cast<size_t>(r0 / kPackedRowGroup * nsb) * kGroupBlock;
    const int valid = static_cast<int>(r_end - r0 < 8 ? r_end - r0 : 8);
    const auto mask = static_cast<__mmask8>((1u << valid) - 1u);
    const __m256 b = bias != nullptr ? _mm256_maskz_loadu_ps(mask, bias + r0) : _mm256_setzero_ps();
    for (int64_t t = t_begin; t < t_end; t += kMaxTokens) {
      const int n = static_cast<int>(t_end - t < kMaxTokens ? t_end - t : kMaxTokens);
      __m256 out[kMaxTokens];
      kGroups[n - 1](nsb, gb, packed + static_cast<size_t>(t) * xs, xs, out);
      for (int j = 0; j < n; ++j) {
        const __m256 v = bias != nullptr ? _mm256_add_ps(out[j], b) : out[j];
        _mm256_mask_storeu_ps(y + (t + j) * ldy + r0, mask, v);
      }
    }
  }
}

constexpr PackedGemm make_gemm() {
  PackedGemm g;
  g.packed_bytes = packed_bytes;
  g.pack_units = pack_units;
  g.pack = pack;
  g.token_step = token_step;
  g.run = run;
  return g;
}

const PackedGemm kQ4_K = make_gemm();

}  // namespace

const PackedGemm* packed_gemm_q4_k_vnni() {
  return &kQ4_K;
}

}  // namespace tessera::backend::cpu
