// The CUDA compatibility tables (gpu/compat.h) against the facts in
// ../shared/reference/cuda-compat.json: driver floors, the branch -> CUDA map, the
// minor-version rule with its fix text, architectures, and which targets run where.
#include "gpu/compat.h"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "support/test_support.h"

namespace tessera::gpu {
namespace {

TEST(GpuCompat, ParsesDriverVersions) {
  const auto v = parse_driver_version("525.60.13");
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->major, 525);
  EXPECT_EQ(v->minor, 60);
  EXPECT_EQ(v->patch, 13);
  EXPECT_EQ(v->str(), "525.60.13");
  EXPECT_EQ(parse_driver_version("570.26")->str(), "570.26");
  for (const char* bad : {"", "525", "525.", ".60", "525.60.13.1", "52a.60", "-1.2", "525 .60"}) {
    EXPECT_FALSE(parse_driver_version(bad).has_value()) << bad;
  }
  EXPECT_TRUE(*parse_driver_version("470.82.01") < *parse_driver_version("525.60.13"));
}

// Every toolkit floor and branch of the reference JSON, as compiled in.
TEST(GpuCompat, TablesAgreeWithTheReferenceFile) {
  std::ifstream f(test::testdata("../reference/cuda-compat.json"));
  ASSERT_TRUE(f.good());
  const nlohmann::json j = nlohmann::json::parse(f);
  for (const auto& [cuda, driver] : j["toolkit_min_driver_linux"].items()) {
    const size_t dot = cuda.find('.');
    const CudaVersion v{std::stoi(cuda.substr(0, dot)), std::stoi(cuda.substr(dot + 1))};
    const auto want = parse_driver_version(driver.get<std::string>());
    ASSERT_TRUE(want.has_value()) << driver;
    const auto got = toolkit_min_driver(v);
    ASSERT_TRUE(got.has_value()) << cuda;
    EXPECT_EQ(got->str(), want->str()) << cuda;
  }
  for (const auto& b : j["driver_branch_max_cuda"]) {
    if (b["driver_min"].is_null()) continue;  // uncertain future branch
    const auto d = parse_driver_version(b["driver_min"].get<std::string>());
    const auto got = driver_max_cuda(*d);
    ASSERT_TRUE(got.has_value());
    EXPECT_EQ(got->str(), b["cuda"].get<std::string>()) << b["branch"];
  }
  EXPECT_FALSE(driver_max_cuda({418, 87, 0}).has_value());
}

TEST(GpuCompat, RuntimeFitAndItsFixText) {
  // The example: driver 470 with a CUDA 12 build.
  RuntimeFit f = check_runtime({12, 0}, {11, 4}, parse_driver_version("470.82.01"));
  EXPECT_EQ(f.kind, RuntimeFit::Kind::too_old);
  EXPECT_EQ(f.found, "driver 470.82.01 supports CUDA <= 11.4; this build needs >= 12.0");
  EXPECT_EQ(f.fix, "install driver >= 525.60.13 or use the cuda11 image");
  // Driver 535 (CUDA 12.2) with a CUDA 13 build.
  f = check_runtime({13, 0}, {12, 2}, parse_driver_version("535.104.05"));
  EXPECT_EQ(f.kind, RuntimeFit::Kind::too_old);
  EXPECT_EQ(f.fix, "install driver >= 580.65.06 or use the cuda12 image");
  // Same major, older minor, above the floor: minor-version compatibility.
  f = check_runtime({12, 4}, {12, 2}, parse_driver_version("535.54.03"));
  EXPECT_EQ(f.kind, RuntimeFit::Kind::minor_compat);
  EXPECT_EQ(f.fix, "for full support install driver >= 550.54.14");
  // Below the major's floor it is too old even within the major.
  f = check_runtime({12, 4}, {12, 0}, DriverVersion{520, 0, 0});
  EXPECT_EQ(f.kind, RuntimeFit::Kind::too_old);
  // New enough.
  f = check_runtime({12, 4}, {13, 0}, parse_driver_version("580.65.06"));
  EXPECT_EQ(f.kind, RuntimeFit::Kind::ok);
  EXPECT_TRUE(f.fix.empty());
}

TEST(GpuCompat, ArchitecturesAndTargets) {
  EXPECT_EQ(architecture_name(7, 5), "Turing");
  EXPECT_EQ(architecture_name(8, 0), "Ampere");
  EXPECT_EQ(architecture_name(8, 9), "Ada Lovelace");
  EXPECT_EQ(architecture_name(9, 0), "Hopper");
  EXPECT_EQ(architecture_name(12, 0), "Blackwell");
  EXPECT_EQ(architecture_name(4, 2), "unknown");
  ASSERT_TRUE(parse_target("sm_90a").has_value());
  EXPECT_EQ(parse_target("sm_90a")->suffix, 'a');
  EXPECT_EQ(parse_target("compute_120")->sm, 120);
  EXPECT_TRUE(parse_target("compute_120")->ptx);
  for (const char* bad : {"sm_", "sm_9", "sm_1234", "compute", "gfx90a", "sm_9x"}) {
    EXPECT_FALSE(parse_target(bad).has_value()) << bad;
  }
  auto targets = [](std::initializer_list<const char*> names) {
    std::vector<Target> t;
    for (const char* n : names) t.push_back(*parse_target(n));
    return t;
  };
  // A T4 (7.5) with a build carrying only sm_90: nothing runs.
  EXPECT_FALSE(check_architecture(75, targets({"sm_90"})).ok);
  // SASS runs on the same major at a newer minor; PTX JIT-compiles forward.
  ArchFit a = check_architecture(86, targets({"sm_80", "compute_90"}));
  EXPECT_TRUE(a.ok);
  EXPECT_FALSE(a.via_ptx);
  EXPECT_EQ(a.target, "sm_80");
  a = check_architecture(120, targets({"sm_75", "sm_80", "sm_90", "compute_90"}));
  EXPECT_TRUE(a.ok);
  EXPECT_TRUE(a.via_ptx);
  EXPECT_EQ(a.target, "compute_90");
  // Architecture-specific targets run on that CC only.
  EXPECT_FALSE(check_architecture(100, targets({"sm_90a"})).ok);
  EXPECT_TRUE(check_architecture(90, targets({"sm_90a"})).ok);
  EXPECT_EQ(check_architecture(90, targets({"sm_80", "sm_90"})).target, "sm_90");
}

}  // namespace
}  // namespace tessera::gpu
