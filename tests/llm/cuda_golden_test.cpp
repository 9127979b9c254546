// The model goldens (shared/testdata/golden: llama.cpp's outputs) with the models on the CUDA
// backend: decoder logits, top-10 ids and greedy tokens (golden_test.cpp's comparison), bert
// embeddings and reranker scores (encoder_test.cpp's), all through the shared checks of
// llm_test_util.h; then the backend's memory over many loads and under a limit. Skipped where
// there is no CUDA backend (backend/cuda_test_util.h).
//
// Tolerances: the CPU's (llm_test_util.h), none widened. The testdata README gives no other
// figure for a GPU, and the CUDA backend's arithmetic is no further from the reference than
// the CPU's: F32 weights multiply in f32 (SGEMM, or f32 FMAs when decoding); for F16 / BF16
// weights cuBLAS rounds the activations to f16 / bf16, as the reference engine does (F16) or
// close to it; quantized weights take 8-bit activations when decoding, like the reference's
// integer dot products, and f16 activations with f16-dequantized weights in prompts, nearer to
// exact than those; attention runs in f32. Differences of order (sums in another order) stay
// far below the tolerances of the quantized models, and near the F32 model's 1e-4 only if a
// result were computed in less than f32, which is what that tolerance is there to catch.
//
// One comparison is looser than on the CPU: a reranker document scored alone against the same
// document in a batch (encoder_test.cpp: the same bits). cuBLAS chooses its kernels by the
// shape of the whole batch, so a row's sums may run in another order: 1e-4 (scores are of
// order 1; the golden tolerance is 2e-3). Likewise embeddings of texts alone and in a batch
// are compared by cosine (>= 0.99999, encoder_test.cpp's threshold) and not by their bits.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "backend/cuda_test_util.h"
#include "llm_test_util.h"

namespace tessera::test {
namespace {

using engine::Batch;

class CudaGoldenTest : public ::testing::TestWithParam<DecoderGolden> {};

TEST_P(CudaGoldenTest, MatchesReference) {
  TESSERA_CUDA_BACKEND_OR_SKIP(cuda);
  const DecoderGolden g = GetParam();
  auto model = load_model(g.name, 2, cuda);
  ASSERT_NE(model, nullptr);
  ASSERT_EQ(&model->backend(), cuda.get()) << "the model must run where it was told to";
  EXPECT_GT(cuda->memory().allocated, 0u) << "the weights are on the device";
  expect_matches_decoder_golden(model, g.name, g.tolerance);
}

INSTANTIATE_TEST_SUITE_P(Models, CudaGoldenTest, ::testing::ValuesIn(decoder_goldens()),
                         [](const ::testing::TestParamInfo<DecoderGolden>& param_info) {
                           return golden_test_name(param_info.param.name);
                         });

TEST(CudaEncoderGolden, BertTinyEmbeddingsAndTokensMatchTheReference) {
  TESSERA_CUDA_BACKEND_OR_SKIP(cuda);
  auto m = load_encoder_model("bert-tiny", cuda);
  ASSERT_NE(m, nullptr);
  expect_matches_embedding_golden(*m);
}

TEST(CudaEncoderGolden, RerankerScoresTokensAndRankingMatchTheReference) {
  TESSERA_CUDA_BACKEND_OR_SKIP(cuda);
  auto m = load_encoder_model("bert-rerank-tiny", cuda);
  ASSERT_NE(m, nullptr);
  expect_matches_rerank_golden(*m, 1e-4);
}

// Texts of 2 to ~300 tokens, 64 at once (one pass of thousands of tokens, each text attending
// to its own) against each alone: no cross-talk between the texts of a batch.
TEST(CudaEncoderBatching, SixtyFourTextsAtOnceMatchOneByOne) {
  TESSERA_CUDA_BACKEND_OR_SKIP(cuda);
  auto m = load_encoder_model("bert-tiny", cuda);
  ASSERT_NE(m, nullptr);
  const std::vector<std::string> texts = batching_texts();
  auto all = m->embed(texts);
  ASSERT_TRUE(all.ok()) << all.error().message;
  ASSERT_EQ(all->size(), texts.size());
  for (size_t i = 0; i < texts.size(); ++i) {
    auto one = m->embed({texts[i]});
    ASSERT_TRUE(one.ok()) << one.error().message;
    EXPECT_GE(cosine_similarity((*all)[i].values, (*one)[0].values), 0.99999) << "text " << i;
    EXPECT_EQ((*all)[i].n_tokens, (*one)[0].n_tokens) << "text " << i;
  }
}

// ---- Memory of the backend across loads, and under a limit.

engine::ContextOptions small_context() {
  engine::ContextOptions o;
  o.n_ctx = 64;
  o.n_batch = 32;
  o.kv_type = backend::KvType::f32;
  return o;
}

// Decodes `tokens` as one batch of sequence 0 and returns the last position's logits.
std::vector<float> last_logits(const std::shared_ptr<const engine::LlmModel>& model,
                               const std::vector<engine::TokenId>& tokens) {
  auto ctx = engine::LlmContext::create(model, small_context());
  EXPECT_TRUE(ctx.ok()) << (ctx.ok() ? "" : ctx.error().message);
  if (!ctx.ok()) return {};
  Batch b;
  for (size_t i = 0; i < tokens.size(); ++i) {
    b.add(tokens[i], 0, static_cast<int32_t>(i), i + 1 == tokens.size());
  }
  const Status s = (*ctx)->decode(b);
  EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error().message);
  if (!s.ok()) return {};
  const std::span<const float> l = (*ctx)->logits(tokens.size() - 1);
  return {l.begin(), l.end()};
}

// Every load, context and call gives back all it took: after each of 100 rounds (a decoder
// loaded, some rounds a context decoding a prompt, some an encoder embedding a text) the
// account is where it started.
TEST(CudaModelMemory, LoadingAndUnloadingATinyModel100TimesGivesBackEveryByte) {
  TESSERA_CUDA_BACKEND_OR_SKIP(cuda);
  const backend::MemoryStats start = cuda->memory();
  const std::vector<engine::TokenId> prompt = {1, 15043, 3186, 29991};
  std::vector<float> first;
  for (int round = 0; round < 100; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    {
      auto model = load_model("llama-spm-tiny", 1, cuda);
      ASSERT_NE(model, nullptr);
      ASSERT_GT(cuda->memory().in_use(), start.in_use()) << "the weights are on the device";
      if (round % 10 == 0) {
        const std::vector<float> logits = last_logits(model, prompt);
        ASSERT_EQ(logits.size(), static_cast<size_t>(model->n_vocab()));
        if (first.empty()) first = logits;
        EXPECT_EQ(logits, first) << "the same prompt gives the same logits every load";
      }
    }
    if (round % 25 == 24) {
      auto encoder = load_encoder_model("bert-tiny", cuda);
      ASSERT_NE(encoder, nullptr);
      auto e = encoder->embed({"a text to embed", "and another"});
      ASSERT_TRUE(e.ok()) << e.error().message;
    }
    const backend::MemoryStats now = cuda->memory();
    ASSERT_EQ(now.allocated, start.allocated);
    ASSERT_EQ(now.imported, start.imported);
  }
  EXPECT_GT(cuda->memory().peak, start.in_use());
}

// The MiB figure the memory account prints (backend/backend.cpp).
std::string mib(uint64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(bytes) / (1024.0 * 1024.0));
  return buf;
}

// A limit under a model's weights: its load fails with an error naming the sizes and leaves
// nothing behind; a smaller model then loads under the same limit on the same backend, and
// runs (with the limit raised to what it needs with a context: a stream's cuBLAS workspace
// alone is larger than these models) matching its golden.
TEST(CudaModelMemory, AModelOverTheLimitIsRefusedAndASmallerOneStillRuns) {
  TESSERA_CUDA_BACKEND_OR_SKIP(cuda);
  const std::string big = "llama-kq-tiny", small = "llama-spm-tiny-q4_0";
  const nlohmann::json golden = read_golden(small);
  const auto& prompt = golden["prompts"][0];
  const auto tokens = prompt["tokens"].get<std::vector<engine::TokenId>>();
  ASSERT_FALSE(tokens.empty());

  // What the small model takes on the device, with a context and a decode, measured on a
  // backend of its own.
  uint64_t small_peak = 0;
  {
    auto probe = cuda_backend();
    ASSERT_TRUE(probe.ok()) << probe.error().message;
    auto m = load_model(small, 1, *probe);
    ASSERT_NE(m, nullptr);
    ASSERT_FALSE(last_logits(m, tokens).empty());
    small_peak = (*probe)->memory().peak;
  }
  auto big_file = gguf::GgufFile::open(model_path(big));
  ASSERT_TRUE(big_file.ok()) << big_file.error().message;
  auto small_file = gguf::GgufFile::open(model_path(small));
  ASSERT_TRUE(small_file.ok()) << small_file.error().message;
  uint64_t big_weights = 0;
  for (const auto& t : big_file->tensors()) big_weights += t.n_bytes;
  const uint64_t limit = big_weights / 2;
  ASSERT_GT(limit, small_file->tensor_data_size() + (1u << 20))
      << "the test needs a limit between the two models' weights";

  cuda->set_memory_limit(limit);
  const uint64_t before = cuda->memory().in_use();
  auto refused = engine::LlmModel::load(model_path(big), {.n_threads = 1, .backend = cuda});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::out_of_range);
  const std::string& msg = refused.error().message;
  EXPECT_NE(msg.find("does not fit"), std::string::npos) << msg;
  EXPECT_NE(msg.find(mib(limit)), std::string::npos) << "the message names the limit: " << msg;
  EXPECT_NE(msg.find(std::string(cuda->name())), std::string::npos) << msg;
  EXPECT_EQ(cuda->memory().in_use(), before) << "a refused load leaves nothing behind";

  auto m = load_model(small, 1, cuda);
  ASSERT_NE(m, nullptr) << "the smaller model's weights fit the limit";
  EXPECT_LE(cuda->memory().in_use(), limit);
  cuda->set_memory_limit(std::max(limit, small_peak + (256u << 10)));
  const std::vector<float> got = last_logits(m, tokens);
  const std::vector<float> want = base64_floats(prompt["last_logits_f32_b64"].get<std::string>());
  ASSERT_EQ(got.size(), want.size());
  double delta = 0.0;
  for (size_t i = 0; i < want.size(); ++i) {
    delta = std::max(delta, std::abs(static_cast<double>(got[i]) - want[i]));
  }
  double tolerance = 0.0;
  for (const DecoderGolden& g : decoder_goldens()) {
    if (g.name == small) tolerance = g.tolerance;
  }
  EXPECT_LE(delta, tolerance) << "prompt 0 of " << small << " after the refused load";
  EXPECT_LE(cuda->memory().peak, cuda->memory().limit);
}

}  // namespace
}  // namespace tessera::test
