#include "gpu/compat.h"

#include <cstdio>

namespace tessera::gpu {
namespace {

// Lowest "Toolkit Driver Version" (Linux, GA of each minor release): CUDA Toolkit release
// notes, Table 3 (https://docs.nvidia.com/cuda/cuda-toolkit-release-notes/). There is no 12.7.
struct ToolkitDriver {
  int cuda;  // 1000 * major + 10 * minor
  DriverVersion driver;
};
constexpr ToolkitDriver kToolkitMinDriver[] = {
    {11000, {450, 36, 6}}, {11010, {455, 23, 0}},  {11020, {460, 27, 3}}, {11030, {465, 19, 1}},
    {11040, {470, 42, 1}}, {11050, {495, 29, 5}},  {11060, {510, 39, 1}}, {11070, {515, 43, 4}},
    {11080, {520, 61, 5}}, {12000, {525, 60, 13}}, {12010, {530, 30, 2}}, {12020, {535, 54, 3}},
    {12030, {545, 23, 6}}, {12040, {550, 54, 14}}, {12050, {555, 42, 2}}, {12060, {560, 28, 3}},
    {12080, {570, 26, 0}}, {12090, {575, 51, 3}},  {13000, {580, 65, 6}}, {13010, {590, 44, 1}},
    {13020, {595, 45, 4}},
};

// Highest CUDA version per driver branch: the toolkit bundled with the branch (release notes
// Table 3), checked against public nvidia-smi banners where marked verified in the reference
// (470, 520, 535, 545, 555-595, 610); 565 reports 12.7 although no 12.7 toolkit exists.
struct BranchCuda {
  int branch;
  int cuda;
};
constexpr BranchCuda kBranchMaxCuda[] = {
    {450, 11000}, {455, 11010}, {460, 11020}, {465, 11030}, {470, 11040}, {495, 11050},
    {510, 11060}, {515, 11070}, {520, 11080}, {525, 12000}, {530, 12010}, {535, 12020},
    {545, 12030}, {550, 12040}, {555, 12050}, {560, 12060}, {565, 12070}, {570, 12080},
    {575, 12090}, {580, 13000}, {590, 13010}, {595, 13020}, {610, 13030},
};

// Minor-version compatibility (docs.nvidia.com/deploy/cuda-compatibility, "Minor Version
// Compatibility"): a build of CUDA M.x runs on a driver of the same major M at or above the
// major's floor, SASS only for anything newer than the driver's minor.
struct MajorFloor {
  int major;
  DriverVersion driver_min;
};
constexpr MajorFloor kMinorCompatFloor[] = {
    {11, {450, 80, 2}},
    {12, {525, 60, 13}},
    {13, {580, 65, 6}},
};

// Architectures by compute capability (developer.nvidia.com/cuda-gpus).
struct Arch {
  int cc;
  const char* name;
};
constexpr Arch kArchitectures[] = {
    {30, "Kepler"},     {32, "Kepler"},           {35, "Kepler"},     {37, "Kepler"},
    {50, "Maxwell"},    {52, "Maxwell"},          {53, "Maxwell"},    {60, "Pascal"},
    {61, "Pascal"},     {62, "Pascal"},           {70, "Volta"},      {72, "Volta"},
    {75, "Turing"},     {80, "Ampere"},           {86, "Ampere"},     {87, "Ampere"},
    {88, "Ampere"},     {89, "Ada Lovelace"},     {90, "Hopper"},     {100, "Blackwell"},
    {101, "Blackwell"}, {103, "Blackwell Ultra"}, {110, "Blackwell"}, {120, "Blackwell"},
    {121, "Blackwell"},
};

std::string image_for(int major) {
  return "the cuda" + std::to_string(major) + " image";
}

}  // namespace

std::string DriverVersion::str() const {
  char buf[48];
  if (patch > 0) {
    std::snprintf(buf, sizeof buf, "%d.%02d.%02d", major, minor, patch);
  } else {
    std::snprintf(buf, sizeof buf, "%d.%02d", major, minor);
  }
  return buf;
}

bool DriverVersion::operator<(const DriverVersion& o) const {
  if (major != o.major) return major < o.major;
  if (minor != o.minor) return minor < o.minor;
  return patch < o.patch;
}

std::optional<DriverVersion> parse_driver_version(std::string_view s) {
  int parts[3] = {0, 0, 0};
  int n = 0;
  size_t i = 0;
  while (n < 3) {
    if (i >= s.size() || s[i] < '0' || s[i] > '9') return std::nullopt;
    long v = 0;
    for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i) {
      v = v * 10 + (s[i] - '0');
      if (v > 100000) return std::nullopt;
    }
    parts[n++] = static_cast<int>(v);
    if (i == s.size()) break;
    if (s[i] != '.') return std::nullopt;
    ++i;
  }
  if (i != s.size() || n < 2) return std::nullopt;
  return DriverVersion{parts[0], parts[1], parts[2]};
}

std::string CudaVersion::str() const {
  return std::to_string(major) + "." + std::to_string(minor);
}

std::optional<DriverVersion> toolkit_min_driver(CudaVersion toolkit) {
  for (const ToolkitDriver& t : kToolkitMinDriver) {
    if (t.cuda == toolkit.code()) return t.driver;
  }
  return std::nullopt;
}

std::optional<CudaVersion> driver_max_cuda(DriverVersion driver) {
  std::optional<CudaVersion> best;
  for (const BranchCuda& b : kBranchMaxCuda) {
    if (driver.major >= b.branch) best = CudaVersion::from_code(b.cuda);
  }
  return best;
}

RuntimeFit check_runtime(CudaVersion build, CudaVersion driver_cuda,
                         std::optional<DriverVersion> driver) {
  RuntimeFit fit;
  const std::string who = driver
                              ? "driver " + driver->str() + " supports CUDA <= " + driver_cuda.str()
                              : "the driver supports CUDA <= " + driver_cuda.str();
  if (driver_cuda.code() >= build.code()) {
    fit.found = who + "; this build uses CUDA " + build.str();
    return fit;
  }
  const std::optional<DriverVersion> need = toolkit_min_driver(build);
  const std::string need_text = need ? need->str() : "one that supports CUDA " + build.str();
  std::optional<DriverVersion> floor;
  for (const MajorFloor& f : kMinorCompatFloor) {
    if (f.major == build.major) floor = f.driver_min;
  }
  const bool same_major = driver_cuda.major == build.major;
  if (same_major && floor && (!driver || *driver >= *floor)) {
    fit.kind = RuntimeFit::Kind::minor_compat;
    fit.found = who + "; this build uses CUDA " + build.str() +
                ": it runs by minor-version compatibility (compiled kernels only, no PTX JIT "
                "of newer code, a few newer APIs unavailable)";
    fit.fix = "for full support install driver >= " + need_text;
    return fit;
  }
  fit.kind = RuntimeFit::Kind::too_old;
  fit.found = who + "; this build needs >= " + build.str();
  fit.fix = "install driver >= " + need_text + " or use " + image_for(driver_cuda.major);
  return fit;
}

std::string_view architecture_name(int cc_major, int cc_minor) {
  const int cc = 10 * cc_major + cc_minor;
  for (const Arch& a : kArchitectures) {
    if (a.cc == cc) return a.name;
  }
  return "unknown";
}

std::string Target::str() const {
  std::string s = (ptx ? "compute_" : "sm_") + std::to_string(sm);
  if (suffix != 0) s += suffix;
  return s;
}

std::optional<Target> parse_target(std::string_view s) {
  Target t;
  if (s.substr(0, 3) == "sm_") {
    s.remove_prefix(3);
  } else if (s.substr(0, 8) == "compute_") {
    t.ptx = true;
    s.remove_prefix(8);
  } else {
    return std::nullopt;
  }
  if (!s.empty() && (s.back() == 'a' || s.back() == 'f')) {
    t.suffix = s.back();
    s.remove_suffix(1);
  }
  if (s.size() < 2 || s.size() > 3) return std::nullopt;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    t.sm = t.sm * 10 + (c - '0');
  }
  return t;
}

ArchFit check_architecture(int cc, const std::vector<Target>& targets) {
  ArchFit best;
  for (const Target& t : targets) {
    bool runs = false;
    if (t.suffix == 'a') {
      runs = t.sm == cc;  // architecture-specific: this CC only
    } else if (!t.ptx || t.suffix == 'f') {
      runs = t.sm / 10 == cc / 10 && t.sm <= cc;  // SASS, or a family: same major, newer minor
    } else {
      runs = t.sm <= cc;  // PTX: JIT-compiled for any newer GPU
    }
    if (!runs) continue;
    // Prefer SASS (no JIT at load), then the newest target.
    const bool better = !best.ok || (best.via_ptx && !t.ptx) ||
                        (best.via_ptx == t.ptx && parse_target(best.target)->sm < t.sm);
    if (better) best = ArchFit{true, t.ptx, t.str()};
  }
  return best;
}

}  // namespace tessera::gpu
