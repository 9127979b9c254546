/* The C entry point of the CUDA backend plugin (libtessera_cuda.so), shared by the plugin and
   the code that loads it (gpu/cuda_probe.h): plain C, no C++ library types, so the plugin can
   be built by nvcc and checked by the loader whatever the compilers. */
#pragma once

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* What the plugin reports about itself. */
struct TesseraCudaPluginInfo {
  int abi;             /* this struct's version: 1 */
  int cuda_runtime;    /* CUDA runtime it was built with: 1000 * major + 10 * minor */
  const char* targets; /* comma-separated: "sm_75,sm_80,...,compute_120" */
};

/* Exported by the plugin as `tessera_cuda_plugin_info`. */
typedef const struct TesseraCudaPluginInfo* (*TesseraCudaPluginInfoFn)(void);

#ifdef __cplusplus
}  // extern "C"

namespace tessera::backend {
class Backend;
}

/* Exported by the plugin as `tessera_cuda_backend_create` (C linkage, C++ types: the plugin is
   built with the binary, by the same host compiler): a new backend over CUDA device `device`
   (the runtime's numbering, after CUDA_VISIBLE_DEVICES), owned by the caller, or null with the
   reason in error[error_size]. `interface_version` is the caller's kBackendInterfaceVersion
   (backend/backend.h); a plugin built against another version refuses. */
typedef tessera::backend::Backend* (*TesseraCudaBackendCreateFn)(int interface_version, int device,
                                                                 char* error, size_t error_size);

/* Exported as `tessera_cuda_measure_peaks`: the reference figures of device `device` the
   benchmarks compare with, measured now: device-to-device copy bandwidth (GB/s, bytes read plus
   bytes written) and the dense BF16 tensor-core peak cuBLAS reaches (TFLOP/s). Returns 0, or
   non-zero with the reason in error[error_size]. */
typedef int (*TesseraCudaMeasurePeaksFn)(int device, double* copy_gbps, double* bf16_tflops,
                                         char* error, size_t error_size);
#endif
