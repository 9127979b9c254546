// A fake libnvidia-ml.so.1 for the GPU tests: the NVML functions the inventory calls, answering
// from the scenario file named by TESSERA_FAKE_NVML (JSON, tests/gpu/scenarios/). Any function
// can be told to fail with a given NVML return code ("fail": {"nvmlDeviceGetPowerUsage": 3}).
// Device handles are small integers: GPU i is i + 1, MIG device j of GPU i is
// ((i + 1) << 8) | (j + 1).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "gpu/nvml_abi.h"

namespace {

using tessera::gpu::nvml::Device;
using tessera::gpu::nvml::Memory;
using tessera::gpu::nvml::PciInfo;
using tessera::gpu::nvml::Return;
using tessera::gpu::nvml::Utilization;

const nlohmann::json& scenario() {
  static const nlohmann::json j = [] {
    const char* path = std::getenv("TESSERA_FAKE_NVML");
    if (path == nullptr) return nlohmann::json::object();
    std::ifstream f(path);
    return nlohmann::json::parse(f, nullptr, false);
  }();
  return j;
}

// The scenario's GPUs (a reference into the scenario, which lives for the process).
const nlohmann::json& gpus() {
  static const nlohmann::json none = nlohmann::json::array();
  const nlohmann::json& s = scenario();
  return s.is_object() && s.contains("gpus") ? s["gpus"] : none;
}

// The code a scenario makes `fn` return, or 0.
Return failure(const char* fn) {
  const nlohmann::json& s = scenario();
  if (!s.is_object() || !s.contains("fail") || !s["fail"].contains(fn)) return 0;
  return s["fail"][fn].get<int>();
}

const nlohmann::json* gpu(Device d) {
  const auto h = reinterpret_cast<uintptr_t>(d);
  const size_t i = (h >> 8 != 0 ? (h >> 8) : h) - 1;
  return i < gpus().size() ? &gpus()[i] : nullptr;
}

const nlohmann::json* mig(Device d) {
  const auto h = reinterpret_cast<uintptr_t>(d);
  if (h >> 8 == 0) return nullptr;
  const nlohmann::json* g = gpu(d);
  if (g == nullptr || !g->contains("mig")) return nullptr;
  const auto& inst = (*g)["mig"]["instances"];
  const size_t j = (h & 0xFF) - 1;
  return j < inst.size() ? &inst[j] : nullptr;
}

// The object a handle stands for (a MIG instance or a GPU).
const nlohmann::json* object(Device d) {
  const nlohmann::json* m = mig(d);
  return m != nullptr ? m : gpu(d);
}

Return copy(const std::string& s, char* out, unsigned n) {
  if (s.size() + 1 > n) return 7;  // NVML_ERROR_INSUFFICIENT_SIZE
  std::memcpy(out, s.c_str(), s.size() + 1);
  return 0;
}

#define FAIL_IF_TOLD(name) \
  if (Return r = failure(name); r != 0) return r

}  // namespace

extern "C" {

Return nvmlInit_v2() {
  FAIL_IF_TOLD("nvmlInit_v2");
  return 0;
}
Return nvmlShutdown() {
  return 0;
}
const char* nvmlErrorString(Return r) {
  switch (r) {
    case 3:
      return "Not Supported";
    case 6:
      return "Not Found";
    case 9:
      return "Driver Not Loaded";
    case 12:
      return "Library Not Found";
    case 999:
      return "Unknown Error";
    default:
      return "Fake Error";
  }
}
Return nvmlSystemGetDriverVersion(char* v, unsigned n) {
  FAIL_IF_TOLD("nvmlSystemGetDriverVersion");
  return copy(scenario().value("driver", "535.104.05"), v, n);
}
Return nvmlSystemGetCudaDriverVersion_v2(int* v) {
  FAIL_IF_TOLD("nvmlSystemGetCudaDriverVersion_v2");
  *v = scenario().value("cuda", 12020);
  return 0;
}
Return nvmlDeviceGetCount_v2(unsigned* n) {
  FAIL_IF_TOLD("nvmlDeviceGetCount_v2");
  *n = static_cast<unsigned>(gpus().size());
  return 0;
}
Return nvmlDeviceGetHandleByIndex_v2(unsigned i, Device* d) {
  FAIL_IF_TOLD("nvmlDeviceGetHandleByIndex_v2");
  if (i >= gpus().size()) return 2;
  *d = reinterpret_cast<Device>(static_cast<uintptr_t>(i + 1));
  return 0;
}
Return nvmlDeviceGetName(Device d, char* out, unsigned n) {
  FAIL_IF_TOLD("nvmlDeviceGetName");
  const nlohmann::json* o = object(d);
  if (o == nullptr) return 2;
  std::string name = o->value("name", "");
  if (mig(d) != nullptr) name = (*gpu(d))["name"].get<std::string>() + " MIG " + name;
  return copy(name, out, n);
}
Return nvmlDeviceGetUUID(Device d, char* out, unsigned n) {
  FAIL_IF_TOLD("nvmlDeviceGetUUID");
  const nlohmann::json* o = object(d);
  return o == nullptr ? 2 : copy(o->value("uuid", ""), out, n);
}
Return nvmlDeviceGetPciInfo_v3(Device d, PciInfo* p) {
  FAIL_IF_TOLD("nvmlDeviceGetPciInfo_v3");
  const nlohmann::json* g = gpu(d);
  if (g == nullptr) return 2;
  std::memset(p, 0, sizeof *p);
  return copy(g->value("pci", "00000000:00:00.0"), p->bus_id, sizeof p->bus_id);
}
Return nvmlDeviceGetCudaComputeCapability(Device d, int* major, int* minor) {
  FAIL_IF_TOLD("nvmlDeviceGetCudaComputeCapability");
  const nlohmann::json* g = gpu(d);
  if (g == nullptr) return 2;
  *major = (*g)["cc"][0];
  *minor = (*g)["cc"][1];
  return 0;
}
Return nvmlDeviceGetMemoryInfo(Device d, Memory* m) {
  FAIL_IF_TOLD("nvmlDeviceGetMemoryInfo");
  const nlohmann::json* o = object(d);
  if (o == nullptr) return 2;
  m->total = o->value("memory_total", 0ULL);
  m->used = o->value("memory_used", 0ULL);
  m->free = m->total - m->used;
  return 0;
}
Return nvmlDeviceGetUtilizationRates(Device d, Utilization* u) {
  FAIL_IF_TOLD("nvmlDeviceGetUtilizationRates");
  const nlohmann::json* g = gpu(d);
  if (g == nullptr) return 2;
  u->gpu = g->value("utilization", 0u);
  u->memory = 0;
  return 0;
}
Return nvmlDeviceGetTemperature(Device d, int, unsigned* t) {
  FAIL_IF_TOLD("nvmlDeviceGetTemperature");
  const nlohmann::json* g = gpu(d);
  if (g == nullptr) return 2;
  *t = g->value("temperature", 40u);
  return 0;
}
Return nvmlDeviceGetPowerUsage(Device d, unsigned* mw) {
  FAIL_IF_TOLD("nvmlDeviceGetPowerUsage");
  const nlohmann::json* g = gpu(d);
  if (g == nullptr) return 2;
  *mw = g->value("power_mw", 60000u);
  return 0;
}
Return nvmlDeviceGetMigMode(Device d, unsigned* current, unsigned* pending) {
  FAIL_IF_TOLD("nvmlDeviceGetMigMode");
  const nlohmann::json* g = gpu(d);
  if (g == nullptr) return 2;
  if (!g->contains("mig")) return 3;  // no MIG on this GPU
  *current = *pending = (*g)["mig"].value("enabled", false) ? 1u : 0u;
  return 0;
}
Return nvmlDeviceGetMaxMigDeviceCount(Device d, unsigned* n) {
  FAIL_IF_TOLD("nvmlDeviceGetMaxMigDeviceCount");
  const nlohmann::json* g = gpu(d);
  if (g == nullptr) return 2;
  *n = g->contains("mig") ? 7u : 0u;
  return 0;
}
Return nvmlDeviceGetMigDeviceHandleByIndex(Device d, unsigned j, Device* m) {
  FAIL_IF_TOLD("nvmlDeviceGetMigDeviceHandleByIndex");
  const nlohmann::json* g = gpu(d);
  if (g == nullptr || !g->contains("mig")) return 3;
  if (j >= (*g)["mig"]["instances"].size()) return 6;  // an empty slot
  *m = reinterpret_cast<Device>((reinterpret_cast<uintptr_t>(d) << 8) | (j + 1));
  return 0;
}
Return nvmlDeviceGetGpuInstanceId(Device d, unsigned* id) {
  FAIL_IF_TOLD("nvmlDeviceGetGpuInstanceId");
  const nlohmann::json* m = mig(d);
  if (m == nullptr) return 2;
  *id = m->value("gi", 0u);
  return 0;
}
Return nvmlDeviceGetComputeInstanceId(Device d, unsigned* id) {
  FAIL_IF_TOLD("nvmlDeviceGetComputeInstanceId");
  const nlohmann::json* m = mig(d);
  if (m == nullptr) return 2;
  *id = m->value("ci", 0u);
  return 0;
}

}  // extern "C"
