#include "gpu/cuda_probe.h"

#include <dlfcn.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>

namespace tessera::gpu {
namespace {

using CuInitFn = int (*)(unsigned);
using CuIntFn = int (*)(int*);
using CuErrorStringFn = int (*)(int, const char**);

std::string dl_error() {
  const char* e = dlerror();
  return e != nullptr ? e : "dlopen failed";
}

std::string executable_dir() {
  char buf[PATH_MAX];
  const ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return "";
  const std::string exe(buf, static_cast<size_t>(n));
  const size_t slash = exe.find_last_of('/');
  return slash == std::string::npos ? "" : exe.substr(0, slash);
}

}  // namespace

CudaDriverProbe probe_cuda_driver() {
  CudaDriverProbe p;
  void* lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (lib == nullptr) {
    p.error = "libcuda.so.1 not found (" + dl_error() + ")";
    return p;
  }
  p.loaded = true;
  const auto init = reinterpret_cast<CuInitFn>(dlsym(lib, "cuInit"));
  const auto version = reinterpret_cast<CuIntFn>(dlsym(lib, "cuDriverGetVersion"));
  const auto count = reinterpret_cast<CuIntFn>(dlsym(lib, "cuDeviceGetCount"));
  const auto error_string = reinterpret_cast<CuErrorStringFn>(dlsym(lib, "cuGetErrorString"));
  auto text = [&](int r) {
    const char* s = nullptr;
    if (error_string != nullptr) error_string(r, &s);
    return std::string(s != nullptr ? s : "error") + " (CUresult " + std::to_string(r) + ")";
  };
  if (init == nullptr || version == nullptr || count == nullptr) {
    p.error = "libcuda.so.1 lacks cuInit / cuDriverGetVersion / cuDeviceGetCount";
  } else {
    int v = 0;
    if (const int r = version(&v); r == 0) {
      p.version = v;
    } else {
      p.error = "cuDriverGetVersion failed: " + text(r);
    }
    p.init_code = init(0);
    if (p.init_code != 0) {
      p.error = "cuInit failed: " + text(p.init_code);
    } else if (const int r = count(&p.device_count); r != 0) {
      p.error = "cuDeviceGetCount failed: " + text(r);
    }
  }
  dlclose(lib);
  return p;
}

CudaPluginProbe probe_cuda_plugin() {
  CudaPluginProbe p;
  void* lib = nullptr;
  const char* chosen = std::getenv("TESSERA_CUDA_PLUGIN");
  if (chosen != nullptr && std::string(chosen) == "none") {
    p.error = "TESSERA_CUDA_PLUGIN=none: the CUDA backend is turned off";
    return p;
  }
  if (chosen != nullptr) {
    p.path = chosen;
    lib = dlopen(p.path.c_str(), RTLD_NOW | RTLD_LOCAL);
  } else {
    const std::string dir = executable_dir();
    if (!dir.empty()) {
      p.path = dir + "/libtessera_cuda.so";
      if (access(p.path.c_str(), F_OK) == 0) lib = dlopen(p.path.c_str(), RTLD_NOW | RTLD_LOCAL);
    }
    if (lib == nullptr && (dir.empty() || access(p.path.c_str(), F_OK) != 0)) {
      p.path = "libtessera_cuda.so";
      lib = dlopen(p.path.c_str(), RTLD_NOW | RTLD_LOCAL);
    }
  }
  if (lib == nullptr) {
    const std::string e = dl_error();
    if (e.rfind(p.path + ": cannot open shared object file", 0) == 0) {
      p.error =
          "libtessera_cuda.so not found next to the executable or on the library path: "
          "this is a CPU-only build";
    } else {  // found, but it (or a CUDA library it needs) does not load
      p.error = "the CUDA backend (libtessera_cuda.so) does not load: " + e;
    }
    p.path.clear();
    return p;
  }
  const auto info_fn =
      reinterpret_cast<TesseraCudaPluginInfoFn>(dlsym(lib, "tessera_cuda_plugin_info"));
  const TesseraCudaPluginInfo* info = info_fn != nullptr ? info_fn() : nullptr;
  if (info == nullptr || info->abi != 1) {
    p.error = p.path +
              " does not report its CUDA runtime and targets (not a Tessera plugin of "
              "this version)";
    dlclose(lib);
    return p;
  }
  p.loaded = true;
  p.handle = lib;
  p.runtime = CudaVersion::from_code(info->cuda_runtime);
  const std::string targets = info->targets != nullptr ? info->targets : "";
  size_t start = 0;
  while (start < targets.size()) {
    size_t end = targets.find(',', start);
    if (end == std::string::npos) end = targets.size();
    if (auto t = parse_target(targets.substr(start, end - start))) p.targets.push_back(*t);
    start = end + 1;
  }
  // The library stays loaded: the runtime uses it (issue #8).
  return p;
}

}  // namespace tessera::gpu
