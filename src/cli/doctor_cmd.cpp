// `tessera doctor`: whether this host runs Tessera on its GPUs, check by check, with the fix for
// each problem and the verdict (gpu/doctor.h). Exit code 0: GPUs usable; 1: it would fall back
// to the CPU; 2: the tool itself failed.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/commands.h"
#include "gpu/doctor.h"

namespace tessera::cli {
namespace {

struct DoctorArgs {
  bool json = false;
  std::string root = "/";
};

}  // namespace

Runner add_doctor_command(CLI::App& app) {
  auto a = std::make_shared<DoctorArgs>();
  CLI::App* cmd = app.add_subcommand(
      "doctor", "Check whether this host can run models on its GPUs, and how to fix it if not");
  cmd->add_flag("--json", a->json, "Print the checks and the verdict as JSON (docs/cli.md)");
  cmd->add_option("--root", a->root,
                  "Read /proc and /dev under this folder (a container's root filesystem)");
  return [a]() -> Status {
    gpu::DoctorInput in = gpu::doctor_input_from_environment();
    in.root = a->root;
    const gpu::DoctorReport r = gpu::run_doctor(in);
    if (a->json) {
      nlohmann::ordered_json checks = nlohmann::ordered_json::array();
      for (const gpu::Check& c : r.checks) {
        checks.push_back({{"name", c.name},
                          {"status", gpu::check_status_name(c.status)},
                          {"found", c.found},
                          {"fix", c.fix.empty() ? nlohmann::ordered_json(nullptr)
                                                : nlohmann::ordered_json(c.fix)}});
      }
      const nlohmann::ordered_json j = {{"verdict", {{"backend", r.backend}, {"reason", r.reason}}},
                                        {"checks", checks}};
      std::printf("%s\n", j.dump(2).c_str());
    } else {
      for (const gpu::Check& c : r.checks) {
        std::printf("%-4s %-22s %s\n", gpu::check_status_name(c.status), c.name.c_str(),
                    c.found.c_str());
        if (!c.fix.empty()) std::printf("     %-22s fix: %s\n", "", c.fix.c_str());
      }
      std::printf("verdict: tessera serve would use the %s: %s\n",
                  r.backend == "cuda" ? "GPUs (CUDA)" : "CPU", r.reason.c_str());
    }
    set_exit_code(r.exit_code());
    return {};
  };
}

}  // namespace tessera::cli
