// `tessera gpu ls`: the GPUs of this host as NVML reports them (gpu/inventory.h).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/commands.h"
#include "gpu/compat.h"
#include "gpu/doctor.h"
#include "gpu/inventory.h"

namespace tessera::cli {
namespace {

using nlohmann::ordered_json;

struct GpuLsArgs {
  bool json = false;
};

ordered_json or_null(const std::string& s) {
  return s.empty() ? ordered_json(nullptr) : ordered_json(s);
}

template <class T>
ordered_json or_null(const std::optional<T>& v) {
  return v ? ordered_json(*v) : ordered_json(nullptr);
}

double mib(uint64_t bytes) {
  return static_cast<double>(bytes) / 1048576.0;
}

ordered_json inventory_json(const gpu::Inventory& inv) {
  ordered_json gpus = ordered_json::array();
  for (const gpu::GpuInfo& g : inv.gpus) {
    ordered_json mig = nullptr;
    if (g.mig_enabled) {
      ordered_json inst = ordered_json::array();
      for (const gpu::MigInstance& m : g.mig) {
        inst.push_back({{"gpu_instance_id", m.gpu_instance_id},
                        {"compute_instance_id", m.compute_instance_id},
                        {"profile", m.profile},
                        {"uuid", m.uuid},
                        {"memory_total_bytes", m.memory_total},
                        {"memory_used_bytes", m.memory_used},
                        {"visible", m.visible}});
      }
      mig = {{"enabled", *g.mig_enabled}, {"instances", inst}};
    }
    const std::string cc = std::to_string(g.cc_major) + "." + std::to_string(g.cc_minor);
    gpus.push_back(
        {{"index", g.index},
         {"name", g.name},
         {"uuid", g.uuid},
         {"pci_bus_id", g.pci_bus_id},
         {"compute_capability", g.cc_major > 0 ? ordered_json(cc) : ordered_json(nullptr)},
         {"architecture", std::string(gpu::architecture_name(g.cc_major, g.cc_minor))},
         {"memory_total_bytes", g.memory_total},
         {"memory_used_bytes", g.memory_used},
         {"memory_free_bytes", g.memory_free},
         {"utilization_pct", or_null(g.utilization_pct)},
         {"temperature_c", or_null(g.temperature_c)},
         {"power_w", or_null(g.power_w)},
         {"mig", mig},
         {"visible", g.visible},
         {"errors", g.errors}});
  }
  ordered_json cuda = nullptr;
  if (inv.cuda_driver_version) cuda = gpu::CudaVersion::from_code(*inv.cuda_driver_version).str();
  return {{"nvml", {{"loaded", inv.nvml_loaded}, {"error", or_null(inv.nvml_error)}}},
          {"driver_version", or_null(inv.driver_version)},
          {"cuda_driver_version", cuda},
          {"cuda_driver_error", or_null(inv.cuda_driver_error)},
          {"cuda_visible_devices", or_null(inv.cuda_visible_devices)},
          {"visible_error", or_null(inv.visible_error)},
          {"gpus", gpus}};
}

void print_inventory(const gpu::Inventory& inv) {
  if (!inv.nvml_loaded) {
    std::printf("No NVIDIA GPU information: %s\n", inv.nvml_error.c_str());
    return;
  }
  std::string cuda = "unknown";
  if (inv.cuda_driver_version) cuda = gpu::CudaVersion::from_code(*inv.cuda_driver_version).str();
  std::printf("Driver %s, CUDA <= %s, %zu GPU%s\n", inv.driver_version.c_str(), cuda.c_str(),
              inv.gpus.size(), inv.gpus.size() == 1 ? "" : "s");
  for (const gpu::GpuInfo& g : inv.gpus) {
    const double used_pct = g.memory_total > 0 ? 100.0 * static_cast<double>(g.memory_used) /
                                                     static_cast<double>(g.memory_total)
                                               : 0.0;
    std::printf("GPU %d: %s (%s, %s, compute %d.%d %s)%s\n", g.index, g.name.c_str(),
                g.uuid.c_str(), g.pci_bus_id.c_str(), g.cc_major, g.cc_minor,
                std::string(gpu::architecture_name(g.cc_major, g.cc_minor)).c_str(),
                g.visible ? "" : " [hidden by CUDA_VISIBLE_DEVICES]");
    std::printf("  memory %.0f / %.0f MiB used (%.1f%%)", mib(g.memory_used), mib(g.memory_total),
                used_pct);
    if (g.utilization_pct) std::printf(", utilization %u%%", *g.utilization_pct);
    if (g.temperature_c) std::printf(", %u C", *g.temperature_c);
    if (g.power_w) std::printf(", %.0f W", *g.power_w);
    std::printf(", MIG %s\n", !g.mig_enabled   ? "not supported"
                              : *g.mig_enabled ? "enabled"
                                               : "disabled");
    for (const gpu::MigInstance& m : g.mig) {
      std::printf("  MIG %s (GI %u, CI %u): %s, %.0f / %.0f MiB used%s\n", m.profile.c_str(),
                  m.gpu_instance_id, m.compute_instance_id, m.uuid.c_str(), mib(m.memory_used),
                  mib(m.memory_total), m.visible ? "" : " [hidden by CUDA_VISIBLE_DEVICES]");
    }
    for (const std::string& e : g.errors) std::printf("  (%s)\n", e.c_str());
  }
  if (!inv.visible_error.empty()) std::printf("warning: %s\n", inv.visible_error.c_str());
}

}  // namespace

Runner add_gpu_command(CLI::App& app) {
  auto a = std::make_shared<GpuLsArgs>();
  CLI::App* gpu = app.add_subcommand("gpu", "The GPUs of this host");
  gpu->require_subcommand(1);
  CLI::App* ls = gpu->add_subcommand("ls", "List the GPUs and MIG instances NVML reports");
  ls->add_flag("--json", a->json, "Print the inventory as JSON (docs/cli.md)");
  return [a] {
    const gpu::Inventory inv =
        gpu::read_inventory(gpu::doctor_input_from_environment().cuda_visible_devices);
    if (a->json) {
      std::printf("%s\n", inventory_json(inv).dump(2).c_str());
    } else {
      print_inventory(inv);
    }
    return Status{};
  };
}

}  // namespace tessera::cli
