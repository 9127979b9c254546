// The GPUs of this host as NVML reports them (libnvidia-ml.so.1, loaded with dlopen, so the
// binary starts on hosts without it): driver version, the highest CUDA version the driver
// supports, and per GPU its identity, compute capability, memory, utilization, temperature,
// power and MIG instances; plus which of them CUDA_VISIBLE_DEVICES leaves visible.
//
// Nothing here fails as a whole: a missing library, a failing nvmlInit or a failing call for
// one field is recorded (with NVML's error text) and the rest is still read.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace tessera::gpu {

struct MigInstance {
  int parent = 0;  // index of the GPU
  unsigned gpu_instance_id = 0, compute_instance_id = 0;
  std::string profile;  // e.g. "2g.20gb" (from the MIG device's name)
  std::string uuid;     // "MIG-..."
  uint64_t memory_total = 0, memory_used = 0;
  bool visible = true;  // by CUDA_VISIBLE_DEVICES
};

struct GpuInfo {
  int index = 0;
  std::string name, uuid, pci_bus_id;
  int cc_major = 0, cc_minor = 0;  // 0.0 when unknown
  uint64_t memory_total = 0, memory_used = 0, memory_free = 0;
  std::optional<unsigned> utilization_pct, temperature_c;
  std::optional<double> power_w;
  std::optional<bool> mig_enabled;  // nullopt: the GPU has no MIG
  std::vector<MigInstance> mig;
  bool visible = true;              // by CUDA_VISIBLE_DEVICES (a MIG instance may be instead)
  std::vector<std::string> errors;  // "power: Not Supported", ...
};

struct Inventory {
  bool nvml_loaded = false;  // the library was found and nvmlInit succeeded
  std::string nvml_error;    // why not, when not
  int nvml_init_code = 0;    // nvmlInit_v2's return code (9: kernel driver not loaded, ...)
  std::string driver_version;
  std::optional<int> cuda_driver_version;  // 1000 * major + 10 * minor
  std::string cuda_driver_error;           // e.g. libcuda.so.1 missing
  std::vector<GpuInfo> gpus;
  // CUDA_VISIBLE_DEVICES as read; `visible_error` names a garbage entry.
  std::optional<std::string> cuda_visible_devices;
  std::string visible_error;
};

// Reads the inventory (dlopen of "libnvidia-ml.so.1" through the normal library search).
// `cuda_visible_devices`: the variable's value, nullopt when unset.
Inventory read_inventory(const std::optional<std::string>& cuda_visible_devices);

// Applies a CUDA_VISIBLE_DEVICES value to an inventory: entries are comma-separated GPU
// indices, GPU-... UUIDs (or unique prefixes) or MIG-... UUIDs ("" or "-1": none); CUDA
// ignores everything from the first entry it cannot read, and so do we, reporting that entry
// in visible_error.
void apply_visible_devices(Inventory& inv, const std::string& value);

}  // namespace tessera::gpu
