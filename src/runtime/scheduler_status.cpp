// The scheduler's status (Scheduler::status, the status file), its default backends and its
// resolver over the model store.
#include <algorithm>

#include "backend/cpu/cpu_backend.h"
#include "gpu/cuda_backend.h"
#include "runtime/model_store.h"
#include "runtime/sched_entry.h"
#include "runtime/scheduler.h"
#include "runtime/status_file.h"

namespace tessera::runtime {

ModelResolver store_resolver(const std::filesystem::path& models_dir) {
  auto store = std::make_shared<ModelStore>(models_dir);
  return [store](const std::string& name) -> Result<ResolvedModel> {
    auto path = store->resolve(name);
    if (!path.ok()) return path.error();
    return ResolvedModel{name, path->string()};
  };
}

BackendFactory default_backend_factory() {
  return [](const Place& p) -> Result<std::shared_ptr<backend::Backend>> {
    if (p.kind == PlaceKind::cpu) return backend::make_cpu_backend();
    return gpu::make_cuda_backend(p.cuda_ordinal);
  };
}

SchedulerStatus Scheduler::status_locked() const {
  SchedulerStatus s;
  for (const PlaceUse& u : place_uses()) s.places.push_back({*u.place, u.used});
  const auto t = now();
  for (const auto& [name, e] : entries_) {
    LoadedModelStatus m;
    m.name = name;
    m.path = e->path;
    m.kind = e->decoder ? "decoder" : "encoder";
    m.state = e->state == SchedEntry::State::loading ? "loading"
              : e->state == SchedEntry::State::ready ? "ready"
                                                     : "unloading";
    m.places = e->charges;
    m.bytes = e->charged();
    m.estimate = e->estimate;
    m.measured = e->measured;
    m.context = e->context;
    m.parallel = e->parallel;
    m.kv_type = e->kv_type;
    m.in_flight = e->in_flight;
    m.pinned = e->pinned;
    m.keep_alive = e->keep_alive;
    if (e->state == SchedEntry::State::ready && e->in_flight == 0 && !e->pinned &&
        !e->keep_alive.forever) {
      const auto left = e->keep_alive.duration -
                        std::chrono::duration_cast<std::chrono::milliseconds>(t - e->idle_since);
      m.expires_in = std::max(left, std::chrono::milliseconds(0));
    }
    m.load_seconds = e->reload_seconds;
    m.app = e->app;
    m.why = e->why;
    s.models.push_back(std::move(m));
  }
  s.waiting = waiting_;
  s.max_loaded = max_loaded();
  s.counters = counters_;
  return s;
}

SchedulerStatus Scheduler::status() const {
  std::lock_guard<std::mutex> lock(mu_);
  return status_locked();
}

void Scheduler::publish_locked() {
  dirty_ = false;
  if (o_.status_file.empty()) return;
  Status s = write_status_file(o_.status_file, status_to_json(status_locked(), unix_ms_now()));
  if (!s.ok()) log(s.error().message);
}

}  // namespace tessera::runtime
