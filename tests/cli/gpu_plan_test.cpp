// `tessera gpu plan` on GGUF files of real 7B/8B shapes: written by `tessera model synth
// --fill none`, they have the real size and tensor table but their data is a hole of a sparse
// file, so a 16 GB model costs no disk and no time. Each model's need is checked against
// `tessera model info` of the same file, and the plans against the profile tables.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "support/test_support.h"

namespace tessera {
namespace {

using nlohmann::json;

constexpr uint64_t kMiB = 1024 * 1024;
constexpr uint64_t kReserve = 512 * kMiB;

// Sparse model files shared by the tests of this file.
class CliGpuPlan : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new test::TempDir();
    synth("llama-2-7b", "Q4_K", "llama-spm", "llama-2-7b-q4.gguf");
    synth("llama-3-8b", "Q4_K", "llama-bpe", "llama-3-8b-q4.gguf");
    synth("llama-3-8b", "BF16", "llama-bpe", "llama-3-8b-bf16.gguf");
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  static void synth(const std::string& shape, const std::string& type, const std::string& vocab,
                    const std::string& name) {
    const auto r = test::tessera("model synth --shape " + shape + " --type " + type + " --vocab " +
                                     test::testdata("vocab/ggml-vocab-" + vocab + ".gguf") +
                                     " --out " + dir_->file(name) + " --fill none",
                                 true);
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }
  static std::string model(const std::string& name) { return dir_->file(name); }

  // `tessera model info --json` total for a file and context.
  static uint64_t estimate(const std::string& name, const std::string& opts = "") {
    // The plan estimates for a CUDA device, as `model info --device cuda` does.
    const auto r = test::tessera("model info " + model(name) + " --json --device cuda " + opts);
    EXPECT_EQ(r.exit_code, 0) << r.output;
    return json::parse(r.output)["memory"]["total_bytes"].get<uint64_t>();
  }

  static json plan(const std::string& args) {
    const auto r = test::tessera("gpu plan --json " + args, true);
    EXPECT_EQ(r.exit_code, 0) << r.output;
    return json::parse(r.output, nullptr, false);
  }

  static test::TempDir* dir_;
};
test::TempDir* CliGpuPlan::dir_ = nullptr;

// The issue's example: three 7B-class Q4 models on an A100-40GB. A Llama-2-7B Q4_K at its 4096
// context needs about 6.4 GiB (3.6 GiB weights, 2 GiB f16 KV cache with 32 KV heads, compute
// buffers, the 512 MiB reserve): too much for a 1g.5gb (4.75 GiB), so one 2-slice instance
// each; of those, the 2g.10gb leaves no SM idle.
TEST_F(CliGpuPlan, ThreeSevenBQ4ModelsOnAnA100Take3x2g10gb) {
  const std::string m = model("llama-2-7b-q4.gguf");
  const json j = plan("--gpu A100-40GB --model " + m + " --model " + m + " --model " + m);
  ASSERT_FALSE(j.is_discarded());
  EXPECT_EQ(j["schema"], "tessera.gpu-plan.v1");
  EXPECT_EQ(j["gpu"]["name"], "A100-40GB");
  EXPECT_EQ(j["reserve_bytes"], kReserve);
  EXPECT_TRUE(j["proven_best"].get<bool>());
  ASSERT_EQ(j["gpus"].size(), 1u);
  const json& g = j["gpus"][0];
  EXPECT_EQ(g["layout"], json::parse(R"({"2g.10gb": 3})"));
  EXPECT_EQ(g["compute_slices_used"], 6);
  EXPECT_EQ(g["memory_slices_used"], 6);
  EXPECT_EQ(g["room"], json::parse(R"({"1g.5gb": 1, "1g.10gb": 1})"));
  const uint64_t need = estimate("llama-2-7b-q4.gguf") + kReserve;
  EXPECT_GT(need, 4864 * kMiB);  // no 1g.5gb
  EXPECT_LT(need, 9856 * kMiB);
  ASSERT_EQ(j["models"].size(), 3u);
  const char* labels[] = {"llama-2-7b-q4.gguf", "llama-2-7b-q4.gguf#2", "llama-2-7b-q4.gguf#3"};
  for (int i = 0; i < 3; ++i) {
    const json& mj = j["models"][i];
    EXPECT_EQ(mj["label"], labels[i]);
    EXPECT_EQ(mj["context"], 4096);
    EXPECT_EQ(mj["parallel"], 1);
    EXPECT_EQ(mj["need_bytes"].get<uint64_t>(), need);
    EXPECT_EQ(mj["profile"], "2g.10gb");
    EXPECT_EQ(mj["start_slice"], 2 * i);
    EXPECT_EQ(mj["memory_bytes"], 9856 * kMiB);
    EXPECT_NEAR(mj["utilization"].get<double>(), double(need) / double(9856 * kMiB), 1e-9);
    EXPECT_EQ(mj["k8s_resource"], "nvidia.com/mig-2g.10gb");
  }
  EXPECT_EQ(j["totals"]["instances"], 3);
  EXPECT_EQ(j["totals"]["need_bytes"].get<uint64_t>(), 3 * need);
  EXPECT_EQ(j["mig_parted"]["yaml"],
            "version: v1\nmig-configs:\n  tessera-plan:\n    - devices: [0]\n"
            "      mig-enabled: true\n      mig-devices:\n        \"2g.10gb\": 3\n");
  EXPECT_EQ(j["kubernetes"]["requests"][2],
            json::parse(R"({"model": "llama-2-7b-q4.gguf#3", "resource":
                            "nvidia.com/mig-2g.10gb", "count": 1})"));
}

TEST_F(CliGpuPlan, TextOutputShowsTheTableConfigAndResources) {
  const std::string m = model("llama-2-7b-q4.gguf");
  const auto r = test::tessera("gpu plan --gpu a100-40gb --model " + m + " --model " + m, true);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (const char* want :
       {"MIG plan: 2 models on 1 x A100-40GB", "llama-2-7b-q4.gguf#2", "4096 x 1", "2g.10gb",
        "9.62 GiB", "GPU 0: 2 x 2g.10gb; compute 4/7 slices, memory 4/8 slices",
        "room left: 3 more 1g.5gb, or 2 more 1g.10gb, or 1 more 2g.10gb, or 1 more 3g.20gb",
        "nvidia-mig-parted apply -f FILE -c tessera-plan", "\"2g.10gb\": 2",
        "resources: {limits: {nvidia.com/mig-2g.10gb: 1}}"}) {
    EXPECT_NE(r.output.find(want), std::string::npos) << want << "\n" << r.output;
  }
}

// An 8B BF16 model (15 GiB of weights) on an H200: more than a 1g.18gb's 16 GiB, so a 35gb
// instance; seven 8B Q4 models fill one H200 with 1g.18gb instances, the eighth opens another.
TEST_F(CliGpuPlan, H200TakesEightBModels) {
  const uint64_t bf16 = estimate("llama-3-8b-bf16.gguf") + kReserve;
  EXPECT_GT(bf16, 16384 * kMiB);
  json j = plan("--gpu H200 --model " + model("llama-3-8b-bf16.gguf"));
  EXPECT_EQ(j["models"][0]["profile"], "2g.35gb");
  EXPECT_EQ(j["models"][0]["need_bytes"].get<uint64_t>(), bf16);

  std::string seven;
  for (int i = 0; i < 7; ++i) seven += " --model " + model("llama-3-8b-q4.gguf");
  j = plan("--gpu h200-141gb" + seven);
  ASSERT_EQ(j["gpus"].size(), 1u);
  EXPECT_EQ(j["gpus"][0]["layout"], json::parse(R"({"1g.18gb": 7})"));
  EXPECT_TRUE(j["gpus"][0]["room"].empty());
  j = plan("--gpu H200-141GB" + seven + " --model " + model("llama-3-8b-q4.gguf"));
  ASSERT_EQ(j["gpus"].size(), 2u);
  EXPECT_EQ(j["gpus"][1]["layout"], json::parse(R"({"1g.18gb": 1})"));
  EXPECT_NE(j["mig_parted"]["yaml"].get<std::string>().find("- devices: [1]"), std::string::npos);

  const auto r = test::tessera(
      "gpu plan --gpu H200 --gpus 1" + seven + " --model " + model("llama-3-8b-q4.gguf"), true);
  EXPECT_EQ(r.exit_code, 7) << r.output;
  EXPECT_NE(r.output.find("the 8 models need at least 2 H200-141GB GPUs"), std::string::npos)
      << r.output;
}

// The issue's "fits nowhere" case: an 8B BF16 model does not fit a 10 GB slice.
TEST_F(CliGpuPlan, EightBBf16FitsNoTenGigabyteSlice) {
  const auto r = test::tessera(
      "gpu plan --gpu A100-80GB --profile 1g.10gb --model " + model("llama-3-8b-bf16.gguf"), true);
  EXPECT_EQ(r.exit_code, 7) << r.output;
  for (const char* want :
       {"model 'llama-3-8b-bf16.gguf' fits no MIG instance of an A100-80GB: it needs ",
        "context 4096 x 1, f16 KV: weights 14.96 GiB",
        "the largest allowed profile, 1g.10gb, "
        "has 9.50 GiB",
        "a more quantized file",
        "the A100-80GB's 1g.20gb profile (19.50 GiB), which the allowed profiles leave out"}) {
    EXPECT_NE(r.output.find(want), std::string::npos) << want << "\n" << r.output;
  }
  // Its weights alone exceed the slice: a smaller context is no way out.
  EXPECT_NE(r.output.find("Its weights alone take 14.96 GiB, so a smaller context cannot make "
                          "it fit."),
            std::string::npos)
      << r.output;
  EXPECT_EQ(r.output.find("a smaller context or fewer"), std::string::npos) << r.output;
}

// Too big for the whole GPU: four sequences of 64k tokens of an 8B BF16 model on an A100-40GB.
TEST_F(CliGpuPlan, AModelTooBigForTheWholeGpuSaysWhereItFits) {
  const auto r = test::tessera(
      "gpu plan --gpu A100-40GB --model " + model("llama-3-8b-bf16.gguf") + ":65536:4", true);
  EXPECT_EQ(r.exit_code, 7) << r.output;
  for (const char* want :
       {"fits no MIG instance of an A100-40GB", "context 65536 x 4",
        "the largest profile, 7g.40gb, has 39.25 GiB",
        "a smaller context or fewer parallel sequences", "a GPU where it fits: ", "H200-141GB"}) {
    EXPECT_NE(r.output.find(want), std::string::npos) << want << "\n" << r.output;
  }
}

TEST_F(CliGpuPlan, RejectsBadArguments) {
  const std::string m = model("llama-2-7b-q4.gguf");
  auto expect_error = [](const std::string& args, int code, const std::string& what) {
    const auto r = test::tessera("gpu plan " + args, true);
    EXPECT_EQ(r.exit_code, code) << args << "\n" << r.output;
    EXPECT_NE(r.output.find(what), std::string::npos) << args << "\n" << r.output;
  };
  expect_error("--gpu T4 --model " + m, 2, "unknown GPU 'T4'; the MIG-capable GPUs Tessera knows");
  expect_error("--gpu A100 --model " + m, 2, "name one: A100-40GB or A100-80GB");
  expect_error("--gpu A100-40GB --model " + m + ":abc", 2,
               "the context 'abc' is not a positive whole number");
  expect_error("--gpu A100-40GB --model " + m + ":0", 2, "the context must be at least 1");
  expect_error("--gpu A100-40GB --model " + m + ":-4096", 2, "is not a positive whole number");
  expect_error("--gpu A100-40GB --model " + m + ":99999999999", 2,
               "the context 99999999999 is too large (at most 16777216)");
  expect_error("--gpu A100-40GB --model " + m + ":4096:0", 2,
               "the parallel count must be at least 1");
  expect_error("--gpu A100-40GB --model " + m + ":1:2:3", 2, "expected FILE[:CTX[:PARALLEL]]");
  expect_error("--gpu A100-40GB --model :4096", 2, "expected FILE[:CTX[:PARALLEL]]");
  expect_error("--gpu A100-40GB --model " + m + " --profile 2g.20gb", 2,
               "the A100-40GB has no MIG profile '2g.20gb'; its profiles: 1g.5gb, 1g.10gb");
  expect_error("--gpu A100-40GB --model /no/such/model.gguf", 3, "/no/such/model.gguf");
  expect_error("--gpu A100-40GB", 2, "--model is required");
}

TEST_F(CliGpuPlan, DefaultContextAndParallelCanBeGiven) {
  const std::string m = model("llama-3-8b-q4.gguf");
  const json j = plan("--gpu A100-80GB --model " + m + "::2 --model " + m + ":8192");
  ASSERT_EQ(j["models"].size(), 2u);
  EXPECT_EQ(j["models"][0]["context"], 4096);
  EXPECT_EQ(j["models"][0]["parallel"], 2);
  EXPECT_EQ(j["models"][0]["estimate_bytes"].get<uint64_t>(),
            estimate("llama-3-8b-q4.gguf", "--ctx 4096 --parallel 2"));
  EXPECT_EQ(j["models"][1]["context"], 8192);
  EXPECT_EQ(j["models"][1]["estimate_bytes"].get<uint64_t>(),
            estimate("llama-3-8b-q4.gguf", "--ctx 8192"));
}

}  // namespace
}  // namespace tessera
