// What the CUDA side of this host and this build can do, probed at run time with dlopen so the
// binary needs neither: the driver API (libcuda.so.1: cuInit, cuDriverGetVersion,
// cuDeviceGetCount) and this build's CUDA plugin (libtessera_cuda.so, issue #8), which
// reports the CUDA runtime it was built with and its SASS / PTX targets.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "gpu/compat.h"
#include "gpu/cuda_plugin_abi.h"

namespace tessera::gpu {

struct CudaDriverProbe {
  bool loaded = false;         // libcuda.so.1 found
  int init_code = -1;          // cuInit(0)'s CUresult (0 = success)
  std::string error;           // what failed, when something did
  std::optional<int> version;  // cuDriverGetVersion: 1000 * major + 10 * minor
  int device_count = 0;
};
CudaDriverProbe probe_cuda_driver();

struct CudaPluginProbe {
  bool loaded = false;
  std::string error;       // e.g. "libtessera_cuda.so not found: this is a CPU-only build"
  std::string path;        // where it was found
  void* handle = nullptr;  // the loaded library (kept loaded: the runtime uses it)
  CudaVersion runtime;
  std::vector<Target> targets;
};
// Loads the CUDA backend plugin: the file TESSERA_CUDA_PLUGIN names when that is set ("none":
// the CUDA backend is turned off), else libtessera_cuda.so next to the running executable,
// then on the library path.
CudaPluginProbe probe_cuda_plugin();

}  // namespace tessera::gpu
