// The forward pass against llama.cpp's outputs (shared/testdata/golden/<model>.json): tokens,
// last-position logits, top-10 ids at every position and greedy continuations, with an F32
// KV cache and the whole prompt in one batch (the goldens' settings), on the CPU backend. The
// comparison is expect_matches_decoder_golden (llm_test_util.h), shared with
// cuda_golden_test.cpp.
//
// Tolerances (absolute, on logits): the F32 model is computed exactly as the reference does
// (up to summation order), so 1e-4. For the other models the reference rounds the matmul
// inputs to F16 (F16 weights) or quantizes them to Q8_0 / Q8_K blocks (quantized weights) and
// takes integer dot products, while we dequantize the weights and multiply in f32; the
// testdata README measures that difference at up to ~0.2 (its refmodel.py: 0.03 for F16 and
// 0.09 for Q8_0 on the long prompt from a few rounding flips alone), so the tolerance is the
// measured maximum with some headroom; see decoder_goldens() in llm_test_util.h. Top-10 ids
// and greedy tokens are compared only where the golden's gaps / margins exceed the tolerance.
#include "llm_test_util.h"

namespace tessera::test {
namespace {

class GoldenTest : public ::testing::TestWithParam<DecoderGolden> {};

TEST_P(GoldenTest, MatchesReference) {
  const DecoderGolden g = GetParam();
  expect_matches_decoder_golden(load_model(g.name), g.name, g.tolerance);
}

INSTANTIATE_TEST_SUITE_P(Models, GoldenTest, ::testing::ValuesIn(decoder_goldens()),
                         [](const ::testing::TestParamInfo<DecoderGolden>& param_info) {
                           return golden_test_name(param_info.param.name);
                         });

}  // namespace
}  // namespace tessera::test
