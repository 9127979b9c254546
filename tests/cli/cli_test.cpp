// The `tessera` binary as a user runs it: model info in text and JSON, exit codes and error
// messages for bad input, model synth end to end.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "support/test_support.h"

namespace tessera {
namespace {

using nlohmann::json;
using test::tessera;

TEST(Cli, ModelInfoJsonForEveryTestFile) {
  std::vector<std::string> files;
  for (const auto& m : test::testdata_models()) files.push_back("models/" + m + ".gguf");
  for (const auto& v : test::testdata_vocabs()) files.push_back("vocab/ggml-vocab-" + v + ".gguf");
  for (const auto& f : files) {
    SCOPED_TRACE(f);
    auto r = tessera("model info --json " + test::testdata(f));
    ASSERT_EQ(r.exit_code, 0);
    json j = json::parse(r.output);
    EXPECT_EQ(j["schema"], "tessera.model-info.v1");
    EXPECT_EQ(j["file"]["path"], test::testdata(f));
    for (const char* k : {"file", "model", "tokenizer", "tensors", "memory"}) {
      EXPECT_TRUE(j.contains(k)) << k;
    }
    const auto& mem = j["memory"];
    EXPECT_EQ(mem["device"], "cpu");
    EXPECT_EQ(mem["total_bytes"].get<uint64_t>(),
              mem["weights_bytes"].get<uint64_t>() + mem["weight_copies_bytes"].get<uint64_t>() +
                  mem["kv_cache_bytes"].get<uint64_t>() + mem["compute_bytes"].get<uint64_t>() +
                  mem["overhead_bytes"].get<uint64_t>());
    EXPECT_EQ(mem["host_bytes"], 0) << "on the CPU the host memory is the total";
  }
}

TEST(Cli, ModelInfoMemoryOnCuda) {
  const std::string model = test::testdata("models/qwen2-tiny.gguf");
  auto cpu = tessera("model info --json " + model);
  auto cuda = tessera("model info --json --device cuda " + model);
  ASSERT_EQ(cpu.exit_code, 0);
  ASSERT_EQ(cuda.exit_code, 0);
  const json c = json::parse(cpu.output)["memory"];
  const json g = json::parse(cuda.output)["memory"];
  EXPECT_EQ(g["device"], "cuda");
  EXPECT_EQ(g["weights_bytes"], c["weights_bytes"]);
  EXPECT_EQ(g["kv_cache_bytes"], c["kv_cache_bytes"]);
  EXPECT_EQ(g["weight_copies_bytes"], 0) << "a GPU multiplies the weights as stored";
  EXPECT_GT(c["weight_copies_bytes"].get<uint64_t>(), 0u) << "the tied output's copy";
  EXPECT_GE(g["overhead_bytes"].get<uint64_t>(), 32u << 20) << "the cuBLAS workspace";
  EXPECT_GT(g["host_bytes"].get<uint64_t>(), 0u) << "the tokenizer stays on the host";
  auto text = tessera("model info --device cuda " + model);
  ASSERT_EQ(text.exit_code, 0);
  EXPECT_NE(text.output.find("on cuda"), std::string::npos) << text.output;
  EXPECT_NE(text.output.find("+ host"), std::string::npos) << text.output;
  auto upper = tessera("model info --json --device CUDA " + model);
  ASSERT_EQ(upper.exit_code, 0);
  EXPECT_EQ(json::parse(upper.output)["memory"]["device"], "cuda");
  EXPECT_EQ(tessera("model info --device tpu " + model, true).exit_code, 2);
}

TEST(Cli, ModelInfoFiguresAndOptions) {
  auto r = tessera("model info --json --ctx 128 --parallel 3 " +
                   test::testdata("models/qwen2-tiny.gguf"));
  ASSERT_EQ(r.exit_code, 0);
  json j = json::parse(r.output);
  EXPECT_EQ(j["model"]["architecture"], "qwen2");
  EXPECT_EQ(j["model"]["parameters"], 9810496);
  EXPECT_EQ(j["model"]["layers"], 2);
  EXPECT_EQ(j["model"]["kv_heads"], 2);
  EXPECT_EQ(j["tokenizer"]["kind"], "byte-level BPE");
  EXPECT_EQ(j["tokenizer"]["chat_template"], true);
  EXPECT_EQ(j["tensors"]["count"], 26);
  EXPECT_EQ(j["memory"]["context"], 128);
  EXPECT_EQ(j["memory"]["parallel"], 3);
  EXPECT_EQ(j["memory"]["kv_cache_bytes"], 384 * 2 * 2 * 32 * 2);
  auto t = tessera("model info " + test::testdata("models/llama-kq-tiny-Q4_K_M.gguf"));
  ASSERT_EQ(t.exit_code, 0);
  EXPECT_NE(t.output.find("file type     Q4_K_M"), std::string::npos) << t.output;
  EXPECT_NE(t.output.find("Q6_K"), std::string::npos);
  EXPECT_NE(t.output.find("KV cache"), std::string::npos);
}

TEST(Cli, BadInputGetsAClearErrorAndExitCode) {
  test::TempDir dir;
  const std::string bad = dir.file("bad.gguf");
  test::write_file(bad, {'G', 'G', 'U', 'F', 3, 0, 0, 0, 1});
  auto r = tessera("model info " + bad, true);
  EXPECT_EQ(r.exit_code, 5);
  EXPECT_NE(r.output.find("tessera: error: " + bad + ": at byte 8: expected the tensor count"),
            std::string::npos)
      << r.output;
  r = tessera("model info " + dir.file("missing.gguf"), true);
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.output.find("missing.gguf: cannot open"), std::string::npos);
  r = tessera("model info --ctx 0 " + bad, true);
  EXPECT_EQ(r.exit_code, 2);
  r = tessera("model frobnicate", true);
  EXPECT_EQ(r.exit_code, 2);
  r = tessera("model info", true);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(tessera("--help").exit_code, 0);
  EXPECT_EQ(tessera("--version").exit_code, 0);
}

TEST(Cli, SynthThenInfo) {
  test::TempDir dir;
  const std::string out = dir.file("m.gguf");
  auto r = tessera("model synth --arch qwen2 --shape tiny --type Q8_0 --vocab " +
                   test::testdata("vocab/ggml-vocab-qwen2.gguf") + " --out " + out);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("wrote " + out), std::string::npos);
  auto i = tessera("model info --json " + out);
  ASSERT_EQ(i.exit_code, 0);
  json j = json::parse(i.output);
  EXPECT_EQ(j["model"]["architecture"], "qwen2");
  EXPECT_EQ(j["model"]["file_type"], "Q8_0");
  EXPECT_EQ(j["model"]["vocab_size"], 151936);
  auto list = tessera("model synth --list");
  EXPECT_EQ(list.exit_code, 0);
  EXPECT_NE(list.output.find("llama-3-8b"), std::string::npos);
  auto bad = tessera("model synth --shape tiny --vocab x --out y", true);
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.output.find("--arch"), std::string::npos);
}

}  // namespace
}  // namespace tessera
