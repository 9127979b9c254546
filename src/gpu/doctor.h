// The doctor: checks, in order, everything that decides whether this host runs Tessera on its
// GPUs, each with what was found and the one-line fix, and the verdict: which backend
// `tessera serve` would use here and why. Read-only; never fails as a whole (every problem is
// a check's result).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "gpu/cuda_probe.h"
#include "gpu/inventory.h"

namespace tessera::gpu {

enum class CheckStatus { ok, warn, fail };
const char* check_status_name(CheckStatus s);  // "OK", "WARN", "FAIL"

struct Check {
  std::string name;
  CheckStatus status = CheckStatus::ok;
  std::string found;
  std::string fix;  // one line; empty when nothing is to be done
};

struct DoctorInput {
  std::string root = "/";  // where /proc and /dev are read (a container's root, for tests)
  std::optional<std::string> cuda_visible_devices;
  std::optional<std::string> nvidia_visible_devices;
  std::optional<std::string> nvidia_driver_capabilities;
};

struct DoctorReport {
  std::vector<Check> checks;
  std::string backend = "cpu";  // "cuda" or "cpu"
  std::string reason;
  Inventory inventory;
  CudaDriverProbe cuda_driver;
  CudaPluginProbe plugin;
  int exit_code() const { return backend == "cuda" ? 0 : 1; }
};

// CUDA_VISIBLE_DEVICES, NVIDIA_VISIBLE_DEVICES and NVIDIA_DRIVER_CAPABILITIES of this process,
// root "/".
DoctorInput doctor_input_from_environment();

DoctorReport run_doctor(const DoctorInput& in);

// The same checks from probes already made (what run_doctor does after probing; tests and the
// runtime's start-up use it).
DoctorReport diagnose(const DoctorInput& in, Inventory inventory, CudaDriverProbe cuda_driver,
                      CudaPluginProbe plugin);

}  // namespace tessera::gpu
