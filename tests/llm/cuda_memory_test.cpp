// The CUDA memory estimate (engine/memory_estimate.h, MemoryDevice::cuda) against the CUDA
// backend's own account: for every model of the shared test data and a synthesized
// qwen2.5-0.5b-shaped Q8_0 model, at contexts 512 and 4096 per sequence with 1 and 4 parallel
// sequences (encoders: their context), a new backend loads the model, makes the context and
// decodes one full micro-batch (an encoder: one pass of whole texts); its MemoryStats::peak
// (weights, KV cache, activations, logits, cuBLAS workspace, the stream's scratch as it grew)
// must be within 10% of the estimate's total. The table goes to stdout; the driver's own
// memory per process (the CUDA context) is in neither figure. Skipped without a CUDA GPU.
#include "backend/cuda_test_util.h"
#include "memory_test_util.h"

namespace tessera::test {
namespace {

// The account's peak over load, context creation and the work, on a backend of its own.
Result<uint64_t> cuda_peak(const MemoryConfig& c, const std::shared_ptr<backend::Backend>& cuda) {
  if (c.encoder) {
    TESSERA_TRY_ASSIGN(m, engine::EncoderModel::load(c.path, {.backend = cuda}));
    TESSERA_TRY(m->embed_tokens(full_encoder_pass(c, m->hparams().n_vocab),
                                {.pooling = engine::Pooling::mean}));
    return cuda->memory().peak;
  }
  TESSERA_TRY_ASSIGN(m, engine::LlmModel::load(c.path, {.backend = cuda}));
  TESSERA_TRY_ASSIGN(ctx, engine::LlmContext::create(m, memory_context(c, 0)));
  TESSERA_TRY(ctx->decode(full_micro_batch(c, m->n_vocab())));
  return cuda->memory().peak;
}

void check_on_cuda(const std::vector<MemoryConfig>& configs) {
  ASSERT_FALSE(configs.empty());
  {
    TESSERA_CUDA_BACKEND_OR_SKIP(probe);  // skipped before the table's header
  }
  print_memory_header("account MiB");
  for (const MemoryConfig& c : configs) {
    TESSERA_CUDA_BACKEND_OR_SKIP(cuda);
    const engine::MemoryEstimate e = estimate_for(c, engine::MemoryDevice::cuda);
    auto peak = cuda_peak(c, cuda);
    ASSERT_TRUE(peak.ok()) << c.label << ": " << peak.error().message;
    check_memory_row(c, e, *peak, " | host (not in total) " + mib_text(e.host));
  }
}

TEST(CudaMemoryEstimate, TestdataModelsWithinTenPercentOfTheAccount) {
  check_on_cuda(testdata_memory_configs());
}

TEST(CudaMemoryEstimate, Qwen25HalfBShapedQ8_0ModelWithinTenPercentOfTheAccount) {
  TESSERA_CUDA_BACKEND_OR_SKIP(cuda);  // skip before writing the model
  cuda.reset();
  TempDir dir;
  check_on_cuda(synthesized_configs(dir, "qwen2.5-0.5b", gguf::TensorType::Q8_0, "qwen2-tiny"));
}

}  // namespace
}  // namespace tessera::test
