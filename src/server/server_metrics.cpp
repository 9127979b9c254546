#include "server/server_metrics.h"

#include <set>

namespace tessera::server {
namespace {

using metrics::LabelValues;

// Bucket upper bounds, in seconds unless named otherwise.
const std::vector<double> kHttpDurationBuckets = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
                                                  2.5,   5,    10,    30,   60,  120,  300};
const std::vector<double> kQueueTimeBuckets = {0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1,
                                               2.5,   5,    10,   30,  60,   120, 300};
const std::vector<double> kFirstTokenBuckets = {0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
                                                2.5,  5,     10,   20,  40,   80};
const std::vector<double> kInterTokenBuckets = {0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1,
                                                0.15,  0.2,  0.3,  0.5,  1,    2.5};
const std::vector<double> kE2eBuckets = {0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 40, 60, 120, 300, 600};
const std::vector<double> kBatchSizeBuckets = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512};  // sequences

template <class F>
Status assign(F*& slot, Result<F*> r) {
  if (!r.ok()) return r.error();
  slot = *r;
  return {};
}

std::string gpu_label(int index) {
  return std::to_string(index);
}

}  // namespace

Result<std::unique_ptr<ServerMetrics>> ServerMetrics::make() {
  std::unique_ptr<ServerMetrics> m(new ServerMetrics());
  TESSERA_TRY(m->register_families());
  return m;
}

Status ServerMetrics::register_families() {
  auto& r = registry_;
  const std::vector<std::string> model_app = {"model", "app"};
  const std::vector<std::string> gpu_labels = {"gpu", "uuid", "mig_profile", "mig_instance"};

  // Requests.
  TESSERA_TRY(assign(http_requests_,
                     r.add_counter("tessera_http_requests_total",
                                   "HTTP requests finished, by route, status, model and app.",
                                   {"route", "status", "model", "app"})));
  TESSERA_TRY(assign(http_duration_, r.add_histogram("tessera_http_request_duration_seconds",
                                                     "HTTP request duration by route.", {"route"},
                                                     kHttpDurationBuckets)));
  TESSERA_TRY(assign(
      e2e_latency_,
      r.add_histogram("tessera_e2e_request_latency_seconds",
                      "End-to-end latency of successful model requests.", model_app, kE2eBuckets)));
  TESSERA_TRY(
      assign(queue_time_, r.add_histogram("tessera_request_queue_time_seconds",
                                          "Time requests waited for their model (queue and load).",
                                          model_app, kQueueTimeBuckets)));
  TESSERA_TRY(assign(ttft_, r.add_histogram("tessera_time_to_first_token_seconds",
                                            "Time from a request's arrival to its first token.",
                                            model_app, kFirstTokenBuckets)));
  TESSERA_TRY(assign(itl_, r.add_histogram("tessera_inter_token_latency_seconds",
                                           "Time between consecutive generated tokens.", model_app,
                                           kInterTokenBuckets)));
  TESSERA_TRY(assign(prompt_tokens_, r.add_counter("tessera_prompt_tokens_total",
                                                   "Prompt tokens processed.", model_app)));
  TESSERA_TRY(assign(generation_tokens_, r.add_counter("tessera_generation_tokens_total",
                                                       "Completion tokens generated.", model_app)));
  TESSERA_TRY(assign(batch_size_,
                     r.add_histogram("tessera_batch_size", "Sequences per forward pass of a model.",
                                     {"model"}, kBatchSizeBuckets)));
  TESSERA_TRY(assign(
      kv_usage_, r.add_gauge("tessera_kv_cache_usage_perc",
                             "Fraction of a model's KV cache cells in use (0 to 1).", {"model"})));

  // Scheduler.
  TESSERA_TRY(assign(waiting_, r.add_gauge("tessera_num_requests_waiting",
                                           "Requests queued for a model or a sequence slot.")));
  TESSERA_TRY(assign(
      running_, r.add_gauge("tessera_num_requests_running",
                            "Requests holding a model's sequence slot (in flight).", {"model"})));
  TESSERA_TRY(
      assign(models_loaded_, r.add_gauge("tessera_models_loaded", "Models loaded or loading.")));
  TESSERA_TRY(assign(
      models_max_loaded_,
      r.add_gauge("tessera_models_max_loaded", "Most models kept loaded at once (0: no limit).")));
  TESSERA_TRY(assign(model_info_,
                     r.add_gauge("tessera_model_info", "A loaded model (value 1) and its state.",
                                 {"model", "kind", "state", "kv_type", "pinned"})));
  TESSERA_TRY(assign(model_memory_, r.add_gauge("tessera_model_memory_bytes",
                                                "Memory charged to a loaded model on a place.",
                                                {"model", "place"})));
  TESSERA_TRY(
      assign(model_load_seconds_, r.add_gauge("tessera_model_load_duration_seconds",
                                              "How long a loaded model's load took.", {"model"})));
  TESSERA_TRY(assign(model_slots_,
                     r.add_gauge("tessera_model_sequence_slots",
                                 "Sequence slots (parallel requests) of a model.", {"model"})));
  TESSERA_TRY(assign(
      place_capacity_,
      r.add_gauge("tessera_place_memory_capacity_bytes",
                  "Memory models may use on a place (CPU, GPU, MIG, slice).", {"place", "kind"})));
  TESSERA_TRY(assign(place_used_,
                     r.add_gauge("tessera_place_memory_used_bytes",
                                 "Memory charged to the models on a place.", {"place", "kind"})));
  TESSERA_TRY(assign(
      loads_, r.add_sourced_counter("tessera_model_loads_total", "Models loaded successfully.")));
  TESSERA_TRY(assign(load_failures_, r.add_sourced_counter("tessera_model_load_failures_total",
                                                           "Model loads that failed.")));
  TESSERA_TRY(assign(unloads_, r.add_sourced_counter("tessera_model_unloads_total",
                                                     "Models unloaded, for any reason.")));
  TESSERA_TRY(
      assign(evictions_, r.add_sourced_counter("tessera_model_evictions_total",
                                               "Idle models unloaded to make room for another.")));
  TESSERA_TRY(assign(expirations_,
                     r.add_sourced_counter("tessera_model_expirations_total",
                                           "Idle models unloaded when their keep-alive ended.")));
  TESSERA_TRY(assign(
      refused_, r.add_sourced_counter("tessera_requests_refused_total",
                                      "Requests the scheduler refused, by reason.", {"reason"})));
  TESSERA_TRY(assign(cancelled_, r.add_sourced_counter("tessera_requests_cancelled_total",
                                                       "Requests cancelled while waiting.")));
  TESSERA_TRY(assign(runtime_oom_,
                     r.add_sourced_counter("tessera_runtime_oom_total",
                                           "Requests failed by an allocation inside a model.")));

  // GPUs (whole GPUs and MIG instances) and the backend.
  TESSERA_TRY(
      assign(gpu_info_, r.add_gauge("tessera_gpu_info", "A GPU NVML reports (value 1).",
                                    {"gpu", "uuid", "name", "pci_bus_id", "driver_version"})));
  TESSERA_TRY(
      assign(gpu_memory_used_, r.add_gauge("tessera_gpu_memory_used_bytes",
                                           "Memory used on a GPU or MIG instance.", gpu_labels)));
  TESSERA_TRY(
      assign(gpu_memory_total_, r.add_gauge("tessera_gpu_memory_total_bytes",
                                            "Memory of a GPU or MIG instance.", gpu_labels)));
  TESSERA_TRY(
      assign(gpu_utilization_,
             r.add_gauge("tessera_gpu_utilization_ratio",
                         "GPU busy time over NVML's last sample period (0 to 1).", gpu_labels)));
  TESSERA_TRY(assign(gpu_temperature_, r.add_gauge("tessera_gpu_temperature_celsius",
                                                   "GPU core temperature.", gpu_labels)));
  TESSERA_TRY(
      assign(gpu_power_, r.add_gauge("tessera_gpu_power_watts", "GPU power draw.", gpu_labels)));
  TESSERA_TRY(assign(backend_info_,
                     r.add_gauge("tessera_backend_info",
                                 "The compute backend in use (value 1) and why it was chosen.",
                                 {"backend", "reason"})));
  return {};
}

void ServerMetrics::on_request(std::string_view route, int status, std::string_view model,
                               std::string_view app, double seconds) {
  const std::string m(model), a(app);
  http_requests_->labels({std::string(route), std::to_string(status), m, a}).inc();
  http_duration_->labels({std::string(route)}).observe(seconds);
  if (!model.empty() && status >= 200 && status < 300)
    e2e_latency_->labels({m, a}).observe(seconds);
}

void ServerMetrics::on_queued(std::string_view model, std::string_view app, double seconds) {
  queue_time_->labels({std::string(model), std::string(app)}).observe(seconds);
}

RequestSeries ServerMetrics::request_series(std::string_view model, std::string_view app) {
  const LabelValues labels = {std::string(model), std::string(app)};
  return RequestSeries{&ttft_->labels(labels), &itl_->labels(labels),
                       &prompt_tokens_->labels(labels), &generation_tokens_->labels(labels)};
}

void ServerMetrics::on_first_token(std::string_view model, std::string_view app, double seconds) {
  ttft_->labels({std::string(model), std::string(app)}).observe(seconds);
}

void ServerMetrics::on_first_token(const RequestSeries& s, double seconds) {
  s.time_to_first_token->observe(seconds);
}

void ServerMetrics::on_token(std::string_view model, std::string_view app, double seconds) {
  itl_->labels({std::string(model), std::string(app)}).observe(seconds);
}

void ServerMetrics::on_token(const RequestSeries& s, double seconds) {
  s.inter_token_latency->observe(seconds);
}

void ServerMetrics::on_tokens(std::string_view model, std::string_view app, uint64_t prompt,
                              uint64_t completion) {
  const LabelValues labels = {std::string(model), std::string(app)};
  prompt_tokens_->labels(labels).inc(static_cast<double>(prompt));
  generation_tokens_->labels(labels).inc(static_cast<double>(completion));
}

void ServerMetrics::on_tokens(const RequestSeries& s, uint64_t prompt, uint64_t completion) {
  s.prompt_tokens->inc(static_cast<double>(prompt));
  s.generation_tokens->inc(static_cast<double>(completion));
}

void ServerMetrics::observe_batch(std::string_view model, int sequences) {
  batch_size_->labels({std::string(model)}).observe(sequences);
}

void ServerMetrics::set_kv_cache_usage(std::string_view model, int64_t used_cells,
                                       int64_t total_cells) {
  const double ratio =
      total_cells > 0 ? static_cast<double>(used_cells) / static_cast<double>(total_cells) : 0;
  kv_usage_->labels({std::string(model)}).set(ratio);
}

void ServerMetrics::update_scheduler(const runtime::SchedulerStatus& status) {
  waiting_->labels({}).set(status.waiting);
  models_loaded_->labels({}).set(static_cast<double>(status.models.size()));
  models_max_loaded_->labels({}).set(status.max_loaded);

  for (metrics::GaugeFamily* f : {running_, model_info_, model_memory_, model_load_seconds_,
                                  model_slots_, place_capacity_, place_used_}) {
    f->clear();
  }
  std::set<std::string> decoders;
  for (const runtime::LoadedModelStatus& m : status.models) {
    running_->labels({m.name}).set(m.in_flight);
    model_info_->labels({m.name, m.kind, m.state, m.kv_type, m.pinned ? "true" : "false"}).set(1);
    for (const auto& [place, bytes] : m.places) {
      model_memory_->labels({m.name, place}).set(static_cast<double>(bytes));
    }
    model_load_seconds_->labels({m.name}).set(m.load_seconds);
    model_slots_->labels({m.name}).set(static_cast<double>(m.parallel));
    if (m.kind == "decoder") decoders.insert(m.name);
  }
  // KV usage is reported by the request path; keep it for the decoders still loaded only.
  for (const LabelValues& labels : kv_usage_->label_sets()) {
    if (!decoders.contains(labels[0])) kv_usage_->remove(labels);
  }
  for (const std::string& name : decoders) kv_usage_->labels({name});
  for (const runtime::PlaceStatus& p : status.places) {
    const std::string kind = runtime::place_kind_name(p.place.kind);
    place_capacity_->labels({p.place.id, kind}).set(static_cast<double>(p.place.capacity));
    place_used_->labels({p.place.id, kind}).set(static_cast<double>(p.used));
  }

  const runtime::SchedulerCounters& c = status.counters;
  const auto total = [](uint64_t v) { return static_cast<double>(v); };
  loads_->labels({}).set(total(c.loads));
  load_failures_->labels({}).set(total(c.load_failures));
  unloads_->labels({}).set(total(c.unloads));
  evictions_->labels({}).set(total(c.evictions));
  expirations_->labels({}).set(total(c.expirations));
  refused_->labels({"no_room"}).set(total(c.refused_no_room));
  refused_->labels({"busy"}).set(total(c.refused_busy));
  refused_->labels({"quota"}).set(total(c.refused_quota));
  cancelled_->labels({}).set(total(c.cancelled));
  runtime_oom_->labels({}).set(total(c.runtime_oom));
}

void ServerMetrics::update_gpus(const gpu::Inventory& inventory) {
  for (metrics::GaugeFamily* f : {gpu_info_, gpu_memory_used_, gpu_memory_total_, gpu_utilization_,
                                  gpu_temperature_, gpu_power_}) {
    f->clear();
  }
  for (const gpu::GpuInfo& g : inventory.gpus) {
    const std::string index = gpu_label(g.index);
    gpu_info_->labels({index, g.uuid, g.name, g.pci_bus_id, inventory.driver_version}).set(1);
    const LabelValues whole = {index, g.uuid, "", ""};
    gpu_memory_used_->labels(whole).set(static_cast<double>(g.memory_used));
    gpu_memory_total_->labels(whole).set(static_cast<double>(g.memory_total));
    if (g.utilization_pct) gpu_utilization_->labels(whole).set(*g.utilization_pct / 100.0);
    if (g.temperature_c) gpu_temperature_->labels(whole).set(*g.temperature_c);
    if (g.power_w) gpu_power_->labels(whole).set(*g.power_w);
    for (const gpu::MigInstance& mi : g.mig) {
      const LabelValues mig = {gpu_label(mi.parent), mi.uuid, mi.profile,
                               std::to_string(mi.gpu_instance_id)};
      gpu_memory_used_->labels(mig).set(static_cast<double>(mi.memory_used));
      gpu_memory_total_->labels(mig).set(static_cast<double>(mi.memory_total));
    }
  }
}

void ServerMetrics::update_backend(const gpu::BackendChoice& choice) {
  backend_info_->clear();
  backend_info_->labels({choice.backend, choice.reason}).set(1);
}

std::string ServerMetrics::render() const {
  return registry_.render();
}

std::string ServerMetrics::scrape(const runtime::SchedulerStatus& status,
                                  const gpu::Inventory& inventory,
                                  const gpu::BackendChoice& choice) {
  std::lock_guard<std::mutex> lock(scrape_mu_);
  update_scheduler(status);
  update_gpus(inventory);
  update_backend(choice);
  return render();
}

}  // namespace tessera::server
