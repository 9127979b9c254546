// The model scheduler: one per serving process. Requests name a model; the scheduler loads it
// on first use where it fits (placement.h), hands the request a Lease (the model and one of
// its sequence slots), keeps the model loaded while it is used and for its keep-alive after,
// and unloads idle models when another one needs their room or the keep-alive expires.
//
//   - One load per model at a time: requests for a model being loaded wait for that load.
//   - Requests wait (queue) while their model loads, while all its slots are taken, while their
//     app's KV-token quota is used by its own requests, and while busy models hold the room a
//     load needs. At most config.max_queue wait; past that a request gets "busy" (unavailable).
//   - Eviction: idle, unpinned models only, the cheapest set (eviction_cost: reload time vs
//     idle time), logged with the reason. Pinned models are never evicted nor expire.
//   - Admission: a model that cannot fit anywhere, even after unloading every idle model, gets
//     an out_of_range error naming it, what it needs (weights, KV cache, compute), the largest
//     space and what would make it fit. Nothing that is loaded is touched.
//   - Quotas per app (config quotas): memory of the models loaded for the app's requests, and
//     KV tokens (context x slots) its requests in flight hold.
//   - A runtime allocation failure fails only the requests of that step (a generation: those
//     decoded together in it; with_context / with_encoder: that request), unloads nothing,
//     and is counted once (status().counters.runtime_oom).
//
// Time: the clock is injectable (tests drive keep-alive expiry); tick() applies expiry and is
// called by a background thread every 100 ms unless options.background is false.
//
// Threads: all public methods are thread-safe. A Lease belongs to one request (one thread at a
// time); it ends when destroyed.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "backend/backend.h"
#include "engine/llm/encoder.h"
#include "engine/llm/llm.h"
#include "engine/memory_estimate.h"
#include "engine/model_info.h"
#include "runtime/batcher.h"
#include "runtime/cancel_token.h"
#include "runtime/placement.h"
#include "runtime/places.h"
#include "runtime/scheduler_config.h"
#include "util/result.h"

namespace tessera::runtime {

using SteadyClock = std::chrono::steady_clock;

struct ResolvedModel {
  std::string name;
  std::string path;
};
// Finds a model's file by name (the model store). Errors go back to the request as they are.
using ModelResolver = std::function<Result<ResolvedModel>(const std::string& name)>;
// Makes a backend for a place (a CUDA backend of its device; the CPU). Each loaded model gets
// its own, with a memory limit the scheduler sets.
using BackendFactory = std::function<Result<std::shared_ptr<backend::Backend>>(const Place& place)>;

// Resolves names in a model store's folder (model_store.h): NAME -> NAME.gguf, with the
// store's errors (bad names refused, unknown names with close ones). `extra`: models served
// from elsewhere (tessera serve --model), found first under their names.
ModelResolver store_resolver(const std::filesystem::path& models_dir,
                             std::vector<ResolvedModel> extra = {});

// The default factory: the CPU backend for the CPU place, the CUDA backend of the place's
// device for the others (gpu/cuda_backend.h).
BackendFactory default_backend_factory();

struct ModelRequest {
  std::string model;
  std::string app;                      // "" = no app (no quota applies)
  std::optional<KeepAlive> keep_alive;  // overrides the model's from now on (as Ollama does)
  CancelToken cancel;
  std::optional<std::chrono::milliseconds> max_wait;  // unavailable after waiting this long
};

struct SchedulerOptions {
  SchedulerConfig config;
  std::vector<Place> places;
  ModelResolver resolve;
  BackendFactory make_backend;                     // null: default_backend_factory()
  std::function<SteadyClock::time_point()> clock;  // null: steady_clock::now
  bool background = true;                          // a thread calls tick() every 100 ms
  std::function<void(const std::string&)> log;     // events for people; null: stderr
  // Where the process's status goes for `tessera ps` (status_file.h); empty: nowhere.
  std::filesystem::path status_file;
  int n_threads = 0;  // CPU threads of each model (0: one per core)
  // Called by each model's batcher after every step (a batch-size histogram; the model name).
  std::function<void(const std::string& model, const BatcherStep& step)> on_batch_step;
  // Sets the device of a load's estimate on a place of `kind` (MemoryOptions::device and
  // cpu_kernels). Null: cuda for GPU, MIG and slice places; this CPU's kernels for the CPU.
  std::function<void(PlaceKind kind, engine::MemoryOptions& options)> estimate_device;
};

struct SchedulerCounters {
  uint64_t loads = 0, load_failures = 0, unloads = 0, evictions = 0, expirations = 0;
  uint64_t refused_no_room = 0, refused_busy = 0, refused_quota = 0, cancelled = 0;
  uint64_t runtime_oom = 0;
};

struct LoadedModelStatus {
  std::string name, path, kind,
      state;  // kind: decoder | encoder; state: loading | ready | unloading
  std::vector<std::pair<std::string, uint64_t>> places;  // place id, bytes charged there
  uint64_t bytes = 0;     // charged in all (max of estimate and measured)
  uint64_t estimate = 0;  // the plan's figure
  uint64_t measured = 0;  // what its backends held after load
  int64_t context = 0, parallel = 0;
  std::string kv_type;
  int in_flight = 0;
  bool pinned = false;
  KeepAlive keep_alive;
  std::optional<std::chrono::milliseconds> expires_in;  // idle and expiring
  double load_seconds = 0;
  std::string app;  // the app whose request loaded it
  std::string why;  // the placement's reason
};

struct PlaceStatus {
  Place place;
  uint64_t used = 0;
};

struct SchedulerStatus {
  std::vector<PlaceStatus> places;
  std::vector<LoadedModelStatus> models;
  int waiting = 0;
  int max_loaded = 0;
  SchedulerCounters counters;
};

class Scheduler;
struct SchedEntry;  // internal

// One request's hold on a loaded model: keeps it loaded and one sequence slot (decoders).
class Lease {
 public:
  Lease(Lease&& other) noexcept;
  Lease& operator=(Lease&& other) noexcept;
  Lease(const Lease&) = delete;
  Lease& operator=(const Lease&) = delete;
  ~Lease();

  const std::string& model_name() const;
  bool is_decoder() const;
  // Decoders: the model, the sequence id of this request's slot and the tokens it may hold.
  const engine::LlmModel& llm() const;
  int32_t sequence() const { return seq_; }
  int64_t context() const;
  // Runs fn with the model's context, exclusively (other requests of this model wait). The
  // slot's sequence is cleared before fn runs. An error fn returns goes back as it is; an
  // out_of_range one (an allocation that did not fit) is counted as a runtime OOM and the
  // sequence is cleared; the model stays loaded for the other requests.
  Status with_context(const std::function<Status(engine::LlmContext&, int32_t seq)>& fn);
  // Decoders: generates in this request's slot through the model's continuous batcher
  // (batcher.h), joining the other requests' batch. An allocation failure of the step is
  // counted as a runtime OOM (the request fails, the model stays).
  Result<GenerationResult> generate(const GenerationRequest& request, const TokenSink& on_piece,
                                    const CancelToken& cancel = {});
  // Encoders: the model (thread-safe to use concurrently).
  const engine::EncoderModel& encoder() const;
  // Runs fn on the encoder, counting an out_of_range error as a runtime OOM.
  Status with_encoder(const std::function<Status(const engine::EncoderModel&)>& fn);
  // The place ids the model lives on.
  std::vector<std::string> places() const;

 private:
  friend class Scheduler;
  Lease(Scheduler* s, std::shared_ptr<SchedEntry> e, int32_t seq, std::optional<KeepAlive> k,
        std::string app)
      : s_(s), e_(std::move(e)), seq_(seq), keep_alive_(k), app_(std::move(app)) {}
  Scheduler* s_ = nullptr;
  std::shared_ptr<SchedEntry> e_;
  int32_t seq_ = -1;
  std::optional<KeepAlive> keep_alive_;
  std::string app_;
};

class Scheduler {
 public:
  // Errors: invalid_argument without a resolver or places.
  static Result<std::unique_ptr<Scheduler>> create(SchedulerOptions options);
  ~Scheduler();  // stops the thread, unloads everything (leases must have ended)

  // Waits for the model (loading it if needed) and a slot. Errors: the resolver's (not_found,
  // ...), the file's (malformed: listed as broken), out_of_range (fits nowhere; an app quota
  // it alone exceeds), unavailable (queue full; waited max_wait; shutting down), cancelled.
  Result<Lease> acquire(const ModelRequest& request);
  // Unloads an idle model now (pinned too). Errors: not_found (not loaded), unavailable (in
  // use: requests in flight).
  Status unload(const std::string& model);
  // Applies keep-alive expiry at the clock's now; writes the status file when it changed.
  void tick();
  SchedulerStatus status() const;
  const SchedulerConfig& config() const { return o_.config; }

  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

 private:
  friend class Lease;
  explicit Scheduler(SchedulerOptions o);
  struct ModelFacts;           // a file's info and estimate
  void release(Lease& lease);  // a lease ends
  void count_runtime_oom();
  // What one pass of acquire() over a model that is not loaded decided: go on to the next
  // step, look again (something was unloaded), or wait. An error refuses the request.
  enum class Pass { proceed, retry, wait };
  // Under mu_, the steps of acquire(): a slot of a loaded model (nullopt: wait), room within
  // the app's memory quota, room under max_loaded_models, then placement and the load.
  Result<std::optional<Lease>> take_slot(const std::shared_ptr<SchedEntry>& e,
                                         const ModelRequest& r, const QuotaConfig* quota);
  Result<Pass> app_memory_room(std::unique_lock<std::mutex>& lock, const ModelRequest& r,
                               const QuotaConfig& quota, uint64_t need);
  Result<Pass> loaded_count_room(std::unique_lock<std::mutex>& lock, const ModelRequest& r);
  Result<Pass> place_and_load(std::unique_lock<std::mutex>& lock, const ModelRequest& r,
                              const ModelFacts& f, uint64_t need, SteadyClock::time_point started);
  // Under mu_: the planner's view of every place, and of one entry holding `bytes` there.
  std::vector<PlaceUse> place_uses() const;
  Resident resident(const SchedEntry& e, uint64_t bytes) const;
  const Place* place(const std::string& id) const;
  Result<ModelFacts> facts(const std::string& name);
  // Unloads an entry: marks it, drops the lock while its memory is freed, erases it.
  void unload_locked(std::unique_lock<std::mutex>& lock, const std::shared_ptr<SchedEntry>& e,
                     const std::string& reason);
  // Loads the entry on the planned places with the lock dropped; true on success.
  Status load_locked(std::unique_lock<std::mutex>& lock, const std::shared_ptr<SchedEntry>& e,
                     const Plan& plan, const ModelFacts& facts);
  Error refusal(const ModelFacts& f, const Plan& plan) const;
  int max_loaded() const;
  void log(const std::string& line) const;
  void publish_locked();
  SchedulerStatus status_locked() const;
  SteadyClock::time_point now() const { return o_.clock(); }

  SchedulerOptions o_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, std::shared_ptr<SchedEntry>> entries_;
  std::map<std::string, int64_t> kv_held_;  // app -> KV tokens its leases hold
  int waiting_ = 0;
  bool stopping_ = false;
  bool gpu_places_ = false;  // any place but the CPU
  bool dirty_ = true;
  SchedulerCounters counters_;
  std::thread reaper_;
};

}  // namespace tessera::runtime
