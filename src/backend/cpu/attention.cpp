#include "backend/cpu/attention.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <limits>
#include <vector>

#include "backend/cpu/matmul.h"

namespace tessera::backend::cpu {

void attention(const float* q, int64_t n_tokens, const AttentionQuery* queries,
               const KvCacheView& kv, const AttentionShape& shape, float* out, ThreadPool* pool) {
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
