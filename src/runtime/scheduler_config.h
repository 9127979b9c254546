// The operator's scheduler config: defaults for loading models, the memory-quota slices of
// GPUs (named, with a device and a budget, and who may use them), per-app quotas and
// per-model policies. A YAML file (docs/scheduler.md has the full reference):
//
//   keep_alive: 5m            # idle time before a model unloads (-1 / forever: never)
//   max_loaded_models: 0      # 0 = 3 per device
//   max_queue: 512            # requests waiting (for a load, a slot, room) before "busy"
//   context: 4096             # tokens per sequence (0 = min(training context, 4096))
//   parallel: 1               # sequences a model decodes at once (each gets `context`)
//   kv_type: f16              # f16 | f32 | q8_0
//   gpu_reserve: 512MiB       # kept free on every GPU / MIG instance (CUDA context, ...)
//   split: true               # split a model over several GPUs when no single one fits
//   room_wait: 30s            # how long a load waits for busy models to free room, then is
//                             # refused with the reason (-1 / forever: no limit)
//   cpu: {use: auto, memory: 16GiB}   # auto: the CPU only when no GPU | always | never
//   slices:
//     - name: team-a
//       device: 0             # GPU index, GPU-uuid or MIG-uuid
//       memory: 20GiB
//       apps: [support-bot]   # only these apps' requests may load here (absent: any)
//       models: [qwen-7b]     # only these models may load here (absent: any)
//   quotas:
//     - app: support-bot
//       memory: 10GiB         # models loaded for this app
//       kv_tokens: 65536      # KV cache tokens its requests in flight may hold
//   models:
//     qwen-7b: {pinned: true, keep_alive: -1, context: 8192, parallel: 4, kv_type: q8_0}
//
// Every error names the file, line and column, the key, what was wrong and what is allowed;
// unknown keys are errors (a typo must not silently fall back to a default).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "backend/ops.h"
#include "runtime/units.h"
#include "util/result.h"

namespace tessera::runtime {

enum class CpuUse { auto_, always, never };

struct SliceConfig {
  std::string name;
  std::string device;  // as written: "0", "GPU-...", "MIG-..."
  uint64_t memory = 0;
  std::vector<std::string> apps;    // empty: any app
  std::vector<std::string> models;  // empty: any model
  int line = 0;                     // 1-based, for later errors (the device does not exist, ...)
};

struct QuotaConfig {
  std::string app;
  std::optional<uint64_t> memory;
  std::optional<int64_t> kv_tokens;
  int line = 0;
};

struct ModelPolicy {
  std::optional<int64_t> context;
  std::optional<int64_t> parallel;
  std::optional<backend::KvType> kv_type;
  std::optional<KeepAlive> keep_alive;
  bool pinned = false;
};

inline constexpr int64_t kMaxParallel = 256;
inline constexpr int64_t kMaxContext = int64_t{1} << 24;

struct SchedulerConfig {
  std::string source = "(defaults)";  // the file it came from
  KeepAlive keep_alive = kDefaultKeepAlive;
  int max_loaded_models = 0;  // 0: 3 per place that holds models
  int max_queue = 512;
  int64_t context = 4096;
  int64_t parallel = 1;
  backend::KvType kv_type = backend::KvType::f16;
  uint64_t gpu_reserve = uint64_t{512} << 20;
  bool split = true;
  KeepAlive room_wait{std::chrono::seconds(30), false};
  CpuUse cpu_use = CpuUse::auto_;
  std::optional<uint64_t> cpu_memory;  // default: 80% of the host's available memory
  std::vector<SliceConfig> slices;
  std::vector<QuotaConfig> quotas;
  std::map<std::string, ModelPolicy> models;

  const QuotaConfig* quota(std::string_view app) const;
  ModelPolicy policy(std::string_view model) const;  // the model's entry, or an empty one
};

// Parses YAML text; `file` names it in errors. Errors: malformed (bad YAML, wrong types,
// unknown keys, values out of range, duplicate slice names or quota apps), each as
// "<file>:<line>:<column>: <key>: <what>".
Result<SchedulerConfig> parse_scheduler_config(std::string_view text, std::string_view file);
// Reads and parses a file. Errors: not_found / io_error for the file, then as above.
Result<SchedulerConfig> load_scheduler_config(const std::string& path);

}  // namespace tessera::runtime
