#include "gpu/mig_profiles.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <vector>

namespace tessera::gpu {
namespace {

// Where an instance may start, from `nvidia-smi mig -lgipp`, the same on every GPU of the
// table: NVIDIA MIG User Guide, "Getting Started with MIG" (A100-SXM4-40GB), and public
// listings of an H100 NVL and an H100 80GB ({starts}:size):
//   1g (1 memory slice)   {0,1,2,3,4,5,6}:1   - slice 7 never holds a 1-slice instance
//   1g (2 memory slices)  {0,2,4,6}:2
//   2g                    {0,2,4}:2
//   3g                    {0,4}:4
//   4g                    {0}:4
//   7g                    {0}:8
// The maximum counts (7, 4, 3, 2, 1, 1) are NVIDIA mig-parted's config-default.yaml and the
// user guide's profile tables; they equal the number of disjoint placements, which the tests
// check.
constexpr uint8_t kStarts1g = 0b0111'1111;
constexpr uint8_t kStarts1gDouble = 0b0101'0101;
constexpr uint8_t kStarts2g = 0b0001'0101;
constexpr uint8_t kStarts3g = 0b0001'0001;
constexpr uint8_t kStartsWhole = 0b0000'0001;

// The memory of a profile's instance is what `nvidia-smi mig -lgip` prints in its "Memory GiB"
// column: two decimals of a figure that is a whole number of 128 MiB on every listing we have
// (x.62 = x.625 GiB, x.38 = x.375 GiB), so the MiB below are exact. The H100 NVL listing comes
// with the MIG devices' own totals (11008, 22144 and 47488 MiB), which agree. An instance's
// device may report a little more (the MIG User Guide shows two 3g.20gb instances of an A100
// with 20224 and 20096 MiB for a listed 19.50 GiB); we plan with the listed figure, the lower.
//
// Rules for figures no listing gives (memory_derived = true), each a lower bound on all four
// fully listed GPUs (A100-40GB, A100-80GB, H100-80GB, H100-94GB; the tests check it):
//   - a 1g profile with 2 memory slices has the memory of the 2g profile (equal on all four);
//   - a 4-slice profile (3g, 4g) has half the whole GPU's memory less 256 MiB (A100-80GB: equal;
//     the others: 64 to 128 MiB more). For the H200 that gives 69.75 GiB, consistent with a
//     public report of "VRAM: 69.8GB" inside an H200 3g.71gb instance.
constexpr MigProfile p(std::string_view name, int g, int mem, int count, uint8_t starts,
                       uint64_t mib, bool derived = false) {
  return MigProfile{name, g, mem, count, starts, mib, derived};
}

// A100-SXM4-40GB: NVIDIA MIG User Guide, "Getting Started with MIG", `nvidia-smi mig -lgip`:
// 1g.5gb 4.75, 1g.10gb 9.62, 2g.10gb 9.62, 3g.20gb 19.50, 4g.20gb 19.50, 7g.40gb 39.25 GiB.
constexpr std::array kA100_40 = {
    p("1g.5gb", 1, 1, 7, kStarts1g, 4864),      p("1g.10gb", 1, 2, 4, kStarts1gDouble, 9856),
    p("2g.10gb", 2, 2, 3, kStarts2g, 9856),     p("3g.20gb", 3, 4, 2, kStarts3g, 19968),
    p("4g.20gb", 4, 4, 1, kStartsWhole, 19968), p("7g.40gb", 7, 8, 1, kStartsWhole, 40192),
};
// A100-SXM4-80GB (98 SMs): public `nvidia-smi mig -lgip` listings (two, identical): 1g.10gb
// 9.50, 1g.20gb 19.50, 2g.20gb 19.50, 3g.40gb 39.25, 4g.40gb 39.25, 7g.80gb 79.00 GiB.
constexpr std::array kA100_80 = {
    p("1g.10gb", 1, 1, 7, kStarts1g, 9728),     p("1g.20gb", 1, 2, 4, kStarts1gDouble, 19968),
    p("2g.20gb", 2, 2, 3, kStarts2g, 19968),    p("3g.40gb", 3, 4, 2, kStarts3g, 40192),
    p("4g.40gb", 4, 4, 1, kStartsWhole, 40192), p("7g.80gb", 7, 8, 1, kStartsWhole, 80896),
};
// H100 80GB (SXM5, 132 SMs; the PCIe card lists the same memory): public `nvidia-smi mig
// -lgip` listings (https://jbarrow.ai/field_notes/nvidia-mig/ and others): 1g.10gb 9.75,
// 1g.20gb 19.62, 2g.20gb 19.62, 3g.40gb 39.50, 4g.40gb 39.50, 7g.80gb 79.25 GiB.
constexpr std::array kH100_80 = {
    p("1g.10gb", 1, 1, 7, kStarts1g, 9984),     p("1g.20gb", 1, 2, 4, kStarts1gDouble, 20096),
    p("2g.20gb", 2, 2, 3, kStarts2g, 20096),    p("3g.40gb", 3, 4, 2, kStarts3g, 40448),
    p("4g.40gb", 4, 4, 1, kStartsWhole, 40448), p("7g.80gb", 7, 8, 1, kStartsWhole, 81152),
};
// H100 NVL (94 GB): a public Azure NC40ads_H100_v5 walkthrough's `nvidia-smi mig -lgip`:
// 1g.12gb 10.75, 1g.24gb 21.62, 2g.24gb 21.62, 3g.47gb 46.38, 4g.47gb 46.38, 7g.94gb 93.12 GiB,
// and its MIG devices (3g.47gb 47488, 1g.24gb 22144, 1g.12gb 11008 MiB).
constexpr std::array kH100_94 = {
    p("1g.12gb", 1, 1, 7, kStarts1g, 11008),    p("1g.24gb", 1, 2, 4, kStarts1gDouble, 22144),
    p("2g.24gb", 2, 2, 3, kStarts2g, 22144),    p("3g.47gb", 3, 4, 2, kStarts3g, 47488),
    p("4g.47gb", 4, 4, 1, kStartsWhole, 47488), p("7g.94gb", 7, 8, 1, kStartsWhole, 95360),
};
// H200 141GB (SXM and NVL): a public `nvidia-smi mig -lgip` listing gives 1g.18gb 16.00,
// 2g.35gb 32.50 and 7g.141gb 140.00 GiB (1g.18gb = 16 GiB is also what Tessera's H200 test
// scenario and user reports of "16.0 GiB usable" say); 1g.35gb, 3g.71gb and 4g.71gb follow the
// rules above.
constexpr std::array kH200_141 = {
    p("1g.18gb", 1, 1, 7, kStarts1g, 16384),
    p("1g.35gb", 1, 2, 4, kStarts1gDouble, 33280, true),
    p("2g.35gb", 2, 2, 3, kStarts2g, 33280),
    p("3g.71gb", 3, 4, 2, kStarts3g, 143360 / 2 - 256, true),
    p("4g.71gb", 4, 4, 1, kStartsWhole, 143360 / 2 - 256, true),
    p("7g.141gb", 7, 8, 1, kStartsWhole, 143360),
};

// Accepted other names, normalized (see normalize()): NVML product names.
constexpr std::array<std::string_view, 2> kA100_40Aliases = {"a100-sxm4-40gb", "a100-pcie-40gb"};
constexpr std::array<std::string_view, 3> kA100_80Aliases = {"a100-sxm4-80gb", "a100-pcie-80gb",
                                                             "a100-80gb-pcie"};
constexpr std::array<std::string_view, 3> kH100_80Aliases = {"h100-80gb-hbm3", "h100-sxm5-80gb",
                                                             "h100-pcie"};
constexpr std::array<std::string_view, 1> kH100_94Aliases = {"h100-nvl"};
constexpr std::array<std::string_view, 2> kH200Aliases = {"h200", "h200-nvl"};

// H100-96GB (GH200) and A30-24GB are left out: no `-lgip` listing of them was found.
const std::array<MigGpu, 5> kGpus = {{
    {"A100-40GB", "A100-SXM4-40GB, A100-PCIE-40GB", kA100_40Aliases, kA100_40},
    {"A100-80GB", "A100-SXM4-80GB, A100 80GB PCIe", kA100_80Aliases, kA100_80},
    {"H100-80GB", "H100 80GB HBM3 (SXM5), H100 PCIe", kH100_80Aliases, kH100_80},
    {"H100-94GB", "H100 NVL", kH100_94Aliases, kH100_94},
    {"H200-141GB", "H200 (SXM), H200 NVL", kH200Aliases, kH200_141},
}};

// Lower case, spaces and underscores as dashes, no "nvidia-" prefix.
std::string normalize(std::string_view name) {
  std::string s;
  for (char c : name) {
    if (c == ' ' || c == '_') c = '-';
    s += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  const size_t b = s.find_first_not_of('-');
  s = b == std::string::npos ? "" : s.substr(b);
  if (s.starts_with("nvidia-")) s = s.substr(7);
  return s;
}

std::string family(std::string_view gpu_name) {
  return normalize(gpu_name.substr(0, gpu_name.find('-')));
}

}  // namespace

const MigProfile* MigGpu::find_profile(std::string_view profile_name) const {
  const std::string want = normalize(profile_name);
  for (const MigProfile& p : profiles) {
    if (normalize(p.name) == want) return &p;
  }
  return nullptr;
}

std::span<const MigGpu> mig_gpus() {
  return kGpus;
}

std::string mig_gpu_names() {
  std::string names;
  for (const MigGpu& g : kGpus) {
    if (!names.empty()) names += ", ";
    names += g.name;
  }
  return names;
}

Result<const MigGpu*> find_mig_gpu(std::string_view name) {
  const std::string want = normalize(name);
  for (const MigGpu& g : kGpus) {
    if (normalize(g.name) == want) return &g;
    for (std::string_view a : g.aliases) {
      if (a == want) return &g;
    }
  }
  std::vector<const MigGpu*> same_family;
  for (const MigGpu& g : kGpus) {
    if (!want.empty() && family(g.name) == want) same_family.push_back(&g);
  }
  if (same_family.size() == 1) return same_family[0];
  if (same_family.size() > 1) {
    std::string sizes;
    for (const MigGpu* g : same_family) {
      if (!sizes.empty()) sizes += " or ";
      sizes += g->name;
    }
    return make_error(ErrorCode::invalid_argument,
                      "GPU '" + std::string(name) + "' comes in several sizes; name one: " + sizes);
  }
  return make_error(ErrorCode::invalid_argument,
                    "unknown GPU '" + std::string(name) + "'; the MIG-capable GPUs Tessera " +
                        "knows: " + mig_gpu_names() +
                        " (case-insensitive; NVML names such as 'NVIDIA H100 80GB HBM3' work too)");
}

}  // namespace tessera::gpu
