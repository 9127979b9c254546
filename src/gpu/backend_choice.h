// The one place that decides, once per process, which compute backend the runtime uses and
// why: the doctor's checks (doctor.h) run at the first call, the choice is logged once on
// stderr ("tessera: running on the CPU: <reason> (tessera doctor explains)"), and every later
// caller (model loading, /health and /metrics of the server) reads the same answer.
#pragma once

#include <string>

namespace tessera::gpu {

struct BackendChoice {
  std::string backend;          // "cuda" or "cpu"
  std::string reason;           // the doctor's verdict reason
  bool cuda_available = false;  // the checks pass; false until this build has a CUDA backend
};

// Thread-safe; the checks and the log line happen once.
const BackendChoice& choose_backend();

}  // namespace tessera::gpu
