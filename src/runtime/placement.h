// Where a model should go, decided from the places (places.h), what is on them now, and what
// the model needs. Pure: no loading, no clock; the scheduler gives the facts and carries out
// the plan. Every decision is deterministic and comes with `why` for people.
//
// The order of preference:
//   1. a place where it fits now: the tightest fit (least room left after it, which keeps the
//      big spaces for big models), ties in place order;
//   2. a place where it fits after unloading idle, unpinned models: the cheapest set of
//      victims (eviction_cost(): reload time weighed down by how long a model has been idle;
//      then fewer bytes freed, then names), across places the cheapest;
//   3. split over several GPU / MIG places by layers (decoders, config split: true): the
//      fewest places, most free first;
//   4. wait, when models busy with requests hold the room it needs (they will be idle later);
//   5. refuse, with the largest space there could be (free plus idle, unpinned models).
// Eligibility: a place must admit the app and the model (slices name them); an app or model
// that some slice names may only use the slices that name it; everything else may use every
// place except slices that name apps or models.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/places.h"
#include "runtime/scheduler_config.h"

namespace tessera::runtime {

// A model on a place, as the planner sees it.
struct Resident {
  std::string model;
  uint64_t bytes = 0;  // what it holds on this place
  bool pinned = false;
  bool busy = false;          // requests in flight, or loading / unloading
  double reload_seconds = 0;  // how long its load took
  double idle_seconds = 0;    // since its last request ended
};

struct PlaceUse {
  const Place* place = nullptr;
  uint64_t used = 0;  // bytes charged to the models on it
  std::vector<Resident> residents;
  uint64_t free() const { return place->capacity > used ? place->capacity - used : 0; }
};

struct Demand {
  std::string model;
  std::string app;          // "" = none
  uint64_t bytes = 0;       // on a GPU, MIG instance or slice
  uint64_t cpu_bytes = 0;   // on the CPU place (0: the same as bytes)
  bool splittable = false;  // a decoder, and the config allows splitting
  // Extra bytes each additional device of a split needs (activations, its compute buffers).
  uint64_t split_overhead = 0;
};

enum class Decision { place, evict, split, wait, refuse };
const char* decision_name(Decision d);

struct Plan {
  Decision decision = Decision::refuse;
  std::vector<std::string> places;   // place: one; evict: the place it will go; split: several
  std::vector<uint64_t> room;        // free bytes of each of `places` now (before evictions)
  std::vector<std::string> victims;  // evict: the models to unload first, cheapest first
  std::string why;                   // the reason for people
  // refuse / wait: the largest space the model could get (free + idle unpinned models) and
  // where; 0 and "" when no place admits it at all.
  uint64_t largest = 0;
  std::string largest_place;
};

// The cost of unloading a model now: the seconds it would take to load it again, divided by
// (1 + the minutes it has been idle), so a slow-to-load model is kept over a quick one, unless
// it has been idle far longer.
double eviction_cost(const Resident& r);

// The cheapest set of idle, unpinned residents whose bytes add up to at least `bytes`, or
// nothing when even all of them are not enough. Exhaustive up to 16 candidates, else greedy.
std::vector<const Resident*> choose_victims(const std::vector<Resident>& residents, uint64_t bytes);

// What the demand needs on a place of this kind.
uint64_t need_on(const Demand& demand, const Place& place);

// Whether a place may hold `demand` (slice rules above).
bool eligible(const Place& place, const Demand& demand, const SchedulerConfig& config);

Plan plan_placement(const Demand& demand, const std::vector<PlaceUse>& uses,
                    const SchedulerConfig& config);

// "1.23 GiB" (binary units, two decimals).
std::string format_bytes(uint64_t bytes);

}  // namespace tessera::runtime
