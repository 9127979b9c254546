#include "backend/cpu/cpu_isa.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

namespace tessera::backend::cpu {
namespace {

Isa detect_isa() {
#if defined(__x86_64__) || defined(__i386__)
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (__get_cpuid(1, &a, &b, &c, &d) == 0) return Isa::scalar;
  const bool fma = (c >> 12) & 1u, osxsave = (c >> 27) & 1u, f16c = (c >> 29) & 1u;
  if (!fma || !osxsave || !f16c) return Isa::scalar;
  unsigned xcr0_lo = 0, xcr0_hi = 0;
  __asm__("xgetbv" : "=a"(xcr0_lo), "=d"(xcr0_hi) : "c"(0));
  if ((xcr0_lo & 0x6u) != 0x6u) return Isa::scalar;  // XMM and YMM state
  if (__get_cpuid_count(7, 0, &a, &b, &c, &d) == 0) return Isa::scalar;
  if (((b >> 5) & 1u) == 0) return Isa::scalar;                                  // AVX2
  const bool avx512 = ((b >> 16) & 1u) && ((b >> 30) & 1u) && ((b >> 31) & 1u);  // F, BW, VL
  const bool vnni = (c >> 11) & 1u;
  if (avx512 && vnni && (xcr0_lo & 0xE0u) == 0xE0u) return Isa::avx512vnni;
  return Isa::avx2;
#else
  return Isa::scalar;
#endif
}

}  // namespace

Isa cpu_isa() {
  static const Isa isa = detect_isa();
  return isa;
}

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::avx512vnni:
      return "avx512vnni";
    case Isa::avx2:
      return "avx2";
    case Isa::scalar:
      break;
  }
  return "scalar";
}

}  // namespace tessera::backend::cpu
