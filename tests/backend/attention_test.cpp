// attention and the K/V row store against a double-precision reference over the values the
// cache holds (after f16 / q8_0 rounding), plus the batching properties a server relies on.
//
// Error budget: |out - ref| <= 1e-5 absolute (V values in [-1, 1], so outputs are convex
// combinations in [-1, 1]; the online softmax adds a few f32 roundings per cell).
// Batching: a query's output is bit for bit the same whatever other sequences share the
// batch or the cache, whatever window it is given, and whatever the thread count.
#include "backend/cpu/attention.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>
#include <vector>

#include "backend_test_util.h"
#include "gguf/quant_kernels.h"

namespace tessera::backend::cpu {
namespace {

constexpr double kAttentionBudget = 1e-5;

// A cache the tests fill: K and V rows written with kv_store, cell metadata by hand.
struct TestCache {
  KvType type;
  int n_kv_heads, head_dim;
  int64_t n_cells;
  std::vector<uint8_t> k, v;
  std::vector<int32_t> seq, pos;

  TestCache(KvType t, int kv_heads, int hd, int64_t cells)
      : type(t),
        n_kv_heads(kv_heads),
        head_dim(hd),
        n_cells(cells),
        k(kv_row_bytes(t, int64_t{kv_heads} * hd) * cells),
        v(k.size()),
        seq(cells, -1),
        pos(cells, 0) {}

  int64_t row_len() const { return int64_t{n_kv_heads} * head_dim; }

  // Stores one token's K and V rows (row_len() values each) in `cell`.
  void put(int32_t cell, int32_t s, int32_t p, const float* k_row, const float* v_row) {
    kv_store(type, k_row, 1, row_len(), &cell, k.data(), nullptr);
    kv_store(type, v_row, 1, row_len(), &cell, v.data(), nullptr);
    seq[cell] = s;
    pos[cell] = p;
  }

  KvCacheView view() const {
    return KvCacheView{type, k.data(), v.data(), n_cells, seq.data(), pos.data()};
  }

  std::vector<float> load(const std::vector<uint8_t>& bytes, int64_t cell) const {
    std::vector<float> out(row_len());
    kv_load(type, bytes.data() + kv_row_bytes(type, row_len()) * cell, 0, row_len(), out.data());
    return out;
  }
};

// Naive double-precision attention over the stored (rounded) cache values.
std::vector<double> reference(const std::vector<float>& q, const std::vector<AttentionQuery>& qs,
                              const TestCache& c, int n_heads) {
  const int hd = c.head_dim;
  const int group = n_heads / c.n_kv_heads;
  std::vector<double> out(qs.size() * n_heads * hd, 0.0);
  for (size_t t = 0; t < qs.size(); ++t) {
    for (int h = 0; h < n_heads; ++h) {
      const int kvh = h / group;
      std::vector<double> scores;
      std::vector<int64_t> cells;
      for (int64_t cell = qs[t].cell_begin; cell < qs[t].cell_end; ++cell) {
        if (c.seq[cell] != qs[t].seq || c.pos[cell] > qs[t].pos) continue;
        const std::vector<float> kr = c.load(c.k, cell);
        double s = 0;
        for (int d = 0; d < hd; ++d)
          s += static_cast<double>(q[(t * n_heads + h) * hd + d]) * kr[kvh * hd + d];
        scores.push_back(s / std::sqrt(static_cast<double>(hd)));
        cells.push_back(cell);
      }
      if (scores.empty()) continue;
      const double mx = *std::max_element(scores.begin(), scores.end());
      double sum = 0;
      for (double& s : scores) sum += (s = std::exp(s - mx));
      for (size_t j = 0; j < cells.size(); ++j) {
        const std::vector<float> vr = c.load(c.v, cells[j]);
        for (int d = 0; d < hd; ++d)
          out[(t * n_heads + h) * hd + d] += scores[j] / sum * vr[kvh * hd + d];
      }
    }
  }
  return out;
}

std::vector<float> run(const std::vector<float>& q, const std::vector<AttentionQuery>& qs,
                       const TestCache& c, int n_heads, ThreadPool* pool) {
  std::vector<float> out(qs.size() * n_heads * c.head_dim, -7.0f);
  const AttentionShape shape{n_heads, c.n_kv_heads, c.head_dim, 0.0f};
  attention(q.data(), static_cast<int64_t>(qs.size()), qs.data(), c.view(), shape, out.data(),
            pool);
  return out;
}

struct Shape {
  int n_heads, n_kv_heads, head_dim;
};

class AttentionTypes : public ::testing::TestWithParam<KvType> {};

TEST_P(AttentionTypes, MatchesReferenceWithGqaCausalMaskAndShuffledCells) {
  const KvType type = GetParam();
  const auto pools = test::test_pools();
  for (const Shape sh : {Shape{6, 2, 32}, Shape{4, 4, 64}, Shape{8, 1, 32}}) {
    const int64_t n_seq_tokens = 17;
    const int64_t n_cells = 23;
    TestCache cache(type, sh.n_kv_heads, sh.head_dim, n_cells);
    std::vector<int32_t> perm(n_cells);
    std::iota(perm.begin(), perm.end(), 0);
    std::reverse(perm.begin(), perm.end());
    std::rotate(perm.begin(), perm.begin() + 5, perm.end());  // cells out of position order
    const std::vector<float> kv = test::random_floats(41, 2 * n_seq_tokens * cache.row_len());
    for (int32_t p = 0; p < n_seq_tokens; ++p) {
      cache.put(perm[p], 3, p, kv.data() + 2 * p * cache.row_len(),
                kv.data() + (2 * p + 1) * cache.row_len());
    }
    for (int64_t n_tokens : {1, 3, 17}) {  // the last n_tokens positions as queries
      SCOPED_TRACE(std::string(kv_type_name(type)) + " heads " + std::to_string(sh.n_heads) + "/" +
                   std::to_string(sh.n_kv_heads) + " tokens " + std::to_string(n_tokens));
      std::vector<AttentionQuery> qs;
      for (int64_t i = 0; i < n_tokens; ++i) {
        qs.push_back({3, static_cast<int32_t>(n_seq_tokens - n_tokens + i), 0,
                      static_cast<int32_t>(n_cells)});
      }
      const std::vector<float> q =
          test::random_floats(5 + n_tokens, n_tokens * sh.n_heads * sh.head_dim, 2.0);
      const std::vector<float> out = run(q, qs, cache, sh.n_heads, nullptr);
      const std::vector<double> ref = reference(q, qs, cache, sh.n_heads);
      for (size_t i = 0; i < out.size(); ++i) ASSERT_NEAR(out[i], ref[i], kAttentionBudget) << i;
      for (const auto& pool : pools) {
        test::expect_same_bits(out, run(q, qs, cache, sh.n_heads, pool.get()), "threads");
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(KvTypes, AttentionTypes,
                         ::testing::Values(KvType::f16, KvType::f32, KvType::q8_0),
                         [](const auto& param_info) {
                           return std::string(kv_type_name(param_info.param));
                         });

// Long sequences with cells out of order and another sequence interleaved, so the tiled
// kernel (attention_tiled.h) crosses many chunks, masks inside chunks, and takes blocks of
// several tokens and slices of wide groups; head sizes off its fast path take the reference.
TEST(Attention, ManyChunksMatchTheReferenceAndEachQueryAlone) {
  struct Case {
    Shape sh;
    int n_seq_tokens;
  };
  const auto pools = test::test_pools();
  for (const Case cs : {Case{{14, 2, 64}, 150}, Case{{8, 8, 32}, 97}, Case{{72, 1, 16}, 40},
                        Case{{4, 2, 24}, 70}, Case{{4, 2, 12}, 45}}) {
    const Shape sh = cs.sh;
    const int n = cs.n_seq_tokens;
    const int64_t n_cells = 2 * n + 11;
    TestCache cache(KvType::f16, sh.n_kv_heads, sh.head_dim, n_cells);
    std::vector<int32_t> perm(n_cells);
    std::iota(perm.begin(), perm.end(), 0);
    for (int64_t i = n_cells - 1; i > 0; --i) std::swap(perm[i], perm[(i * 7919 + 13) % (i + 1)]);
    const std::vector<float> kv = test::random_floats(77, 4 * int64_t{n} * cache.row_len());
    for (int32_t p = 0; p < n; ++p) {  // sequence 4 and sequence 9 share the cache, shuffled
      cache.put(perm[2 * p], 4, p, kv.data() + 4 * p * cache.row_len(),
                kv.data() + (4 * p + 1) * cache.row_len());
      cache.put(perm[2 * p + 1], 9, p, kv.data() + (4 * p + 2) * cache.row_len(),
                kv.data() + (4 * p + 3) * cache.row_len());
    }
    std::vector<AttentionQuery> qs;
    for (int32_t p = 0; p < n; ++p) qs.push_back({4, p, 0, static_cast<int32_t>(n_cells)});
    const std::vector<float> q =
        test::random_floats(31, int64_t{n} * sh.n_heads * sh.head_dim, 3.0);
    SCOPED_TRACE("heads " + std::to_string(sh.n_heads) + "/" + std::to_string(sh.n_kv_heads) +
                 " head_dim " + std::to_string(sh.head_dim));
    const std::vector<float> out = run(q, qs, cache, sh.n_heads, nullptr);
    const std::vector<double> ref = reference(q, qs, cache, sh.n_heads);
    for (size_t i = 0; i < out.size(); ++i) ASSERT_NEAR(out[i], ref[i], kAttentionBudget) << i;
    for (const auto& pool : pools) {
      test::expect_same_bits(out, run(q, qs, cache, sh.n_heads, pool.get()), "threads");
    }
    const size_t per_token = static_cast<size_t>(sh.n_heads) * sh.head_dim;
    for (int p = 0; p < n; p += 7) {  // a query alone gives the same bits as in the batch
      const std::vector<float> q1(q.begin() + p * per_token, q.begin() + (p + 1) * per_token);
      const std::vector<float> alone = run(q1, {qs[p]}, cache, sh.n_heads, nullptr);
      const std::vector<float> in_batch(out.begin() + p * per_token,
                                        out.begin() + (p + 1) * per_token);
      SCOPED_TRACE("alone vs batch at position " + std::to_string(p));
      test::expect_same_bits(alone, in_batch, "alone vs batch");
    }
    std::vector<float> by_reference(out.size());
    attention_reference(q.data(), n, qs.data(), cache.view(),
                        AttentionShape{sh.n_heads, sh.n_kv_heads, sh.head_dim, 0.0f},
                        by_reference.data(), nullptr);
    for (size_t i = 0; i < out.size(); ++i) {
      ASSERT_NEAR(out[i], by_reference[i], kAttentionBudget) << "reference kernel " << i;
    }
  }
}

TEST(Attention, InterleavedSequencesDoNotSeeEachOther) {
  const int n_heads = 4, n_kv = 2, hd = 32;
  const int len_a = 9, len_b = 12;
  const int64_t row = int64_t{n_kv} * hd;
  const std::vector<float> kv_a = test::random_floats(1, 2 * len_a * row);
  const std::vector<float> kv_b = test::random_floats(2, 2 * len_b * row);
  const std::vector<float> q_a = test::random_floats(3, int64_t{len_a} * n_heads * hd);
  const std::vector<float> q_b = test::random_floats(4, int64_t{len_b} * n_heads * hd);

  // Both sequences in one cache, cells interleaved, and one batch of all their tokens.
  TestCache both(KvType::f16, n_kv, hd, len_a + len_b);
  std::vector<AttentionQuery> qs;
  std::vector<float> q;
  std::vector<std::pair<int, int>> order;  // (sequence, position) of each batch token
  int32_t cell = 0;
  for (int i = 0; i < std::max(len_a, len_b); ++i) {
    if (i < len_b) order.push_back({1, i});
    if (i < len_a) order.push_back({0, i});
  }
  for (auto [s, p] : order) {
    const std::vector<float>& kv = s == 0 ? kv_a : kv_b;
    both.put(cell++, s == 0 ? 10 : 20, p, kv.data() + 2 * p * row, kv.data() + (2 * p + 1) * row);
    qs.push_back({s == 0 ? 10 : 20, p, 0, static_cast<int32_t>(both.n_cells)});
    const std::vector<float>& qsrc = s == 0 ? q_a : q_b;
    q.insert(q.end(), qsrc.begin() + p * n_heads * hd, qsrc.begin() + (p + 1) * n_heads * hd);
  }
  const std::vector<float> out = run(q, qs, both, n_heads, nullptr);

  // Each sequence alone, contiguous cells from 0, its own batch.
  for (int s = 0; s < 2; ++s) {
    const int len = s == 0 ? len_a : len_b;
    const std::vector<float>& kv = s == 0 ? kv_a : kv_b;
    TestCache alone(KvType::f16, n_kv, hd, len);
    std::vector<AttentionQuery> qa;
    for (int p = 0; p < len; ++p) {
      alone.put(p, 0, p, kv.data() + 2 * p * row, kv.data() + (2 * p + 1) * row);
      qa.push_back({0, p, 0, len});
    }
    const std::vector<float> out_alone = run(s == 0 ? q_a : q_b, qa, alone, n_heads, nullptr);
    for (size_t i = 0; i < order.size(); ++i) {
      if (order[i].first != s) continue;
      const int p = order[i].second;
      for (int j = 0; j < n_heads * hd; ++j) {
        ASSERT_EQ(out[i * n_heads * hd + j], out_alone[static_cast<size_t>(p) * n_heads * hd + j])
            << "sequence " << s << " position " << p;
      }
    }
  }
}

TEST(Attention, WindowsAndEmptyCellsDoNotChangeTheResult) {
  const int n_heads = 2, n_kv = 1, hd = 32;
  TestCache c(KvType::f32, n_kv, hd, 30);  // seq 0 in cells [0, 10), seq 1 in [12, 24)
  const std::vector<float> kv = test::random_floats(9, 2 * 30 * int64_t{hd});
  for (int i = 0; i < 10; ++i) c.put(i, 0, i, kv.data() + 2 * i * hd, kv.data() + (2 * i + 1) * hd);
  for (int i = 0; i < 12; ++i) {
    c.put(12 + i, 1, i, kv.data() + 2 * (12 + i) * hd, kv.data() + (2 * (12 + i) + 1) * hd);
  }
  const std::vector<float> q = test::random_floats(8, 3 * n_heads * hd);
  const std::vector<AttentionQuery> wide = {{0, 9, 0, 30}, {1, 4, 0, 30}, {1, 11, 0, 30}};
  const std::vector<AttentionQuery> narrow = {{0, 9, 0, 10}, {1, 4, 12, 24}, {1, 11, 12, 24}};
  test::expect_same_bits(run(q, wide, c, n_heads, nullptr), run(q, narrow, c, n_heads, nullptr),
                         "windows");
}

TEST(Attention, FutureCellsAreMaskedAndUnseenQueriesGetZeros) {
  const int n_heads = 2, n_kv = 2, hd = 32;
  const int64_t row = int64_t{n_kv} * hd;
  TestCache c(KvType::f16, n_kv, hd, 8);
  std::vector<float> kv = test::random_floats(12, 2 * 8 * row);
  for (int p = 0; p < 8; ++p)
    c.put(p, 5, p, kv.data() + 2 * p * row, kv.data() + (2 * p + 1) * row);
  const std::vector<float> q = test::random_floats(13, 3 * n_heads * hd);
  const std::vector<AttentionQuery> qs = {{5, 3, 0, 8}, {5, 0, 0, 8}, {6, 7, 0, 8}};
  const std::vector<float> before = run(q, qs, c, n_heads, nullptr);
  for (int p = 4; p < 8; ++p) {  // rewrite everything after position 3
    std::vector<float> junk = test::random_floats(100 + p, 2 * row, 50.0);
    c.put(p, 5, p, junk.data(), junk.data() + row);
  }
  const std::vector<float> after = run(q, qs, c, n_heads, nullptr);
  test::expect_same_bits(before, after, "future cells");
  for (int j = 0; j < n_heads * hd; ++j) {  // position 0 sees only cell 0: its V row
    EXPECT_NEAR(after[n_heads * hd + j], round_to_f16(kv[row + j]), 1e-6);
  }
  for (int j = 0; j < n_heads * hd; ++j) EXPECT_EQ(after[2 * n_heads * hd + j], 0.0f);  // seq 6
  std::vector<float> junk = test::random_floats(99, 2 * row, 50.0);
  c.put(2, 5, 2, junk.data(), junk.data() + row);  // a visible cell changes the output
  EXPECT_NE(run(q, qs, c, n_heads, nullptr), after);
}

TEST(KvRows, StoreAndLoadRoundTripPerType) {
  const int64_t row = 64;
  const std::vector<float> src = test::random_floats(17, 3 * row, 3.0);
  const std::vector<int32_t> cells = {4, 0, 2};
  for (KvType type : {KvType::f32, KvType::f16, KvType::q8_0}) {
    std::vector<uint8_t> cache(kv_row_bytes(type, row) * 5);
    ThreadPool pool(2);
    kv_store(type, src.data(), 3, row, cells.data(), cache.data(), &pool);
    for (int i = 0; i < 3; ++i) {
      std::vector<float> got(row), want(row);
      kv_load(type, cache.data() + kv_row_bytes(type, row) * cells[i], 0, row, got.data());
      const float* s = src.data() + i * row;
      if (type == KvType::f32) {
        want.assign(s, s + row);
      } else if (type == KvType::f16) {
        for (int64_t j = 0; j < row; ++j) want[j] = round_to_f16(s[j]);
      } else {
        std::vector<uint8_t> blocks(kv_row_bytes(type, row));
        gguf::kernels::quantize_q8_0(s, blocks.data(), row);
        gguf::kernels::dequantize_q8_0(blocks.data(), want.data(), row);
      }
      EXPECT_EQ(got, want) << kv_type_name(type);
      std::vector<float> part(32);  // a head's slice
      kv_load(type, cache.data() + kv_row_bytes(type, row) * cells[i], 32, 32, part.data());
      EXPECT_TRUE(std::equal(part.begin(), part.end(), want.begin() + 32));
    }
  }
  EXPECT_TRUE(check_kv_layout(KvType::q8_0, 2, 64).ok());
  EXPECT_FALSE(check_kv_layout(KvType::q8_0, 2, 80).ok());
  EXPECT_TRUE(check_kv_layout(KvType::f16, 2, 80).ok());
  EXPECT_FALSE(check_kv_layout(KvType::f16, 0, 64).ok());
}

}  // namespace
}  // namespace tessera::backend::cpu
