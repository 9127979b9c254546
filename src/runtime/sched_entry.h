// A model the scheduler holds (loading, ready or unloading). Internal to scheduler*.cpp; every
// field but the model objects is guarded by the scheduler's mutex.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "runtime/model_loader.h"
#include "runtime/units.h"

namespace tessera::runtime {

struct SchedEntry {
  enum class State { loading, ready, unloading };
  std::string name, path;
  bool decoder = true;
  State state = State::loading;
  int64_t context = 0;   // tokens per sequence
  int64_t parallel = 1;  // sequence slots
  std::string kv_type;
  bool pinned = false;
  KeepAlive keep_alive;
  std::string app;  // whose request loaded it (memory quota)
  std::string why;
  uint64_t estimate = 0, measured = 0;
  std::vector<std::pair<std::string, uint64_t>> charges;  // place id -> bytes
  LoadedModel model;                                      // set once ready
  std::mutex run_mu;                                      // Lease::with_context
  std::vector<char> slot_busy;
  int in_flight = 0;
  std::chrono::steady_clock::time_point idle_since{};
  double reload_seconds = 0;

  uint64_t charged() const {
    uint64_t b = 0;
    for (const auto& c : charges) b += c.second;
    return b;
  }
};

// Whether an error is a backend allocation over its memory limit (a runtime OOM, counted).
bool allocation_failure(const Error& e);

}  // namespace tessera::runtime
