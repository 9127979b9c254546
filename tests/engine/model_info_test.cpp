// `model info` figures for every model and vocabulary file in shared/testdata, against the
// facts in shared/testdata/README.md and the files' own metadata.
#include "engine/model_info.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "support/test_support.h"

namespace tessera::engine {
namespace {

struct Expected {
  std::string file;
  std::string arch;
  ModelKind kind;
  int64_t layers, ctx, embd, ff, heads, heads_kv, head_dim, vocab;
  std::string tok_kind, pre;
  uint64_t merges;
  int64_t bos, eos;
  bool chat_template;
  std::string file_type;
  uint64_t tensors;
};

ModelInfo info_of(const std::string& path) {
  auto f = gguf::GgufFile::open(path);
  EXPECT_TRUE(f.ok()) << (f.ok() ? "" : f.error().message);
  auto m = read_model_info(*f);
  EXPECT_TRUE(m.ok()) << (m.ok() ? "" : m.error().message);
  return m.value();
}

void check(const Expected& e) {
  SCOPED_TRACE(e.file);
  const std::string path = test::testdata(e.file);
  ModelInfo m = info_of(path);
  EXPECT_EQ(m.file_size, std::filesystem::file_size(path));
  EXPECT_EQ(m.gguf_version, 3u);
  EXPECT_EQ(m.arch, e.arch);
  EXPECT_EQ(m.kind, e.kind);
  EXPECT_EQ(m.n_layer, e.layers);
  EXPECT_EQ(m.n_ctx_train, e.ctx);
  EXPECT_EQ(m.n_embd, e.embd);
  EXPECT_EQ(m.n_ff, e.ff);
  EXPECT_EQ(m.n_head, e.heads);
  EXPECT_EQ(m.n_head_kv, e.heads_kv);
  EXPECT_EQ(m.head_dim_k, e.head_dim);
  EXPECT_EQ(m.head_dim_v, e.head_dim);
  EXPECT_EQ(m.n_vocab, e.vocab);
  EXPECT_EQ(m.tokenizer.n_tokens, static_cast<uint64_t>(e.vocab));
  EXPECT_EQ(m.tokenizer.kind, e.tok_kind);
  EXPECT_EQ(m.tokenizer.pre, e.pre);
  EXPECT_EQ(m.tokenizer.n_merges, e.merges);
  EXPECT_EQ(m.tokenizer.bos, e.bos);
  EXPECT_EQ(m.tokenizer.eos, e.eos);
  EXPECT_EQ(m.tokenizer.has_chat_template, e.chat_template);
  EXPECT_EQ(m.file_type, e.file_type);
  EXPECT_EQ(m.n_tensors, e.tensors);
  EXPECT_EQ(m.vocab_only, e.tensors == 0);
}

const auto kDec = ModelKind::decoder;
const auto kEnc = ModelKind::encoder;
const char* kSpm = "SentencePiece";
const char* kBpe = "byte-level BPE";

TEST(ModelInfo, TestModels) {
  const std::vector<Expected> models = {
      {"models/llama-spm-tiny.gguf", "llama", kDec, 3, 256, 64, 192, 4, 2, 16, 32000, kSpm,
       "default", 0, 1, 2, false, "F32", 1 + 3 * 9 + 1},
      {"models/llama-spm-tiny-q4_0.gguf", "llama", kDec, 2, 256, 64, 192, 4, 2, 16, 32000, kSpm,
       "default", 0, 1, 2, false, "Q4_0", 1 + 2 * 9 + 2},
      {"models/llama-bpe-tiny.gguf", "llama", kDec, 2, 256, 64, 192, 4, 2, 16, 128256, kBpe,
       "llama-bpe", 280147, 128000, 128001, false, "F16", 1 + 2 * 9 + 1},
      {"models/qwen2-tiny.gguf", "qwen2", kDec, 2, 256, 64, 160, 4, 2, 16, 151936, kBpe, "qwen2",
       151387, 151643, 151643, true, "Q8_0", 1 + 2 * 12 + 1},
      {"models/bert-tiny.gguf", "bert", kEnc, 2, 256, 64, 128, 4, 4, 16, 30522, "WordPiece",
       "bert-bge", 0, -1, -1, false, "F16", 5 + 2 * 16},
      {"models/bert-rerank-tiny.gguf", "bert", kEnc, 2, 256, 64, 128, 4, 4, 16, 30522, "WordPiece",
       "bert-bge", 0, 101, 102, false, "F16", 5 + 2 * 16 + 4},
      {"models/llama-kq-tiny.gguf", "llama", kDec, 2, 256, 256, 512, 4, 2, 64, 32000, kSpm,
       "default", 0, 1, 2, false, "F16", 1 + 2 * 9 + 2},
      {"models/llama-kq-tiny-Q4_K_M.gguf", "llama", kDec, 2, 256, 256, 512, 4, 2, 64, 32000, kSpm,
       "default", 0, 1, 2, false, "Q4_K_M", 1 + 2 * 9 + 2},
      {"models/llama-kq-tiny-Q3_K_M.gguf", "llama", kDec, 2, 256, 256, 512, 4, 2, 64, 32000, kSpm,
       "default", 0, 1, 2, false, "Q3_K_M", 1 + 2 * 9 + 2},
      {"models/llama-kq-tiny-Q2_K.gguf", "llama", kDec, 2, 256, 256, 512, 4, 2, 64, 32000, kSpm,
       "default", 0, 1, 2, false, "Q2_K", 1 + 2 * 9 + 2},
  };
  for (const auto& e : models) check(e);
}

TEST(ModelInfo, VocabularyFiles) {
  const std::vector<Expected> vocabs = {
      {"vocab/ggml-vocab-llama-spm.gguf", "llama", kDec, 32, 4096, 4096, 11008, 32, 32, 128, 32000,
       kSpm, "default", 0, 1, 2, false, "F16", 0},
      {"vocab/ggml-vocab-phi-3.gguf", "phi3", kDec, 32, 4096, 3072, 8192, 32, 32, 96, 32064, kSpm,
       "default", 0, 1, 32000, true, "F16", 0},
      {"vocab/ggml-vocab-llama-bpe.gguf", "llama", kDec, 0, 0, 0, 0, 0, 0, 0, 128256, kBpe,
       "llama-bpe", 280147, 128000, 128001, false, "", 0},
      {"vocab/ggml-vocab-qwen2.gguf", "qwen2", kDec, 0, 0, 0, 0, 0, 0, 0, 151936, kBpe, "qwen2",
       151387, 151643, 151643, true, "", 0},
      {"vocab/ggml-vocab-gpt-2.gguf", "gpt2", kDec, 12, 1024, 768, 3072, 12, 12, 64, 50257, kBpe,
       "gpt-2", 50000, 50256, 50256, false, "F16", 0},
      {"vocab/ggml-vocab-deepseek-llm.gguf", "llama", kDec, 30, 4096, 4096, 11008, 32, 32, 128,
       102400, kBpe, "deepseek-llm", 99757, 100000, 100001, false, "F16", 0},
      {"vocab/ggml-vocab-deepseek-coder.gguf", "llama", kDec, 32, 16384, 4096, 11008, 32, 32, 128,
       32256, kBpe, "deepseek-coder", 31757, 32013, 32014, false, "F16", 0},
      {"vocab/ggml-vocab-falcon.gguf", "falcon", kDec, 32, 2048, 4544, 18176, 71, 1, 64, 65024,
       kBpe, "falcon", 64784, 11, 11, false, "F16", 0},
      {"vocab/ggml-vocab-starcoder.gguf", "starcoder2", kDec, 30, 16384, 3072, 12288, 24, 2, 128,
       49152, kBpe, "starcoder", 48872, 0, 0, false, "F16", 0},
      {"vocab/ggml-vocab-bert-bge.gguf", "bert", kEnc, 12, 512, 384, 1536, 12, 12, 32, 30522,
       "WordPiece", "bert-bge", 0, -1, -1, false, "F16", 0},
  };
  for (const auto& e : vocabs) check(e);
}

// Parameter counts from the architectures' formulas, independent of the tensor table.
TEST(ModelInfo, ParameterCountsFollowTheArchitecture) {
  auto decoder = [](int64_t V, int64_t E, int64_t L, int64_t kv, int64_t F, bool tied, bool bias) {
    const int64_t layer = E + E * E + 2 * E * kv + E * E + E + 3 * E * F + (bias ? E + 2 * kv : 0);
    return static_cast<uint64_t>(V * E + L * layer + E + (tied ? 0 : V * E));
  };
  auto bert = [](int64_t V, int64_t E, int64_t L, int64_t F, int64_t C, bool rank) {
    const int64_t layer = 4 * (E * E + E) + 2 * E + (E * F + F) + (F * E + E) + 2 * E;
    return static_cast<uint64_t>(V * E + 2 * E + C * E + 2 * E + L * layer +
                                 (rank ? E * E + E + E + 1 : 0));
  };
  EXPECT_EQ(info_of(test::testdata("models/llama-spm-tiny.gguf")).n_params,
            decoder(32000, 64, 3, 32, 192, true, false));
  EXPECT_EQ(info_of(test::testdata("models/llama-spm-tiny-q4_0.gguf")).n_params,
            decoder(32000, 64, 2, 32, 192, false, false));
  EXPECT_EQ(info_of(test::testdata("models/qwen2-tiny.gguf")).n_params,
            decoder(151936, 64, 2, 32, 160, true, true));
  EXPECT_EQ(info_of(test::testdata("models/llama-kq-tiny-Q2_K.gguf")).n_params,
            decoder(32000, 256, 2, 128, 512, false, false));
  EXPECT_EQ(info_of(test::testdata("models/bert-tiny.gguf")).n_params,
            bert(30522, 64, 2, 128, 256, false));
  EXPECT_EQ(info_of(test::testdata("models/bert-rerank-tiny.gguf")).n_params,
            bert(30522, 64, 2, 128, 256, true));
}

TEST(ModelInfo, TypeMixOfAQuantizedMix) {
  // llama-kq-tiny-Q4_K_M: output Q6_K, token_embd Q4_K, blk.1 attn_v and ffn_down Q6_K,
  // the other 12 matrices Q4_K, 5 vectors F32 (testdata README).
  ModelInfo m = info_of(test::testdata("models/llama-kq-tiny-Q4_K_M.gguf"));
  std::map<std::string, uint64_t> count;
  uint64_t bytes = 0;
  for (const auto& t : m.type_mix) {
    count[t.type] = t.tensors;
    bytes += t.bytes;
  }
  EXPECT_EQ(count["Q6_K"], 3u);
  EXPECT_EQ(count["Q4_K"], 13u);
  EXPECT_EQ(count["F32"], 5u);
  EXPECT_EQ(bytes, m.weight_bytes);
  EXPECT_EQ(m.type_mix.size(), 3u);
  EXPECT_GE(m.type_mix[0].bytes, m.type_mix[1].bytes);
}

TEST(ModelInfo, RejectsFilesThatAreNotModelsOrLieAboutTheirShape) {
  auto parse_info = [](gguf::Writer& w) -> Result<ModelInfo> {
    static std::vector<uint8_t> bytes;
    bytes = *w.write_to_buffer();
    auto f = gguf::GgufFile::parse(bytes.data(), bytes.size(), "x.gguf");
    EXPECT_TRUE(f.ok());
    return read_model_info(*f);
  };
  gguf::Writer none;
  auto r = parse_info(none);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("'general.architecture' is missing"), std::string::npos);

  gguf::Writer wrong;
  wrong.set_string("general.architecture", "llama");
  wrong.set_string("llama.block_count", "32");
  r = parse_info(wrong);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("'llama.block_count' is string"), std::string::npos);

  gguf::Writer absurd;
  absurd.set_string("general.architecture", "llama");
  absurd.set_u64("llama.block_count", 1ull << 40);
  r = parse_info(absurd);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("implausible"), std::string::npos);

  gguf::Writer per_layer;
  per_layer.set_string("general.architecture", "x");
  per_layer.set_u32("x.block_count", 3);
  per_layer.set_i32_array("x.attention.head_count_kv", {1, 2});
  r = parse_info(per_layer);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("expected one per layer (3)"), std::string::npos);
}

TEST(ModelInfo, PerLayerHeadCounts) {
  gguf::Writer w;
  w.set_string("general.architecture", "x");
  w.set_u32("x.block_count", 3);
  w.set_u32("x.embedding_length", 512);
  w.set_i32_array("x.attention.head_count", {8, 8, 16});
  w.set_i32_array("x.attention.head_count_kv", {1, 2, 4});
  auto bytes = *w.write_to_buffer();
  auto f = gguf::GgufFile::parse(bytes.data(), bytes.size(), "x.gguf");
  ASSERT_TRUE(f.ok());
  auto m = read_model_info(*f);
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ(m->n_head, 16);
  EXPECT_EQ(m->n_head_kv, 4);
  EXPECT_EQ(m->n_head_kv_per_layer, (std::vector<int64_t>{1, 2, 4}));
  EXPECT_FALSE(m->known_arch);
  EXPECT_EQ(m->kind, ModelKind::decoder);
}

}  // namespace
}  // namespace tessera::engine
