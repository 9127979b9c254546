// `tessera scheduler check [--config FILE] [--json]`: what the model scheduler of a serving
// process on this host would work with: the config (checked, errors with file and line) and
// the places it builds from this host's GPUs, MIG instances and the config's slices.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "cli/commands.h"
#include "gpu/doctor.h"
#include "gpu/inventory.h"
#include "runtime/places.h"
#include "runtime/scheduler_config.h"

namespace tessera::cli {
namespace {

struct CheckArgs {
  std::optional<std::string> config;
  bool json = false;
};

std::string list(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out.append(out.empty() ? "" : ",").append(s);
  return out.empty() ? "any" : out;
}

}  // namespace

Runner add_scheduler_command(CLI::App& app) {
  auto a = std::make_shared<CheckArgs>();
  CLI::App* sched = app.add_subcommand("scheduler", "The model scheduler's config and places");
  sched->require_subcommand(1);
  CLI::App* check = sched->add_subcommand(
      "check", "Check a scheduler config and show the places it gives on this host");
  check->add_option("--config", a->config, "The scheduler config (YAML, docs/scheduler.md)");
  check->add_flag("--json", a->json, "Print the places as JSON");
  return [a]() -> Status {
    runtime::SchedulerConfig config;
    if (a->config) {
      auto c = runtime::load_scheduler_config(*a->config);
      if (!c.ok()) return c.error();
      config = std::move(*c);
    }
    const gpu::Inventory inv =
        gpu::read_inventory(gpu::doctor_input_from_environment().cuda_visible_devices);
    auto places = runtime::build_places(inv, config, runtime::host_available_memory());
    if (!places.ok()) return places.error();
    if (a->json) {
      nlohmann::ordered_json out = nlohmann::ordered_json::array();
      for (const runtime::Place& p : *places) {
        out.push_back({{"id", p.id},
                       {"kind", runtime::place_kind_name(p.kind)},
                       {"description", p.description},
                       {"uuid", p.uuid},
                       {"cuda_device", p.cuda_ordinal},
                       {"capacity_bytes", p.capacity},
                       {"apps", p.apps},
                       {"models", p.models}});
      }
      std::printf(
          "%s\n",
          nlohmann::ordered_json{{"config", config.source}, {"places", out}}.dump(2).c_str());
      return {};
    }
    std::printf("config %s: ok\n", config.source.c_str());
    if (places->empty()) {
      std::printf("no place to load models: no visible GPU and cpu.use is never\n");
      return {};
    }
    std::printf("%-24s %-6s %-12s %-16s %-16s %s\n", "PLACE", "KIND", "CAPACITY", "APPS", "MODELS",
                "DESCRIPTION");
    for (const runtime::Place& p : *places) {
      std::printf("%-24s %-6s %-12s %-16s %-16s %s\n", p.id.c_str(),
                  runtime::place_kind_name(p.kind), human_bytes(p.capacity).c_str(),
                  list(p.apps).c_str(), list(p.models).c_str(), p.description.c_str());
    }
    return {};
  };
}

}  // namespace tessera::cli
