// The scheduler's status (Scheduler::status and the status file for tessera ps).
#include <algorithm>

#include "runtime/json_file.h"
#include "runtime/sched_entry.h"
#include "runtime/scheduler.h"
#include "runtime/status_file.h"

namespace tessera::runtime {

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
  Status s = write_json_file(o_.status_file, status_to_json(status_locked(), unix_ms_now()), 1);
  if (!s.ok()) log(s.error().message);
}

}  // namespace tessera::runtime
