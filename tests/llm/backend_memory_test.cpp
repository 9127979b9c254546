// The decoder runtime on a backend with a memory budget: everything it holds is accounted
// for, and what does not fit is an error value naming what did not fit, never a crash.
#include <gtest/gtest.h>

#include "backend/cpu/cpu_backend.h"
#include "llm_test_util.h"

namespace tessera::test {
namespace {

engine::ContextOptions small_context(int64_t n_ctx) {
  engine::ContextOptions o;
  o.n_ctx = n_ctx;
  o.n_batch = 32;
  o.n_threads = 1;
  return o;
}

TEST(LlmBackendMemoryTest, WeightsAndContextsAreAccountedForAndReleased) {
  auto be = backend::make_cpu_backend();
  auto m = engine::LlmModel::load(model_path("llama-spm-tiny"), {.n_threads = 1, .backend = be});
  ASSERT_TRUE(m.ok()) << m.error().message;
  const uint64_t weights = be->memory().in_use();
  EXPECT_EQ(be->memory().imported, weights);
  EXPECT_EQ(weights, (*m)->file().tensor_data_size());  // mapped in place, not copied
  {
    auto ctx = engine::LlmContext::create(*m, small_context(64));
    ASSERT_TRUE(ctx.ok()) << ctx.error().message;
    engine::Batch b;
    b.add(1, 0, 0, true);
    ASSERT_TRUE((*ctx)->decode(b).ok());
    EXPECT_EQ(be->memory().allocated, (*ctx)->backend_bytes());
    EXPECT_GT((*ctx)->backend_bytes(), 0u);
  }
  EXPECT_EQ(be->memory().allocated, 0u);
  EXPECT_EQ(be->memory().in_use(), weights);
}

// Weights the CPU copies into its kernels' arrangement are read from the copy only: their
// file bytes stop counting, so the account holds each weight once (as the estimate does).
TEST(LlmBackendMemoryTest, CopiedWeightsAreCountedOnce) {
  auto be = backend::make_cpu_backend();
  uint64_t file_bytes = 0;
  {
    auto m =
        engine::LlmModel::load(model_path("llama-spm-tiny-q4_0"), {.n_threads = 1, .backend = be});
    ASSERT_TRUE(m.ok()) << m.error().message;
    file_bytes = (*m)->file().tensor_data_size();
    const backend::MemoryStats st = be->memory();
    if (st.allocated == 0) GTEST_SKIP() << "this CPU's kernels read Q4_0 in place";
    // Every copied weight's bytes left the imported count; the copies are about their size.
    EXPECT_LT(st.imported, file_bytes);
    EXPECT_LT(st.in_use(), file_bytes + file_bytes / 4) << st.imported << " + " << st.allocated;
  }
  EXPECT_EQ(be->memory().in_use(), 0u);  // the buffers' release matches what they counted
  EXPECT_GT(file_bytes, 0u);
}

TEST(LlmBackendMemoryTest, WeightsOverTheLimitAreRefused) {
  auto be = backend::make_cpu_backend();
  be->set_memory_limit(1000);
  auto m = engine::LlmModel::load(model_path("llama-spm-tiny"), {.n_threads = 1, .backend = be});
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.error().code, ErrorCode::out_of_range);
  EXPECT_NE(m.error().message.find("weights"), std::string::npos) << m.error().message;
  EXPECT_EQ(be->memory().in_use(), 0u);
}

TEST(LlmBackendMemoryTest, AKvCacheOverTheLimitIsAnErrorAndTheModelStaysUsable) {
  auto be = backend::make_cpu_backend();
  auto m = engine::LlmModel::load(model_path("llama-spm-tiny"), {.n_threads = 1, .backend = be});
  ASSERT_TRUE(m.ok()) << m.error().message;
  be->set_memory_limit(be->memory().in_use() + (1u << 20));  // 1 MiB for contexts
  auto big = engine::LlmContext::create(*m, small_context(1 << 20));
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.error().code, ErrorCode::out_of_range);
  EXPECT_NE(big.error().message.find("KV cache"), std::string::npos) << big.error().message;
  EXPECT_EQ(be->memory().allocated, 0u);  // nothing left behind
  auto small = engine::LlmContext::create(*m, small_context(16));
  ASSERT_TRUE(small.ok()) << small.error().message;
  engine::Batch b;
  b.add(1, 0, 0, true);
  EXPECT_TRUE((*small)->decode(b).ok());
}

}  // namespace
}  // namespace tessera::test
