// The CUDA stream's host-side bookkeeping (backend/cuda/step_graphs.h, host_staging.h), which
// decides when a recorded graph may replay a step and where transfers are staged: plain C++,
// tested without a GPU.
#include <gtest/gtest.h>

#include <cstdlib>
#include <set>
#include <vector>

#include "backend/cuda/host_staging.h"
#include "backend/cuda/step_graphs.h"

namespace tessera::cuda {
namespace {

StepSignature signature(std::initializer_list<uint64_t> words) {
  StepSignature s;
  for (uint64_t w : words) s.add(w);
  return s;
}

TEST(StepSignature, EqualOnlyForTheSameWordsInOrder) {
  EXPECT_EQ(signature({1, 2, 3}), signature({1, 2, 3}));
  EXPECT_FALSE(signature({1, 2, 3}) == signature({1, 3, 2}));
  EXPECT_FALSE(signature({1, 2}) == signature({1, 2, 0}));
  StepSignature a, b;
  a.add_float(0.5f);
  b.add_float(-0.5f);
  EXPECT_FALSE(a == b);
  int x = 0, y = 0;
  a.clear();
  b.clear();
  a.add_pointer(&x);
  b.add_pointer(&y);
  EXPECT_FALSE(a == b);
  b.clear();
  b.add_pointer(&x);
  EXPECT_EQ(a, b);
}

TEST(GraphCache, FindsWhatWasInsertedAndDropsTheLeastRecentlyUsed) {
  std::vector<int> destroyed;
  {
    GraphCache<int> cache(2, [&](int g) { destroyed.push_back(g); });
    EXPECT_EQ(cache.find(signature({1})), nullptr);
    cache.insert(signature({1}), 10);
    cache.insert(signature({2}), 20);
    ASSERT_NE(cache.find(signature({1})), nullptr);  // 1 is now the most recently used
    EXPECT_EQ(*cache.find(signature({1})), 10);
    cache.insert(signature({3}), 30);  // drops 2
    EXPECT_EQ(destroyed, std::vector<int>{20});
    EXPECT_EQ(cache.find(signature({2})), nullptr);
    EXPECT_EQ(*cache.find(signature({3})), 30);
    EXPECT_EQ(cache.size(), 2u);
    cache.clear();
    EXPECT_EQ(cache.size(), 0u);
    EXPECT_EQ(destroyed.size(), 3u);
    cache.insert(signature({4}), 40);
  }
  EXPECT_EQ(destroyed.back(), 40);  // the destructor frees what is left
}

TEST(StepStaging, SameOffsetsEveryStepAlignedAndBounded) {
  StepStaging s(1024);
  const int64_t a = s.take(10);
  const int64_t b = s.take(300);
  const int64_t c = s.take(1);
  EXPECT_EQ(a, 0);
  EXPECT_EQ(b, 256);
  EXPECT_EQ(c, 768);
  EXPECT_EQ(s.take(1), -1);  // 1024 is past the block
  s.restart();
  EXPECT_EQ(s.take(10), a);
  EXPECT_EQ(s.take(300), b);
  EXPECT_EQ(s.take(1), c);
  s.restart();
  EXPECT_EQ(s.take(1024), 0);
  EXPECT_EQ(s.take(1), -1);
  StepStaging none;
  EXPECT_EQ(none.take(1), -1);
}

TEST(HostStaging, HandsOutDisjointAlignedMemoryAndReusesChunks) {
  int allocations = 0;
  std::set<void*> live;
  {
    HostStaging st(
        [&](size_t n) -> void* {
          ++allocations;
          void* p = std::aligned_alloc(256, (n + 255) / 256 * 256);
          live.insert(p);
          return p;
        },
        [&](void* p) {
          live.erase(p);
          std::free(p);
        },
        4096);
    auto* a = static_cast<uint8_t*>(st.take(100));
    auto* b = static_cast<uint8_t*>(st.take(100));
    ASSERT_NE(a, nullptr);
    ASSERT_NE(b, nullptr);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(b) % 256, 0u);
    EXPECT_GE(b - a, 100);                              // disjoint
    auto* big = static_cast<uint8_t*>(st.take(10000));  // larger than a chunk: its own
    ASSERT_NE(big, nullptr);
    EXPECT_EQ(st.chunk_count(), 2u);
    auto* c = static_cast<uint8_t*>(st.take(4000));  // does not fit the rest: a new chunk
    ASSERT_NE(c, nullptr);
    EXPECT_EQ(st.chunk_count(), 3u);
    EXPECT_EQ(allocations, 3);
    st.restart();
    EXPECT_EQ(st.take(100), a);  // chunks are reused after a restart
    EXPECT_NE(st.take(9000), nullptr);
    EXPECT_EQ(allocations, 3);
  }
  EXPECT_TRUE(live.empty());  // every chunk returned
}

TEST(HostStaging, AFailedAllocationIsNull) {
  HostStaging st([](size_t) -> void* { return nullptr; }, [](void*) {});
  EXPECT_EQ(st.take(1), nullptr);
  EXPECT_EQ(st.chunk_count(), 0u);
}

}  // namespace
}  // namespace tessera::cuda
