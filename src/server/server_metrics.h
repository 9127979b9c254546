// The metrics `tessera serve` exports on GET /metrics (docs/metrics.md lists them all): their
// names, help texts, labels and buckets, the calls the request path makes, and the scrape-time
// copies of the scheduler's status, the GPU inventory and the backend choice.
//
// Names start with tessera_; where vLLM has the same metric its name is mirrored
// (vllm:time_to_first_token_seconds -> tessera_time_to_first_token_seconds, ...), and GPU
// gauges carry DCGM's facts (labels gpu, uuid, mig_profile, mig_instance; bytes, not MiB;
// utilization as a 0-1 ratio). Request metrics are labelled model and app ("" when the request
// names none).
//
// Threads: every method is thread-safe. The on_*() calls are the hot path (a map lookup under a
// family's mutex, then atomics); a request that reports many tokens keeps a RequestSeries.
// scrape() serializes scrapes so that a family refilled from a source is never rendered
// half-filled by a second scrape.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "gpu/backend_choice.h"
#include "gpu/inventory.h"
#include "runtime/scheduler.h"
#include "server/metrics.h"
#include "util/result.h"

namespace tessera::server {

// The token-level series of one (model, app): kept by a streaming request.
struct RequestSeries {
  metrics::Histogram* time_to_first_token = nullptr;
  metrics::Histogram* inter_token_latency = nullptr;
  metrics::Counter* prompt_tokens = nullptr;
  metrics::Counter* generation_tokens = nullptr;
};

class ServerMetrics {
 public:
  // Registers every family; an error only if the table in server_metrics.cpp breaks a naming
  // rule (a test makes sure it does not).
  static Result<std::unique_ptr<ServerMetrics>> make();

  // A finished HTTP request: counts it by route, status, model and app, observes its duration
  // by route, and for a 2xx request naming a model its end-to-end latency by model and app.
  void on_request(std::string_view route, int status, std::string_view model, std::string_view app,
                  double seconds);
  // Time a request waited for the scheduler's lease (queue, model load).
  void on_queued(std::string_view model, std::string_view app, double seconds);
  RequestSeries request_series(std::string_view model, std::string_view app);
  // Seconds from the request's arrival to its first generated token.
  void on_first_token(std::string_view model, std::string_view app, double seconds);
  void on_first_token(const RequestSeries& s, double seconds);
  // Seconds between two consecutive generated tokens of one request.
  void on_token(std::string_view model, std::string_view app, double seconds);
  void on_token(const RequestSeries& s, double seconds);
  // A request's prompt and generated (completion) token counts.
  void on_tokens(std::string_view model, std::string_view app, uint64_t prompt,
                 uint64_t completion);
  void on_tokens(const RequestSeries& s, uint64_t prompt, uint64_t completion);
  // Sequences in one forward pass of a model.
  void observe_batch(std::string_view model, int sequences);
  // KV cells a model's context uses of its total (after a decode step).
  void set_kv_cache_usage(std::string_view model, int64_t used_cells, int64_t total_cells);

  // Scrape time: copy a source into its families. Series of models, places or GPUs that are
  // gone are dropped; the scheduler's counters are copied as counter totals.
  void update_scheduler(const runtime::SchedulerStatus& status);
  void update_gpus(const gpu::Inventory& inventory);
  void update_backend(const gpu::BackendChoice& choice);

  // The exposition text as it stands.
  std::string render() const;
  // Updates from the three sources, then renders, one scrape at a time.
  std::string scrape(const runtime::SchedulerStatus& status, const gpu::Inventory& inventory,
                     const gpu::BackendChoice& choice);

 private:
  ServerMetrics() = default;
  Status register_families();

  metrics::Registry registry_;
  std::mutex scrape_mu_;

  // Request path.
  metrics::CounterFamily* http_requests_ = nullptr;
  metrics::HistogramFamily* http_duration_ = nullptr;
  metrics::HistogramFamily* e2e_latency_ = nullptr;
  metrics::HistogramFamily* queue_time_ = nullptr;
  metrics::HistogramFamily* ttft_ = nullptr;
  metrics::HistogramFamily* itl_ = nullptr;
  metrics::CounterFamily* prompt_tokens_ = nullptr;
  metrics::CounterFamily* generation_tokens_ = nullptr;
  metrics::HistogramFamily* batch_size_ = nullptr;
  metrics::GaugeFamily* kv_usage_ = nullptr;

  // Scheduler.
  metrics::GaugeFamily* waiting_ = nullptr;
  metrics::GaugeFamily* running_ = nullptr;
  metrics::GaugeFamily* models_loaded_ = nullptr;
  metrics::GaugeFamily* models_max_loaded_ = nullptr;
  metrics::GaugeFamily* model_info_ = nullptr;
  metrics::GaugeFamily* model_memory_ = nullptr;
  metrics::GaugeFamily* model_load_seconds_ = nullptr;
  metrics::GaugeFamily* model_slots_ = nullptr;
  metrics::GaugeFamily* place_capacity_ = nullptr;
  metrics::GaugeFamily* place_used_ = nullptr;
  metrics::SourcedCounterFamily* loads_ = nullptr;
  metrics::SourcedCounterFamily* load_failures_ = nullptr;
  metrics::SourcedCounterFamily* unloads_ = nullptr;
  metrics::SourcedCounterFamily* evictions_ = nullptr;
  metrics::SourcedCounterFamily* expirations_ = nullptr;
  metrics::SourcedCounterFamily* refused_ = nullptr;
  metrics::SourcedCounterFamily* cancelled_ = nullptr;
  metrics::SourcedCounterFamily* runtime_oom_ = nullptr;

  // GPUs and backend.
  metrics::GaugeFamily* gpu_info_ = nullptr;
  metrics::GaugeFamily* gpu_memory_used_ = nullptr;
  metrics::GaugeFamily* gpu_memory_total_ = nullptr;
  metrics::GaugeFamily* gpu_utilization_ = nullptr;
  metrics::GaugeFamily* gpu_temperature_ = nullptr;
  metrics::GaugeFamily* gpu_power_ = nullptr;
  metrics::GaugeFamily* backend_info_ = nullptr;
};

}  // namespace tessera::server
