// The x86-64 instruction sets the CPU kernels are compiled for, and which of them this CPU
// runs. Kernels for an ISA live in their own files, compiled with that ISA's flags, and are
// called only when cpu_isa() reports it, so one binary runs on any x86-64.
#pragma once

namespace tessera::backend::cpu {

enum class Isa {
  scalar,      // plain C++ (other CPUs, or no AVX2)
  avx2,        // AVX2 + FMA + F16C, YMM state enabled by the OS
  avx512vnni,  // avx2, plus AVX-512 F/BW/VL and VNNI with ZMM/opmask state enabled
};

// Detected once (CPUID and XGETBV), then cached. Thread-safe.
Isa cpu_isa();

// "avx512vnni", "avx2" or "scalar".
const char* isa_name(Isa isa);

}  // namespace tessera::backend::cpu
