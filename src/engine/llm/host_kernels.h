// The kernels this machine's CPU backend uses, in the memory estimate's terms
// (engine/memory_estimate.h: CpuKernels decides the re-arranged weight copies it counts).
#pragma once

#include "engine/memory_estimate.h"

namespace tessera::engine {

CpuKernels host_cpu_kernels();

}  // namespace tessera::engine
