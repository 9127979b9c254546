// Options of the file and the context that the golden models do not exercise: Llama-3.1 style
// `rope_freqs`, linear RoPE scaling, and the q8_0 KV cache.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>

#include "engine/model_synth.h"
#include "gguf/writer.h"
#include "llm_test_util.h"

namespace tessera::test {
namespace {

// Copies `src` to `dst` with extra metadata and, when `freqs` is not empty, a rope_freqs tensor.
void copy_with(const std::string& src, const std::string& dst,
               const std::function<void(gguf::Writer&)>& meta, const std::vector<float>& freqs) {
  auto file = gguf::GgufFile::open(src);
  ASSERT_TRUE(file.ok());
  gguf::Writer w(file->alignment());
  for (const auto& e : file->metadata()) w.set(e.key, e.value);
  meta(w);
  for (const auto& t : file->tensors()) {
    std::vector<int64_t> ne(t.ne.begin(), t.ne.begin() + t.n_dims);
    ASSERT_TRUE(w.add_tensor(t.name, t.type, ne, {t.data, t.n_bytes}).ok());
  }
  if (!freqs.empty()) {
    const auto* bytes = reinterpret_cast<const uint8_t*>(freqs.data());
    ASSERT_TRUE(w.add_tensor("rope_freqs.weight", gguf::TensorType::F32,
                             {static_cast<int64_t>(freqs.size())},
                             {bytes, freqs.size() * sizeof(float)})
                    .ok());
  }
  ASSERT_TRUE(w.write(dst).ok());
}

// Logits of every position of `prompt` run as one sequence.
std::vector<std::vector<float>> run_prompt(std::shared_ptr<const engine::LlmModel> m,
                                           const std::vector<int32_t>& prompt,
                                           backend::KvType kv = backend::KvType::f32) {
  engine::ContextOptions o;
  o.n_ctx = 64;
  o.kv_type = kv;
  o.n_threads = 2;
  auto ctx = engine::LlmContext::create(std::move(m), o);
  EXPECT_TRUE(ctx.ok()) << (ctx.ok() ? "" : ctx.error().message);
  if (!ctx.ok()) return {};
  engine::Batch b;
  for (size_t i = 0; i < prompt.size(); ++i) b.add(prompt[i], 0, static_cast<int32_t>(i), true);
  EXPECT_TRUE((*ctx)->decode(b).ok());
  std::vector<std::vector<float>> out;
  for (size_t i = 0; i < prompt.size(); ++i) {
    auto l = (*ctx)->logits(i);
    out.emplace_back(l.begin(), l.end());
  }
  return out;
}

const std::vector<int32_t> kPrompt = {1,     450, 4996, 17354, 1701, 432,
                                      17204, 975, 278,  17366, 11203};

TEST(LlmRopeOptionsTest, RopeFreqsDivideTheAnglesLikeLinearScaling) {
  TempDir dir;
  const std::string src = model_path("llama-spm-tiny");
  auto base = load_model("llama-spm-tiny");
  ASSERT_NE(base, nullptr);
  const int half = base->hparams().n_rot / 2;
  const std::string linear = dir.path() + "/linear.gguf";
  const std::string freqs = dir.path() + "/freqs.gguf";
  const std::string ones = dir.path() + "/ones.gguf";
  copy_with(src, linear,
            [](gguf::Writer& w) {
              w.set_string("llama.rope.scaling.type", "linear");
              w.set_f32("llama.rope.scaling.factor", 2.0f);
            },
            {});
  copy_with(
      src, freqs, [](gguf::Writer&) {}, std::vector<float>(static_cast<size_t>(half), 2.0f));
  copy_with(
      src, ones, [](gguf::Writer&) {}, std::vector<float>(static_cast<size_t>(half), 1.0f));

  const auto plain = run_prompt(base, kPrompt);
  const auto by_scaling = run_prompt(load_model_file(linear), kPrompt);
  const auto by_freqs = run_prompt(load_model_file(freqs), kPrompt);
  const auto by_ones = run_prompt(load_model_file(ones), kPrompt);
  ASSERT_EQ(plain.size(), kPrompt.size());
  // angle = theta * 0.5 (scale) and theta / 2 (factor) are the same float: equal bit for bit.
  EXPECT_EQ(by_scaling, by_freqs);
  EXPECT_EQ(by_ones, plain);           // factors of 1 change nothing
  EXPECT_EQ(by_scaling[0], plain[0]);  // position 0 has no rotation to scale
  EXPECT_NE(by_scaling.back(), plain.back());
}

TEST(LlmKvTypeTest, Q8CacheStaysCloseToTheExactOne) {
  TempDir dir;
  engine::SynthOptions so;
  so.arch = "llama";
  so.shape = "tiny-kq";  // head size 64, which q8_0 blocks of 32 can hold
  so.type = gguf::TensorType::F32;
  so.vocab_path = testdata("vocab/ggml-vocab-llama-spm.gguf");
  so.out_path = dir.path() + "/kq.gguf";
  so.threads = 2;
  ASSERT_TRUE(engine::synthesize_model(so).ok());
  auto m = load_model_file(so.out_path);
  ASSERT_NE(m, nullptr);
  const auto exact = run_prompt(m, kPrompt, backend::KvType::f32);
  const auto f16 = run_prompt(m, kPrompt, backend::KvType::f16);
  const auto q8 = run_prompt(m, kPrompt, backend::KvType::q8_0);
  ASSERT_EQ(q8.size(), exact.size());
  double max_logit = 0, max_d16 = 0, max_d8 = 0;
  for (size_t p = 0; p < exact.size(); ++p) {
    for (size_t j = 0; j < exact[p].size(); ++j) {
      max_logit = std::max(max_logit, std::fabs(static_cast<double>(exact[p][j])));
      max_d16 = std::max(max_d16, std::fabs(static_cast<double>(f16[p][j] - exact[p][j])));
      max_d8 = std::max(max_d8, std::fabs(static_cast<double>(q8[p][j] - exact[p][j])));
    }
  }
  // Measured: max |logit| 9.6, f16 cache off by 0.0046, q8_0 by 0.12 (q8_0 keeps about 2
  // significant digits per value, f16 about 3). Bounds relative to the logits' scale, with
  // room for other seeds.
  RecordProperty("max_logit", std::to_string(max_logit));
  RecordProperty("max_delta_f16", std::to_string(max_d16));
  RecordProperty("max_delta_q8_0", std::to_string(max_d8));
  EXPECT_GT(max_d8, 0.0);  // it really quantized
  EXPECT_LT(max_d16, 0.003 * max_logit) << max_d16 << " of " << max_logit;
  EXPECT_LT(max_d8, 0.03 * max_logit) << max_d8 << " of " << max_logit;
}

}  // namespace
}  // namespace tessera::test
