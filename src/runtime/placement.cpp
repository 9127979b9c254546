#include "runtime/placement.h"

#include <algorithm>
#include <cstdio>
#include <limits>

namespace tessera::runtime {
namespace {

struct VictimSet {
  std::vector<const Resident*> victims;
  double cost = std::numeric_limits<double>::infinity();
  uint64_t freed = 0;
  bool found = false;
};

bool better(const VictimSet& a, const VictimSet& b) {  // a strictly better than b
  if (!b.found) return a.found;
  if (!a.found) return false;
  if (a.cost != b.cost) return a.cost < b.cost;
  if (a.freed != b.freed) return a.freed < b.freed;
  std::vector<std::string> na, nb;
  for (auto* r : a.victims) na.push_back(r->model);
  for (auto* r : b.victims) nb.push_back(r->model);
  return na < nb;
}

VictimSet cheapest(const std::vector<Resident>& residents, uint64_t bytes) {
  std::vector<const Resident*> c;
  for (const Resident& r : residents) {
    if (!r.pinned && !r.busy) c.push_back(&r);
  }
  VictimSet best;
  if (bytes == 0) {
    best.found = true;
    best.cost = 0;
    return best;
  }
  if (c.size() <= 16) {
    for (uint32_t mask = 1; mask < (1u << c.size()); ++mask) {
      VictimSet s;
      s.cost = 0;
      for (size_t i = 0; i < c.size(); ++i) {
        if (mask & (1u << i)) {
          s.victims.push_back(c[i]);
          s.cost += eviction_cost(*c[i]);
          s.freed += c[i]->bytes;
        }
      }
      s.found = s.freed >= bytes;
      if (better(s, best)) best = std::move(s);
    }
  } else {
    std::sort(c.begin(), c.end(), [](const Resident* a, const Resident* b) {
      const double ca = eviction_cost(*a) / (static_cast<double>(a->bytes) + 1);
      const double cb = eviction_cost(*b) / (static_cast<double>(b->bytes) + 1);
      return ca != cb ? ca < cb : a->model < b->model;
    });
    best.cost = 0;
    for (const Resident* r : c) {
      if (best.freed >= bytes) break;
      best.victims.push_back(r);
      best.cost += eviction_cost(*r);
      best.freed += r->bytes;
    }
    best.found = best.freed >= bytes;
  }
  std::sort(best.victims.begin(), best.victims.end(), [](const Resident* a, const Resident* b) {
    const double ca = eviction_cost(*a), cb = eviction_cost(*b);
    return ca != cb ? ca < cb : a->model < b->model;
  });
  return best;
}

uint64_t idle_bytes(const PlaceUse& u) {
  uint64_t b = 0;
  for (const Resident& r : u.residents) {
    if (!r.pinned && !r.busy) b += r.bytes;
  }
  return b;
}

uint64_t unpinned_bytes(const PlaceUse& u) {
  uint64_t b = 0;
  for (const Resident& r : u.residents) {
    if (!r.pinned) b += r.bytes;
  }
  return b;
}

std::string seconds_text(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, s < 10 ? "%.1f s" : "%.0f s", s);
  return buf;
}

std::string idle_text(double s) {
  char buf[32];
  if (s < 120) {
    std::snprintf(buf, sizeof buf, "%.0f s", s);
  } else {
    std::snprintf(buf, sizeof buf, "%.0f min", s / 60);
  }
  return buf;
}

std::string describe(const PlaceUse& u) {
  return u.place->id + " (" + format_bytes(u.free()) + " free of " +
         format_bytes(u.place->capacity) + ")";
}

}  // namespace

const char* decision_name(Decision d) {
  switch (d) {
    case Decision::place:
      return "place";
    case Decision::evict:
      return "evict";
    case Decision::split:
      return "split";
    case Decision::wait:
      return "wait";
    case Decision::refuse:
      return "refuse";
  }
  return "?";
}

std::string format_bytes(uint64_t bytes) {
  static const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024.0 && u < 5) {
    v /= 1024.0;
    ++u;
  }
  char buf[32];
  if (u == 0) {
    std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(bytes));
  } else {
    std::snprintf(buf, sizeof buf, "%.2f %s", v, kUnits[u]);
  }
  return buf;
}

double eviction_cost(const Resident& r) {
  return std::max(r.reload_seconds, 0.001) / (1.0 + std::max(r.idle_seconds, 0.0) / 60.0);
}

std::vector<const Resident*> choose_victims(const std::vector<Resident>& residents,
                                            uint64_t bytes) {
  VictimSet s = cheapest(residents, bytes);
  if (!s.found) return {};
  return s.victims;
}

uint64_t need_on(const Demand& d, const Place& place) {
  return place.kind == PlaceKind::cpu && d.cpu_bytes > 0 ? d.cpu_bytes : d.bytes;
}

bool eligible(const Place& place, const Demand& d, const SchedulerConfig& config) {
  if (!place.admits_app(d.app) || !place.admits_model(d.model)) return false;
  const bool confined =
      (!d.app.empty() && app_confined(config, d.app)) || model_confined(config, d.model);
  if (place.kind == PlaceKind::slice) {
    if (confined) {
      // Only slices that name this app or model.
      const bool names_app = !d.app.empty() && !place.apps.empty();
      const bool names_model = !place.models.empty();
      return names_app || names_model;
    }
    return place.apps.empty() && place.models.empty();
  }
  return !confined;
}

Plan plan_placement(const Demand& d, const std::vector<PlaceUse>& uses,
                    const SchedulerConfig& config) {
  Plan plan;
  std::vector<const PlaceUse*> ok;
  for (const PlaceUse& u : uses) {
    if (eligible(*u.place, d, config)) ok.push_back(&u);
  }
  if (ok.empty()) {
    plan.why = "no place admits model " + d.model +
               (d.app.empty() ? std::string() : " for app " + d.app) +
               " (the config's slices name who may use them)";
    return plan;
  }
  for (const PlaceUse* u : ok) {  // the largest space there could be
    const uint64_t could = u->free() + idle_bytes(*u);
    if (could > plan.largest || plan.largest_place.empty()) {
      plan.largest = could;
      plan.largest_place = u->place->id;
    }
  }

  // 1. Fits now: the tightest fit.
  const PlaceUse* best = nullptr;
  std::string others;
  for (const PlaceUse* u : ok) {
    if (u->free() < need_on(d, *u->place)) continue;
    if (best == nullptr || u->free() < best->free()) best = u;
  }
  if (best != nullptr) {
    for (const PlaceUse* u : ok) {
      if (u != best && u->free() >= need_on(d, *u->place)) {
        others.append(others.empty() ? "" : ", ").append(describe(*u));
      }
    }
    plan.decision = Decision::place;
    plan.places = {best->place->id};
    plan.room = {best->free()};
    plan.why = "needs " + format_bytes(need_on(d, *best->place)) + "; " + describe(*best) +
               (others.empty() ? " is the only place where it fits"
                               : " is the tightest fit (also fit: " + others + ")");
    return plan;
  }

  // 2. Fits after unloading idle models: the cheapest victims.
  VictimSet best_set;
  const PlaceUse* best_place = nullptr;
  for (const PlaceUse* u : ok) {
    VictimSet s = cheapest(u->residents, need_on(d, *u->place) - u->free());
    if (better(s, best_set)) {
      best_set = std::move(s);
      best_place = u;
    }
  }
  if (best_place != nullptr) {
    plan.decision = Decision::evict;
    plan.places = {best_place->place->id};
    plan.room = {best_place->free()};
    std::string list;
    for (const Resident* r : best_set.victims) {
      plan.victims.push_back(r->model);
      list.append(list.empty() ? "" : ", ")
          .append(r->model + " (" + format_bytes(r->bytes) + ", idle " +
                  idle_text(r->idle_seconds) + ", reload ~" + seconds_text(r->reload_seconds) +
                  ")");
    }
    std::string kept;
    for (const Resident& r : best_place->residents) {
      if (std::find(plan.victims.begin(), plan.victims.end(), r.model) != plan.victims.end()) {
        continue;
      }
      kept.append(kept.empty() ? "" : ", ")
          .append(r.model + (r.pinned ? " (pinned)"
                             : r.busy ? " (in use)"
                                      : " (reload ~" + seconds_text(r.reload_seconds) + ")"));
    }
    plan.why = "needs " + format_bytes(need_on(d, *best_place->place)) + "; " +
               describe(*best_place) + " after unloading " + list +
               (kept.empty() ? "" : "; kept " + kept);
    return plan;
  }

  // 3. Split over GPUs / MIG instances.
  if (d.splittable && config.split) {
    std::vector<const PlaceUse*> gpus;
    for (const PlaceUse* u : ok) {
      if (u->place->kind == PlaceKind::gpu || u->place->kind == PlaceKind::mig) gpus.push_back(u);
    }
    std::stable_sort(gpus.begin(), gpus.end(),
                     [](const PlaceUse* a, const PlaceUse* b) { return a->free() > b->free(); });
    uint64_t room = 0;
    std::vector<const PlaceUse*> chosen;
    for (const PlaceUse* u : gpus) {
      const uint64_t overhead = chosen.empty() ? 0 : d.split_overhead;
      if (u->free() <= overhead) break;
      chosen.push_back(u);
      room += u->free() - overhead;
      if (room >= d.bytes) break;
    }
    if (chosen.size() >= 2 && room >= d.bytes) {
      plan.decision = Decision::split;
      std::string list;
      for (const PlaceUse* u : chosen) {
        plan.places.push_back(u->place->id);
        plan.room.push_back(u->free());
        list.append(list.empty() ? "" : " + ").append(describe(*u));
      }
      plan.why = "needs " + format_bytes(d.bytes) + ", more than any single place has; split by " +
                 "layers over " + list;
      return plan;
    }
  }

  // 4. Wait for busy models to become idle, if that would make room.
  for (const PlaceUse* u : ok) {
    if (u->free() + unpinned_bytes(*u) >= need_on(d, *u->place)) {
      plan.decision = Decision::wait;
      plan.places = {u->place->id};
      plan.why = "needs " + format_bytes(need_on(d, *u->place)) + "; " + describe(*u) +
                 " will have room when models in use there are idle";
      return plan;
    }
  }

  // 5. Refuse.
  plan.decision = Decision::refuse;
  plan.why = "needs " + format_bytes(d.bytes) + " but the largest space is " +
             format_bytes(plan.largest) + " on " + plan.largest_place;
  return plan;
}

}  // namespace tessera::runtime
