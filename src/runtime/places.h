// Where models can live: the places the scheduler fills. Built once from the GPU inventory
// (gpu/inventory.h) and the operator's config (scheduler_config.h):
//   gpu    a whole visible GPU without MIG: its free memory minus gpu_reserve, minus the
//          slices carved out of it;
//   mig    a visible MIG instance: its free memory minus gpu_reserve, minus its slices;
//   slice  an operator's memory-quota slice of a GPU or MIG instance (its budget), usable only
//          by the apps and models it names;
//   cpu    the host: config cpu.memory, else 80% of the host's available memory; used when no
//          GPU place exists (cpu.use auto), always (always) or never (never).
// Order is deterministic (GPUs by index, their MIG instances by GPU-instance id, slices in
// config order, the CPU last) and is the tie-break of every placement choice.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "gpu/inventory.h"
#include "runtime/scheduler_config.h"
#include "util/result.h"

namespace tessera::runtime {

enum class PlaceKind { cpu, gpu, mig, slice };
const char* place_kind_name(PlaceKind kind);

struct Place {
  std::string id;  // "cpu", "gpu0", "gpu0/mig3" (GPU-instance id), "slice:team-a"
  PlaceKind kind = PlaceKind::cpu;
  std::string description;  // "NVIDIA H100 80GB HBM3", "MIG 2g.20gb (GI 3) of gpu0", ...
  std::string uuid;         // GPU-... / MIG-... ("" on the CPU)
  int cuda_ordinal = -1;    // the CUDA device number a backend opens; -1: the CPU
  std::string parent;       // slices: the place id they are carved from
  uint64_t capacity = 0;    // bytes models may use here
  std::vector<std::string> apps, models;  // slices: who may use it (empty: anyone)

  bool admits_app(std::string_view app) const;
  bool admits_model(std::string_view model) const;
};

// Builds the places. `host_available`: the host's available memory (for the CPU default).
// Errors (malformed, naming the config file and the slice's line): a slice whose device is
// not a visible GPU or MIG instance (lists the ones there are), slices that together exceed
// their device's capacity (gives both), a slice on a GPU whose MIG mode is on (name its
// instances instead).
Result<std::vector<Place>> build_places(const gpu::Inventory& inventory,
                                        const SchedulerConfig& config, uint64_t host_available);

// The host's available memory (MemAvailable of /proc/meminfo; 0 when unknown).
uint64_t host_available_memory();

// Whether `app` / `model` are confined to slices by the config: an app or model named by any
// slice may only use the slices that name it.
bool app_confined(const SchedulerConfig& config, std::string_view app);
bool model_confined(const SchedulerConfig& config, std::string_view model);

}  // namespace tessera::runtime
