// The part of NVML's C ABI (libnvidia-ml.so.1) that the inventory uses, declared from the facts
// in ../shared/reference/nvml-subset.md (types, struct layouts on LP64, return codes, the
// versioned symbol names to look up). Internal to gpu/ and to the tests' fake library.
#pragma once

#include <cstdint>

namespace tessera::gpu::nvml {

using Return = int;  // nvmlReturn_t
struct DeviceSt;
using Device = DeviceSt*;  // nvmlDevice_t (opaque pointer)

inline constexpr Return kSuccess = 0;
inline constexpr Return kErrorNotSupported = 3;
inline constexpr Return kErrorNotFound = 6;
inline constexpr Return kErrorDriverNotLoaded = 9;
inline constexpr Return kErrorLibraryNotFound = 12;

inline constexpr unsigned kMigEnable = 1;
inline constexpr int kTemperatureGpu = 0;
inline constexpr unsigned kNameBuffer = 96;
inline constexpr unsigned kUuidBuffer = 96;
inline constexpr unsigned kDriverVersionBuffer = 80;

struct Memory {  // nvmlMemory_t, 24 bytes
  unsigned long long total, free, used;
};
struct PciInfo {  // nvmlPciInfo_t, 68 bytes
  char bus_id_legacy[16];
  unsigned domain, bus, device, pci_device_id, pci_subsystem_id;
  char bus_id[32];
};
struct Utilization {  // nvmlUtilization_t, 8 bytes
  unsigned gpu, memory;
};
static_assert(sizeof(Memory) == 24 && sizeof(PciInfo) == 68 && sizeof(Utilization) == 8);

// Function types, by the symbol they are looked up as.
using InitFn = Return (*)();                               // nvmlInit_v2
using ShutdownFn = Return (*)();                           // nvmlShutdown
using ErrorStringFn = const char* (*)(Return);             // nvmlErrorString
using DriverVersionFn = Return (*)(char*, unsigned);       // nvmlSystemGetDriverVersion
using CudaDriverVersionFn = Return (*)(int*);              // nvmlSystemGetCudaDriverVersion_v2
using CountFn = Return (*)(unsigned*);                     // nvmlDeviceGetCount_v2
using HandleByIndexFn = Return (*)(unsigned, Device*);     // nvmlDeviceGetHandleByIndex_v2
using StringFn = Return (*)(Device, char*, unsigned);      // nvmlDeviceGetName / GetUUID
using PciFn = Return (*)(Device, PciInfo*);                // nvmlDeviceGetPciInfo_v3
using MemoryFn = Return (*)(Device, Memory*);              // nvmlDeviceGetMemoryInfo
using UtilizationFn = Return (*)(Device, Utilization*);    // nvmlDeviceGetUtilizationRates
using TemperatureFn = Return (*)(Device, int, unsigned*);  // nvmlDeviceGetTemperature
using UnsignedFn = Return (*)(Device, unsigned*);          // GetPowerUsage, GetMaxMigDeviceCount,
                                                           // GetGpuInstanceId, GetComputeInstanceId
using ComputeCapabilityFn = Return (*)(Device, int*, int*);  // nvmlDeviceGetCudaComputeCapability
using MigModeFn = Return (*)(Device, unsigned*, unsigned*);  // nvmlDeviceGetMigMode
using MigHandleFn = Return (*)(Device, unsigned, Device*);   // nvmlDeviceGetMigDeviceHandleByIndex

}  // namespace tessera::gpu::nvml
