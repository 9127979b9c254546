// A MIG plan (mig_plan.h) in the forms the tools that apply it read: an NVIDIA mig-parted
// configuration and the Kubernetes extended resource of each instance. Formats from NVIDIA's
// mig-parted (examples/config.yaml) and k8s-device-plugin README (MIG strategy "mixed"),
// summarized in ../shared/reference/gpu-serving-anchors.md section 7.
#pragma once

#include <string>
#include <string_view>

#include "gpu/mig_plan.h"

namespace tessera::gpu {

// The resource a container asks for to get one instance of `profile` from the NVIDIA device
// plugin with the "mixed" MIG strategy: "nvidia.com/mig-2g.10gb".
std::string k8s_mig_resource(const MigProfile& profile);

// A mig-parted configuration file holding the plan as the config `name`:
//   version: v1
//   mig-configs:
//     <name>:
//       - devices: [0, 1]
//         mig-enabled: true
//         mig-devices:
//           "2g.10gb": 3
// GPUs with the same layout share one entry; profiles are listed from the smallest. Apply with
// `nvidia-mig-parted apply -f FILE -c NAME`, or put it in the GPU operator's MIG manager
// ConfigMap and label the node nvidia.com/mig.config=NAME.
std::string mig_parted_config(const MigPlan& plan, std::string_view name);

}  // namespace tessera::gpu
