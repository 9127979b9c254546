// The CUDA backend plugin's report of itself (gpu/cuda_plugin_abi.h): the CUDA runtime it was
// compiled against and the targets CMake compiled it for (TESSERA_CUDA_TARGETS).
#include <cuda_runtime_api.h>

#include "gpu/cuda_plugin_abi.h"

extern "C" __attribute__((visibility("default"))) const TesseraCudaPluginInfo*
tessera_cuda_plugin_info(void) {
  static const TesseraCudaPluginInfo info = {1, CUDART_VERSION, TESSERA_CUDA_TARGETS};
  return &info;
}
