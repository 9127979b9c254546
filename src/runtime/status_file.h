// The status a serving process publishes for `tessera ps`: one JSON file per process in the
// data directory's run/ folder (run/<pid>.json), rewritten (atomically) when it changes and
// removed when the scheduler stops. `tessera ps` reads every file whose process is alive.
//
// Format (docs/scheduler.md): {"pid", "started_at" (unix ms), "updated_at", "places": [{id,
// kind, description, capacity, used}], "models": [{name, path, kind, state, places: [{id,
// bytes}], bytes, estimate, measured, context, parallel, kv_type, in_flight, pinned,
// keep_alive, expires_at (unix ms or null), load_seconds, app, why}], "waiting",
// "counters": {...}}.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "runtime/scheduler.h"
#include "util/result.h"

namespace tessera::runtime {

// The JSON of a status at wall-clock time `now_ms` (unix ms): expiries become absolute.
nlohmann::json status_to_json(const SchedulerStatus& status, long long now_ms);

struct ProcessStatus {
  std::filesystem::path file;
  int pid = 0;
  nlohmann::json doc;
};

// The status files under `run_dir` whose process is alive (others are skipped; so are files
// that are not valid JSON or not of the format above: a process may be writing). A missing
// folder: none.
std::vector<ProcessStatus> read_status_files(const std::filesystem::path& run_dir);

// The file a process with `pid` publishes to in `run_dir`.
std::filesystem::path status_file_path(const std::filesystem::path& run_dir, int pid);

long long unix_ms_now();

}  // namespace tessera::runtime
