#include "runtime/status_file.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <fstream>
#include <sstream>

namespace tessera::runtime {

long long unix_ms_now() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

nlohmann::json status_to_json(const SchedulerStatus& s, long long now_ms) {
  nlohmann::json places = nlohmann::json::array();
  for (const PlaceStatus& p : s.places) {
    places.push_back({{"id", p.place.id},
                      {"kind", place_kind_name(p.place.kind)},
                      {"description", p.place.description},
                      {"capacity", p.place.capacity},
                      {"used", p.used}});
  }
  nlohmann::json models = nlohmann::json::array();
  for (const LoadedModelStatus& m : s.models) {
    nlohmann::json where = nlohmann::json::array();
    for (const auto& [id, bytes] : m.places) where.push_back({{"id", id}, {"bytes", bytes}});
    models.push_back({{"name", m.name},
                      {"path", m.path},
                      {"kind", m.kind},
                      {"state", m.state},
                      {"places", where},
                      {"bytes", m.bytes},
                      {"estimate", m.estimate},
                      {"measured", m.measured},
                      {"context", m.context},
                      {"parallel", m.parallel},
                      {"kv_type", m.kv_type},
                      {"in_flight", m.in_flight},
                      {"pinned", m.pinned},
                      {"keep_alive", format_keep_alive(m.keep_alive)},
                      {"expires_at", m.expires_in ? nlohmann::json(now_ms + m.expires_in->count())
                                                  : nlohmann::json()},
                      {"load_seconds", m.load_seconds},
                      {"app", m.app},
                      {"why", m.why}});
  }
  const SchedulerCounters& c = s.counters;
  return {{"pid", static_cast<int>(getpid())},
          {"updated_at", now_ms},
          {"places", places},
          {"models", models},
          {"waiting", s.waiting},
          {"max_loaded_models", s.max_loaded},
          {"counters",
           {{"loads", c.loads},
            {"load_failures", c.load_failures},
            {"unloads", c.unloads},
            {"evictions", c.evictions},
            {"expirations", c.expirations},
            {"refused_no_room", c.refused_no_room},
            {"refused_busy", c.refused_busy},
            {"refused_quota", c.refused_quota},
            {"cancelled", c.cancelled},
            {"runtime_oom", c.runtime_oom}}}};
}

std::filesystem::path status_file_path(const std::filesystem::path& run_dir, int pid) {
  return run_dir / (std::to_string(pid) + ".json");
}

namespace {

// The shape `tessera ps` reads: an object whose "models" is a list of objects. Anything else
// (a half-written or foreign file) is skipped.
bool well_formed(const nlohmann::json& doc) {
  if (doc.is_discarded() || !doc.is_object()) return false;
  const auto models = doc.find("models");
  if (models == doc.end() || !models->is_array()) return false;
  for (const auto& m : *models) {
    if (!m.is_object()) return false;
  }
  return true;
}

}  // namespace

std::vector<ProcessStatus> read_status_files(const std::filesystem::path& run_dir) {
  std::vector<ProcessStatus> out;
  std::error_code ec;
  if (!std::filesystem::is_directory(run_dir, ec)) return out;
  for (const auto& entry : std::filesystem::directory_iterator(run_dir, ec)) {
    const std::filesystem::path& p = entry.path();
    if (p.extension() != ".json") continue;
    const std::string stem = p.stem().string();
    if (stem.empty() || stem.find_first_not_of("0123456789") != std::string::npos ||
        stem.size() > 9) {
      continue;
    }
    const int pid = std::stoi(stem);
    if (pid <= 0 || (kill(pid, 0) != 0 && errno != EPERM)) continue;  // not running
    std::ifstream in(p, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    nlohmann::json doc = nlohmann::json::parse(text.str(), nullptr, false);
    if (!well_formed(doc)) continue;
    out.push_back({p, pid, std::move(doc)});
  }
  std::sort(out.begin(), out.end(),
            [](const ProcessStatus& a, const ProcessStatus& b) { return a.pid < b.pid; });
  return out;
}

}  // namespace tessera::runtime
