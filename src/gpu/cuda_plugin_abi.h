/* The C entry point of the CUDA backend plugin (libtessera_cuda.so), shared by the plugin and
   the code that loads it (gpu/cuda_probe.h): plain C, no C++ library types, so the plugin can
   be built by nvcc and checked by the loader whatever the compilers. */
#pragma once

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
}
#endif
