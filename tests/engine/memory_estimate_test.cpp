// Memory estimates: the KV cache is exact (checked against hand-computed figures and against
// the sizes llama.cpp reports for the same shapes), the rest is consistent and bounded; the
// CPU and CUDA figures differ where the devices do. (Against measured memory:
// tests/llm/memory_accuracy_test.cpp on the CPU, tests/llm/cuda_memory_test.cpp on a GPU.)
#include "engine/memory_estimate.h"

#include <gtest/gtest.h>

#include "support/test_support.h"

namespace tessera::engine {
namespace {

ModelInfo info_of(const std::string& rel) {
  auto f = gguf::GgufFile::open(test::testdata(rel));
  EXPECT_TRUE(f.ok());
  return read_model_info(*f).value();
}

MemoryEstimate estimate(const ModelInfo& m, int64_t ctx, int64_t parallel,
                        gguf::TensorType kv = gguf::TensorType::F16,
                        MemoryDevice device = MemoryDevice::cpu) {
  auto e = estimate_memory(m, MemoryOptions{ctx, parallel, kv, device});
  EXPECT_TRUE(e.ok()) << (e.ok() ? "" : e.error().message);
  return e.value();
}

TEST(MemoryEstimate, KvCacheOfA7BShapeIsTwoGiBAt4096Tokens) {
  // Llama-2-7B's shape (the llama-spm vocab file carries it): 32 layers x 32 KV heads x 128.
  // 4096 tokens x 32 x (32 x 128 keys + 32 x 128 values) x 2 bytes = 2 GiB, the figure
  // llama.cpp prints for this model at -c 4096.
  ModelInfo m = info_of("vocab/ggml-vocab-llama-spm.gguf");
  EXPECT_EQ(estimate(m, 4096, 1).kv_cache, 2ull << 30);
  EXPECT_EQ(estimate(m, 0, 1).n_ctx, 4096);  // default: the training context, at most 4096
  // Each parallel sequence gets its own context.
  EXPECT_EQ(estimate(m, 1024, 4).kv_cache, 2ull << 30);
  EXPECT_EQ(estimate(m, 1024, 4).kv_cells, 4096);
}

TEST(MemoryEstimate, KvCacheFormulaOnTestModels) {
  // bytes = n_ctx * n_parallel * sum over layers of n_head_kv * (head_dim_k + head_dim_v) * 2
  ModelInfo q = info_of("models/qwen2-tiny.gguf");
  EXPECT_EQ(estimate(q, 256, 1).kv_cache, 256ull * 2 * 2 * (16 + 16) * 2);
  EXPECT_EQ(estimate(q, 100, 3).kv_cache, 300ull * 2 * 2 * (16 + 16) * 2);
  ModelInfo kq = info_of("models/llama-kq-tiny-Q4_K_M.gguf");
  EXPECT_EQ(estimate(kq, 256, 1).kv_cache, 256ull * 2 * 2 * (64 + 64) * 2);
  // f32: twice f16; q8_0: 34 bytes per 32 values
  EXPECT_EQ(estimate(kq, 256, 1, gguf::TensorType::F32).kv_cache, 256ull * 2 * 2 * 128 * 4);
  EXPECT_EQ(estimate(kq, 256, 1, gguf::TensorType::Q8_0).kv_cache,
            256ull * 2 * (128 / 32 * 34) * 2);
  // GQA with a single KV head (falcon-7b's shape): 2048 x 32 layers x 1 x 128 x 2 bytes
  ModelInfo falcon = info_of("vocab/ggml-vocab-falcon.gguf");
  EXPECT_EQ(estimate(falcon, 2048, 1).kv_cache, 2048ull * 32 * 1 * 128 * 2);
}

TEST(MemoryEstimate, EncodersHaveNoKvCache) {
  ModelInfo b = info_of("models/bert-tiny.gguf");
  MemoryEstimate e = estimate(b, 256, 8);
  EXPECT_EQ(e.kv_cache, 0u);
  EXPECT_EQ(e.kv_cells, 0);
  EXPECT_GT(e.compute, 0u);
}

TEST(MemoryEstimate, TotalIsTheSumAndGrowsWithContext) {
  ModelInfo m = info_of("models/llama-spm-tiny.gguf");
  for (MemoryDevice d : {MemoryDevice::cpu, MemoryDevice::cuda}) {
    SCOPED_TRACE(memory_device_name(d));
    MemoryEstimate a = estimate(m, 128, 1, gguf::TensorType::F16, d);
    MemoryEstimate b = estimate(m, 256, 2, gguf::TensorType::F16, d);
    EXPECT_EQ(a.device, d);
    EXPECT_EQ(a.weights, m.weight_bytes);
    EXPECT_EQ(a.total, a.weights + a.weight_copies + a.kv_cache + a.compute + a.overhead);
    EXPECT_GT(a.overhead, 0u);
    EXPECT_GT(b.kv_cache, a.kv_cache);
    EXPECT_GT(b.compute, a.compute);  // one more logits row, a longer cell table
    EXPECT_GT(b.total, a.total);
    EXPECT_EQ(a.micro_batch, 128);
    EXPECT_EQ(estimate(m, 4096, 1, gguf::TensorType::F16, d).micro_batch, kMicroBatch);
  }
}

TEST(MemoryEstimate, CpuCountsItsCopiesAndTheHostCudaTheDevice) {
  // qwen2-tiny: Q8_0 matrices, output tied to the Q8_0 token embedding.
  ModelInfo q = info_of("models/qwen2-tiny.gguf");
  MemoryEstimate cpu = estimate(q, 256, 1);
  MemoryEstimate cuda = estimate(q, 256, 1, gguf::TensorType::F16, MemoryDevice::cuda);
  const TensorSummary* embd = nullptr;
  for (const TensorSummary& t : q.tensors) {
    if (t.name == "token_embd.weight") embd = &t;
  }
  ASSERT_NE(embd, nullptr);
  EXPECT_EQ(embd->type, gguf::TensorType::Q8_0);
  // The output projection's rows8 copy (151936 rows, a multiple of 8: no padding) comes on
  // top of the mapped table; the layers' copies replace their mapped originals.
  EXPECT_GE(cpu.weight_copies, embd->bytes);
  EXPECT_LT(cpu.weight_copies, embd->bytes + (1u << 20));
  EXPECT_EQ(cpu.host, 0u) << "on the CPU the host is the device";
  EXPECT_EQ(cuda.weight_copies, 0u);
  EXPECT_EQ(cuda.kv_cache, cpu.kv_cache);
  EXPECT_GE(cuda.overhead, 32u << 20) << "the stream's cuBLAS workspace";
  // The tokenizer and the file's header stay on the host.
  EXPECT_GT(cuda.host, q.header_bytes + q.tokenizer.n_tokens * 16);
  // A CPU without AVX-512 VNNI keeps Q8_0 weights as stored: no copies at all.
  MemoryOptions avx2{256, 1, gguf::TensorType::F16, MemoryDevice::cpu, CpuKernels::avx2};
  EXPECT_EQ(estimate_memory(q, avx2).value().weight_copies, 0u);
  EXPECT_EQ(estimate_memory(q, avx2).value().total, cpu.total - cpu.weight_copies);
  // llama-spm-tiny: F32 weights, an untied output: the CPU copies nothing.
  EXPECT_EQ(estimate(info_of("models/llama-spm-tiny.gguf"), 256, 1).weight_copies, 0u);
}

TEST(MemoryEstimate, CpuCopySizesPadRowsToTheirGroups) {
  using gguf::TensorType;
  EXPECT_EQ(cpu_weight_copy_bytes(TensorType::Q8_0, 16, 64), 16u * 2 * 34);
  EXPECT_EQ(cpu_weight_copy_bytes(TensorType::Q8_0, 9, 32), 16u * 34);  // 9 rows -> 2 groups
  EXPECT_EQ(cpu_weight_copy_bytes(TensorType::Q4_K, 8, 256), 1184u);    // 144 x 8 + scales
  EXPECT_EQ(cpu_weight_copy_bytes(TensorType::F16, 33, 10), 64u * 10 * 2);
  EXPECT_EQ(cpu_weight_copy_bytes(TensorType::Q6_K, 8, 256), 0u);  // multiplied as stored
  EXPECT_EQ(cpu_weight_copy_bytes(TensorType::F32, 8, 256), 0u);
}

TEST(MemoryEstimate, EncoderPassesTakeWholeTextsUpTo512Tokens) {
  ModelInfo b = info_of("models/bert-tiny.gguf");
  EXPECT_EQ(estimate(b, 256, 1).micro_batch, kMicroBatch);  // two texts of 256
  EXPECT_EQ(estimate(b, 2048, 1).micro_batch, 2048);        // a longer text runs alone
}

TEST(MemoryEstimate, RejectsBadOptions) {
  ModelInfo m = info_of("models/qwen2-tiny.gguf");
  EXPECT_FALSE(estimate_memory(m, MemoryOptions{-1, 1, gguf::TensorType::F16}).ok());
  EXPECT_FALSE(estimate_memory(m, MemoryOptions{256, 0, gguf::TensorType::F16}).ok());
  EXPECT_FALSE(estimate_memory(m, MemoryOptions{1ll << 30, 1ll << 10, gguf::TensorType::F16}).ok());
  // q8_0 needs KV rows that are a whole number of 32-value blocks; qwen2-tiny's are 32 wide.
  EXPECT_TRUE(estimate_memory(m, MemoryOptions{256, 1, gguf::TensorType::Q8_0}).ok());
  ModelInfo odd = m;
  odd.head_dim_k = 12;
  auto r = estimate_memory(odd, MemoryOptions{256, 1, gguf::TensorType::Q8_0});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("multiple of 32"), std::string::npos);
}

}  // namespace
}  // namespace tessera::engine
