// CUDA compatibility knowledge as data (compat.cpp): which driver each CUDA toolkit needs, which
// CUDA version a driver supports, the minor-version-compatibility rule, GPU architectures by
// compute capability, and which build targets (SASS / PTX) run on which GPU. The doctor (#7)
// and the CUDA backend's loader ask these questions here and nowhere else. Facts and their
// sources are listed beside the tables in compat.cpp (collected in
// ../shared/reference/cuda-compat.{md,json}).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tessera::gpu {

// A driver version as the driver reports it: "525.60.13", "570.26".
struct DriverVersion {
  int major = 0, minor = 0, patch = 0;
  std::string str() const;
  bool operator<(const DriverVersion& o) const;
  bool operator>=(const DriverVersion& o) const { return !(*this < o); }
};
// Parses "M.m" or "M.m.p" (digits only); nullopt otherwise.
std::optional<DriverVersion> parse_driver_version(std::string_view s);

// A CUDA version, as cuDriverGetVersion / cudaRuntimeGetVersion give it: 1000 * major + 10 *
// minor (12040 = 12.4).
struct CudaVersion {
  int major = 0, minor = 0;
  static CudaVersion from_code(int code) { return {code / 1000, (code % 1000) / 10}; }
  int code() const { return 1000 * major + 10 * minor; }
  std::string str() const;  // "12.4"
};

// The lowest Linux driver of a CUDA toolkit's minor release (its GA); nullopt when unknown.
std::optional<DriverVersion> toolkit_min_driver(CudaVersion toolkit);

// The highest CUDA version a driver supports, from its branch (the toolkit bundled with it);
// nullopt for a branch older than the table (before 450).
std::optional<CudaVersion> driver_max_cuda(DriverVersion driver);

// Whether a build whose CUDA runtime is `build` runs on a driver that supports `driver_cuda`
// (cuDriverGetVersion, or nvmlSystemGetCudaDriverVersion) and has version `driver` (when
// known). `minor_compat`: same major, older minor, above the major's floor: runs, SASS only
// (newer PTX cannot be JIT-compiled) and some newer APIs fail.
struct RuntimeFit {
  enum class Kind { ok, minor_compat, too_old };
  Kind kind = Kind::ok;
  std::string found;  // e.g. "driver 470.82 supports CUDA <= 11.4; this build needs 12.0"
  std::string fix;    // one line; empty when ok
};
RuntimeFit check_runtime(CudaVersion build, CudaVersion driver_cuda,
                         std::optional<DriverVersion> driver);

// The architecture of a compute capability ("Turing" for 7.5); "unknown" when not listed.
std::string_view architecture_name(int cc_major, int cc_minor);

// A compiled target: sm_XY[a|f] (SASS) or compute_XY[a|f] (PTX).
struct Target {
  int sm = 0;        // 10 * major + minor: 75, 90, 120
  char suffix = 0;   // 0, 'a' (this CC exactly) or 'f' (the family: same major, minor >= Y)
  bool ptx = false;  // compute_XY
  std::string str() const;
};
std::optional<Target> parse_target(std::string_view s);

// Whether a build carrying `targets` can run on a GPU of compute capability cc (10 * major +
// minor): SASS for the same major and a minor at most the GPU's (exact for 'a'), or PTX for a
// CC at most the GPU's (JIT-compiled by the driver at load).
struct ArchFit {
  bool ok = false;
  bool via_ptx = false;
  std::string target;  // the target that fits, e.g. "sm_86" or "compute_90"
};
ArchFit check_architecture(int cc, const std::vector<Target>& targets);

}  // namespace tessera::gpu
