// After its first call, a Sampler samples without touching the heap. Counted by replacing the
// global operator new for this test program.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <vector>

#include "engine/sampling/sampler.h"

namespace {
std::atomic<bool> g_counting{false};
std::atomic<int> g_allocations{0};
}  // namespace

void* operator new(std::size_t size) {
  if (g_counting.load(std::memory_order_relaxed)) g_allocations.fetch_add(1);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}

namespace tessera::engine {
namespace {

TEST(SamplerAllocations, NoneAfterTheFirstCall) {
  SamplingParams p;
  p.temperature = 0.9f;
  p.top_p = 0.9f;
  p.min_p = 0.001f;
  p.repetition_penalty = 1.1f;
  p.presence_penalty = 0.5f;
  p.frequency_penalty = 0.2f;
  p.logit_bias = {{3, 1.0f}};
  p.n_probs = 5;
  auto created = Sampler::create(p);
  ASSERT_TRUE(created.ok());
  Sampler s = std::move(created).value();
  SplitMix64 rng(5);
  std::vector<float> logits(50000);
  for (int step = 0; step < 50; ++step) {
    for (float& l : logits) l = static_cast<float>(rng.uniform() * 8.0);
    g_allocations = 0;
    g_counting = true;
    auto plain = s.sample(logits);
    auto with_logprobs = s.sample_with_logprobs(logits);
    g_counting = false;
    ASSERT_TRUE(plain.ok() && with_logprobs.ok());
    if (step > 0) {
      EXPECT_EQ(g_allocations.load(), 0) << "step " << step;
    }
    s.accept(*plain);  // the penalty histories may grow (amortized)
  }
}

}  // namespace
}  // namespace tessera::engine
