#include "engine/llm/host_kernels.h"

#include "backend/cpu/cpu_isa.h"

namespace tessera::engine {

CpuKernels host_cpu_kernels() {
  switch (backend::cpu::cpu_isa()) {
    case backend::cpu::Isa::avx512vnni:
      return CpuKernels::avx512vnni;
    case backend::cpu::Isa::avx2:
      return CpuKernels::avx2;
    case backend::cpu::Isa::scalar:
      break;
  }
  return CpuKernels::scalar;
}

}  // namespace tessera::engine
