#include "gpu/mig_export.h"

#include <vector>

namespace tessera::gpu {

std::string k8s_mig_resource(const MigProfile& profile) {
  return "nvidia.com/mig-" + std::string(profile.name);
}

std::string mig_parted_config(const MigPlan& plan, std::string_view name) {
  // Group the GPUs by layout, in order of first appearance.
  std::vector<std::vector<size_t>> groups;
  for (size_t i = 0; i < plan.gpus.size(); ++i) {
    bool joined = false;
    for (auto& g : groups) {
      if (plan.gpus[g.front()].counts == plan.gpus[i].counts) {
        g.push_back(i);
        joined = true;
        break;
      }
    }
    if (!joined) groups.push_back({i});
  }
  std::string y = "version: v1\nmig-configs:\n  " + std::string(name) + ":\n";
  for (const auto& g : groups) {
    y += "    - devices: [";
    for (size_t k = 0; k < g.size(); ++k) {
      if (k > 0) y += ", ";
      y += std::to_string(g[k]);
    }
    y += "]\n      mig-enabled: true\n      mig-devices:\n";
    const MigCounts& c = plan.gpus[g.front()].counts;
    for (size_t p = 0; p < plan.gpu->profiles.size(); ++p) {
      if (c[p] == 0) continue;
      y += "        \"";
      y += plan.gpu->profiles[p].name;
      y += "\": ";
      y += std::to_string(c[p]);
      y += "\n";
    }
  }
  return y;
}

}  // namespace tessera::gpu
