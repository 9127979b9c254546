// `tessera gpu ls` against a fake libnvidia-ml.so.1 (tests/gpu/fake_nvml.cpp) loaded through
// the normal dlopen search (LD_LIBRARY_PATH), driven by the scenario files in
// tests/gpu/scenarios: the inventory figures in JSON, MIG instances, CUDA_VISIBLE_DEVICES, and
// NVML calls that fail.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "support/test_support.h"

namespace tessera {
namespace {

using nlohmann::json;

constexpr uint64_t kMiB = 1024 * 1024;

// `tessera gpu ls --json` with the fake NVML answering from `scenario` (no fake: "").
json gpu_ls(const std::string& scenario, const std::string& env = "") {
  test::TempDir empty;
  const std::string dir = scenario.empty() ? empty.path() : TESSERA_FAKE_NVIDIA_DIR;
  const std::string cmd = "env LD_LIBRARY_PATH=" + dir +
                          " TESSERA_FAKE_NVML=" + TESSERA_GPU_SCENARIOS + "/" + scenario +
                          ".json " + env + " " + TESSERA_BIN + " gpu ls --json 2>&1";
  const test::CommandResult r = test::run_command(cmd);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  return json::parse(r.output, nullptr, false);
}

TEST(CliGpu, NoDriverAtAll) {
  const json j = gpu_ls("");
  EXPECT_FALSE(j["nvml"]["loaded"].get<bool>());
  EXPECT_NE(j["nvml"]["error"].get<std::string>().find("libnvidia-ml.so.1 not found"),
            std::string::npos);
  EXPECT_TRUE(j["gpus"].empty());
  EXPECT_TRUE(j["driver_version"].is_null());
}

TEST(CliGpu, KernelDriverNotLoaded) {
  const json j = gpu_ls("driver_not_loaded");
  EXPECT_FALSE(j["nvml"]["loaded"].get<bool>());
  EXPECT_NE(j["nvml"]["error"].get<std::string>().find("nvmlInit_v2 failed: Driver Not Loaded"),
            std::string::npos)
      << j;
}

TEST(CliGpu, A100WithMigDisabled) {
  const json j = gpu_ls("a100_80gb");
  ASSERT_TRUE(j["nvml"]["loaded"].get<bool>()) << j;
  EXPECT_EQ(j["driver_version"], "535.104.05");
  EXPECT_EQ(j["cuda_driver_version"], "12.2");
  ASSERT_EQ(j["gpus"].size(), 1u);
  const json& g = j["gpus"][0];
  EXPECT_EQ(g["name"], "NVIDIA A100-SXM4-80GB");
  EXPECT_EQ(g["uuid"], "GPU-1d2e3f40-aaaa-bbbb-cccc-000000000001");
  EXPECT_EQ(g["pci_bus_id"], "00000000:17:00.0");
  EXPECT_EQ(g["compute_capability"], "8.0");
  EXPECT_EQ(g["architecture"], "Ampere");
  EXPECT_EQ(g["memory_total_bytes"], 81920 * kMiB);
  EXPECT_EQ(g["memory_used_bytes"], 512 * kMiB);
  EXPECT_EQ(g["memory_free_bytes"], (81920 - 512) * kMiB);
  EXPECT_EQ(g["utilization_pct"], 3);
  EXPECT_EQ(g["temperature_c"], 33);
  EXPECT_DOUBLE_EQ(g["power_w"].get<double>(), 61.0);
  EXPECT_FALSE(g["mig"]["enabled"].get<bool>());
  EXPECT_TRUE(g["mig"]["instances"].empty());
  EXPECT_TRUE(g["visible"].get<bool>());
  EXPECT_TRUE(g["errors"].empty()) << g["errors"];
}

TEST(CliGpu, H100WithThreeMigInstances) {
  const json j = gpu_ls("h100_mig_3x2g");
  ASSERT_EQ(j["gpus"].size(), 1u);
  const json& g = j["gpus"][0];
  EXPECT_EQ(g["architecture"], "Hopper");
  EXPECT_TRUE(g["mig"]["enabled"].get<bool>());
  ASSERT_EQ(g["mig"]["instances"].size(), 3u);
  for (int i = 0; i < 3; ++i) {
    const json& m = g["mig"]["instances"][i];
    EXPECT_EQ(m["profile"], "2g.20gb");
    EXPECT_EQ(m["gpu_instance_id"], 3 + i);
    EXPECT_EQ(m["compute_instance_id"], 0);
    EXPECT_EQ(m["memory_total_bytes"], 19968 * kMiB);
    EXPECT_EQ(m["uuid"].get<std::string>().rfind("MIG-", 0), 0u);
  }
  EXPECT_TRUE(g["utilization_pct"].is_null());  // not per GPU in MIG mode
}

TEST(CliGpu, H200SevenMigInstancesAndOneVisible) {
  const json all = gpu_ls("h200_mig_7x1g");
  const json& g = all["gpus"][0];
  ASSERT_EQ(g["mig"]["instances"].size(), 7u);
  EXPECT_EQ(g["mig"]["instances"][6]["profile"], "1g.18gb");
  EXPECT_EQ(g["memory_total_bytes"], 143771 * kMiB);
  const std::string third = g["mig"]["instances"][2]["uuid"];
  const json one = gpu_ls("h200_mig_7x1g", "CUDA_VISIBLE_DEVICES=" + third);
  EXPECT_EQ(one["cuda_visible_devices"], third);
  EXPECT_TRUE(one["visible_error"].is_null());
  const json& h = one["gpus"][0];
  EXPECT_FALSE(h["visible"].get<bool>());
  for (int i = 0; i < 7; ++i) EXPECT_EQ(h["mig"]["instances"][i]["visible"], i == 2) << i;
}

TEST(CliGpu, CudaVisibleDevicesIndicesAndGarbage) {
  const json both = gpu_ls("t4_98pct", "CUDA_VISIBLE_DEVICES=1");
  EXPECT_FALSE(both["gpus"][0]["visible"].get<bool>());
  EXPECT_TRUE(both["gpus"][1]["visible"].get<bool>());
  const json bad = gpu_ls("t4_98pct", "CUDA_VISIBLE_DEVICES=0,banana,1");
  EXPECT_TRUE(bad["gpus"][0]["visible"].get<bool>());
  EXPECT_FALSE(bad["gpus"][1]["visible"].get<bool>());  // CUDA stops at the bad entry
  EXPECT_NE(bad["visible_error"].get<std::string>().find(
                "entry \"banana\" is not a GPU index, GPU- UUID or MIG- UUID"),
            std::string::npos)
      << bad;
  const json missing = gpu_ls("t4_98pct", "CUDA_VISIBLE_DEVICES=7");
  EXPECT_NE(missing["visible_error"].get<std::string>().find("names no device of this host"),
            std::string::npos);
  const json none = gpu_ls("t4_98pct", "CUDA_VISIBLE_DEVICES=");
  EXPECT_FALSE(none["gpus"][0]["visible"].get<bool>());
  EXPECT_TRUE(none["visible_error"].is_null());
}

TEST(CliGpu, NearlyFullGpuReportsItsMemory) {
  const json j = gpu_ls("t4_98pct");
  ASSERT_EQ(j["gpus"].size(), 2u);
  const json& g = j["gpus"][0];
  EXPECT_EQ(g["architecture"], "Turing");
  EXPECT_NEAR(g["memory_used_bytes"].get<double>() / g["memory_total_bytes"].get<double>(), 0.98,
              0.001);
  EXPECT_TRUE(g["mig"].is_null());  // no MIG on a T4
  EXPECT_EQ(j["cuda_driver_version"], "11.4");
}

// Failing NVML calls are reported per field; nothing crashes and the rest is still read.
TEST(CliGpu, FailingCallsAreReportedNotFatal) {
  const json j = gpu_ls("calls_fail");
  ASSERT_TRUE(j["nvml"]["loaded"].get<bool>());
  EXPECT_TRUE(j["driver_version"].is_null());
  EXPECT_TRUE(j["cuda_driver_version"].is_null());
  EXPECT_NE(j["cuda_driver_error"].get<std::string>().find("Library Not Found"), std::string::npos);
  ASSERT_EQ(j["gpus"].size(), 1u);
  const auto errors = j["gpus"][0]["errors"].get<std::vector<std::string>>();
  EXPECT_GE(errors.size(), 8u);
  EXPECT_NE(std::find(errors.begin(), errors.end(), "power: Not Supported (NVML 3)"), errors.end())
      << j["gpus"][0]["errors"];
  auto text = test::run_command(std::string("env LD_LIBRARY_PATH=") + TESSERA_FAKE_NVIDIA_DIR +
                                " TESSERA_FAKE_NVML=" + TESSERA_GPU_SCENARIOS +
                                "/calls_fail.json " + TESSERA_BIN + " gpu ls");
  EXPECT_EQ(text.exit_code, 0);
  EXPECT_NE(text.output.find("GPU 0:"), std::string::npos) << text.output;
}

}  // namespace
}  // namespace tessera
