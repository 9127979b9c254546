// `tessera doctor` on the scenarios of issue #7: fake libnvidia-ml.so.1, libcuda.so.1 and CUDA
// plugin (tests/gpu/fake_*.cpp) on LD_LIBRARY_PATH, a fake root with /proc/driver/nvidia and
// /dev/nvidia* nodes (--root), driven by tests/gpu/scenarios/*.json. Each test asserts the
// verdict, the check that fails (or warns) and its fix text.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "support/test_support.h"

namespace tessera {
namespace {

using nlohmann::json;

struct Host {
  bool nvml = true, cuda = true, plugin = true;
  bool driver_files = true;  // /proc/driver/nvidia/version and /dev/nvidia*
  std::string env;           // extra VAR=value words
};

struct Result {
  int exit_code = -1;
  json j;
};

Result doctor(const std::string& scenario, const Host& s = {}) {
  test::TempDir root;
  if (s.driver_files) {
    std::filesystem::create_directories(root.path() + "/proc/driver/nvidia");
    std::filesystem::create_directories(root.path() + "/dev");
    const std::string version = "NVRM version: NVIDIA UNIX x86_64 Kernel Module  (fake)\n";
    test::write_file(root.path() + "/proc/driver/nvidia/version",
                     std::vector<uint8_t>(version.begin(), version.end()));
    for (const char* node : {"nvidiactl", "nvidia0", "nvidia1", "nvidia-uvm"}) {
      test::write_file(root.path() + "/dev/" + node, {});
    }
  }
  std::string path;
  if (s.nvml) path += std::string(TESSERA_FAKE_NVIDIA_DIR) + ":";
  if (s.cuda) path += std::string(TESSERA_FAKE_CUDA_DIR) + ":";
  path += root.path() + "/nothing";
  // The fake plugin, or a path where there is none (else the real plugin next to the binary
  // would be found).
  const std::string plugin = s.plugin ? std::string(TESSERA_FAKE_PLUGIN_DIR) + "/libtessera_cuda.so"
                                      : root.path() + "/absent/libtessera_cuda.so";
  const std::string cmd =
      "env -u CUDA_VISIBLE_DEVICES -u NVIDIA_VISIBLE_DEVICES LD_LIBRARY_PATH=" + path +
      " TESSERA_CUDA_PLUGIN=" + plugin + " TESSERA_FAKE_NVML=" + TESSERA_GPU_SCENARIOS + "/" +
      scenario + ".json " + s.env + " " + TESSERA_BIN + " doctor --json --root " + root.path() +
      " 2>&1";
  const test::CommandResult r = test::run_command(cmd);
  return {r.exit_code, json::parse(r.output, nullptr, false)};
}

// The check named `name`, or null.
json check(const json& j, const std::string& name) {
  for (const auto& c : j["checks"]) {
    if (c["name"] == name) return c;
  }
  return nullptr;
}

bool has(const json& v, const std::string& text) {
  return v.is_string() && v.get<std::string>().find(text) != std::string::npos;
}

TEST(CliDoctor, NoDriverAtAllSaysSoAndFallsBack) {
  Host s;
  s.nvml = s.cuda = s.plugin = s.driver_files = false;
  const Result r = doctor("a100_80gb", s);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.j["verdict"]["backend"], "cpu");
  EXPECT_TRUE(has(r.j["verdict"]["reason"], "no NVIDIA kernel driver")) << r.j;
  EXPECT_EQ(check(r.j, "kernel driver")["status"], "FAIL");
  EXPECT_TRUE(has(check(r.j, "kernel driver")["fix"], "install the NVIDIA driver"));
  EXPECT_EQ(check(r.j, "NVML")["status"], "FAIL");
}

TEST(CliDoctor, NvmlWithoutLibcuda) {
  Host s;
  s.cuda = false;
  s.env = "NVIDIA_VISIBLE_DEVICES=all NVIDIA_DRIVER_CAPABILITIES=utility";
  const Result r = doctor("a100_80gb", s);
  EXPECT_EQ(r.exit_code, 1);
  const json c = check(r.j, "libcuda");
  EXPECT_EQ(c["status"], "FAIL");
  EXPECT_TRUE(has(c["found"], "libcuda.so.1 not found")) << c;
  EXPECT_TRUE(has(c["fix"], "add compute to NVIDIA_DRIVER_CAPABILITIES (now utility)")) << c;
  EXPECT_EQ(check(r.j, "NVML")["status"], "OK");
}

TEST(CliDoctor, Driver470WithACuda12Build) {
  const Result r = doctor("driver470_cuda12_build");
  EXPECT_EQ(r.exit_code, 1);
  const json c = check(r.j, "driver vs build");
  EXPECT_EQ(c["status"], "FAIL");
  EXPECT_EQ(c["found"], "driver 470.82.01 supports CUDA <= 11.4; this build needs >= 12.0");
  EXPECT_EQ(c["fix"], "install driver >= 525.60.13 or use the cuda11 image");
  EXPECT_EQ(r.j["verdict"]["backend"], "cpu");
}

TEST(CliDoctor, Driver535WithACuda13Build) {
  const Result r = doctor("driver535_cuda13_build");
  EXPECT_EQ(r.exit_code, 1);
  const json c = check(r.j, "driver vs build");
  EXPECT_EQ(c["status"], "FAIL");
  EXPECT_EQ(c["fix"], "install driver >= 580.65.06 or use the cuda12 image");
}

TEST(CliDoctor, T4WithOnlySm90InTheBuild) {
  const Result r = doctor("t4_sm90_only");
  EXPECT_EQ(r.exit_code, 1);
  const json c = check(r.j, "architecture 0");
  EXPECT_EQ(c["status"], "FAIL");
  EXPECT_TRUE(has(c["found"], "compute 7.5 Turing; this build carries sm_90")) << c;
  EXPECT_TRUE(has(c["fix"], "sm_75")) << c;
  EXPECT_TRUE(has(r.j["verdict"]["reason"], "not among the build's targets"));
}

TEST(CliDoctor, A100WithoutMigIsUsable) {
  const Result r = doctor("a100_80gb");
  EXPECT_EQ(r.exit_code, 0) << r.j;
  EXPECT_EQ(r.j["verdict"]["backend"], "cuda");
  EXPECT_EQ(r.j["verdict"]["reason"], "1 usable GPU(s)");
  for (const auto& c : r.j["checks"]) EXPECT_EQ(c["status"], "OK") << c;
  EXPECT_TRUE(has(check(r.j, "architecture 0")["found"], "compute 8.0 Ampere, runs sm_80"));
}

TEST(CliDoctor, MigLayoutsAreReported) {
  const Result h100 = doctor("h100_mig_3x2g");
  EXPECT_EQ(h100.exit_code, 0);
  EXPECT_TRUE(
      has(check(h100.j, "MIG 0")["found"], "MIG enabled, 3 instance(s): 2g.20gb, 2g.20gb, 2g.20gb"))
      << h100.j;
  const Result h200 = doctor("h200_mig_7x1g");
  EXPECT_EQ(h200.exit_code, 0);
  EXPECT_TRUE(has(check(h200.j, "MIG 0")["found"], "7 instance(s): 1g.18gb"));
}

TEST(CliDoctor, CudaVisibleDevicesNamingOneMigInstance) {
  Host s;
  s.env = "CUDA_VISIBLE_DEVICES=MIG-000000a2-1111-2222-3333-000000000002";
  const Result r = doctor("h200_mig_7x1g", s);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(check(r.j, "CUDA_VISIBLE_DEVICES")["status"], "OK");
  Host bad;
  bad.env = "CUDA_VISIBLE_DEVICES=GPU-nonsense";
  const Result b = doctor("h200_mig_7x1g", bad);
  EXPECT_EQ(b.exit_code, 1);
  EXPECT_EQ(check(b.j, "CUDA_VISIBLE_DEVICES")["status"], "WARN");
  EXPECT_TRUE(has(check(b.j, "CUDA_VISIBLE_DEVICES")["found"], "names no device of this host"));
  EXPECT_TRUE(has(b.j["verdict"]["reason"], "CUDA_VISIBLE_DEVICES hides every GPU")) << b.j;
}

TEST(CliDoctor, ContainerWithoutDeviceNodes) {
  Host s;
  s.nvml = s.cuda = false;
  s.driver_files = false;
  s.env = "NVIDIA_VISIBLE_DEVICES=all";
  const Result r = doctor("a100_80gb", s);
  EXPECT_EQ(r.exit_code, 1);
  const json c = check(r.j, "device nodes");
  EXPECT_EQ(c["status"], "FAIL");
  EXPECT_TRUE(has(c["found"], "although NVIDIA_VISIBLE_DEVICES=all is set")) << c;
  EXPECT_TRUE(has(c["fix"], "docker run --gpus all")) << c;
}

TEST(CliDoctor, NearlyFullGpuWarns) {
  const Result r = doctor("t4_98pct");
  EXPECT_EQ(r.exit_code, 0) << r.j;
  const json c = check(r.j, "memory 0");
  EXPECT_EQ(c["status"], "WARN");
  EXPECT_TRUE(has(c["found"], "(98% used)")) << c;
  EXPECT_EQ(check(r.j, "memory 1")["status"], "OK");
}

// NVML calls failing anywhere, or the kernel module missing, never crash the doctor.
TEST(CliDoctor, FailingLibrariesAreReportedNotFatal) {
  const Result calls = doctor("calls_fail");
  EXPECT_EQ(calls.exit_code, 1) << calls.j;  // compute capability unknown: no target fits
  ASSERT_TRUE(calls.j.is_object());
  const Result init = doctor("driver_not_loaded");
  EXPECT_EQ(init.exit_code, 1);
  const json c = check(init.j, "NVML");
  EXPECT_TRUE(has(c["found"], "Driver Not Loaded")) << c;
  EXPECT_TRUE(has(c["fix"], "modprobe nvidia")) << c;
}

// A plugin that is there but does not load is told apart from a CPU-only build.
TEST(CliDoctor, PluginThatDoesNotLoad) {
  test::TempDir dir;
  test::write_file(dir.file("libtessera_cuda.so"), {'n', 'o', 't', ' ', 'E', 'L', 'F'});
  Host h;
  h.env = "TESSERA_CUDA_PLUGIN=" + dir.file("libtessera_cuda.so");
  const Result r = doctor("a100_80gb", h);
  EXPECT_EQ(r.exit_code, 1);
  const json c = check(r.j, "CUDA build");
  EXPECT_TRUE(has(c["found"], "the CUDA backend (libtessera_cuda.so) does not load")) << c;
  EXPECT_TRUE(has(c["fix"], "install the CUDA runtime libraries")) << c;
  Host none;
  none.plugin = false;
  const Result cpu_only = doctor("a100_80gb", none);
  EXPECT_TRUE(has(check(cpu_only.j, "CUDA build")["found"], "this is a CPU-only build"));
  EXPECT_EQ(cpu_only.j["verdict"]["reason"], "this build has no CUDA backend");
  Host off;
  off.env = "TESSERA_CUDA_PLUGIN=none";
  const Result turned_off = doctor("a100_80gb", off);
  EXPECT_TRUE(has(check(turned_off.j, "CUDA build")["found"], "the CUDA backend is turned off"));
}

// The real plugin, where this build made one, is found next to the binary and reports the
// CUDA runtime it was built with and its targets (Turing to Blackwell, PTX of the newest).
TEST(CliDoctor, ThisBuildsPluginReportsItself) {
#ifndef TESSERA_CUDA_PLUGIN_BUILT
  GTEST_SKIP() << "this build has no CUDA plugin (nvcc was not found)";
#else
  const test::CommandResult r = test::run_command("env -u TESSERA_CUDA_PLUGIN " +
                                                  std::string(TESSERA_BIN) + " doctor --json");
  const json j = json::parse(r.output, nullptr, false);
  const json c = check(j, "CUDA build");
  EXPECT_EQ(c["status"], "OK") << r.output;
  EXPECT_TRUE(has(c["found"], "libtessera_cuda.so: CUDA runtime ")) << c;
  // The targets CMake built (TESSERA_CUDA_ARCHS; by default Turing to Blackwell, PTX of the
  // newest), as the doctor lists them.
  std::string targets = TESSERA_CUDA_TARGETS;
  std::replace(targets.begin(), targets.end(), ',', ' ');
  EXPECT_TRUE(has(c["found"], "targets " + targets)) << c;
#endif
}

TEST(CliDoctor, CuInitFailing) {
  const Result r = doctor("cuinit_fails");
  EXPECT_EQ(r.exit_code, 1);
  const json c = check(r.j, "libcuda");
  EXPECT_EQ(c["status"], "FAIL");
  EXPECT_TRUE(has(c["found"], "cuInit failed: initialization error (CUresult 3)")) << c;
}

// On this machine as it is: without an NVIDIA driver (CI) the doctor says so plainly and exits
// 1, and generation still runs on the CPU, saying so once on stderr.
TEST(CliDoctor, ThisHostWithoutADriver) {
  if (std::filesystem::exists("/proc/driver/nvidia/version")) {
    GTEST_SKIP() << "this host has an NVIDIA driver";
  }
  const test::CommandResult d = test::run_command(std::string(TESSERA_BIN) + " doctor 2>&1");
  EXPECT_EQ(d.exit_code, 1) << d.output;
  EXPECT_NE(d.output.find("verdict: tessera serve would use the CPU: no NVIDIA kernel driver on "
                          "this host"),
            std::string::npos)
      << d.output;
  const test::CommandResult run =
      test::run_command(std::string(TESSERA_BIN) + " run --model " +
                        test::testdata("models/qwen2-tiny.gguf") + " --prompt hi -n 2 2>&1");
  EXPECT_EQ(run.exit_code, 0) << run.output;
  const std::string line = "tessera: running on the CPU: no NVIDIA kernel driver on this host";
  const size_t at = run.output.find(line);
  EXPECT_NE(at, std::string::npos) << run.output;
  EXPECT_EQ(run.output.find(line, at + 1), std::string::npos) << "logged once";
}

}  // namespace
}  // namespace tessera
