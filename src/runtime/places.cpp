#include "runtime/places.h"

#include <algorithm>
#include <fstream>
#include <sstream>

namespace tessera::runtime {
namespace {

Error config_error(const SchedulerConfig& c, int line, const std::string& what) {
  return make_error(ErrorCode::malformed,
                    c.source + ":" + std::to_string(line) + ": slices: " + what);
}

bool contains(const std::vector<std::string>& v, std::string_view s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

uint64_t minus(uint64_t a, uint64_t b) {
  return a > b ? a - b : 0;
}

std::string gib(uint64_t bytes) {
  std::ostringstream o;
  o.precision(2);
  o << std::fixed << static_cast<double>(bytes) / (1024.0 * 1024 * 1024) << " GiB";
  return o.str();
}

// Free memory of a GPU or instance as NVML reported it at start, minus the reserve.
uint64_t usable(uint64_t total, uint64_t used, uint64_t reserve) {
  return minus(minus(total, used), reserve);
}

}  // namespace

const char* place_kind_name(PlaceKind kind) {
  switch (kind) {
    case PlaceKind::cpu:
      return "cpu";
    case PlaceKind::gpu:
      return "gpu";
    case PlaceKind::mig:
      return "mig";
    case PlaceKind::slice:
      return "slice";
  }
  return "?";
}

bool Place::admits_app(std::string_view app) const {
  return apps.empty() || contains(apps, app);
}

bool Place::admits_model(std::string_view model) const {
  return models.empty() || contains(models, model);
}

bool app_confined(const SchedulerConfig& config, std::string_view app) {
  for (const SliceConfig& s : config.slices) {
    if (contains(s.apps, app)) return true;
  }
  return false;
}

bool model_confined(const SchedulerConfig& config, std::string_view model) {
  for (const SliceConfig& s : config.slices) {
    if (contains(s.models, model)) return true;
  }
  return false;
}

uint64_t host_available_memory() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  uint64_t kib = 0;
  std::string unit;
  while (in >> key >> kib >> unit) {
    if (key == "MemAvailable:") return kib * 1024;
  }
  return 0;
}

Result<std::vector<Place>> build_places(const gpu::Inventory& inv, const SchedulerConfig& config,
                                        uint64_t host_available) {
  std::vector<Place> places;
  int ordinal = 0;  // CUDA numbers the visible devices in order, MIG instances in their GPU's place
  for (const gpu::GpuInfo& g : inv.gpus) {
    const std::string gid = "gpu" + std::to_string(g.index);
    if (g.mig_enabled.value_or(false)) {
      std::vector<const gpu::MigInstance*> mig;
      for (const gpu::MigInstance& m : g.mig) {
        if (m.visible) mig.push_back(&m);
      }
      std::sort(mig.begin(), mig.end(),
                [](auto* a, auto* b) { return a->gpu_instance_id < b->gpu_instance_id; });
      for (const gpu::MigInstance* m : mig) {
        Place p;
        p.id = gid + "/mig" + std::to_string(m->gpu_instance_id);
        p.kind = PlaceKind::mig;
        p.description = "MIG " + m->profile + " (GPU instance " +
                        std::to_string(m->gpu_instance_id) + ") of " + gid + " " + g.name;
        p.uuid = m->uuid;
        p.cuda_ordinal = ordinal++;
        p.capacity = usable(m->memory_total, m->memory_used, config.gpu_reserve);
        places.push_back(std::move(p));
      }
      continue;
    }
    if (!g.visible) continue;
    Place p;
    p.id = gid;
    p.kind = PlaceKind::gpu;
    p.description = g.name;
    p.uuid = g.uuid;
    p.cuda_ordinal = ordinal++;
    // NVML's free figure when it gave one, else total minus used (neither: all of it).
    const uint64_t used = g.memory_free > 0 ? minus(g.memory_total, g.memory_free) : g.memory_used;
    p.capacity = usable(g.memory_total, used, config.gpu_reserve);
    places.push_back(std::move(p));
  }

  // Slices: carved out of the place their device names.
  std::vector<Place> slices;
  for (const SliceConfig& s : config.slices) {
    Place* parent = nullptr;
    for (Place& p : places) {
      const bool by_index = p.kind == PlaceKind::gpu && s.device == p.id.substr(3);
      const bool by_uuid = !s.device.empty() && p.uuid.rfind(s.device, 0) == 0;
      if (by_index || by_uuid) parent = &p;
    }
    if (parent == nullptr) {
      std::string known;
      for (const Place& p : places) {
        if (!known.empty()) known.append(", ");
        known.append(p.kind == PlaceKind::gpu ? p.id.substr(3) + " (" + p.uuid + ")" : p.uuid);
      }
      for (const gpu::GpuInfo& g : inv.gpus) {
        if (s.device == std::to_string(g.index) && g.mig_enabled.value_or(false)) {
          return config_error(config, s.line,
                              "slice \"" + s.name + "\": GPU " + s.device +
                                  " has MIG mode on; put the slice on one of its MIG instances "
                                  "(device: MIG-...)");
        }
      }
      return config_error(config, s.line,
                          "slice \"" + s.name + "\": device \"" + s.device +
                              "\" is not a visible GPU or MIG instance (there are: " +
                              (known.empty() ? std::string("none") : known) + ")");
    }
    if (s.memory > parent->capacity) {
      return config_error(config, s.line,
                          "slice \"" + s.name + "\" asks for " + gib(s.memory) + " but " +
                              parent->id + " has " + gib(parent->capacity) +
                              " left for slices (after gpu_reserve and earlier slices)");
    }
    parent->capacity -= s.memory;
    Place p;
    p.id = "slice:" + s.name;
    p.kind = PlaceKind::slice;
    p.description = "slice " + s.name + " of " + parent->id;
    p.uuid = parent->uuid;
    p.cuda_ordinal = parent->cuda_ordinal;
    p.parent = parent->id;
    p.capacity = s.memory;
    p.apps = s.apps;
    p.models = s.models;
    slices.push_back(std::move(p));
  }
  const bool any_gpu = !places.empty();
  for (Place& s : slices) places.push_back(std::move(s));

  if (config.cpu_use == CpuUse::always || (config.cpu_use == CpuUse::auto_ && !any_gpu)) {
    Place cpu;
    cpu.id = "cpu";
    cpu.kind = PlaceKind::cpu;
    cpu.description = "the host's memory";
    cpu.capacity = config.cpu_memory ? *config.cpu_memory : host_available / 5 * 4;
    places.push_back(std::move(cpu));
  }
  return places;
}

}  // namespace tessera::runtime
