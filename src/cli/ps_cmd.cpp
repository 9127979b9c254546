// `tessera ps [--json] [--data-dir DIR]`: the models loaded by the serving processes of this
// data directory, from the status files they publish (runtime/status_file.h).
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "cli/commands.h"
#include "runtime/data_dir.h"
#include "runtime/status_file.h"
#include "runtime/units.h"

namespace tessera::cli {
namespace {

struct PsArgs {
  bool json = false;
  std::optional<std::string> data_dir;
};

// A field of a published model, or `fallback` when it is missing or of another type (a status
// file is another process's output: read it defensively).
std::string text_of(const nlohmann::json& m, const char* key, const std::string& fallback = "") {
  const auto it = m.find(key);
  return it != m.end() && it->is_string() ? it->get<std::string>() : fallback;
}

long long number_of(const nlohmann::json& m, const char* key) {
  const auto it = m.find(key);
  return it != m.end() && it->is_number() ? it->get<long long>() : 0;
}

// "in use", "loading", "forever", "pinned", "4m12s from now", "now".
std::string until(const nlohmann::json& m, long long now_ms) {
  const std::string state = text_of(m, "state", "?");
  if (state != "ready") return state;
  if (number_of(m, "in_flight") > 0) return "in use";
  if (const auto p = m.find("pinned"); p != m.end() && p->is_boolean() && p->get<bool>()) {
    return "pinned";
  }
  const auto at = m.find("expires_at");
  if (at == m.end() || !at->is_number()) {
    return text_of(m, "keep_alive") == "forever" ? "forever" : "-";
  }
  const long long left = at->get<long long>() - now_ms;
  if (left <= 0) return "now";
  return runtime::format_duration(std::chrono::milliseconds(left)) + " from now";
}

std::string where(const nlohmann::json& m) {
  std::string out;
  const auto places = m.find("places");
  if (places == m.end() || !places->is_array()) return "?";
  for (const auto& p : *places) {
    out.append(out.empty() ? "" : "+").append(p.is_object() ? text_of(p, "id", "?") : "?");
  }
  return out;
}

}  // namespace

Runner add_ps_command(CLI::App& app) {
  auto a = std::make_shared<PsArgs>();
  CLI::App* ps = app.add_subcommand("ps", "The models loaded by serving processes, and where");
  ps->add_flag("--json", a->json, "Print the processes' status as JSON (docs/scheduler.md)");
  ps->add_option("--data-dir", a->data_dir, "The data directory (default: TESSERA_DATA_DIR, ...)");
  return [a]() -> Status {
    auto dir = runtime::resolve_data_dir(a->data_dir);
    if (!dir.ok()) return dir.error();
    const auto processes = runtime::read_status_files(dir->run());
    const long long now = runtime::unix_ms_now();
    if (a->json) {
      nlohmann::json out = nlohmann::json::array();
      for (const auto& p : processes) {
        nlohmann::json doc = p.doc;
        for (auto& m : doc["models"]) m["until"] = until(m, now);
        out.push_back(doc);
      }
      std::printf("%s\n", nlohmann::json{{"processes", out}}.dump(2).c_str());
      return {};
    }
    if (processes.empty()) {
      std::printf("no serving process publishes its models in %s\n", dir->run().c_str());
      return {};
    }
    std::printf("%-28s %-8s %-22s %-11s %-8s %-9s %-10s %s\n", "NAME", "PID", "WHERE", "SIZE",
                "CONTEXT", "PARALLEL", "IN FLIGHT", "UNTIL");
    for (const auto& p : processes) {
      for (const auto& m : p.doc["models"]) {  // an array of objects (read_status_files)
        std::printf(
            "%-28s %-8d %-22s %-11s %-8lld %-9lld %-10lld %s\n", text_of(m, "name", "?").c_str(),
            p.pid, where(m).c_str(),
            human_bytes(static_cast<uint64_t>(std::max(0LL, number_of(m, "bytes")))).c_str(),
            number_of(m, "context"), number_of(m, "parallel"), number_of(m, "in_flight"),
            until(m, now).c_str());
      }
    }
    return {};
  };
}

}  // namespace tessera::cli
