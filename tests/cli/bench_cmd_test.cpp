// `tessera bench` as a user runs it: the JSON shape and sane figures (timings are never
// asserted: they depend on the machine), the bandwidth probe, clear refusals of bad options.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "support/test_support.h"

namespace tessera {
namespace {

using nlohmann::json;
using test::tessera;

const std::string kModel = test::testdata("models/llama-spm-tiny.gguf");

void expect_stats(const json& s, int tokens, size_t runs) {
  ASSERT_TRUE(s.is_object()) << s;
  EXPECT_EQ(s["tokens"], tokens);
  ASSERT_EQ(s["runs"].size(), runs);
  const double median = s["tokens_per_s"].get<double>();
  EXPECT_GT(s["min"].get<double>(), 0);
  EXPECT_LE(s["min"].get<double>(), median);
  EXPECT_LE(median, s["max"].get<double>());
  EXPECT_GE(s["mean"].get<double>(), s["min"].get<double>());
  EXPECT_LE(s["mean"].get<double>(), s["max"].get<double>());
  EXPECT_GE(s["stddev"].get<double>(), 0);
  for (const auto& r : s["runs"]) EXPECT_GT(r.get<double>(), 0);
}

TEST(CliBench, JsonShapeAndFigures) {
  auto r = tessera("bench --model " + kModel + " -p 16 -n 4 -r 2 -t 2 --json --no-bandwidth");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const json j = json::parse(r.output);
  EXPECT_EQ(j["model"], kModel);
  EXPECT_GT(j["model_bytes"].get<uint64_t>(), 0u);
  EXPECT_GT(j["params"].get<uint64_t>(), 0u);
  EXPECT_EQ(j["threads"], 2);
  expect_stats(j["pp"], 16, 2);
  expect_stats(j["tg"], 4, 2);
  EXPECT_TRUE(j["bandwidth_gb_per_s"].is_null());
  EXPECT_TRUE(j["tg_bandwidth_fraction"].is_null());
  // Every tensor but the (untied) token embedding is read once per generated token.
  EXPECT_GT(j["tg_weight_bytes_per_token"].get<uint64_t>(), 0u);
  EXPECT_LE(j["tg_weight_bytes_per_token"].get<uint64_t>(), j["model_bytes"].get<uint64_t>());
}

TEST(CliBench, SkippedTestIsNullAndBandwidthFractionIsGiven) {
  auto r = tessera("bench --model " + test::testdata("models/qwen2-tiny.gguf") +
                   " -p 0 -n 2 -r 3 --json --bandwidth-mib 16");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const json j = json::parse(r.output);
  EXPECT_TRUE(j["pp"].is_null());
  expect_stats(j["tg"], 2, 3);
  EXPECT_GT(j["bandwidth_gb_per_s"].get<double>(), 0);
  EXPECT_GT(j["tg_bandwidth_fraction"].get<double>(), 0);
  // One probe right before each generation repetition, and that repetition's share of it.
  ASSERT_EQ(j["tg_runs_bandwidth_gb_per_s"].size(), 3u);
  ASSERT_EQ(j["tg_runs_bandwidth_fraction"].size(), 3u);
  const double bytes = j["tg_weight_bytes_per_token"].get<double>();
  for (int i = 0; i < 3; ++i) {
    const double bw = j["tg_runs_bandwidth_gb_per_s"][i].get<double>() * 1e9;
    EXPECT_NEAR(j["tg_runs_bandwidth_fraction"][i].get<double>(),
                bytes * j["tg"]["runs"][i].get<double>() / bw, 1e-9);
  }
}

TEST(CliBench, TextTable) {
  auto r = tessera("bench --model " + kModel + " -p 8 -n 2 -r 1 --no-bandwidth");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("| model"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("llama-spm-tiny.gguf"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("pp8"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("tg2"), std::string::npos) << r.output;
}

TEST(CliBench, BandwidthProbeAlone) {
  auto r = tessera("bench --bandwidth --bandwidth-mib 16 -t 2 --json");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const json j = json::parse(r.output);
  EXPECT_GT(j["bandwidth_gb_per_s"].get<double>(), 0);
  EXPECT_TRUE(j["model"].is_null());
  EXPECT_TRUE(j["pp"].is_null());
  EXPECT_TRUE(j["tg"].is_null());
  auto text = tessera("bench --bandwidth --bandwidth-mib 16 -t 1");
  ASSERT_EQ(text.exit_code, 0) << text.output;
  EXPECT_NE(text.output.find("GB/s"), std::string::npos) << text.output;
}

// An encoder model: embedding throughput at batch 1 and 32 instead of pp/tg.
TEST(CliBench, EncoderEmbeddingThroughput) {
  auto r =
      tessera("bench --model " + test::testdata("models/bert-tiny.gguf") + " -p 16 -r 2 --json");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const json j = json::parse(r.output);
  EXPECT_EQ(j["tokens_per_text"], 16);
  ASSERT_EQ(j["embed"].size(), 2u);
  EXPECT_EQ(j["embed"][0]["batch"], 1);
  EXPECT_EQ(j["embed"][1]["batch"], 32);
  for (const auto& e : j["embed"]) {
    ASSERT_EQ(e["runs"].size(), 2u);
    EXPECT_GT(e["texts_per_s"].get<double>(), 0);
    EXPECT_NEAR(e["tokens_per_s"].get<double>(), 16 * e["texts_per_s"].get<double>(), 1e-6);
    EXPECT_LE(e["min"].get<double>(), e["texts_per_s"].get<double>());
    EXPECT_LE(e["texts_per_s"].get<double>(), e["max"].get<double>());
  }
}

TEST(CliBench, ClearErrors) {
  struct Case {
    std::string args;
    int exit_code;
    std::string message;  // part of stderr
  };
  const std::vector<Case> cases = {
      {"bench --model " + kModel + " -p -1", 2, "-p"},
      {"bench --model " + kModel + " -n -3", 2, "-n"},
      {"bench --model " + kModel + " -r 0", 2, "-r"},
      {"bench --model " + kModel + " -t -1", 2, "-t"},
      {"bench --model " + kModel + " -p 0 -n 0", 2, "nothing to measure"},
      {"bench", 2, "--model"},
      {"bench --bandwidth --no-bandwidth", 2, "not both"},
      {"bench --model /nonexistent/model.gguf", 3, "/nonexistent/model.gguf"},
      {"bench --model " + kModel + " --device gpu", 2, "--device must be auto, cpu or cuda"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.args);
    auto r = tessera(c.args, true);
    EXPECT_EQ(r.exit_code, c.exit_code) << r.output;
    EXPECT_NE(r.output.find(c.message), std::string::npos) << r.output;
  }
}

// --device cuda where the CUDA backend cannot start is an error saying why, not a quiet run on
// the CPU; --device cpu runs on the CPU whatever the host.
TEST(CliBench, DeviceChoice) {
  auto r = test::run_command("TESSERA_CUDA_PLUGIN=none " + std::string(TESSERA_BIN) +
                             " bench --model " + kModel + " --device cuda -p 4 -n 1 -r 1 2>&1");
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("the CUDA backend is turned off"), std::string::npos) << r.output;
  r = tessera("bench --model " + kModel + " --device cpu -p 4 -n 1 -r 1 --no-bandwidth --json");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const json j = json::parse(r.output);
  EXPECT_EQ(j["device"], "cpu");
  EXPECT_TRUE(j["kernels"].is_string());
  EXPECT_FALSE(j.contains("pp_tflops"));
}

}  // namespace
}  // namespace tessera
