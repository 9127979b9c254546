// The tiled attention block kernel (attention_tiled.h) for AVX2 + FMA + F16C. Compiled with
// those flags and called only when the CPU has them: this file must not instantiate
// standard-library templates.
//
// Layout: lanes are query rows. The block's queries, scaled, are transposed once (qt[d][r]);
// a chunk's scores come out as s[c][r], so the softmax's max, exponentials and sums run down
// the lanes (one row per lane, nothing horizontal), and p[c][r] is then broadcast against the
// chunk's V rows (lanes = dimensions) in pairs of rows.
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "backend/cpu/attention_tiled.h"
#include "backend/cpu/kv_rows.h"
#include "backend/cpu/simd_exp.h"

namespace tessera::backend::cpu {
namespace {

constexpr int kQ8Block = 32;
constexpr size_t kQ8BlockBytes = 34;

// Values [first, first + n) of a cache row as f32 (n a multiple of 8; for q8_0, first and n
// multiples of 32), exactly as kv_load gives them. out: 32-byte aligned.
void load_row(KvType type, const uint8_t* row, int64_t first, int n, float* out) {
  switch (type) {
    case KvType::f16: {
      const uint8_t* p = row + first * 2;
      for (int i = 0; i < n; i += 8) {
        const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 2 * i));
        _mm256_store_ps(out + i, _mm256_cvtph_ps(h));
      }
      return;
    }
    case KvType::f32: {
      const auto* p = reinterpret_cast<const float*>(row + first * 4);
      for (int i = 0; i < n; i += 8) _mm256_store_ps(out + i, _mm256_loadu_ps(p + i));
      return;
    }
    case KvType::q8_0: {
      const uint8_t* p = row + first / kQ8Block * kQ8BlockBytes;
      for (int i = 0; i < n; i += kQ8Block, p += kQ8BlockBytes) {
        uint16_t h;
        std::memcpy(&h, p, 2);
        const __m256 d = _mm256_set1_ps(_mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(h))));
        for (int k = 0; k < 4; ++k) {
          const __m128i codes = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(p + 2 + 8 * k));
          const __m256 v = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(codes));
          _mm256_store_ps(out + i + 8 * k, _mm256_mul_ps(d, v));
        }
      }
      return;
    }
  }
}

// s[c * NV * 8 + r] = sum_d qt[d * NV * 8 + r] * kc[c * hd + d] for cells c < NC, every lane
// the same sequence of fused multiply-adds over d.
template <int NV, int NC>
inline void score_tile(const float* qt, const float* kc, int hd, float* s) {
  constexpr int kPitch = NV * 8;
  __m256 acc[NC][NV];
  for (int c = 0; c < NC; ++c) {
    for (int v = 0; v < NV; ++v) acc[c][v] = _mm256_setzero_ps();
  }
  for (int d = 0; d < hd; ++d) {
    const float* qd = qt + d * kPitch;
    for (int c = 0; c < NC; ++c) {
      const __m256 k = _mm256_broadcast_ss(kc + c * hd + d);
      for (int v = 0; v < NV; ++v) {
        acc[c][v] = _mm256_fmadd_ps(_mm256_load_ps(qd + 8 * v), k, acc[c][v]);
      }
    }
  }
  for (int c = 0; c < NC; ++c) {
    for (int v = 0; v < NV; ++v) _mm256_store_ps(s + c * kPitch + 8 * v, acc[c][v]);
  }
}

// Cells per tile so accumulators and q vectors fit the 16 registers.
constexpr int cells_per_tile(int nv) {
  return nv == 1 ? 8 : nv == 2 ? 6 : nv == 3 ? 4 : nv <= 5 ? 2 : 1;
}

template <int NV>
void scores(const float* qt, const float* kc, int n, int hd, float* s) {
  constexpr int kCells = cells_per_tile(NV);
  int c = 0;
  for (; c + kCells <= n; c += kCells) {
    score_tile<NV, kCells>(qt, kc + c * hd, hd, s + c * NV * 8);
  }
  for (; c < n; ++c) score_tile<NV, 1>(qt, kc + c * hd, hd, s + c * NV * 8);
}

void scores_any(int nv, const float* qt, const float* kc, int n, int hd, float* s) {
  switch (nv) {
    case 1:
      return scores<1>(qt, kc, n, hd, s);
    case 2:
      return scores<2>(qt, kc, n, hd, s);
    case 3:
      return scores<3>(qt, kc, n, hd, s);
    case 4:
      return scores<4>(qt, kc, n, hd, s);
    case 5:
      return scores<5>(qt, kc, n, hd, s);
    case 6:
      return scores<6>(qt, kc, n, hd, s);
    case 7:
      return scores<7>(qt, kc, n, hd, s);
    default:
      return scores<8>(qt, kc, n, hd, s);
  }
}

// Per-row state and metadata of a block, lanes = rows.
struct Rows {
  int n = 0;       // real rows
  int pitch = 0;   // n rounded up to 8
  int32_t* pos;    // query position per row (INT32_MIN on padding)
  int32_t* begin;  // window per row (empty on padding)
  int32_t* end;
};

inline __m256i load_i32(const int32_t* p) {
  return _mm256_load_si256(reinterpret_cast<const __m256i*>(p));
}

// Sets s[c][r] to -inf where row r may not see cell c, and cmax[r] to each row's max.
void mask_and_max(const Rows& rows, const int32_t* cell, const int32_t* cell_pos, int n, float* s,
                  float* cmax) {
  const __m256 neg_inf = _mm256_set1_ps(-__builtin_inff());
  for (int v = 0; v < rows.pitch; v += 8) _mm256_store_ps(cmax + v, neg_inf);
  for (int c = 0; c < n; ++c) {
    const __m256i cp = _mm256_set1_epi32(cell_pos[c]);
    const __m256i ci = _mm256_set1_epi32(cell[c]);
    float* sc = s + c * rows.pitch;
    for (int v = 0; v < rows.pitch; v += 8) {
      const __m256i future = _mm256_cmpgt_epi32(cp, load_i32(rows.pos + v));
      const __m256i before = _mm256_cmpgt_epi32(load_i32(rows.begin + v), ci);
      const __m256i inside = _mm256_cmpgt_epi32(load_i32(rows.end + v), ci);
      const __m256i visible = _mm256_andnot_si256(_mm256_or_si256(future, before), inside);
      const __m256 sv =
          _mm256_blendv_ps(neg_inf, _mm256_load_ps(sc + v), _mm256_castsi256_ps(visible));
      _mm256_store_ps(sc + v, sv);
      _mm256_store_ps(cmax + v, _mm256_max_ps(_mm256_load_ps(cmax + v), sv));
    }
  }
}

// The online-softmax step of a chunk: new max m, correction factors corr (1 where nothing
// changes), s[c][r] replaced by p = e^(s - m), l = l * corr + sum_c p.
void softmax_step(int pitch, int n, const float* cmax, float* s, float* m, float* l, float* corr) {
  const __m256 neg_inf = _mm256_set1_ps(-__builtin_inff());
  const __m256 one = _mm256_set1_ps(1.0f);
  for (int v = 0; v < pitch; v += 8) {
    const __m256 m_old = _mm256_load_ps(m + v);
    const __m256 m_new = _mm256_max_ps(m_old, _mm256_load_ps(cmax + v));
    const __m256 seen = _mm256_cmp_ps(m_new, neg_inf, _CMP_NEQ_OQ);  // a row saw some cell
    const __m256 sub = _mm256_and_ps(seen, m_new);
    const __m256 cv = _mm256_blendv_ps(one, exp8(_mm256_sub_ps(m_old, sub)), seen);
    __m256 sum = _mm256_setzero_ps();
    for (int c = 0; c < n; ++c) {
      float* sc = s + c * pitch + v;
      const __m256 e = exp8(_mm256_sub_ps(_mm256_load_ps(sc), sub));
      _mm256_store_ps(sc, e);
      sum = _mm256_add_ps(sum, e);
    }
    _mm256_store_ps(m + v, m_new);
    _mm256_store_ps(l + v, _mm256_fmadd_ps(_mm256_load_ps(l + v), cv, sum));
    _mm256_store_ps(corr + v, cv);
  }
}

// o[r] = o[r] * corr[r] + sum_c p[c][r] * vc[c] for rows r < n_rows (rows in pairs; a pair
// skips a cell both its rows give p = 0).
template <int ND>
inline void pv_pair(const float* p, int pitch, const float* vc, int n, int hd, float* o0,
                    float* o1) {
  __m256 a0[ND], a1[ND];
  for (int k = 0; k < ND; ++k) {
    a0[k] = _mm256_loadu_ps(o0 + 8 * k);
    a1[k] = _mm256_loadu_ps(o1 + 8 * k);
  }
  for (int c = 0; c < n; ++c) {
    const float p0 = p[c * pitch], p1 = p[c * pitch + 1];
    if (p0 == 0.0f && p1 == 0.0f) continue;
    const __m256 b0 = _mm256_set1_ps(p0), b1 = _mm256_set1_ps(p1);
    const float* vr = vc + c * hd;
    for (int k = 0; k < ND; ++k) {
      const __m256 vv = _mm256_load_ps(vr + 8 * k);
      a0[k] = _mm256_fmadd_ps(b0, vv, a0[k]);
      a1[k] = _mm256_fmadd_ps(b1, vv, a1[k]);
    }
  }
  for (int k = 0; k < ND; ++k) {
    _mm256_storeu_ps(o0 + 8 * k, a0[k]);
    _mm256_storeu_ps(o1 + 8 * k, a1[k]);
  }
}

void rescale_and_accumulate(int n_rows, int pitch, const float* corr, const float* p,
                            const float* vc, int n, int hd, float* o) {
  for (int r = 0; r < n_rows; ++r) {
    if (corr[r] == 1.0f) continue;
    const __m256 cv = _mm256_set1_ps(corr[r]);
    float* orow = o + r * hd;
    for (int d = 0; d < hd; d += 8) {
      _mm256_store_ps(orow + d, _mm256_mul_ps(_mm256_load_ps(orow + d), cv));
    }
  }
  for (int r = 0; r < n_rows; r += 2) {  // pitch is a multiple of 8: row r + 1 exists
    float* o0 = o + r * hd;
    int d = 0;
    for (; d + 32 <= hd; d += 32) pv_pair<4>(p + r, pitch, vc + d, n, hd, o0 + d, o0 + hd + d);
    for (; d < hd; d += 8) pv_pair<1>(p + r, pitch, vc + d, n, hd, o0 + d, o0 + hd + d);
  }
}

}  // namespace

void attend_block_avx2(const AttentionBlock& b, const KvCacheView& kv, float* scratch) {
  const int hd = b.head_dim;
  const int n_rows = b.n_tokens * b.n_heads;
  const int pitch = (n_rows + 7) / 8 * 8;
  float* qt = scratch;                       // [hd][pitch]
  float* o = qt + hd * kAttnMaxRows;         // [pitch][hd]
  float* kc = o + hd * kAttnMaxRows;         // [kAttnChunk][hd]
  float* vc = kc + hd * kAttnChunk;          // [kAttnChunk][hd]
  float* s = vc + hd * kAttnChunk;           // [kAttnChunk][pitch]: scores, then p
  float* m = s + kAttnChunk * kAttnMaxRows;  // [pitch] running max
  float* l = m + kAttnMaxRows;               // [pitch] running sum
  float* cmax = l + kAttnMaxRows;            // [pitch] chunk max
  float* corr = cmax + kAttnMaxRows;         // [pitch] chunk correction

  alignas(32) int32_t pos[kAttnMaxRows], begin[kAttnMaxRows], end[kAttnMaxRows];
  const Rows rows{n_rows, pitch, pos, begin, end};
  int32_t lo = INT32_MAX, hi = 0, max_pos = INT32_MIN;
  const auto n_cells = static_cast<int32_t>(kv.n_cells);
  for (int r = 0; r < pitch; ++r) {
    if (r >= n_rows) {
      pos[r] = INT32_MIN;
      begin[r] = INT32_MAX;
      end[r] = INT32_MIN;
      continue;
    }
    const AttentionQuery& query = b.queries[r / b.n_heads];
    pos[r] = query.pos;
    begin[r] = query.cell_begin > 0 ? query.cell_begin : 0;
    end[r] = query.cell_end < n_cells ? query.cell_end : n_cells;
    lo = begin[r] < lo ? begin[r] : lo;
    hi = end[r] > hi ? end[r] : hi;
    max_pos = query.pos > max_pos ? query.pos : max_pos;
  }
  for (int r = 0; r < pitch; ++r) {
    m[r] = -__builtin_inff();
    l[r] = 0.0f;
    if (r >= n_rows) {
      for (int d = 0; d < hd; ++d) qt[d * pitch + r] = 0.0f;
      continue;
    }
    const float* qr = b.q + static_cast<size_t>(r / b.n_heads) * b.token_stride +
                      static_cast<size_t>(r % b.n_heads) * hd;
    for (int d = 0; d < hd; ++d) qt[d * pitch + r] = qr[d] * b.scale;
  }
  std::memset(o, 0, sizeof(float) * static_cast<size_t>(pitch) * hd);

  const int32_t seq = b.queries[0].seq;
  const size_t row_bytes = kv_row_bytes(kv.type, static_cast<int64_t>(b.n_kv_heads) * hd);
  const int64_t first = static_cast<int64_t>(b.kv_head) * hd;
  const auto* k_base = static_cast<const uint8_t*>(kv.k);
  const auto* v_base = static_cast<const uint8_t*>(kv.v);
  int32_t cell[kAttnChunk], cell_pos[kAttnChunk];
  for (int32_t c = lo; c < hi;) {
    int n = 0;
    int32_t min_pos = INT32_MAX;
    for (; c < hi && n < kAttnChunk; ++c) {
      if (kv.cell_seq[c] != seq) continue;
      cell[n] = c;
      cell_pos[n] = kv.cell_pos[c];
      min_pos = cell_pos[n] < min_pos ? cell_pos[n] : min_pos;
      ++n;
    }
    if (n == 0 || min_pos > max_pos) continue;  // no row sees any cell of this chunk
    for (int j = 0; j < n; ++j) {
      load_row(kv.type, k_base + static_cast<size_t>(cell[j]) * row_bytes, first, hd, kc + j * hd);
    }
    scores_any(pitch / 8, qt, kc, n, hd, s);
    mask_and_max(rows, cell, cell_pos, n, s, cmax);
    softmax_step(pitch, n, cmax, s, m, l, corr);
    for (int j = 0; j < n; ++j) {
      load_row(kv.type, v_base + static_cast<size_t>(cell[j]) * row_bytes, first, hd, vc + j * hd);
    }
    rescale_and_accumulate(n_rows, pitch, corr, s, vc, n, hd, o);
  }

  for (int r = 0; r < n_rows; ++r) {
    const __m256 inv = _mm256_set1_ps(l[r] > 0.0f ? 1.0f / l[r] : 0.0f);
    float* out = b.out + static_cast<size_t>(r / b.n_heads) * b.token_stride +
                 static_cast<size_t>(r % b.n_heads) * hd;
    const float* orow = o + r * hd;
    for (int d = 0; d < hd; d += 8) {
      _mm256_storeu_ps(out + d, _mm256_mul_ps(_mm256_load_ps(orow + d), inv));
    }
  }
}

}  // namespace tessera::backend::cpu
