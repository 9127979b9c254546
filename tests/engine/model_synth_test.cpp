// Synthesized models have the layout of the converted models llama.cpp loads (compared with
// the shared test models, written by an independent tool), real shapes' parameter counts,
// deterministic bytes, and sensible weights.
#include "engine/model_synth.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>

#include "engine/model_info.h"
#include "gguf/reader.h"
#include "support/test_support.h"

namespace tessera::engine {
namespace {

using gguf::TensorType;

gguf::GgufFile open_ok(const std::string& path) {
  auto f = gguf::GgufFile::open(path);
  EXPECT_TRUE(f.ok()) << (f.ok() ? "" : f.error().message);
  return std::move(f.value());
}

SynthReport synth(const std::string& arch, const std::string& shape, TensorType type,
                  const std::string& vocab, const std::string& out, int threads = 0) {
  SynthOptions o;
  o.arch = arch;
  o.shape = shape;
  o.type = type;
  o.vocab_path = test::testdata("vocab/ggml-vocab-" + vocab + ".gguf");
  o.out_path = out;
  o.threads = threads;
  auto r = synthesize_model(o);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  return r.ok() ? r.value() : SynthReport{};
}

std::set<std::string> keys_of(const gguf::GgufFile& f) {
  std::set<std::string> k;
  for (const auto& e : f.metadata()) k.insert(std::string(e.key));
  return k;
}

// Same metadata keys, and every tensor of `ours` exists in `ref` with the same type and, for
// the dimensions the two shapes share, the same sizes.
void expect_same_layout(const gguf::GgufFile& ours, const gguf::GgufFile& ref,
                        bool same_ffn = true) {
  EXPECT_EQ(keys_of(ours), keys_of(ref));
  for (const auto& t : ours.tensors()) {
    SCOPED_TRACE(std::string(t.name));
    const gguf::TensorInfo* r = ref.find_tensor(t.name);
    ASSERT_NE(r, nullptr);
    EXPECT_EQ(t.type, r->type);
    EXPECT_EQ(t.n_dims, r->n_dims);
    const bool ffn = t.name.find("ffn_") != std::string_view::npos;
    if (same_ffn || !ffn) {
      for (int d = 0; d < 4; ++d) EXPECT_EQ(t.ne[d], r->ne[d]);
    }
  }
}

TEST(ModelSynth, LlamaMatchesTheLayoutOfAConvertedModel) {
  test::TempDir dir;
  synth("llama", "tiny", TensorType::F32, "llama-spm", dir.file("m.gguf"));
  auto ours = open_ok(dir.file("m.gguf"));
  auto ref = open_ok(test::testdata("models/llama-spm-tiny.gguf"));  // 3 layers, ours 2
  expect_same_layout(ours, ref);
  EXPECT_EQ(ours.tensors().size(), ref.tensors().size() - 9);
  EXPECT_EQ(*ours.get_string("tokenizer.ggml.model"), "llama");
  EXPECT_EQ((*ours.get_array("tokenizer.ggml.tokens"))->array_size(), 32000u);
}

TEST(ModelSynth, Qwen2AndBertMatchTheirConvertedModels) {
  test::TempDir dir;
  synth("qwen2", "tiny", TensorType::Q8_0, "qwen2", dir.file("q.gguf"));
  expect_same_layout(open_ok(dir.file("q.gguf")), open_ok(test::testdata("models/qwen2-tiny.gguf")),
                     false);
  synth("bert", "tiny", TensorType::F16, "bert-bge", dir.file("b.gguf"));
  auto b = open_ok(dir.file("b.gguf"));
  expect_same_layout(b, open_ok(test::testdata("models/bert-tiny.gguf")), false);
  EXPECT_EQ(b.tensors().size(), 37u);
  synth("", "bge-reranker-tiny", TensorType::F16, "bert-bge", dir.file("r.gguf"));
  auto r = open_ok(dir.file("r.gguf"));
  auto ref = open_ok(test::testdata("models/bert-rerank-tiny.gguf"));
  EXPECT_EQ(r.tensors().size(), ref.tensors().size());
  for (const auto& t : ref.tensors()) EXPECT_NE(r.find_tensor(t.name), nullptr) << t.name;
  EXPECT_EQ(*r.get_uint("bert.pooling_type"), 4u);
}

TEST(ModelSynth, BytesAreDeterministicWhateverTheThreads) {
  test::TempDir dir;
  synth("llama", "tiny-kq", TensorType::Q4_K, "llama-spm", dir.file("a.gguf"), 1);
  synth("llama", "tiny-kq", TensorType::Q4_K, "llama-spm", dir.file("b.gguf"), 2);
  auto read = [](const std::string& p) {
    std::ifstream f(p, std::ios::binary);
    return std::vector<char>(std::istreambuf_iterator<char>(f), {});
  };
  const auto a = read(dir.file("a.gguf"));
  EXPECT_GT(a.size(), 1000000u);
  EXPECT_TRUE(a == read(dir.file("b.gguf")));
}

TEST(ModelSynth, WeightsHaveTheIntendedDistribution) {
  test::TempDir dir;
  SynthReport rep = synth("llama", "tiny-kq", TensorType::Q4_K, "llama-spm", dir.file("m.gguf"));
  EXPECT_EQ(rep.fallback_tensors, 0u);
  auto f = open_ok(dir.file("m.gguf"));
  const gguf::TensorInfo* q = f.find_tensor("blk.0.attn_q.weight");
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(q->type, TensorType::Q4_K);
  auto v = f.read_f32(*q);
  ASSERT_TRUE(v.ok());
  double sum = 0, sq = 0;
  for (float x : *v) sum += x, sq += double(x) * x;
  const double n = static_cast<double>(v->size());
  const double mean = sum / n, sd = std::sqrt(sq / n - mean * mean);
  EXPECT_NEAR(mean, 0.0, 0.005);
  EXPECT_NEAR(sd, 1.0 / 16.0, 0.1 / 16.0);  // normal(0, 1/sqrt(256)) after quantization
  auto norm = f.read_f32(*f.find_tensor("blk.0.attn_norm.weight"));
  double nm = 0;
  for (float x : *norm) nm += x;
  EXPECT_NEAR(nm / 256.0, 1.0, 0.05);  // norms around 1
  auto info = read_model_info(f);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->file_type, "Q4_K_S");
  EXPECT_EQ(info->n_params, rep.n_params);
}

TEST(ModelSynth, RowsThatDoNotTileFallBackLikeTheReferenceQuantizer) {
  EXPECT_EQ(synth_matrix_type(TensorType::Q4_K, 896), TensorType::Q5_0);
  EXPECT_EQ(synth_matrix_type(TensorType::Q4_K, 4864), TensorType::Q4_K);
  EXPECT_EQ(synth_matrix_type(TensorType::Q5_K, 64), TensorType::Q5_1);
  EXPECT_EQ(synth_matrix_type(TensorType::Q6_K, 64), TensorType::Q8_0);
  EXPECT_EQ(synth_matrix_type(TensorType::Q8_0, 48), TensorType::F16);
  EXPECT_EQ(synth_matrix_type(TensorType::Q6_K, 48), TensorType::F16);
  test::TempDir dir;
  SynthReport rep = synth("llama", "tiny", TensorType::Q4_K, "llama-spm", dir.file("m.gguf"));
  EXPECT_EQ(rep.fallback_tensors, 15u);  // every matrix: rows of 64 or 192 values
  auto f = open_ok(dir.file("m.gguf"));
  EXPECT_EQ(f.find_tensor("blk.0.ffn_down.weight")->type, TensorType::Q5_0);
}

TEST(ModelSynth, RealShapesHaveTheirPublishedParameterCounts) {
  auto params = [](const char* shape, int64_t vocab) {
    const ShapePreset* p = find_shape(shape);
    EXPECT_NE(p, nullptr);
    ModelShape s = p->shape;
    s.arch = std::string(p->arch);
    s.n_vocab = vocab;
    if (s.arch == "bert") s.n_head_kv = s.n_head;
    uint64_t n = 0;
    for (const auto& t : find_architecture(s.arch)->tensor_plan(s)) {
      uint64_t k = 1;
      for (int64_t d : t.ne) k *= static_cast<uint64_t>(d);
      n += k;
    }
    return n;
  };
  EXPECT_EQ(params("qwen2.5-0.5b", 151936), 494032768u);    // "494.03 M"
  EXPECT_EQ(params("tinyllama-1.1b", 32000), 1100048384u);  // "1.10 B"
  EXPECT_EQ(params("llama-2-7b", 32000), 6738415616u);      // "6.74 B"
  EXPECT_EQ(params("llama-3-8b", 128256), 8030261248u);     // "8.03 B"
  EXPECT_EQ(params("bge-small", 30522), 33212160u);         // 33.4 M with the unused pooler
}

TEST(ModelSynth, SparseModelsHaveTheRealSizeWithoutTheWrite) {
  test::TempDir dir;
  SynthOptions o;
  o.shape = "llama-3-8b";
  o.type = TensorType::Q4_K;
  o.vocab_path = test::testdata("vocab/ggml-vocab-llama-bpe.gguf");
  o.out_path = dir.file("m.gguf");
  o.sparse = true;
  auto r = synthesize_model(o);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->n_params, 8030261248u);
  EXPECT_EQ(std::filesystem::file_size(o.out_path), r->file_bytes);
  EXPECT_GT(r->file_bytes, uint64_t{4} << 30);  // a 4.5 GB file, written in no time
  auto f = open_ok(o.out_path);
  auto info = read_model_info(f);
  ASSERT_TRUE(info.ok()) << info.error().message;
  EXPECT_EQ(info->n_params, 8030261248u);
  EXPECT_EQ(info->file_size, r->file_bytes);
}

TEST(ModelSynth, ExplainsBadRequests) {
  test::TempDir dir;
  SynthOptions o;
  o.shape = "tiny";
  o.vocab_path = test::testdata("vocab/ggml-vocab-llama-spm.gguf");
  o.out_path = dir.file("m.gguf");
  auto expect_bad = [&](const std::string& what) {
    auto r = synthesize_model(o);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message.find(what), std::string::npos) << r.error().message;
  };
  expect_bad("name the architecture with --arch");
  o.arch = "gemma9";
  expect_bad("unknown architecture 'gemma9'");
  o.arch = "llama";
  o.shape = "llama-3-8b";
  o.arch = "qwen2";
  expect_bad("is a llama model");
  o.arch = "";
  o.shape = "nope";
  expect_bad("unknown shape 'nope'; known shapes: tiny, tiny-kq");
  o.shape = "tiny";
  o.arch = "llama";
  o.type = TensorType::Q2_K;
  expect_bad("cannot write weights of type Q2_K");
  o.type = TensorType::F16;
  o.vocab_path = dir.file("missing.gguf");
  expect_bad("missing.gguf: cannot open");
  o.vocab_path = test::testdata("models/llama-spm-tiny.gguf");
  o.out_path = dir.file("no/such/dir/m.gguf");
  expect_bad("cannot create");
}

}  // namespace
}  // namespace tessera::engine
