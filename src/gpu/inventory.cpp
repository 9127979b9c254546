#include "gpu/inventory.h"

#include <dlfcn.h>

#include <cstring>

#include "gpu/nvml_abi.h"

namespace tessera::gpu {
namespace {

// The NVML library and the functions the inventory calls; any may be missing (older drivers).
struct Nvml {
  void* lib = nullptr;
  nvml::InitFn init = nullptr;
  nvml::ShutdownFn shutdown = nullptr;
  nvml::ErrorStringFn error_string = nullptr;
  nvml::DriverVersionFn driver_version = nullptr;
  nvml::CudaDriverVersionFn cuda_driver_version = nullptr;
  nvml::CountFn count = nullptr;
  nvml::HandleByIndexFn handle_by_index = nullptr;
  nvml::StringFn name = nullptr, uuid = nullptr;
  nvml::PciFn pci = nullptr;
  nvml::MemoryFn memory = nullptr;
  nvml::UtilizationFn utilization = nullptr;
  nvml::TemperatureFn temperature = nullptr;
  nvml::UnsignedFn power = nullptr, max_mig = nullptr, gpu_instance = nullptr,
                   compute_instance = nullptr;
  nvml::ComputeCapabilityFn compute_capability = nullptr;
  nvml::MigModeFn mig_mode = nullptr;
  nvml::MigHandleFn mig_handle = nullptr;

  ~Nvml() {
    if (lib != nullptr) dlclose(lib);
  }
  template <class F>
  void bind(F& f, const char* symbol) {
    f = reinterpret_cast<F>(dlsym(lib, symbol));
  }
  std::string text(nvml::Return r) const {
    const char* s = error_string != nullptr ? error_string(r) : nullptr;
    return (s != nullptr ? std::string(s) : "error") + " (NVML " + std::to_string(r) + ")";
  }
};

bool load(Nvml& n, std::string& error) {
  n.lib = dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
  if (n.lib == nullptr) {
    const char* e = dlerror();
    error = std::string("libnvidia-ml.so.1 not found: no NVIDIA driver user-space here (") +
            (e != nullptr ? e : "dlopen failed") + ")";
    return false;
  }
  n.bind(n.init, "nvmlInit_v2");
  n.bind(n.shutdown, "nvmlShutdown");
  n.bind(n.error_string, "nvmlErrorString");
  n.bind(n.driver_version, "nvmlSystemGetDriverVersion");
  n.bind(n.cuda_driver_version, "nvmlSystemGetCudaDriverVersion_v2");
  if (n.cuda_driver_version == nullptr)
    n.bind(n.cuda_driver_version, "nvmlSystemGetCudaDriverVersion");
  n.bind(n.count, "nvmlDeviceGetCount_v2");
  n.bind(n.handle_by_index, "nvmlDeviceGetHandleByIndex_v2");
  n.bind(n.name, "nvmlDeviceGetName");
  n.bind(n.uuid, "nvmlDeviceGetUUID");
  n.bind(n.pci, "nvmlDeviceGetPciInfo_v3");
  n.bind(n.memory, "nvmlDeviceGetMemoryInfo");
  n.bind(n.utilization, "nvmlDeviceGetUtilizationRates");
  n.bind(n.temperature, "nvmlDeviceGetTemperature");
  n.bind(n.power, "nvmlDeviceGetPowerUsage");
  n.bind(n.compute_capability, "nvmlDeviceGetCudaComputeCapability");
  n.bind(n.mig_mode, "nvmlDeviceGetMigMode");
  n.bind(n.max_mig, "nvmlDeviceGetMaxMigDeviceCount");
  n.bind(n.mig_handle, "nvmlDeviceGetMigDeviceHandleByIndex");
  n.bind(n.gpu_instance, "nvmlDeviceGetGpuInstanceId");
  n.bind(n.compute_instance, "nvmlDeviceGetComputeInstanceId");
  if (n.init == nullptr || n.count == nullptr || n.handle_by_index == nullptr) {
    error =
        "libnvidia-ml.so.1 lacks nvmlInit_v2 / nvmlDeviceGetCount_v2 / "
        "nvmlDeviceGetHandleByIndex_v2 (a driver older than R450?)";
    return false;
  }
  return true;
}

// Calls f when present; records "what: error" on failure. Returns whether it succeeded.
template <class Call>
bool field(const Nvml& n, bool present, const char* what, std::vector<std::string>& errors,
           Call&& call) {
  if (!present) {
    errors.push_back(std::string(what) + ": not in this NVML");
    return false;
  }
  const nvml::Return r = call();
  if (r == nvml::kSuccess) return true;
  errors.push_back(std::string(what) + ": " + n.text(r));
  return false;
}

std::string c_string(const char* buf, size_t size) {
  return std::string(buf, strnlen(buf, size));
}

void read_mig(const Nvml& n, nvml::Device dev, GpuInfo& g) {
  unsigned max = 0;
  if (!field(n, n.max_mig != nullptr, "MIG device count", g.errors,
             [&] { return n.max_mig(dev, &max); })) {
    return;
  }
  for (unsigned i = 0; i < max && i < 64; ++i) {
    nvml::Device m = nullptr;
    if (n.mig_handle == nullptr) break;
    const nvml::Return r = n.mig_handle(dev, i, &m);
    if (r == nvml::kErrorNotFound) continue;  // an empty slot
    if (r != nvml::kSuccess) {
      g.errors.push_back("MIG device " + std::to_string(i) + ": " + n.text(r));
      continue;
    }
    MigInstance mi;
    mi.parent = g.index;
    char buf[nvml::kNameBuffer] = {};
    if (field(n, n.name != nullptr, "MIG name", g.errors,
              [&] { return n.name(m, buf, sizeof buf); })) {
      const std::string name = c_string(buf, sizeof buf);
      const size_t at = name.rfind("MIG ");
      mi.profile = at == std::string::npos ? name : name.substr(at + 4);
    }
    char ubuf[nvml::kUuidBuffer] = {};
    if (field(n, n.uuid != nullptr, "MIG UUID", g.errors,
              [&] { return n.uuid(m, ubuf, sizeof ubuf); })) {
      mi.uuid = c_string(ubuf, sizeof ubuf);
    }
    nvml::Memory mem{};
    if (field(n, n.memory != nullptr, "MIG memory", g.errors, [&] { return n.memory(m, &mem); })) {
      mi.memory_total = mem.total;
      mi.memory_used = mem.used;
    }
    field(n, n.gpu_instance != nullptr, "MIG GPU instance", g.errors,
          [&] { return n.gpu_instance(m, &mi.gpu_instance_id); });
    field(n, n.compute_instance != nullptr, "MIG compute instance", g.errors,
          [&] { return n.compute_instance(m, &mi.compute_instance_id); });
    g.mig.push_back(std::move(mi));
  }
}

GpuInfo read_gpu(const Nvml& n, unsigned index) {
  GpuInfo g;
  g.index = static_cast<int>(index);
  nvml::Device dev = nullptr;
  if (!field(n, true, "handle", g.errors, [&] { return n.handle_by_index(index, &dev); })) {
    return g;
  }
  char buf[nvml::kNameBuffer] = {};
  if (field(n, n.name != nullptr, "name", g.errors, [&] { return n.name(dev, buf, sizeof buf); })) {
    g.name = c_string(buf, sizeof buf);
  }
  char ubuf[nvml::kUuidBuffer] = {};
  if (field(n, n.uuid != nullptr, "UUID", g.errors,
            [&] { return n.uuid(dev, ubuf, sizeof ubuf); })) {
    g.uuid = c_string(ubuf, sizeof ubuf);
  }
  nvml::PciInfo pci{};
  if (field(n, n.pci != nullptr, "PCI", g.errors, [&] { return n.pci(dev, &pci); })) {
    g.pci_bus_id = c_string(pci.bus_id, sizeof pci.bus_id);
  }
  field(n, n.compute_capability != nullptr, "compute capability", g.errors,
        [&] { return n.compute_capability(dev, &g.cc_major, &g.cc_minor); });
  nvml::Memory mem{};
  if (field(n, n.memory != nullptr, "memory", g.errors, [&] { return n.memory(dev, &mem); })) {
    g.memory_total = mem.total;
    g.memory_used = mem.used;
    g.memory_free = mem.free;
  }
  unsigned current = 0, pending = 0;
  if (n.mig_mode != nullptr) {
    const nvml::Return r = n.mig_mode(dev, &current, &pending);
    if (r == nvml::kSuccess) {
      g.mig_enabled = current == nvml::kMigEnable;
    } else if (r != nvml::kErrorNotSupported) {
      g.errors.push_back("MIG mode: " + n.text(r));
    }
  }
  nvml::Utilization u{};
  if (!g.mig_enabled.value_or(false) &&  // not reported per GPU in MIG mode
      field(n, n.utilization != nullptr, "utilization", g.errors,
            [&] { return n.utilization(dev, &u); })) {
    g.utilization_pct = u.gpu;
  }
  unsigned t = 0;
  if (field(n, n.temperature != nullptr, "temperature", g.errors,
            [&] { return n.temperature(dev, nvml::kTemperatureGpu, &t); })) {
    g.temperature_c = t;
  }
  unsigned mw = 0;
  if (field(n, n.power != nullptr, "power", g.errors, [&] { return n.power(dev, &mw); })) {
    g.power_w = mw / 1000.0;
  }
  if (g.mig_enabled.value_or(false)) read_mig(n, dev, g);
  return g;
}

bool all_digits(const std::string& s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

std::string trim(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t')) ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t')) --e;
  return s.substr(b, e - b);
}

}  // namespace

void apply_visible_devices(Inventory& inv, const std::string& value) {
  inv.cuda_visible_devices = value;
  for (GpuInfo& g : inv.gpus) {
    g.visible = false;
    for (MigInstance& m : g.mig) m.visible = false;
  }
  size_t start = 0;
  while (start <= value.size()) {
    size_t end = value.find(',', start);
    if (end == std::string::npos) end = value.size();
    const std::string entry = trim(value.substr(start, end - start));
    start = end + 1;
    if (entry.empty() && end == value.size() && value.empty()) break;  // "": no devices
    if (entry == "-1") break;  // CUDA's "no devices" (this entry and all after it)
    bool matched = false;
    if (all_digits(entry) && entry.size() < 6) {
      const int idx = std::stoi(entry);
      for (GpuInfo& g : inv.gpus) {
        if (g.index == idx) {
          g.visible = true;
          for (MigInstance& m : g.mig) m.visible = true;
          matched = true;
        }
      }
    } else if (entry.rfind("GPU-", 0) == 0 && entry.size() > 4) {
      for (GpuInfo& g : inv.gpus) {
        if (g.uuid.rfind(entry, 0) == 0) {
          g.visible = true;
          for (MigInstance& m : g.mig) m.visible = true;
          matched = true;
        }
      }
    } else if (entry.rfind("MIG-", 0) == 0 && entry.size() > 4) {
      for (GpuInfo& g : inv.gpus) {
        for (MigInstance& m : g.mig) {
          if (m.uuid == entry) {
            m.visible = true;
            matched = true;
          }
        }
      }
    }
    if (!matched) {
      inv.visible_error =
          "CUDA_VISIBLE_DEVICES=\"" + value + "\": entry \"" + entry + "\" " +
          (all_digits(entry) || entry.rfind("GPU-", 0) == 0 || entry.rfind("MIG-", 0) == 0
               ? "names no device of this host"
               : "is not a GPU index, GPU- UUID or MIG- UUID") +
          "; CUDA ignores it and every entry after it";
      break;  // as CUDA does: the list ends at the first entry it cannot use
    }
    if (end == value.size()) break;
  }
}

Inventory read_inventory(const std::optional<std::string>& cuda_visible_devices) {
  Inventory inv;
  Nvml n;
  if (load(n, inv.nvml_error)) {
    const nvml::Return r = n.init();
    inv.nvml_init_code = r;
    if (r != nvml::kSuccess) {
      inv.nvml_error = "nvmlInit_v2 failed: " + n.text(r);
    } else {
      inv.nvml_loaded = true;
      char buf[nvml::kDriverVersionBuffer] = {};
      std::vector<std::string> errors;
      if (field(n, n.driver_version != nullptr, "driver version", errors,
                [&] { return n.driver_version(buf, sizeof buf); })) {
        inv.driver_version = c_string(buf, sizeof buf);
      }
      int cuda = 0;
      if (field(n, n.cuda_driver_version != nullptr, "CUDA driver version", errors,
                [&] { return n.cuda_driver_version(&cuda); })) {
        inv.cuda_driver_version = cuda;
      }
      for (const std::string& e : errors) {
        inv.cuda_driver_error += (inv.cuda_driver_error.empty() ? "" : "; ") + e;
      }
      unsigned count = 0;
      const nvml::Return c = n.count(&count);
      if (c != nvml::kSuccess) {
        inv.nvml_error = "nvmlDeviceGetCount_v2 failed: " + n.text(c);
      } else {
        for (unsigned i = 0; i < count && i < 256; ++i) inv.gpus.push_back(read_gpu(n, i));
      }
      if (n.shutdown != nullptr) n.shutdown();
    }
  }
  if (cuda_visible_devices) apply_visible_devices(inv, *cuda_visible_devices);
  return inv;
}

}  // namespace tessera::gpu
