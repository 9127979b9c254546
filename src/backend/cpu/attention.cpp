#include "backend/cpu/attention.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "backend/cpu/attention_tiled.h"
#include "backend/cpu/cpu_isa.h"
#include "backend/cpu/matmul.h"

namespace tessera::backend::cpu {
namespace {

// A run of consecutive batch tokens of one sequence, and a slice of a kv head's group.
struct Span {
  int64_t first_token = 0;
  int n_tokens = 0;
  int head_begin = 0;
  int n_heads = 0;
};

// Splits the batch into blocks of at most kAttnMaxRows query rows per kv head: runs of
// consecutive tokens of one sequence, times slices of the group when a group alone is wider.
void make_spans(const AttentionQuery* queries, int64_t n_tokens, int group,
                std::vector<Span>& spans) {
  const int heads = std::min(group, kAttnMaxRows);
  const int tokens = std::max(1, kAttnMaxRows / heads);
  spans.clear();
  for (int64_t t = 0; t < n_tokens;) {
    int64_t end = t + 1;
    while (end < n_tokens && end - t < tokens && queries[end].seq == queries[t].seq) ++end;
    for (int h = 0; h < group; h += heads) {
      spans.push_back(Span{t, static_cast<int>(end - t), h, std::min(heads, group - h)});
    }
    t = end;
  }
}

void attention_tiled(const float* q, int64_t n_tokens, const AttentionQuery* queries,
                     const KvCacheView& kv, const AttentionShape& shape, float* out,
                     ThreadPool* pool) {
  const int hd = shape.head_dim;
  const int group = shape.n_heads / shape.n_kv_heads;
  const float scale = shape.scale != 0.0f ? shape.scale : 1.0f / std::sqrt(static_cast<float>(hd));
  thread_local std::vector<Span> spans;
  make_spans(queries, n_tokens, group, spans);
  const Span* span = spans.data();  // the caller's thread_local, read by the workers
  const auto n_spans = static_cast<int64_t>(spans.size());
  const size_t token_stride = static_cast<size_t>(shape.n_heads) * hd;
  // Causal blocks cost in proportion to their position: jobs alternate between the first and
  // the last spans so that each chunk the threads claim mixes cheap and costly blocks.
  parallel_for(pool, n_spans * shape.n_kv_heads, [&](int64_t begin, int64_t end) {
    thread_local std::vector<float> scratch;
    const size_t need = attention_scratch_floats(hd) + 8;
    if (scratch.size() < need) scratch.resize(need);
    auto* aligned = reinterpret_cast<float*>((reinterpret_cast<uintptr_t>(scratch.data()) + 31) &
                                             ~static_cast<uintptr_t>(31));
    for (int64_t job = begin; job < end; ++job) {
      const int64_t k = job / shape.n_kv_heads;
      const Span& sp = span[k % 2 == 0 ? k / 2 : n_spans - 1 - k / 2];
      AttentionBlock b;
      b.kv_head = static_cast<int>(job % shape.n_kv_heads);
      const size_t head0 = static_cast<size_t>(b.kv_head) * group + sp.head_begin;
      b.q = q + static_cast<size_t>(sp.first_token) * token_stride + head0 * hd;
      b.out = out + static_cast<size_t>(sp.first_token) * token_stride + head0 * hd;
      b.token_stride = token_stride;
      b.queries = queries + sp.first_token;
      b.n_tokens = sp.n_tokens;
      b.n_heads = sp.n_heads;
      b.head_dim = hd;
      b.n_kv_heads = shape.n_kv_heads;
      b.scale = scale;
      attend_block_avx2(b, kv, aligned);
    }
  });
}

}  // namespace

void attention(const float* q, int64_t n_tokens, const AttentionQuery* queries,
               const KvCacheView& kv, const AttentionShape& shape, float* out, ThreadPool* pool) {
  assert(shape.n_kv_heads > 0 && shape.n_heads % shape.n_kv_heads == 0);
  if (cpu_isa() != Isa::scalar && shape.head_dim % 8 == 0) {
    attention_tiled(q, n_tokens, queries, kv, shape, out, pool);
    return;
  }
  attention_reference(q, n_tokens, queries, kv, shape, out, pool);
}

void attention_reference(const float* q, int64_t n_tokens, const AttentionQuery* queries,
                         const KvCacheView& kv, const AttentionShape& shape, float* out,
                         ThreadPool* pool) {
  assert(shape.n_kv_heads > 0 && shape.n_heads % shape.n_kv_heads == 0);
  const int head_dim = shape.head_dim;
  const int n_kv_heads = shape.n_kv_heads;
  const int group = shape.n_heads / n_kv_heads;
  const float scale =
      shape.scale != 0.0f ? shape.scale : 1.0f / std::sqrt(static_cast<float>(head_dim));
  const size_t row_bytes = kv_row_bytes(kv.type, static_cast<int64_t>(n_kv_heads) * head_dim);
  const auto* k_base = static_cast<const uint8_t*>(kv.k);
  const auto* v_base = static_cast<const uint8_t*>(kv.v);

  parallel_for(pool, n_tokens * n_kv_heads, [&](int64_t begin, int64_t end) {
    // per thread: one K row, one V row, and a running (max, sum, acc) per head of the group
    thread_local std::vector<float> buf;
    const size_t need = static_cast<size_t>(2 + group) * head_dim + 2 * static_cast<size_t>(group);
    if (buf.size() < need) buf.resize(need);
    float* k_row = buf.data();
    float* v_row = k_row + head_dim;
    float* acc = v_row + head_dim;            // [group][head_dim]
    float* run_max = acc + group * head_dim;  // [group]
    float* run_sum = run_max + group;         // [group]

    for (int64_t job = begin; job < end; ++job) {
      const int64_t t = job / n_kv_heads;
      const int kvh = static_cast<int>(job % n_kv_heads);
      const AttentionQuery& qi = queries[t];
      const float* q_heads = q + (t * shape.n_heads + static_cast<int64_t>(kvh) * group) * head_dim;
      std::fill(acc, acc + group * head_dim, 0.0f);
      std::fill(run_max, run_max + group, -std::numeric_limits<float>::infinity());
      std::fill(run_sum, run_sum + group, 0.0f);

      const int64_t c_begin = std::max<int64_t>(0, qi.cell_begin);
      const int64_t c_end = std::min<int64_t>(kv.n_cells, qi.cell_end);
      for (int64_t c = c_begin; c < c_end; ++c) {
        if (kv.cell_seq[c] != qi.seq || kv.cell_pos[c] > qi.pos) continue;
        const int64_t first = static_cast<int64_t>(kvh) * head_dim;
        kv_load(kv.type, k_base + static_cast<size_t>(c) * row_bytes, first, head_dim, k_row);
        kv_load(kv.type, v_base + static_cast<size_t>(c) * row_bytes, first, head_dim, v_row);
        for (int g = 0; g < group; ++g) {
          const float s = scale * dot_f32(q_heads + g * head_dim, k_row, head_dim);
          float* a = acc + g * head_dim;
          float p = 1.0f;
          if (s > run_max[g]) {
            const float correction = std::exp(run_max[g] - s);
            for (int d = 0; d < head_dim; ++d) a[d] *= correction;
            run_sum[g] *= correction;
            run_max[g] = s;
          } else {
            p = std::exp(s - run_max[g]);
          }
          for (int d = 0; d < head_dim; ++d) a[d] += p * v_row[d];
          run_sum[g] += p;
        }
      }
      float* o = out + (t * shape.n_heads + static_cast<int64_t>(kvh) * group) * head_dim;
      for (int g = 0; g < group; ++g) {
        const float inv = run_sum[g] > 0.0f ? 1.0f / run_sum[g] : 0.0f;
        for (int d = 0; d < head_dim; ++d) o[g * head_dim + d] = acc[g * head_dim + d] * inv;
      }
    }
  });
}

}  // namespace tessera::backend::cpu
