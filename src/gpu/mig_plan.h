// The MIG layout planner behind `tessera gpu plan`: given a GPU type and the memory each model
// needs, the MIG instances to create (profiles per GPU, where each starts) and which model runs
// on which instance, with the least memory left idle.
//
// Rules (docs/cli.md, "tessera gpu plan"):
//   - one model per instance: isolation between models is why people use MIG;
//   - a model fits an instance when its need (its own estimate plus a CUDA reserve per instance,
//     below) is at most the instance's memory (MigProfile::memory_mib);
//   - a GPU's instances form a valid layout (mig_layout.h);
//   - among all valid plans: the fewest GPUs; then the fewest memory slices in instances (the
//     least memory reserved for the models); then the most compute slices (SMs no instance holds
//     would idle); then the first in the search order: models from the largest need down, each
//     trying its profiles from the fewest memory slices (most compute first), GPUs filled in
//     index order. The same input always gives the same plan.
//
// Pure computation; safe from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "gpu/mig_layout.h"
#include "gpu/mig_profiles.h"
#include "util/result.h"

namespace tessera::gpu {

// Memory a model's process takes in each MIG instance before the model itself: the CUDA
// context, the runtime's kernels and cuBLAS workspace. Ollama reserves 457 MiB per GPU for this
// (its MinimumMemory, ../shared/reference/gpu-serving-anchors.md section 2.2); we round up to
// 512 MiB.
inline constexpr uint64_t kMigInstanceReserveBytes = uint64_t{512} << 20;

inline constexpr int kMaxMigDemands = 128;  // models in one plan, at most

struct MigDemand {
  std::string label;           // how messages and the plan name the model ("llama-8b.gguf")
  uint64_t model_bytes = 0;    // the model's memory estimate (weights, KV cache, compute buffers)
  uint64_t weights_bytes = 0;  // of which weights; 0 = unknown. Says whether a smaller context
                               // could make the model fit.
  std::string detail;          // how model_bytes was reckoned ("context 4096 x 1, f16 KV"), or ""
};

struct MigPlanOptions {
  uint64_t reserve_bytes = kMigInstanceReserveBytes;  // added to every model's need
  int max_gpus = 0;                                   // 0: as many as needed
  std::vector<std::string> profiles;  // the profiles the plan may use; empty: all of the GPU's
  uint64_t search_budget = 400000;    // search steps per GPU count before settling for the best
                                      // plan found (MigPlan::proven_best = false)
};

struct MigInstancePlan {
  int profile = 0;            // index into MigGpu::profiles
  int start = 0;              // first memory slice
  int demand = 0;             // the model on it: index into MigPlan::demands
  uint64_t need_bytes = 0;    // the model's need (model_bytes + reserve)
  uint64_t memory_bytes = 0;  // the instance's memory
  double utilization = 0;     // need / memory
};

struct MigGpuPlan {
  MigCounts counts{};                      // instances per profile
  std::vector<MigInstancePlan> instances;  // by start slice
  int compute_slices = 0;                  // of kMigComputeSlices
  int memory_slices = 0;                   // of kMigMemorySlices
  uint64_t need_bytes = 0;                 // of the models on this GPU
  uint64_t memory_bytes = 0;               // of its instances
  double utilization = 0;                  // need / memory
  std::vector<std::pair<int, int>> room;   // (profile, how many more instances of it alone
                                           // would still fit), for each allowed profile with 1+
};

struct MigModelSpot {
  int gpu = 0;       // index into MigPlan::gpus
  int instance = 0;  // index into MigGpuPlan::instances
};

struct MigPlan {
  const MigGpu* gpu = nullptr;
  uint64_t reserve_bytes = 0;
  std::vector<MigDemand> demands;   // as given
  std::vector<MigModelSpot> spots;  // per demand
  std::vector<MigGpuPlan> gpus;
  uint64_t need_bytes = 0;    // all models
  uint64_t memory_bytes = 0;  // all instances
  double utilization = 0;     // need / memory
  bool proven_best = true;    // false: the search budget ran out; the plan is valid, but a less
                              // wasteful one may exist

  const MigProfile& profile_of(int demand) const {
    const MigModelSpot& s = spots[demand];
    return gpu->profiles[gpus[s.gpu].instances[s.instance].profile];
  }
};

// Plans MIG instances for `demands` on GPUs of type `gpu`.
// Errors: invalid_argument: no demands, more than kMaxMigDemands, a negative max_gpus, a profile
// name the GPU does not have. out_of_range: a model fits no (allowed) profile (the message
// names it, its need, the largest profile's memory and what would make it fit: a smaller
// context, a more quantized file, another profile, a GPU of the table where it fits); the
// models need more GPUs than max_gpus (the message says how many they need).
Result<MigPlan> plan_mig(const MigGpu& gpu, const std::vector<MigDemand>& demands,
                         const MigPlanOptions& options);

}  // namespace tessera::gpu
