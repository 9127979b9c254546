// Fakes of the other NVIDIA-side libraries the doctor loads, answering from the scenario file
// named by TESSERA_FAKE_NVML (tests/gpu/scenarios/): libcuda.so.1 (cuInit, cuDriverGetVersion,
// cuDeviceGetCount; "cuda_driver": {"init": code, "version": v, "count": n}, defaults: init 0,
// the scenario's "cuda", its GPU count) and, built from the same file with
// TESSERA_FAKE_PLUGIN, libtessera_cuda.so ("build": {"cuda": 12040, "targets": "sm_80,..."}).
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "gpu/cuda_plugin_abi.h"

namespace {

const nlohmann::json& scenario() {
  static const nlohmann::json j = [] {
    const char* path = std::getenv("TESSERA_FAKE_NVML");
    if (path == nullptr) return nlohmann::json::object();
    std::ifstream f(path);
    nlohmann::json s = nlohmann::json::parse(f, nullptr, false);
    return s.is_object() ? s : nlohmann::json::object();
  }();
  return j;
}

[[maybe_unused]] int driver_field(const char* key, int fallback) {
  const nlohmann::json& s = scenario();
  if (!s.contains("cuda_driver") || !s["cuda_driver"].contains(key)) return fallback;
  return s["cuda_driver"][key].get<int>();
}

}  // namespace

extern "C" {

#ifdef TESSERA_FAKE_PLUGIN
const TesseraCudaPluginInfo* tessera_cuda_plugin_info() {
  static std::string targets;
  static TesseraCudaPluginInfo info;
  const nlohmann::json& s = scenario();
  if (!s.contains("build")) return nullptr;
  targets = s["build"].value("targets", "");
  info.abi = 1;
  info.cuda_runtime = s["build"].value("cuda", 0);
  info.targets = targets.c_str();
  return &info;
}
#else
int cuInit(unsigned) {
  return driver_field("init", 0);
}
int cuDriverGetVersion(int* v) {
  *v = driver_field("version", scenario().value("cuda", 0));
  return 0;
}
int cuDeviceGetCount(int* n) {
  const nlohmann::json& s = scenario();
  *n = driver_field("count", s.contains("gpus") ? static_cast<int>(s["gpus"].size()) : 0);
  return 0;
}
int cuGetErrorString(int r, const char** s) {
  *s = r == 100 ? "no CUDA-capable device is detected"
       : r == 3 ? "initialization error"
                : "fake error";
  return 0;
}
#endif

}  // extern "C"
