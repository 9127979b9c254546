// The one place that decides, once per process, which compute backend the runtime uses and
// why: the doctor's checks (doctor.h) run at the first call, the choice is logged once on
// stderr ("tessera: running on the CPU: <reason> (tessera doctor explains)"), and every later
// caller (model loading, /health and /metrics of the server) reads the same answer.
#pragma once

#include <memory>
#include <string>

#include "backend/backend.h"

namespace tessera::gpu {

struct BackendChoice {
  std::string backend;          // "cuda" or "cpu"
  std::string reason;           // the doctor's verdict reason, or why the CUDA backend failed
  bool cuda_available = false;  // the doctor's checks pass
  // The process's backend of CUDA device 0 when `backend` is "cuda" (shared by the models that
  // load without a backend of their own), else null: the caller makes a CPU backend.
  std::shared_ptr<backend::Backend> device;
};

// Thread-safe; the checks and the log line happen once.
const BackendChoice& choose_backend();

}  // namespace tessera::gpu
