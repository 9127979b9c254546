// LlmModel::load on files it must refuse, each with a message that names the problem.
#include "llm_test_util.h"

namespace tessera::test {
namespace {

using engine::LlmModel;

TEST(LlmLoadTest, RefusesAnEncoderNamingTheSupportedArchitectures) {
  auto m = LlmModel::load(model_path("bert-tiny"));
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.error().code, ErrorCode::unsupported);
  EXPECT_NE(m.error().message.find("\"bert\""), std::string::npos) << m.error().message;
  EXPECT_NE(m.error().message.find("llama, qwen2"), std::string::npos) << m.error().message;
}

TEST(LlmLoadTest, RefusesAMissingFile) {
  auto m = LlmModel::load(testdata("models/no-such-model.gguf"));
  ASSERT_FALSE(m.ok());
}

TEST(LlmLoadTest, NamesAMissingTensor) {
  TempDir dir;
  const std::string path = dir.file("missing.gguf");
  copy_model(model_path("llama-spm-tiny"), path,
             [](const gguf::TensorInfo& t, auto&) { return t.name != "blk.1.ffn_up.weight"; });
  auto m = LlmModel::load(path);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.error().message.find("blk.1.ffn_up.weight is missing"), std::string::npos)
      << m.error().message;
  EXPECT_NE(m.error().message.find("[64, 192]"), std::string::npos) << m.error().message;
}

TEST(LlmLoadTest, NamesAWrongShapeWithBothShapes) {
  TempDir dir;
  const std::string path = dir.file("misshaped.gguf");
  copy_model(model_path("llama-spm-tiny"), path, [](const gguf::TensorInfo& t, auto& ne) {
    if (t.name == "blk.2.attn_k.weight") ne = {64, 64};
    return true;
  });
  auto m = LlmModel::load(path);
  ASSERT_FALSE(m.ok());
  const std::string& msg = m.error().message;
  EXPECT_NE(msg.find("blk.2.attn_k.weight has shape [64, 64], expected [64, 32]"),
            std::string::npos)
      << msg;
}

TEST(LlmLoadTest, QwenNeedsItsBiases) {
  TempDir dir;
  const std::string path = dir.file("nobias.gguf");
  copy_model(model_path("qwen2-tiny"), path,
             [](const gguf::TensorInfo& t, auto&) { return t.name != "blk.0.attn_v.bias"; });
  auto m = LlmModel::load(path);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.error().message.find("blk.0.attn_v.bias is missing"), std::string::npos)
      << m.error().message;
}

TEST(LlmLoadTest, NanInTheLogitsIsReportedAndUndone) {
  TempDir dir;
  const std::string path = dir.file("nan.gguf");
  copy_model(
      model_path("llama-spm-tiny"), path, [](const gguf::TensorInfo&, auto&) { return true; },
      "output_norm.weight");
  auto m = LlmModel::load(path);
  ASSERT_TRUE(m.ok()) << m.error().message;
  auto ctx = make_context(*m, 1, 16);
  engine::Batch b;
  b.add(1, 0, 0, false);
  b.add(2, 0, 1, true);
  const Status s = ctx->decode(b);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("NaN in the logits of batch entry 1"), std::string::npos)
      << s.error().message;
  EXPECT_EQ(ctx->n_cells_used(), 0);
  EXPECT_EQ(ctx->sequence_length(0), 0);
  EXPECT_TRUE(ctx->logits(1).empty());
}

TEST(LlmLoadTest, ReportsTheModelsShape) {
  auto m = load_model("llama-spm-tiny");
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->architecture(), "llama");
  EXPECT_EQ(m->n_vocab(), 32000);
  EXPECT_EQ(m->n_embd(), 64);
  EXPECT_EQ(m->n_layer(), 3);
  EXPECT_EQ(m->n_ctx_train(), 256);
  EXPECT_EQ(m->tokenizer().vocab_size(), 32000u);
  auto ctx = engine::LlmContext::create(m);
  ASSERT_TRUE(ctx.ok());
  EXPECT_EQ((*ctx)->n_ctx(), 256);  // min(n_ctx_train, 4096)
}

}  // namespace
}  // namespace tessera::test
