// The attention kernels behind launch_attention (attention.h).
//
// Blocks. A block (128 threads, 4 warps) takes one kv head and up to kRows query rows of its
// group: a run of consecutive batch tokens times the group's heads (row r: token r / slice,
// head r % slice), or, when a group is wider than kRows, a slice of the heads of one token.
// Each K/V tile is thus loaded once for all the heads that read it. Row r belongs to warp
// r % 4 (slot r / 4), so that a decode block with a single token spreads its heads over the
// warps. The block visits the cells of the union of its rows' windows; each row still masks
// by its own sequence, position and window, so any mix of tokens is correct, and a run of one
// sequence's tokens (the usual prefill) shares almost every tile. Blocks take the batch's
// token runs from the last, the ones a causal prefill gives the most cells, so that the
// longest blocks start first.
//
// Tiles. Cells go 32 at a time in tiles of absolute indices (tile k: cells [32k, 32k + 32)),
// lane c of a warp holding cell c. Per tile: the K rows are converted to f32 into shared
// memory (transposed, so that a lane reads its cell's column), each warp computes its rows'
// scores (q pre-scaled by scale * log2(e), dot product in d order), and a row that sees at
// least one cell of the tile updates its online softmax: m' = max(m, tile max), correction
// 2^(m - m'), p = 2^(s - m') (0 where masked), l = l * correction + (sum of p, a fixed
// butterfly over the lanes); then V is loaded into the same shared buffer and
// acc = acc * correction + sum of p * V over the tile's cells in index order. A row that sees
// no cell of a tile is left untouched; a tile no row of the block sees is skipped without
// loading K or V (cell metadata is read 8 tiles at a time to find them).
//
// Segments. Tiles are grouped into segments of seg_tiles tiles (a function of n_cells only).
// Each segment starts a fresh (m, l, acc); segment results are merged in segment order by
// merge_state. In the prefill regime a block walks its segments itself and merges them in
// registers; in the decode regime (split) block z of the grid's third dimension takes segment
// z alone and writes its (m, l, acc) to scratch, and attention_combine merges them. Both run
// the same per-row operations in the same order, so a row's bits depend only on its query,
// the cache and n_cells: not on the other rows of its block, the batch or the regime.
//
// Shared memory (static, < 48 KiB): q of the rows [kRows][DMAX], one K/V tile buffer, 8 tiles
// of cell metadata. DMAX (64, 128, 256) is head_dim rounded up; a head_dim below it runs the
// same code with its own bound.
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <climits>
#include <cmath>
#include <cstdint>

#include "backend/cuda/attention.h"
#include "backend/cuda/device_errors.h"

namespace tessera::cuda {
namespace {

constexpr int kThreads = 128;
constexpr int kWarps = kThreads / 32;
constexpr int kTile = 32;            // cells per tile, one per lane
constexpr int kKtPitch = kTile + 1;  // floats per d row of the transposed K tile
constexpr int kScanTiles = 8;        // tiles whose cell metadata a block reads at once
constexpr int kScanPerThread = kScanTiles * kTile / kThreads;
constexpr int kMinSegmentTiles = 8;                    // segments of at least 256 cells
constexpr int kMaxSegments = 32;                       // and at most 32 of them
constexpr int64_t kSplitMaxBytes = int64_t{32} << 20;  // scratch the decode regime may use
constexpr int64_t kMinScratchBytes = 256;  // what attention_scratch_bytes asks for at least
constexpr float kLog2e = 1.44269504088896340736f;
constexpr unsigned kFull = 0xffffffffu;
static_assert(kScanPerThread * kThreads == kScanTiles * kTile);
static_assert(kThreads == 4 * kTile, "the vector tile loader gives 4 threads to a cell");

template <int DMAX>
struct Shape {
  static constexpr int kSlots = DMAX == 256 ? 2 : 4;  // rows per warp
  static constexpr int kRows = kSlots * kWarps;       // rows per block
  static constexpr int kCols = DMAX / 32;             // output values per lane and row
  static constexpr int kVPitch = DMAX + 4;            // floats per cell row of the V tile
  static constexpr int kKFloats = DMAX * kKtPitch;    // K tile, transposed
  static constexpr int kVFloats = kTile * kVPitch;    // V tile
  static constexpr int kBufFloats = kKFloats > kVFloats ? kKFloats : kVFloats;
};

struct Params {
  const float* q;
  const int32_t* queries;
  const uint8_t* k;
  const uint8_t* v;
  const int32_t* cell_seq;
  const int32_t* cell_pos;
  float* out;
  float2* part_ml;  // split: [n_segments][n * n_heads] (m, l)
  float* part_acc;  // split: [n_segments][n * n_heads][head_dim]
  unsigned* err;
  int64_t n;
  int64_t n_cells;
  int64_t row_bytes;  // bytes of one cell row (all kv heads)
  float qscale;       // scale * log2(e)
  int kv_type;
  int vec;  // 1: 8-value loads (head_dim % 32 == 0, aligned rows)
  int n_heads;
  int head_dim;
  int group;         // query heads per kv head
  int group_slice;   // heads of the group per block
  int block_tokens;  // tokens per block
  int n_slices;      // blocks across a group
  int seg_tiles;
  int split;
};

__device__ __forceinline__ float half_bits(unsigned bits) {
  return __half2float(__ushort_as_half(static_cast<unsigned short>(bits)));
}

// Value vi of a cache row (row: its first byte), as backend/cpu/kv_rows.h's kv_load gives it.
__device__ __forceinline__ float load_value(int type, const uint8_t* row, int vi) {
  if (type == kKvF16) return half_bits(__ldg(reinterpret_cast<const unsigned short*>(row) + vi));
  if (type == kKvF32) return __ldg(reinterpret_cast<const float*>(row) + vi);
  const uint8_t* b = row + (vi / 32) * 34;
  const float d = half_bits(b[0] | (b[1] << 8));
  return static_cast<float>(static_cast<int8_t>(b[2 + vi % 32])) * d;
}

// Values [vi, vi + 8) of a cache row; vi % 8 == 0, f16 and f32 rows 16-byte aligned.
__device__ __forceinline__ void load_values8(int type, const uint8_t* row, int vi, float (&x)[8]) {
  if (type == kKvF16) {
    const uint4 u = __ldg(reinterpret_cast<const uint4*>(row + 2 * vi));
    const unsigned w[4] = {u.x, u.y, u.z, u.w};
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      x[2 * i] = half_bits(w[i] & 0xffffu);
      x[2 * i + 1] = half_bits(w[i] >> 16);
    }
  } else if (type == kKvF32) {
    const auto* f = reinterpret_cast<const float4*>(row + 4 * vi);
    const float4 a = __ldg(f), b = __ldg(f + 1);
    x[0] = a.x, x[1] = a.y, x[2] = a.z, x[3] = a.w;
    x[4] = b.x, x[5] = b.y, x[6] = b.z, x[7] = b.w;
  } else {
    const uint8_t* b = row + (vi / 32) * 34;
    const float d = half_bits(b[0] | (b[1] << 8));
    const uint8_t* codes = b + 2 + vi % 32;
#pragma unroll
    for (int i = 0; i < 8; ++i) x[i] = static_cast<float>(static_cast<int8_t>(codes[i])) * d;
  }
}

// Converts the kv head's values of tile cells [c0, c0 + 32) to f32 in shared memory: K
// transposed (dst[d * kKtPitch + c]), V by cell (dst[c * kVPitch + d]). Cells past the cache
// and K's values in [head_dim, head_dim rounded up to 4) are zeros.
template <int DMAX, bool kTransposed>
__device__ __forceinline__ void load_tile(const Params& p, const uint8_t* base, int64_t c0,
                                          float* dst) {
  constexpr int kVPitch = Shape<DMAX>::kVPitch;
  const int tid = static_cast<int>(threadIdx.x);
  const int hd = p.head_dim;
  const int vbase = static_cast<int>(blockIdx.y) / p.n_slices * hd;
  if (p.vec) {
    // thread: cell tid / 4, chunks of 8 values (tid % 4) + 4 i: a warp reads 8 cells' 32
    // values each, and the transposed stores fall in 32 distinct banks.
    const int c = tid >> 2;
    const int64_t cell = c0 + c;
    const bool in = cell < p.n_cells;
    const uint8_t* row = base + (in ? cell : 0) * p.row_bytes;
#pragma unroll
    for (int i = 0; i < DMAX / 32; ++i) {
      const int d0 = (4 * i + (tid & 3)) * 8;
      if (d0 < hd) {
        float x[8];
        if (in) {
          load_values8(p.kv_type, row, vbase + d0, x);
        } else {
#pragma unroll
          for (int j = 0; j < 8; ++j) x[j] = 0.0f;
        }
        if (kTransposed) {
#pragma unroll
          for (int j = 0; j < 8; ++j) dst[(d0 + j) * kKtPitch + c] = x[j];
        } else {
          auto* o = reinterpret_cast<float4*>(dst + c * kVPitch + d0);
          o[0] = make_float4(x[0], x[1], x[2], x[3]);
          o[1] = make_float4(x[4], x[5], x[6], x[7]);
        }
      }
    }
  } else {
    const int hd4 = (hd + 3) & ~3;
    for (int e = tid; e < kTile * hd4; e += kThreads) {
      const int c = e / hd4;
      const int d = e - c * hd4;
      const int64_t cell = c0 + c;
      float x = 0.0f;
      if (d < hd && cell < p.n_cells)
        x = load_value(p.kv_type, base + cell * p.row_bytes, vbase + d);
      if (kTransposed) {
        dst[d * kKtPitch + c] = x;
      } else {
        dst[c * kVPitch + d] = x;
      }
    }
  }
}

__device__ __forceinline__ float warp_max(float x) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) x = fmaxf(x, __shfl_xor_sync(kFull, x, o));
  return x;
}

// The same bits in every lane, and the same order of additions for every row.
__device__ __forceinline__ float warp_sum(float x) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) x = __fadd_rn(x, __shfl_xor_sync(kFull, x, o));
  return x;
}

// s[i] = q(row i of this warp) . K(cell = lane), for the first NA slots, in d order.
template <int NA, int S, int DMAX>
__device__ __forceinline__ void tile_scores(float (&s)[S], const float4* q4, const float* kt,
                                            int warp, int lane, int hd4) {
#pragma unroll
  for (int i = 0; i < NA; ++i) s[i] = 0.0f;
#pragma unroll 2
  for (int d = 0; d < hd4; d += 4) {
    const float k0 = kt[(d + 0) * kKtPitch + lane];
    const float k1 = kt[(d + 1) * kKtPitch + lane];
    const float k2 = kt[(d + 2) * kKtPitch + lane];
    const float k3 = kt[(d + 3) * kKtPitch + lane];
#pragma unroll
    for (int i = 0; i < NA; ++i) {
      const float4 qv = q4[(i * kWarps + warp) * (DMAX / 4) + d / 4];
      s[i] = fmaf(qv.x, k0, s[i]);
      s[i] = fmaf(qv.y, k1, s[i]);
      s[i] = fmaf(qv.z, k2, s[i]);
      s[i] = fmaf(qv.w, k3, s[i]);
    }
  }
}

// acc = acc * corr (rows that saw the tile), then acc += p[c] * V[c] for the cells in `cells`
// in index order. A row gives p = 0 for a cell it does not see: adding 0 * V (finite) leaves
// its acc unchanged.
template <int NA, int S, int J, int DMAX>
__device__ __forceinline__ void tile_accumulate(float (&acc)[S][J], const float (&pr)[S],
                                                const float (&corr)[S], const bool (&seen)[S],
                                                unsigned cells, const float* vs, int lane, int hd) {
#pragma unroll
  for (int i = 0; i < NA; ++i) {
    if (seen[i]) {
#pragma unroll
      for (int j = 0; j < J; ++j) acc[i][j] = __fmul_rn(acc[i][j], corr[i]);
    }
  }
  while (cells != 0u) {
    const int c = __ffs(static_cast<int>(cells)) - 1;
    cells &= cells - 1u;
    float pc[NA];
#pragma unroll
    for (int i = 0; i < NA; ++i) pc[i] = __shfl_sync(kFull, pr[i], c);
    const float* vr = vs + c * Shape<DMAX>::kVPitch + lane;
#pragma unroll
    for (int j = 0; j < J; ++j) {
      if (lane + 32 * j < hd) {
        const float x = vr[32 * j];
#pragma unroll
        for (int i = 0; i < NA; ++i) acc[i][j] = fmaf(pc[i], x, acc[i][j]);
      }
    }
  }
}

// Folds a segment's (m, l, acc) into a running (M, L, A); a segment whose row saw no cell
// (l == 0) changes nothing. Explicitly rounded operations: the main kernel and
// attention_combine give the same bits.
template <int J>
__device__ __forceinline__ void merge_state(float& M, float& L, float (&A)[J], float m, float l,
                                            const float (&a)[J]) {
  if (!(l > 0.0f)) return;
  if (!(L > 0.0f)) {
    M = m;
    L = l;
#pragma unroll
    for (int j = 0; j < J; ++j) A[j] = a[j];
    return;
  }
  const float mn = fmaxf(M, m);
  const float ca = exp2f(M - mn);
  const float cb = exp2f(m - mn);
  L = __fadd_rn(__fmul_rn(L, ca), __fmul_rn(l, cb));
#pragma unroll
  for (int j = 0; j < J; ++j) A[j] = __fadd_rn(__fmul_rn(A[j], ca), __fmul_rn(a[j], cb));
  M = mn;
}

// 1 / L, or 0 for a row that saw nothing (its A is all zeros).
__device__ __forceinline__ float final_scale(float L) {
  return L > 0.0f ? __frcp_rn(L) : 0.0f;
}

template <int DMAX>
__global__ void __launch_bounds__(kThreads, 4) attention_kernel(const Params p) {
  using Sh = Shape<DMAX>;
  constexpr int S = Sh::kSlots;
  constexpr int R = Sh::kRows;
  constexpr int J = Sh::kCols;
  __shared__ float4 q_s[R * DMAX / 4];  // [row][d], scaled, zeros past head_dim
  __shared__ float4 buf_s[Sh::kBufFloats / 4];
  __shared__ int cseq_s[kScanTiles * kTile];
  __shared__ int cpos_s[kScanTiles * kTile];
  __shared__ unsigned tmask_s[kScanTiles];  // per scanned tile: cells some row sees
  __shared__ int64_t rout_s[R];             // row's index t * n_heads + h, or -1
  __shared__ int rseq_s[R], rpos_s[R], rbeg_s[R], rend_s[R];

  const int tid = static_cast<int>(threadIdx.x);
  const int lane = tid & 31;
  const int warp = tid >> 5;
  const int hd = p.head_dim;
  const int hd4 = (hd + 3) & ~3;

  if (tid < R) {
    const int kvh = static_cast<int>(blockIdx.y) / p.n_slices;
    const int slice = static_cast<int>(blockIdx.y) % p.n_slices;
    const int tq = tid / p.group_slice;
    const int g = slice * p.group_slice + tid % p.group_slice;
    // The last tokens first: in a causal prefill they see the most cells.
    const int64_t token_tile = static_cast<int64_t>(gridDim.x) - 1 - blockIdx.x;
    const int64_t t = token_tile * p.block_tokens + tq;
    int64_t idx = -1;
    int seq = 0, pos = 0, beg = 0, end = 0;
    if (tq < p.block_tokens && t < p.n && g < p.group) {
      idx = t * p.n_heads + static_cast<int64_t>(kvh) * p.group + g;
      const int32_t* query = p.queries + 4 * t;
      seq = query[0];
      pos = query[1];
      beg = query[2];
      end = query[3];
      if (beg < 0 || beg > end || end > p.n_cells) {
        if (p.err != nullptr) atomicOr(p.err, kErrQueryWindow);
        beg = end = 0;  // sees nothing: zeros
      }
    }
    rout_s[tid] = idx;
    rseq_s[tid] = seq;
    rpos_s[tid] = pos;
    rbeg_s[tid] = beg;
    rend_s[tid] = end;
  }
  __syncthreads();

  float* const qf = reinterpret_cast<float*>(q_s);
  for (int e = tid; e < R * DMAX; e += kThreads) {
    const int r = e / DMAX;
    const int d = e % DMAX;
    const int64_t idx = rout_s[r];
    qf[e] = idx >= 0 && d < hd ? p.q[idx * hd + d] * p.qscale : 0.0f;
  }

  // The union of the windows; the active rows (a prefix of the block's rows).
  int lo = INT_MAX, hi = 0, n_active = 0;
  for (int r = 0; r < R; ++r) {
    if (rout_s[r] >= 0) n_active = r + 1;
    if (rbeg_s[r] < rend_s[r]) {
      lo = min(lo, rbeg_s[r]);
      hi = max(hi, rend_s[r]);
    }
  }
  const int na = n_active > warp ? min(S, (n_active - warp + kWarps - 1) / kWarps) : 0;
  const int64_t tile_lo = lo < hi ? lo / kTile : 0;
  const int64_t tile_hi = lo < hi ? (static_cast<int64_t>(hi) + kTile - 1) / kTile : 0;

  int seq[S], pos[S], beg[S], end[S];
#pragma unroll
  for (int i = 0; i < S; ++i) {
    const int r = i * kWarps + warp;
    seq[i] = rseq_s[r];
    pos[i] = rpos_s[r];
    beg[i] = rbeg_s[r];
    end[i] = rend_s[r];
  }

  int64_t seg_begin = 0, seg_end = 0;
  if (p.split) {
    seg_begin = blockIdx.z;
    seg_end = seg_begin + 1;
  } else if (tile_lo < tile_hi) {
    seg_begin = tile_lo / p.seg_tiles;
    seg_end = (tile_hi - 1) / p.seg_tiles + 1;
  }

  float tot_m[S], tot_l[S], tot_acc[S][J];
#pragma unroll
  for (int i = 0; i < S; ++i) {
    tot_m[i] = -INFINITY;
    tot_l[i] = 0.0f;
#pragma unroll
    for (int j = 0; j < J; ++j) tot_acc[i][j] = 0.0f;
  }
  float* const buf = reinterpret_cast<float*>(buf_s);

  for (int64_t seg = seg_begin; seg < seg_end; ++seg) {
    const int64_t tb = max(seg * p.seg_tiles, tile_lo);
    const int64_t te = min((seg + 1) * p.seg_tiles, tile_hi);
    float m[S], l[S], acc[S][J];
#pragma unroll
    for (int i = 0; i < S; ++i) {
      m[i] = -INFINITY;
      l[i] = 0.0f;
#pragma unroll
      for (int j = 0; j < J; ++j) acc[i][j] = 0.0f;
    }

    for (int64_t g = tb; g < te; g += kScanTiles) {
      // Cell metadata of tiles [g, g + 8), and which tiles some row of the block sees.
      __syncthreads();
      int cs[kScanPerThread], cp[kScanPerThread];
      bool in[kScanPerThread];
#pragma unroll
      for (int u = 0; u < kScanPerThread; ++u) {
        const int e = tid + u * kThreads;
        const int64_t cell = g * kTile + e;
        in[u] = g + e / kTile < te && cell < p.n_cells;
        cs[u] = in[u] ? p.cell_seq[cell] : -1;
        cp[u] = in[u] ? p.cell_pos[cell] : 0;
      }
#pragma unroll
      for (int u = 0; u < kScanPerThread; ++u) {
        const int e = tid + u * kThreads;
        const int64_t cell = g * kTile + e;
        bool any = false;
        if (in[u]) {
          for (int r = 0; r < R && !any; ++r) {
            any = cell >= rbeg_s[r] && cell < rend_s[r] && cs[u] == rseq_s[r] && cp[u] <= rpos_s[r];
          }
        }
        cseq_s[e] = cs[u];
        cpos_s[e] = cp[u];
        const unsigned mask = __ballot_sync(kFull, any);  // a warp covers one tile
        if (lane == 0) tmask_s[e / kTile] = mask;
      }
      __syncthreads();

      for (int k = 0; k < kScanTiles && g + k < te; ++k) {
        if (tmask_s[k] == 0u) continue;  // no row of the block sees this tile
        const int64_t c0 = (g + k) * kTile;
        const int64_t cell = c0 + lane;
        const int c_seq = cseq_s[k * kTile + lane];
        const int c_pos = cpos_s[k * kTile + lane];
        bool vis[S];
        bool any = false;
#pragma unroll
        for (int i = 0; i < S; ++i) {
          vis[i] = cell >= beg[i] && cell < end[i] && c_seq == seq[i] && c_pos <= pos[i];
          any = any || vis[i];
        }
        const unsigned cells = __ballot_sync(kFull, any);  // cells a row of this warp sees

        load_tile<DMAX, true>(p, p.k, c0, buf);
        __syncthreads();
        float s[S];
#pragma unroll
        for (int i = 0; i < S; ++i) s[i] = 0.0f;
        if (cells != 0u) {
          switch (na) {
            case 1:
              tile_scores<1, S, DMAX>(s, q_s, buf, warp, lane, hd4);
              break;
            case 2:
              tile_scores<2, S, DMAX>(s, q_s, buf, warp, lane, hd4);
              break;
            case 3:
              tile_scores<(S < 3 ? S : 3), S, DMAX>(s, q_s, buf, warp, lane, hd4);
              break;
            default:
              tile_scores<S, S, DMAX>(s, q_s, buf, warp, lane, hd4);
              break;
          }
        }
        float pr[S], corr[S];
        bool seen[S];
#pragma unroll
        for (int i = 0; i < S; ++i) {
          seen[i] = __ballot_sync(kFull, vis[i]) != 0u;
          pr[i] = 0.0f;
          corr[i] = 1.0f;
          if (seen[i]) {
            const float sv = vis[i] ? s[i] : -INFINITY;
            const float mn = fmaxf(m[i], warp_max(sv));
            corr[i] = exp2f(m[i] - mn);  // 0 on the row's first tile (m = -inf)
            pr[i] = vis[i] ? exp2f(sv - mn) : 0.0f;
            l[i] = fmaf(l[i], corr[i], warp_sum(pr[i]));
            m[i] = mn;
          }
        }
        __syncthreads();
        load_tile<DMAX, false>(p, p.v, c0, buf);
        __syncthreads();
        if (cells != 0u) {
          switch (na) {
            case 1:
              tile_accumulate<1, S, J, DMAX>(acc, pr, corr, seen, cells, buf, lane, hd);
              break;
            case 2:
              tile_accumulate<2, S, J, DMAX>(acc, pr, corr, seen, cells, buf, lane, hd);
              break;
            case 3:
              tile_accumulate<(S < 3 ? S : 3), S, J, DMAX>(acc, pr, corr, seen, cells, buf, lane,
                                                           hd);
              break;
            default:
              tile_accumulate<S, S, J, DMAX>(acc, pr, corr, seen, cells, buf, lane, hd);
              break;
          }
        }
        __syncthreads();
      }
    }

    if (p.split) {
      const int64_t rows = p.n * p.n_heads;
#pragma unroll
      for (int i = 0; i < S; ++i) {
        const int64_t idx = rout_s[i * kWarps + warp];
        if (idx < 0) continue;
        const int64_t pi = seg * rows + idx;
        if (lane == 0) p.part_ml[pi] = make_float2(m[i], l[i]);
        if (l[i] > 0.0f) {
#pragma unroll
          for (int j = 0; j < J; ++j) {
            const int d = lane + 32 * j;
            if (d < hd) p.part_acc[pi * hd + d] = acc[i][j];
          }
        }
      }
    } else {
#pragma unroll
      for (int i = 0; i < S; ++i) merge_state(tot_m[i], tot_l[i], tot_acc[i], m[i], l[i], acc[i]);
    }
  }

  if (!p.split) {
#pragma unroll
    for (int i = 0; i < S; ++i) {
      const int64_t idx = rout_s[i * kWarps + warp];
      if (idx < 0) continue;
      const float inv = final_scale(tot_l[i]);
#pragma unroll
      for (int j = 0; j < J; ++j) {
        const int d = lane + 32 * j;
        if (d < hd) p.out[idx * hd + d] = __fmul_rn(tot_acc[i][j], inv);
      }
    }
  }
}

// The decode regime's second step: one warp per (token, head) row merges the row's segments
// in order (merge_state, as the prefill regime does in registers) and writes the output.
__global__ void __launch_bounds__(kThreads)
    attention_combine(const float2* part_ml, const float* part_acc, int64_t rows, int n_segments,
                      int hd, float* out) {
  constexpr int J = kAttentionMaxHeadDim / 32;
  const int64_t row = static_cast<int64_t>(blockIdx.x) * kWarps + (threadIdx.x >> 5);
  if (row >= rows) return;  // whole warps; no block barrier below
  const int lane = static_cast<int>(threadIdx.x) & 31;
  float M = -INFINITY, L = 0.0f, A[J];
#pragma unroll
  for (int j = 0; j < J; ++j) A[j] = 0.0f;
  for (int seg = 0; seg < n_segments; ++seg) {
    const int64_t pi = seg * rows + row;
    const float2 ml = part_ml[pi];
    if (!(ml.y > 0.0f)) continue;
    float a[J];
#pragma unroll
    for (int j = 0; j < J; ++j) {
      const int d = lane + 32 * j;
      a[j] = d < hd ? part_acc[pi * hd + d] : 0.0f;
    }
    merge_state(M, L, A, ml.x, ml.y, a);
  }
  const float inv = final_scale(L);
#pragma unroll
  for (int j = 0; j < J; ++j) {
    const int d = lane + 32 * j;
    if (d < hd) out[row * hd + d] = __fmul_rn(A[j], inv);
  }
}

int64_t kv_row_bytes(int kv_type, int64_t values) {
  if (kv_type == kKvF16) return values * 2;
  if (kv_type == kKvF32) return values * 4;
  return values / 32 * 34;
}

int64_t tiles_of(int64_t n_cells) {
  const int64_t cells = n_cells < INT32_MAX ? n_cells : INT32_MAX;
  return cells > 0 ? (cells + kTile - 1) / kTile : 0;
}

// Segments: seg_tiles depends on n_cells only (the arithmetic of every row depends on it).
struct Plan {
  int seg_tiles = kMinSegmentTiles;
  int n_segments = 0;
  bool split = false;  // the decode regime
};

Plan make_plan(int64_t n, int n_heads, int head_dim, int64_t n_cells) {
  Plan plan;
  const int64_t n_tiles = tiles_of(n_cells);
  const int64_t per = (n_tiles + kMaxSegments - 1) / kMaxSegments;
  plan.seg_tiles = static_cast<int>(per > kMinSegmentTiles ? per : kMinSegmentTiles);
  plan.n_segments = static_cast<int>((n_tiles + plan.seg_tiles - 1) / plan.seg_tiles);
  // Split when the partial results fit the scratch bound: few rows (decode), where a grid of
  // one block per row tile and kv head would leave most of the GPU idle on long windows.
  const int64_t per_token = int64_t{plan.n_segments} * n_heads * (head_dim + 2) * 4;
  plan.split = plan.n_segments > 1 && n <= kSplitMaxBytes / per_token;
  return plan;
}

template <int DMAX>
void launch_main(cudaStream_t s, Params& p, int n_kv_heads, int n_segments) {
  constexpr int kRows = Shape<DMAX>::kRows;
  p.group_slice = p.group < kRows ? p.group : kRows;
  p.block_tokens = kRows / p.group_slice;
  p.n_slices = (p.group + p.group_slice - 1) / p.group_slice;
  const int64_t row_tiles = (p.n + p.block_tokens - 1) / p.block_tokens;
  const dim3 grid(static_cast<unsigned>(row_tiles), static_cast<unsigned>(n_kv_heads * p.n_slices),
                  p.split ? static_cast<unsigned>(n_segments) : 1u);
  attention_kernel<DMAX><<<grid, kThreads, 0, s>>>(p);
}

}  // namespace

size_t attention_scratch_bytes(int64_t n, int n_heads, int head_dim, int64_t n_cells) {
  if (n <= 0 || n_heads <= 0 || head_dim <= 0) return kMinScratchBytes;
  // An upper bound of make_plan's n_segments that grows with n_cells.
  const int64_t by_size = (tiles_of(n_cells) + kMinSegmentTiles - 1) / kMinSegmentTiles;
  const int64_t segments = by_size < kMaxSegments ? by_size : kMaxSegments;
  if (segments <= 1) return kMinScratchBytes;
  const int64_t per_token = segments * n_heads * (head_dim + 2) * 4;
  if (n >= kSplitMaxBytes / per_token) return static_cast<size_t>(kSplitMaxBytes);
  const int64_t bytes = n * per_token;
  return static_cast<size_t>(bytes > kMinScratchBytes ? bytes : kMinScratchBytes);
}

void launch_attention(cudaStream_t s, const float* q, int64_t n, const int32_t* queries,
                      int kv_type, const void* k, const void* v, const int32_t* cell_seq,
                      const int32_t* cell_pos, int64_t n_cells, int n_heads, int n_kv_heads,
                      int head_dim, float scale, float* out, void* scratch, unsigned* err) {
  if (n <= 0 || head_dim <= 0 || head_dim > kAttentionMaxHeadDim || n_kv_heads <= 0 ||
      n_heads < n_kv_heads || n_heads % n_kv_heads != 0) {
    return;
  }
  const Plan plan = make_plan(n, n_heads, head_dim, n_cells);
  Params p{};
  p.q = q;
  p.queries = queries;
  p.k = static_cast<const uint8_t*>(k);
  p.v = static_cast<const uint8_t*>(v);
  p.cell_seq = cell_seq;
  p.cell_pos = cell_pos;
  p.out = out;
  const int64_t rows = n * n_heads;
  p.part_ml = static_cast<float2*>(scratch);
  p.part_acc = plan.split ? reinterpret_cast<float*>(p.part_ml + plan.n_segments * rows) : nullptr;
  p.err = err;
  p.n = n;
  p.n_cells = n_cells;
  p.row_bytes = kv_row_bytes(kv_type, int64_t{n_kv_heads} * head_dim);
  const float base_scale = scale != 0.0f ? scale : 1.0f / std::sqrt(static_cast<float>(head_dim));
  p.qscale = base_scale * kLog2e;
  p.kv_type = kv_type;
  const bool aligned =
      ((reinterpret_cast<uintptr_t>(k) | reinterpret_cast<uintptr_t>(v)) & uintptr_t{15}) == 0;
  p.vec = head_dim % 32 == 0 && (kv_type == kKvQ8_0 || aligned) ? 1 : 0;
  p.n_heads = n_heads;
  p.head_dim = head_dim;
  p.group = n_heads / n_kv_heads;
  p.seg_tiles = plan.seg_tiles;
  p.split = plan.split ? 1 : 0;

  if (head_dim <= 64) {
    launch_main<64>(s, p, n_kv_heads, plan.n_segments);
  } else if (head_dim <= 128) {
    launch_main<128>(s, p, n_kv_heads, plan.n_segments);
  } else {
    launch_main<256>(s, p, n_kv_heads, plan.n_segments);
  }
  if (plan.split) {
    const auto blocks = static_cast<unsigned>((rows + kWarps - 1) / kWarps);
    attention_combine<<<blocks, kThreads, 0, s>>>(p.part_ml, p.part_acc, rows, plan.n_segments,
                                                  head_dim, out);
  }
}

}  // namespace tessera::cuda
