#include "gpu/doctor.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>

namespace tessera::gpu {
namespace {

std::string join_path(const std::string& root, const std::string& abs) {
  if (root.empty() || root == "/") return abs;
  return (root.back() == '/' ? root.substr(0, root.size() - 1) : root) + abs;
}

// The GPU device nodes under root/dev: nvidiactl and nvidia<N>.
std::vector<std::string> device_nodes(const std::string& root) {
  std::vector<std::string> nodes;
  DIR* d = opendir(join_path(root, "/dev").c_str());
  if (d == nullptr) return nodes;
  while (const dirent* e = readdir(d)) {
    const std::string n = e->d_name;
    if (n == "nvidiactl") nodes.push_back(n);
    if (n.size() > 6 && n.rfind("nvidia", 0) == 0 &&
        std::all_of(n.begin() + 6, n.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      nodes.push_back(n);
    }
  }
  closedir(d);
  std::sort(nodes.begin(), nodes.end());
  return nodes;
}

std::string first_line(const std::string& path) {
  std::ifstream f(path);
  std::string line;
  if (f) std::getline(f, line);
  return line;
}

std::string join(const std::vector<std::string>& v, const char* sep) {
  std::string s;
  for (const std::string& x : v) s += (s.empty() ? "" : sep) + x;
  return s;
}

std::string targets_text(const std::vector<Target>& t) {
  std::vector<std::string> names;
  for (const Target& x : t) names.push_back(x.str());
  return names.empty() ? "none" : join(names, " ");
}

bool in_container(const DoctorInput& in) {
  return in.nvidia_visible_devices.has_value();
}

// One diagnosis: the checks in order, appended to the report, and the first problem of the
// host (any of them keeps every GPU from CUDA) and of a GPU.
class Diagnosis {
 public:
  Diagnosis(const DoctorInput& in, DoctorReport& r) : in_(in), r_(r) {}

  void driver_files();
  void nvml();
  void libcuda();
  void build();
  bool runtime();             // whether the driver runs the build's CUDA runtime (maybe SASS only)
  int gpus(bool runtime_ok);  // returns the usable visible GPUs
  void visible();
  void verdict(int usable);

 private:
  void add(std::string name, CheckStatus s, std::string found, std::string fix = "") {
    r_.checks.push_back({std::move(name), s, std::move(found), std::move(fix)});
  }
  void failed(const std::string& why) {
    if (host_failure_.empty()) host_failure_ = why;
  }

  static constexpr const char* kContainerFix =
      "start the container with the NVIDIA runtime and GPUs (docker run --gpus all, or the "
      "nvidia.com/gpu resource on Kubernetes)";
  const DoctorInput& in_;
  DoctorReport& r_;
  std::string host_failure_, gpu_failure_;
};

// The kernel driver and its device nodes.
void Diagnosis::driver_files() {
  const std::string version = first_line(join_path(in_.root, "/proc/driver/nvidia/version"));
  const std::vector<std::string> nodes = device_nodes(in_.root);
  if (!version.empty()) {
    add("kernel driver", CheckStatus::ok, version);
  } else {
    add("kernel driver", CheckStatus::fail,
        "no NVIDIA kernel driver (/proc/driver/nvidia/version is missing)",
        in_container(in_) ? kContainerFix
                          : "install the NVIDIA driver (and reboot), or run on the CPU");
    failed("no NVIDIA kernel driver on this host");
  }
  if (!nodes.empty()) {
    add("device nodes", CheckStatus::ok, "/dev/" + join(nodes, ", /dev/"));
    return;
  }
  std::string found = "no /dev/nvidia* device nodes";
  if (in_.nvidia_visible_devices) {
    found += " although NVIDIA_VISIBLE_DEVICES=" + *in_.nvidia_visible_devices +
             " is set: the container was started without the NVIDIA runtime";
  }
  add("device nodes", CheckStatus::fail, found,
      in_container(in_) ? kContainerFix
      : version.empty() ? "install the NVIDIA driver (it creates them)"
                        : "load the driver's modules (nvidia-modprobe) and check the "
                          "permissions of /dev/nvidia*");
  failed("no NVIDIA device nodes");
}

void Diagnosis::nvml() {
  const Inventory& inv = r_.inventory;
  if (inv.nvml_loaded) {
    std::string cuda = "unknown";
    if (inv.cuda_driver_version) cuda = CudaVersion::from_code(*inv.cuda_driver_version).str();
    add("NVML", CheckStatus::ok,
        "driver " + inv.driver_version + ", CUDA <= " + cuda + ", " +
            std::to_string(inv.gpus.size()) + " GPU(s)");
    return;
  }
  std::string fix = "install the NVIDIA driver";
  if (inv.nvml_init_code == 9) fix = "load the NVIDIA kernel module (modprobe nvidia) or reboot";
  if (inv.nvml_init_code == 18) {
    fix = "reboot: the driver was upgraded but the old kernel module is loaded";
  }
  if (inv.nvml_init_code == 4) fix = "give this user access to /dev/nvidia* (group video)";
  if (in_container(in_) && inv.nvml_init_code == 0) fix = kContainerFix;
  add("NVML", CheckStatus::fail, inv.nvml_error, fix);
  failed(inv.nvml_error);
}

// The CUDA driver API.
void Diagnosis::libcuda() {
  const CudaDriverProbe& cu = r_.cuda_driver;
  if (cu.loaded && cu.init_code == 0) {
    add("libcuda", CheckStatus::ok,
        "cuInit OK, CUDA " +
            (cu.version ? CudaVersion::from_code(*cu.version).str() : std::string("?")) + ", " +
            std::to_string(cu.device_count) + " device(s)");
    return;
  }
  std::string fix = "install the NVIDIA driver's CUDA library (libcuda.so.1, part of the driver)";
  if (!cu.loaded && in_container(in_)) {
    fix = "add compute to NVIDIA_DRIVER_CAPABILITIES (now " +
          in_.nvidia_driver_capabilities.value_or("unset") + ") so libcuda.so.1 is mounted";
  }
  add("libcuda", CheckStatus::fail, cu.error, fix);
  failed(cu.error);
}

// This build's CUDA plugin.
void Diagnosis::build() {
  const CudaPluginProbe& plugin = r_.plugin;
  if (plugin.loaded) {
    add("CUDA build", CheckStatus::ok,
        plugin.path + ": CUDA runtime " + plugin.runtime.str() + ", targets " +
            targets_text(plugin.targets));
    return;
  }
  const bool absent = plugin.error.find("CPU-only build") != std::string::npos;
  add("CUDA build", CheckStatus::fail, plugin.error,
      absent ? "use a build with the CUDA backend (the tessera cuda12 / cuda13 images)"
             : "install the CUDA runtime libraries it names (or use the tessera image made for "
               "this CUDA version)");
  failed(absent ? "this build has no CUDA backend" : plugin.error);
}

// The driver against the build's runtime.
bool Diagnosis::runtime() {
  const CudaDriverProbe& cu = r_.cuda_driver;
  const std::optional<int> driver_cuda = cu.version ? cu.version : r_.inventory.cuda_driver_version;
  if (!r_.plugin.loaded || !driver_cuda) return false;
  const RuntimeFit fit = check_runtime(r_.plugin.runtime, CudaVersion::from_code(*driver_cuda),
                                       parse_driver_version(r_.inventory.driver_version));
  const bool runs = fit.kind != RuntimeFit::Kind::too_old;
  add("driver vs build",
      fit.kind == RuntimeFit::Kind::ok ? CheckStatus::ok
      : runs                           ? CheckStatus::warn
                                       : CheckStatus::fail,
      fit.found, fit.fix);
  if (!runs) failed(fit.found);
  return runs;
}

// Each GPU's architecture against the build's targets; MIG; memory.
int Diagnosis::gpus(bool runtime_ok) {
  int usable = 0;
  const CudaPluginProbe& plugin = r_.plugin;
  for (const GpuInfo& g : r_.inventory.gpus) {
    const std::string index = std::to_string(g.index);
    const std::string gname = "GPU " + index + " (" + g.name + ")";
    const bool visible = g.visible || std::any_of(g.mig.begin(), g.mig.end(),
                                                  [](const MigInstance& m) { return m.visible; });
    if (plugin.loaded) {
      const int cc = 10 * g.cc_major + g.cc_minor;
      const ArchFit fit = check_architecture(cc, plugin.targets);
      const std::string compute = gname + ": compute " + std::to_string(g.cc_major) + "." +
                                  std::to_string(g.cc_minor) + " " +
                                  std::string(architecture_name(g.cc_major, g.cc_minor));
      if (fit.ok) {
        add("architecture " + index, fit.via_ptx ? CheckStatus::warn : CheckStatus::ok,
            compute + ", runs " + fit.target + (fit.via_ptx ? " by PTX JIT at load" : ""),
            fit.via_ptx ? "first load compiles the kernels (slow once); a build with sm_" +
                              std::to_string(cc) + " avoids it"
                        : "");
        if (visible && runtime_ok) ++usable;
      } else {
        add("architecture " + index, CheckStatus::fail,
            compute + "; this build carries " + targets_text(plugin.targets),
            "use a build whose targets include sm_" + std::to_string(cc) + " or older PTX");
        if (gpu_failure_.empty()) gpu_failure_ = gname + " is not among the build's targets";
      }
    }
    if (g.mig_enabled.value_or(false)) {
      std::vector<std::string> prof;
      for (const MigInstance& m : g.mig) prof.push_back(m.profile);
      add("MIG " + index, g.mig.empty() ? CheckStatus::warn : CheckStatus::ok,
          gname + ": MIG enabled, " + std::to_string(g.mig.size()) + " instance(s)" +
              (prof.empty() ? "" : ": " + join(prof, ", ")),
          g.mig.empty() ? "create instances (nvidia-smi mig -cgi <profiles> -C) or disable MIG"
                        : "");
    }
    if (g.memory_total > 0) {
      const double used = static_cast<double>(g.memory_used) / static_cast<double>(g.memory_total);
      char buf[160];
      std::snprintf(buf, sizeof buf, "%s: %.0f of %.0f MiB free (%.0f%% used)", gname.c_str(),
                    static_cast<double>(g.memory_free) / 1048576.0,
                    static_cast<double>(g.memory_total) / 1048576.0, 100.0 * used);
      add("memory " + index, used >= 0.95 ? CheckStatus::warn : CheckStatus::ok, buf,
          used >= 0.95 ? "other processes hold this GPU's memory: free it (nvidia-smi shows "
                         "who) or place models on another device"
                       : "");
    }
  }
  return usable;
}

void Diagnosis::visible() {
  const Inventory& inv = r_.inventory;
  if (!inv.visible_error.empty()) {
    add("CUDA_VISIBLE_DEVICES", CheckStatus::warn, inv.visible_error,
        "set CUDA_VISIBLE_DEVICES to indices, GPU- or MIG- UUIDs from tessera gpu ls");
  } else if (inv.cuda_visible_devices) {
    add("CUDA_VISIBLE_DEVICES", CheckStatus::ok, "\"" + *inv.cuda_visible_devices + "\"");
  }
}

void Diagnosis::verdict(int usable) {
  if (!host_failure_.empty()) {
    r_.reason = host_failure_;
  } else if (usable > 0) {
    r_.backend = "cuda";
    r_.reason = std::to_string(usable) + " usable GPU(s)" +
                (gpu_failure_.empty() ? "" : "; not usable: " + gpu_failure_);
  } else {
    r_.reason = !gpu_failure_.empty()       ? gpu_failure_
                : r_.inventory.gpus.empty() ? "no GPU found"
                                            : "CUDA_VISIBLE_DEVICES hides every GPU";
  }
}

}  // namespace

const char* check_status_name(CheckStatus s) {
  switch (s) {
    case CheckStatus::ok:
      return "OK";
    case CheckStatus::warn:
      return "WARN";
    case CheckStatus::fail:
      break;
  }
  return "FAIL";
}

DoctorInput doctor_input_from_environment() {
  auto env = [](const char* name) {
    const char* v = std::getenv(name);
    return v != nullptr ? std::optional<std::string>(v) : std::nullopt;
  };
  DoctorInput in;
  in.cuda_visible_devices = env("CUDA_VISIBLE_DEVICES");
  in.nvidia_visible_devices = env("NVIDIA_VISIBLE_DEVICES");
  in.nvidia_driver_capabilities = env("NVIDIA_DRIVER_CAPABILITIES");
  return in;
}

DoctorReport run_doctor(const DoctorInput& in) {
  return diagnose(in, read_inventory(in.cuda_visible_devices), probe_cuda_driver(),
                  probe_cuda_plugin());
}

DoctorReport diagnose(const DoctorInput& in, Inventory inv, CudaDriverProbe cu,
                      CudaPluginProbe plugin) {
  DoctorReport r;
  r.inventory = std::move(inv);
  r.cuda_driver = std::move(cu);
  r.plugin = std::move(plugin);
  Diagnosis d(in, r);
  d.driver_files();
  d.nvml();
  d.libcuda();
  d.build();
  const bool runtime_ok = d.runtime();
  const int usable = d.gpus(runtime_ok);
  d.visible();
  d.verdict(usable);
  return r;
}

}  // namespace tessera::gpu
