// `tessera ps [--json] [--data-dir DIR]`: the models loaded by the serving processes of this
// data directory, from the status files they publish (runtime/status_file.h).
#include <CLI/CLI.hpp>
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

// "in use", "loading", "forever", "pinned", "4m12s from now", "now".
std::string until(const nlohmann::json& m, long long now_ms) {
  const std::string state = m.value("state", "");
  if (state != "ready") return state;
  if (m.value("in_flight", 0) > 0) return "in use";
  if (m.value("pinned", false)) return "pinned";
  const auto& at = m["expires_at"];
  if (!at.is_number()) return m.value("keep_alive", "") == "forever" ? "forever" : "-";
  const long long left = at.get<long long>() - now_ms;
  if (left <= 0) return "now";
  return runtime::format_duration(std::chrono::milliseconds(left)) + " from now";
}

std::string where(const nlohmann::json& m) {
  std::string out;
  for (const auto& p : m["places"]) out.append(out.empty() ? "" : "+").append(p.value("id", "?"));
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
      if (!p.doc.contains("models") || !p.doc["models"].is_array()) continue;
      for (const auto& m : p.doc["models"]) {
        std::printf("%-28s %-8d %-22s %-11s %-8lld %-9lld %-10d %s\n", m.value("name", "?").c_str(),
                    p.pid, where(m).c_str(), human_bytes(m.value("bytes", uint64_t{0})).c_str(),
                    m.value("context", 0LL), m.value("parallel", 0LL), m.value("in_flight", 0),
                    until(m, now).c_str());
      }
    }
    return {};
  };
}

}  // namespace tessera::cli
