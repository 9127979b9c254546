// NVIDIA MIG (Multi-Instance GPU) profiles as data: for each MIG-capable GPU Tessera plans for,
// the GPU instance profiles it can be cut into, with their share of the GPU's compute and
// memory slices, where an instance of each may start, and the memory an instance of each
// really has. The facts and their sources are beside the tables in mig_profiles.cpp
// (summarized in ../shared/reference/gpu-serving-anchors.md section 8 and docs/cli.md).
//
// Model of a GPU: 7 compute slices and 8 memory slices. An instance of a profile takes
// `compute_slices` of the 7 and the `memory_slices` consecutive memory slices that begin at its
// start slice, which must be one the profile allows (`nvidia-smi mig -lgipp`). Media-extension
// profiles (`+me`) are left out: they add video decoders a language model does not use, and at
// most one of them fits a GPU.
//
// Everything here is immutable static data: safe to read from any thread.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "util/result.h"

namespace tessera::gpu {

inline constexpr int kMigComputeSlices = 7;
inline constexpr int kMigMemorySlices = 8;
inline constexpr int kMaxMigProfiles = 8;  // profiles per GPU in the table, at most

struct MigProfile {
  std::string_view name;  // as nvidia-smi, mig-parted and the k8s device plugin spell it: "2g.10gb"
  int compute_slices;     // of kMigComputeSlices
  int memory_slices;      // of kMigMemorySlices
  int max_count;          // instances of this profile on one GPU, at most
  uint8_t starts;         // bit s set: an instance may start at memory slice s
  uint64_t memory_mib;    // memory of one instance in MiB (what CUDA inside it can allocate
                          // before its own context), see mig_profiles.cpp
  bool memory_derived;    // true: no published listing found; memory_mib follows the rule in
                          // mig_profiles.cpp (a lower bound on every listed GPU)

  uint64_t memory_bytes() const { return memory_mib << 20; }
};

struct MigGpu {
  std::string_view name;                      // "A100-40GB": what `--gpu` takes
  std::string_view products;                  // the products it covers, for people
  std::span<const std::string_view> aliases;  // other accepted names (NVML product names)
  std::span<const MigProfile> profiles;       // by memory slices, then compute slices, ascending

  // The profile with the most memory (the whole GPU: 7g).
  const MigProfile& largest() const { return profiles.back(); }
  // The profile named `profile_name` ("2g.10gb", case-insensitive), or nullptr.
  const MigProfile* find_profile(std::string_view profile_name) const;
  // Index of `p` in `profiles`.
  int index_of(const MigProfile& p) const { return static_cast<int>(&p - profiles.data()); }
};

// Every GPU of the table, in the order people meet them (A100-40GB first).
std::span<const MigGpu> mig_gpus();

// The GPU a name means. Accepted, case-insensitively, with spaces or underscores for dashes and
// an optional "NVIDIA " prefix: the table name ("A100-40GB", "h200-141gb"), an NVML product name
// ("NVIDIA H100 80GB HBM3", "NVIDIA A100-SXM4-40GB"), or a family alone ("H200") when only one
// GPU of the table belongs to it. Errors (invalid_argument): an unknown name (the message lists
// the known ones), a family with several sizes ("A100": 40GB or 80GB?).
Result<const MigGpu*> find_mig_gpu(std::string_view name);

// "A100-40GB, A100-80GB, ..." for messages.
std::string mig_gpu_names();

}  // namespace tessera::gpu
