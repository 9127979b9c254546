#include "runtime/scheduler.h"

#include <algorithm>
#include <cstdio>

#include "engine/llm/host_kernels.h"
#include "gguf/reader.h"
#include "runtime/sched_entry.h"

namespace tessera::runtime {
namespace {

using State = SchedEntry::State;

Error unavailable(std::string what) {
  return make_error(ErrorCode::unavailable, std::move(what));
}

void default_estimate_device(PlaceKind kind, engine::MemoryOptions& o) {
  o.device = kind == PlaceKind::cpu ? engine::MemoryDevice::cpu : engine::MemoryDevice::cuda;
  o.cpu_kernels = engine::host_cpu_kernels();
}

uint64_t load_limit(uint64_t estimate, uint64_t room) {
  // Room for the estimate plus a margin, reserved while the model loads.
  const uint64_t margin = std::max<uint64_t>(estimate / 4, uint64_t{64} << 20);
  return std::min(room, estimate + margin);
}

}  // namespace

struct Scheduler::ModelFacts {
  ResolvedModel source;
  engine::ModelInfo info;
  engine::MemoryEstimate estimate;      // on a GPU, MIG instance or slice
  engine::MemoryEstimate cpu_estimate;  // on the CPU place
  const engine::MemoryEstimate& on(PlaceKind kind) const {
    return kind == PlaceKind::cpu ? cpu_estimate : estimate;
  }
  bool decoder = true;
  int64_t context = 0, parallel = 1;
  backend::KvType kv = backend::KvType::f16;
  KeepAlive keep_alive;
  bool pinned = false;
};

Scheduler::Scheduler(SchedulerOptions o) : o_(std::move(o)) {
  if (!o_.make_backend) o_.make_backend = default_backend_factory();
  if (!o_.clock) o_.clock = [] { return SteadyClock::now(); };
  if (!o_.estimate_device) o_.estimate_device = default_estimate_device;
  for (const Place& p : o_.places) gpu_places_ = gpu_places_ || p.kind != PlaceKind::cpu;
  if (o_.background) {
    reaper_ = std::thread([this] {
      std::unique_lock<std::mutex> lock(mu_);
      while (!stopping_) {
        lock.unlock();
        tick();
        lock.lock();
        cv_.wait_for(lock, std::chrono::milliseconds(100), [this] { return stopping_; });
      }
    });
  }
}

Result<std::unique_ptr<Scheduler>> Scheduler::create(SchedulerOptions options) {
  if (!options.resolve) {
    return make_error(ErrorCode::invalid_argument, "scheduler: no model resolver");
  }
  if (options.places.empty()) {
    return make_error(ErrorCode::invalid_argument,
                      "scheduler: no place to load models (no visible GPU and cpu.use is never)");
  }
  return std::unique_ptr<Scheduler>(new Scheduler(std::move(options)));
}

Scheduler::~Scheduler() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (reaper_.joinable()) reaper_.join();
  std::unique_lock<std::mutex> lock(mu_);
  while (!entries_.empty()) {
    auto e = entries_.begin()->second;
    if (e->state != State::ready) {  // another thread is loading or freeing it
      cv_.wait_for(lock, std::chrono::milliseconds(10));
      continue;
    }
    unload_locked(lock, e, "the scheduler is stopping");
  }
  if (!o_.status_file.empty()) {
    std::error_code ec;
    std::filesystem::remove(o_.status_file, ec);
  }
}

void Scheduler::log(const std::string& line) const {
  if (o_.log) {
    o_.log(line);
  } else {
    std::fprintf(stderr, "tessera: %s\n", line.c_str());
  }
}

const Place* Scheduler::place(const std::string& id) const {
  for (const Place& p : o_.places) {
    if (p.id == id) return &p;
  }
  return nullptr;
}

int Scheduler::max_loaded() const {
  if (o_.config.max_loaded_models > 0) return o_.config.max_loaded_models;
  return 3 * static_cast<int>(o_.places.size());
}

Resident Scheduler::resident(const SchedEntry& e, uint64_t bytes) const {
  Resident r;
  r.model = e.name;
  r.bytes = bytes;
  r.pinned = e.pinned;
  r.busy = e.state != State::ready || e.in_flight > 0;
  r.reload_seconds = e.reload_seconds;
  r.idle_seconds = std::chrono::duration<double>(now() - e.idle_since).count();
  return r;
}

std::vector<PlaceUse> Scheduler::place_uses() const {
  std::vector<PlaceUse> uses;
  for (const Place& p : o_.places) {
    PlaceUse u;
    u.place = &p;
    for (const auto& [name, e] : entries_) {
      for (const auto& [id, bytes] : e->charges) {
        if (id != p.id) continue;
        u.used += bytes;
        u.residents.push_back(resident(*e, bytes));
      }
    }
    uses.push_back(std::move(u));
  }
  return uses;
}

Result<Scheduler::ModelFacts> Scheduler::facts(const std::string& name) {
  ModelFacts f;
  auto src = o_.resolve(name);
  if (!src.ok()) return src.error();
  f.source = *src;
  auto broken = [&](const Error& e) {
    return make_error(e.code,
                      "model " + name + " (" + f.source.path + ") cannot be loaded: " + e.message);
  };
  auto file = gguf::GgufFile::open(f.source.path);
  if (!file.ok()) return broken(file.error());
  auto info = engine::read_model_info(*file);
  if (!info.ok()) return broken(info.error());
  f.info = std::move(*info);
  if (!f.info.known_arch || f.info.vocab_only) {
    return broken(make_error(ErrorCode::unsupported,
                             f.info.vocab_only
                                 ? "the file holds a vocabulary only"
                                 : "architecture \"" + f.info.arch + "\" is not supported"));
  }
  f.decoder = f.info.kind == engine::ModelKind::decoder;
  const ModelPolicy policy = o_.config.policy(name);
  f.parallel = f.decoder ? policy.parallel.value_or(o_.config.parallel) : 1;
  f.kv = policy.kv_type.value_or(o_.config.kv_type);
  f.keep_alive = policy.keep_alive.value_or(o_.config.keep_alive);
  f.pinned = policy.pinned;
  int64_t ctx = f.decoder ? policy.context.value_or(o_.config.context) : f.info.n_ctx_train;
  if (f.info.n_ctx_train > 0 && ctx > f.info.n_ctx_train) ctx = f.info.n_ctx_train;
  engine::MemoryOptions mo;
  mo.n_ctx = ctx;
  mo.n_parallel = f.parallel;
  mo.kv_type = backend::kv_tensor_type(f.kv);
  o_.estimate_device(PlaceKind::gpu, mo);
  auto est = engine::estimate_memory(f.info, mo);
  if (!est.ok()) return broken(est.error());
  f.estimate = *est;
  o_.estimate_device(PlaceKind::cpu, mo);
  auto cpu_est = engine::estimate_memory(f.info, mo);
  if (!cpu_est.ok()) return broken(cpu_est.error());
  f.cpu_estimate = *cpu_est;
  f.context = est->n_ctx;
  return f;
}

Error Scheduler::refusal(const ModelFacts& f, const Plan& plan) const {
  const Place* largest = place(plan.largest_place);
  const engine::MemoryEstimate& e = f.on(largest ? largest->kind : PlaceKind::gpu);
  std::string msg = "cannot load model " + f.source.name + ": it needs " + format_bytes(e.total) +
                    " (weights " + format_bytes(e.weights);
  if (e.weight_copies > 0) msg.append(", weight copies ").append(format_bytes(e.weight_copies));
  if (f.decoder) {
    msg.append(", KV cache ").append(format_bytes(e.kv_cache));
    msg.append(" for ").append(std::to_string(f.context)).append(" tokens x ");
    msg.append(std::to_string(f.parallel)).append(f.parallel == 1 ? " sequence" : " sequences");
  }
  msg.append(", compute ").append(format_bytes(e.compute));
  if (e.overhead > 0) msg.append(", overhead ").append(format_bytes(e.overhead));
  msg.append(")");
  if (plan.largest_place.empty()) {
    msg.append(" and ").append(plan.why);
    return make_error(ErrorCode::out_of_range, msg);
  }
  msg.append(" but the largest space is ").append(format_bytes(plan.largest));
  msg.append(" on ").append(plan.largest_place).append(" (free plus idle models)");
  msg.append(". To make it fit:");
  // The context that would fit: the KV cache scales with context x sequences.
  const uint64_t fixed = e.total - e.kv_cache;  // what does not scale with the context
  if (f.decoder && e.kv_cells > 0 && plan.largest > fixed) {
    const double per_token = static_cast<double>(e.kv_cache) / static_cast<double>(e.kv_cells);
    const double room = static_cast<double>(plan.largest - fixed);
    int64_t ctx = static_cast<int64_t>(room / per_token / static_cast<double>(f.parallel));
    ctx = ctx / 256 * 256;
    if (ctx >= 256 && ctx < f.context) {
      msg.append(" a context of ").append(std::to_string(ctx)).append(" tokens");
      if (f.parallel > 1) msg.append(" or fewer parallel sequences");
      msg.append(" (context / parallel in the scheduler config);");
    }
  }
  if (f.info.n_params > 0) {
    const double bits = 8.0 * static_cast<double>(e.weights) / static_cast<double>(f.info.n_params);
    if (bits > 5.5) {
      const auto q4 = static_cast<uint64_t>(static_cast<double>(f.info.n_params) * 4.85 / 8.0);
      msg.append(" a quantized file (Q4_K_M weights would take about ")
          .append(format_bytes(q4))
          .append(");");
    }
  }
  msg.append(" a bigger GPU, MIG instance or slice; or unloading pinned models.");
  return make_error(ErrorCode::out_of_range, msg);
}

void Scheduler::unload_locked(std::unique_lock<std::mutex>& lock,
                              const std::shared_ptr<SchedEntry>& e, const std::string& reason) {
  e->state = State::unloading;
  LoadedModel m = std::move(e->model);
  e->model = LoadedModel{};
  std::string where;
  for (const auto& c : e->charges) where.append(where.empty() ? "" : "+").append(c.first);
  dirty_ = true;
  lock.unlock();
  m.batcher.reset();  // stops its worker before the context it drives goes
  m.context.reset();
  m = LoadedModel{};
  lock.lock();
  auto it = entries_.find(e->name);
  if (it != entries_.end() && it->second == e) entries_.erase(it);
  ++counters_.unloads;
  dirty_ = true;
  log("unloaded " + e->name + " from " + where + ": " + reason);
  cv_.notify_all();
}

Status Scheduler::load_locked(std::unique_lock<std::mutex>& lock,
                              const std::shared_ptr<SchedEntry>& e, const Plan& plan,
                              const ModelFacts& f) {
  const engine::MemoryEstimate& est = f.on(place(plan.places.front())->kind);
  std::vector<uint64_t> limits;
  for (size_t i = 0; i < plan.places.size(); ++i) {
    limits.push_back(plan.places.size() == 1 ? load_limit(est.total, plan.room[i]) : plan.room[i]);
    e->charges.emplace_back(plan.places[i], limits.back());
  }
  entries_[e->name] = e;
  dirty_ = true;
  lock.unlock();

  std::vector<std::shared_ptr<backend::Backend>> backends;
  Result<LoadedModel> loaded = make_error(ErrorCode::invalid_argument, "no backend");
  bool made = true;
  for (size_t i = 0; i < plan.places.size() && made; ++i) {
    auto b = o_.make_backend(*place(plan.places[i]));
    if (!b.ok()) {
      loaded = make_error(b.error().code,
                          "cannot start a backend on " + plan.places[i] + ": " + b.error().message);
      made = false;
      break;
    }
    (*b)->set_memory_limit(limits[i]);
    backends.push_back(std::move(*b));
  }
  if (made) {
    engine::ContextOptions co;
    co.n_ctx = f.context * f.parallel;
    co.n_seq_max = static_cast<int32_t>(f.parallel);
    co.kv_type = f.kv;
    co.kv_unified = false;  // each slot its own cells: a request's tokens do not depend on others
    loaded = load_model(f.source.path, f.decoder, backends, co, o_.n_threads);
  }
  backends.clear();
  lock.lock();

  if (!loaded.ok()) {
    entries_.erase(e->name);
    ++counters_.load_failures;
    dirty_ = true;
    cv_.notify_all();
    log("failed to load " + e->name + ": " + loaded.error().message);
    return loaded.error();
  }
  LoadedModel& m = *loaded;
  uint64_t measured = 0;
  for (const auto& b : m.backends) measured += b->memory().in_use();
  // What the model allocates after load, per request: a decoder's logits rows (one per
  // sequence; the last device holds them), an encoder's compute buffers.
  const uint64_t later =
      f.decoder ? static_cast<uint64_t>(f.info.n_vocab) * static_cast<uint64_t>(f.parallel) * 4
                : est.compute;
  for (size_t i = 0; i < m.backends.size(); ++i) {
    // Charged: what it holds, plus what it will allocate later on the last device, at least
    // the estimate, within what was reserved. The backend's limit becomes the charge: the
    // model can never take more of its place than it is charged.
    const uint64_t held = m.backends[i]->memory().in_use();
    const bool last = i + 1 == m.backends.size();
    uint64_t want = held + (last ? later : 0);
    if (m.backends.size() == 1) want = std::max(want, est.total);
    e->charges[i].second = std::max(std::min(limits[i], want), held);
    m.backends[i]->set_memory_limit(e->charges[i].second);
  }
  if (f.decoder) {
    BatcherOptions bo;  // a sequence holds its slot's share of the cells (n_seq_cells)
    // A failed allocation fails the step's requests together: one runtime OOM.
    bo.on_step = [this, hook = o_.on_batch_step, name = e->name](const BatcherStep& step) {
      if (step.error != nullptr && allocation_failure(*step.error)) count_runtime_oom();
      if (hook) hook(name, step);
    };
    m.batcher = std::make_unique<Batcher>(*m.context, e->run_mu, bo);
  }
  e->estimate = est.total;
  e->measured = measured;
  e->reload_seconds = m.seconds;
  e->model = std::move(m);
  e->slot_busy.assign(static_cast<size_t>(e->decoder ? f.parallel : 0), 0);
  e->idle_since = now();
  e->state = State::ready;
  ++counters_.loads;
  dirty_ = true;
  char secs[32];
  std::snprintf(secs, sizeof secs, "%.2f s", e->reload_seconds);
  log("loaded " + e->name + " in " + secs + " (" + format_bytes(e->charged()) +
      " charged, estimate " + format_bytes(est.total) + ", measured " + format_bytes(measured) +
      "): " + plan.why);
  cv_.notify_all();
  return {};
}

Result<std::optional<Lease>> Scheduler::take_slot(const std::shared_ptr<SchedEntry>& e,
                                                  const ModelRequest& r, const QuotaConfig* quota) {
  const bool kv_quota = quota && quota->kv_tokens && e->decoder;
  if (kv_quota && e->context > *quota->kv_tokens) {
    ++counters_.refused_quota;
    return make_error(ErrorCode::out_of_range,
                      "app " + r.app + ": one sequence of " + r.model + " holds " +
                          std::to_string(e->context) + " KV tokens, more than the app's quota of " +
                          std::to_string(*quota->kv_tokens) + " (raise quotas[].kv_tokens in " +
                          o_.config.source + " or give the model a smaller context)");
  }
  if (kv_quota && kv_held_[r.app] + e->context > *quota->kv_tokens) {
    return std::optional<Lease>();  // the app's own requests hold its share: wait
  }
  int32_t seq = e->decoder ? -1 : 0;  // encoders have no slots
  for (size_t i = 0; seq < 0 && i < e->slot_busy.size(); ++i) {
    if (!e->slot_busy[i]) seq = static_cast<int32_t>(i);
  }
  if (seq < 0) return std::optional<Lease>();
  if (e->decoder) {
    e->slot_busy[static_cast<size_t>(seq)] = 1;
    if (kv_quota) kv_held_[r.app] += e->context;
  }
  ++e->in_flight;
  dirty_ = true;
  return std::optional<Lease>(Lease(this, e, seq, r.keep_alive, r.app));
}

Result<Scheduler::Pass> Scheduler::app_memory_room(std::unique_lock<std::mutex>& lock,
                                                   const ModelRequest& r, const QuotaConfig& quota,
                                                   uint64_t need) {
  const uint64_t limit = *quota.memory;
  if (need > limit) {
    ++counters_.refused_quota;
    return make_error(ErrorCode::out_of_range,
                      "app " + r.app + ": model " + r.model + " needs " + format_bytes(need) +
                          ", more than the app's memory quota of " + format_bytes(limit) +
                          " (quotas in " + o_.config.source + ")");
  }
  uint64_t held = 0;
  std::vector<Resident> own;
  for (const auto& [name, e] : entries_) {
    if (e->app != r.app) continue;
    held += e->charged();
    own.push_back(resident(*e, e->charged()));
  }
  if (held + need <= limit) return Pass::proceed;
  auto victims = choose_victims(own, held + need - limit);
  if (!victims.empty()) {
    for (const Resident* v : victims) {
      ++counters_.evictions;
      unload_locked(lock, entries_.at(v->model),
                    "app " + r.app + " needs room within its memory quota for " + r.model);
    }
    return Pass::retry;
  }
  for (const Resident& o : own) {
    if (o.busy && !o.pinned) return Pass::wait;  // its own requests will end
  }
  ++counters_.refused_quota;
  return make_error(ErrorCode::out_of_range, "app " + r.app + ": model " + r.model + " needs " +
                                                 format_bytes(need) + "; the app holds " +
                                                 format_bytes(held) + " of its memory quota of " +
                                                 format_bytes(limit) + " in pinned models");
}

Result<Scheduler::Pass> Scheduler::loaded_count_room(std::unique_lock<std::mutex>& lock,
                                                     const ModelRequest& r) {
  if (static_cast<int>(entries_.size()) < max_loaded()) return Pass::proceed;
  std::vector<Resident> all;
  for (const PlaceUse& u : place_uses()) {
    for (const Resident& res : u.residents) all.push_back(res);
  }
  auto victims = choose_victims(all, 1);
  if (!victims.empty()) {
    ++counters_.evictions;
    unload_locked(
        lock, entries_.at(victims.front()->model),
        "max_loaded_models (" + std::to_string(max_loaded()) + ") reached; room for " + r.model);
    return Pass::retry;
  }
  for (const auto& [name, e] : entries_) {
    if (!e->pinned) return Pass::wait;
  }
  ++counters_.refused_no_room;
  return make_error(ErrorCode::out_of_range,
                    "cannot load model " + r.model + ": max_loaded_models (" +
                        std::to_string(max_loaded()) + ") are loaded and all are pinned");
}

Result<Scheduler::Pass> Scheduler::place_and_load(std::unique_lock<std::mutex>& lock,
                                                  const ModelRequest& r, const ModelFacts& f,
                                                  uint64_t need, SteadyClock::time_point started) {
  Demand d;
  d.model = r.model;
  d.app = r.app;
  d.bytes = need;
  d.cpu_bytes = f.cpu_estimate.total;
  d.splittable = f.decoder;
  d.split_overhead = f.estimate.compute;
  const Plan plan = plan_placement(d, place_uses(), o_.config);
  switch (plan.decision) {
    case Decision::place:
    case Decision::split: {
      auto e = std::make_shared<SchedEntry>();
      e->name = r.model;
      e->path = f.source.path;
      e->decoder = f.decoder;
      e->context = f.context;
      e->parallel = f.parallel;
      e->kv_type = backend::kv_type_name(f.kv);
      e->pinned = f.pinned;
      e->keep_alive = f.keep_alive;
      e->app = r.app;
      e->why = plan.why;
      TESSERA_TRY(load_locked(lock, e, plan, f));
      return Pass::retry;  // loaded: the next pass takes a slot
    }
    case Decision::evict:
      for (const std::string& v : plan.victims) {
        auto victim = entries_.find(v);
        if (victim == entries_.end()) continue;
        ++counters_.evictions;
        unload_locked(lock, victim->second, "room for " + r.model + ": " + plan.why);
      }
      return Pass::retry;
    case Decision::wait: {
      const auto waited =
          std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - started);
      if (o_.config.room_wait.forever || waited < o_.config.room_wait.duration) {
        return Pass::wait;
      }
      ++counters_.refused_no_room;
      Error err = refusal(f, plan);
      err.message.append(" (waited ")
          .append(format_duration(waited))
          .append(", room_wait, for models in use to free room: ")
          .append(plan.why)
          .append(")");
      log(err.message);
      return err;
    }
    case Decision::refuse:
      break;
  }
  ++counters_.refused_no_room;
  Error err = refusal(f, plan);
  log(err.message);
  return err;
}

Result<Lease> Scheduler::acquire(const ModelRequest& r) {
  std::unique_lock<std::mutex> lock(mu_);
  const auto started = SteadyClock::now();
  bool queued = false;
  std::optional<ModelFacts> f;
  auto give_up = [&](Error err) -> Result<Lease> {
    if (queued) --waiting_;
    dirty_ = true;
    return err;
  };
  const QuotaConfig* quota = r.app.empty() ? nullptr : o_.config.quota(r.app);
  for (;;) {
    if (r.cancel.cancelled()) {
      ++counters_.cancelled;
      return give_up(make_error(ErrorCode::cancelled, "request for " + r.model + " cancelled"));
    }
    if (stopping_) return give_up(unavailable("the scheduler is stopping"));
    auto it = entries_.find(r.model);
    if (it != entries_.end()) {
      // Loaded (a slot, or wait for one), or loading / unloading (wait).
      if (it->second->state == State::ready) {
        auto slot = take_slot(it->second, r, quota);
        if (!slot.ok()) return give_up(slot.error());
        if (*slot) {
          if (queued) --waiting_;
          return std::move(**slot);
        }
      }
    } else if (!f) {
      lock.unlock();
      auto got = facts(r.model);
      lock.lock();
      if (!got.ok()) {
        ++counters_.load_failures;
        return give_up(got.error());
      }
      f = std::move(*got);
      continue;  // the world may have changed while the lock was dropped
    } else {
      // Quotas count the estimate where most models go: the GPUs, else the CPU.
      const uint64_t need = gpu_places_ ? f->estimate.total : f->cpu_estimate.total;
      Result<Pass> pass = Pass::proceed;
      if (quota && quota->memory) pass = app_memory_room(lock, r, *quota, need);
      if (pass.ok() && *pass == Pass::proceed) pass = loaded_count_room(lock, r);
      if (pass.ok() && *pass == Pass::proceed) pass = place_and_load(lock, r, *f, need, started);
      if (!pass.ok()) return give_up(pass.error());
      if (*pass == Pass::retry) continue;
    }
    // Wait for a load, a slot, a quota or room.
    if (!queued) {
      if (waiting_ >= o_.config.max_queue) {
        ++counters_.refused_busy;
        return make_error(ErrorCode::unavailable, "server busy: " + std::to_string(waiting_) +
                                                      " requests are waiting (max_queue " +
                                                      std::to_string(o_.config.max_queue) +
                                                      "); try again later");
      }
      ++waiting_;
      queued = true;
      dirty_ = true;
    }
    if (r.max_wait && SteadyClock::now() - started >= *r.max_wait) {
      return give_up(unavailable("waited " + format_duration(*r.max_wait) + " for " + r.model +
                                 " without getting it (loading, slots or room busy); try again"));
    }
    cv_.wait_for(lock, std::chrono::milliseconds(20));
  }
}

Status Scheduler::unload(const std::string& model) {
  std::unique_lock<std::mutex> lock(mu_);
  auto it = entries_.find(model);
  if (it == entries_.end() || it->second->state != State::ready) {
    return make_error(ErrorCode::not_found, "model " + model + " is not loaded");
  }
  if (it->second->in_flight > 0) {
    return unavailable("model " + model + " has " + std::to_string(it->second->in_flight) +
                       " requests in flight; unload it when they end");
  }
  unload_locked(lock, it->second, "unloaded on request");
  return {};
}

void Scheduler::tick() {
  std::unique_lock<std::mutex> lock(mu_);
  const auto t = now();
  for (bool again = true; again;) {
    again = false;
    for (const auto& [name, e] : entries_) {
      if (e->state != State::ready || e->in_flight > 0 || e->pinned || e->keep_alive.forever) {
        continue;
      }
      if (t - e->idle_since < e->keep_alive.duration) continue;
      ++counters_.expirations;
      unload_locked(lock, e, "idle for its keep-alive of " + format_keep_alive(e->keep_alive));
      again = true;
      break;
    }
  }
  if (dirty_) publish_locked();
}

void Scheduler::count_runtime_oom() {
  std::lock_guard<std::mutex> lock(mu_);
  ++counters_.runtime_oom;
  dirty_ = true;
}

void Scheduler::release(Lease& lease) {
  std::shared_ptr<SchedEntry> e = lease.e_;
  if (e->decoder && e->model.context) {
    std::lock_guard<std::mutex> run(e->run_mu);
    e->model.context->clear_sequence(lease.seq_);
  }
  std::unique_lock<std::mutex> lock(mu_);
  if (e->decoder && lease.seq_ >= 0) {
    e->slot_busy[static_cast<size_t>(lease.seq_)] = 0;
    const QuotaConfig* q = lease.app_.empty() ? nullptr : o_.config.quota(lease.app_);
    if (q && q->kv_tokens) kv_held_[lease.app_] -= e->context;
  }
  --e->in_flight;
  if (lease.keep_alive_) e->keep_alive = *lease.keep_alive_;
  if (e->in_flight == 0) {
    e->idle_since = now();
    if (!e->pinned && !e->keep_alive.forever && e->keep_alive.duration.count() == 0 &&
        e->state == State::ready) {
      ++counters_.expirations;
      unload_locked(lock, e, "keep-alive 0: unloaded when its last request ended");
    }
  }
  dirty_ = true;
  cv_.notify_all();
}

}  // namespace tessera::runtime
