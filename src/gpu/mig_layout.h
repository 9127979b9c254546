// Layouts of one MIG GPU: which sets of instances can exist on it together, and where each
// instance goes. A layout is a count per profile of a MigGpu (mig_profiles.h); it is valid when
// every instance can be given a start slice its profile allows without two instances sharing a
// memory slice, no profile exceeds its maximum count, and the compute slices add up to at most
// 7 (the rule NVML applies when it creates GPU instances: a placement is a range of memory
// slices, and creation fails when it overlaps one already taken).
//
// Pure functions over static data; safe from any thread.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <vector>

#include "gpu/mig_profiles.h"

namespace tessera::gpu {

// Instances per profile, indexed like MigGpu::profiles.
using MigCounts = std::array<uint8_t, kMaxMigProfiles>;

struct MigPlacement {
  int profile = 0;  // index into MigGpu::profiles
  int start = 0;    // first memory slice
};

// Where each instance of `counts` goes, or nullopt when the layout is not valid. Deterministic:
// instances with the most memory slices are placed first (then the most compute slices), each at
// the lowest start that still lets the rest fit; the result is sorted by start slice. This is
// also an order `nvidia-smi mig -cgi` accepts (the MIG User Guide: create 3g first).
std::optional<std::vector<MigPlacement>> place_layout(const MigGpu& gpu, const MigCounts& counts);

inline bool layout_fits(const MigGpu& gpu, const MigCounts& counts) {
  return place_layout(gpu, counts).has_value();
}

// Every valid layout with at least one instance that uses only profiles whose bit is set in
// `allowed` (bit i = profiles[i]). Sorted by memory slices used, then compute slices used, most
// first; ties by counts of the larger profiles first.
std::vector<MigCounts> valid_layouts(const MigGpu& gpu, uint32_t allowed);

// How many more instances of profile `profile` a GPU laid out as `counts` could take.
int room_for(const MigGpu& gpu, const MigCounts& counts, int profile);

int layout_compute_slices(const MigGpu& gpu, const MigCounts& counts);
int layout_memory_slices(const MigGpu& gpu, const MigCounts& counts);

}  // namespace tessera::gpu
