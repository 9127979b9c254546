// Shared pieces of the scheduler tests: the tiny test models by name, fake inventories (the
// GPU scenarios of tests/gpu/scenarios, or made up), a manual clock, and a scheduler whose
// "GPUs" are CPU backends with the places' memory limits doing the actual work.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "backend/cpu/cpu_backend.h"
#include "engine/memory_estimate.h"
#include "engine/model_info.h"
#include "gguf/reader.h"
#include "runtime/places.h"
#include "runtime/scheduler.h"

namespace tessera::runtime::testing {

inline std::string model_path(const std::string& file) {
  return std::string(TESSERA_TESTDATA_DIR) + "/models/" + file;
}

// name -> file of ../shared/testdata/models (plus any added by a test).
inline std::map<std::string, std::string> test_models() {
  return {{"qwen", model_path("qwen2-tiny.gguf")},
          {"spm", model_path("llama-spm-tiny.gguf")},
          {"spm-q4", model_path("llama-spm-tiny-q4_0.gguf")},
          {"bpe", model_path("llama-bpe-tiny.gguf")},
          {"kq", model_path("llama-kq-tiny.gguf")},
          {"bert", model_path("bert-tiny.gguf")}};
}

// The scheduler's estimate of a test model (as facts() computes it).
inline uint64_t estimate(const std::string& name, int64_t ctx = 256, int64_t parallel = 1) {
  auto file = gguf::GgufFile::open(test_models().at(name));
  auto info = engine::read_model_info(*file);
  engine::MemoryOptions o;
  o.n_ctx = ctx;
  o.n_parallel = parallel;
  o.cpu_kernels = engine::CpuKernels::scalar;  // as the harness's stand-in GPUs
  return engine::estimate_memory(*info, o)->total;
}

// An inventory read from a GPU scenario file of tests/gpu/scenarios (the fake NVML's input).
inline gpu::Inventory scenario_inventory(const std::string& name) {
  std::ifstream in(std::string(TESSERA_GPU_SCENARIOS) + "/" + name);
  const nlohmann::json j = nlohmann::json::parse(in);
  gpu::Inventory inv;
  inv.nvml_loaded = true;
  int index = 0;
  for (const auto& g : j["gpus"]) {
    gpu::GpuInfo info;
    info.index = index++;
    info.name = g["name"];
    info.uuid = g["uuid"];
    info.memory_total = g["memory_total"];
    info.memory_used = g.value("memory_used", uint64_t{0});
    if (g.contains("mig")) {
      info.mig_enabled = g["mig"]["enabled"].get<bool>();
      for (const auto& m : g["mig"]["instances"]) {
        gpu::MigInstance mi;
        mi.parent = info.index;
        mi.profile = m["name"];
        mi.uuid = m["uuid"];
        mi.gpu_instance_id = m["gi"];
        mi.memory_total = m["memory_total"];
        mi.memory_used = m.value("memory_used", uint64_t{0});
        info.mig.push_back(mi);
      }
    }
    inv.gpus.push_back(info);
  }
  return inv;
}

// GPUs with the given memory (bytes), nothing used.
inline gpu::Inventory small_gpus(const std::vector<uint64_t>& totals) {
  gpu::Inventory inv;
  for (size_t i = 0; i < totals.size(); ++i) {
    gpu::GpuInfo g;
    g.index = static_cast<int>(i);
    g.name = "Fake GPU";
    g.uuid = "GPU-fake-" + std::to_string(i);
    g.memory_total = totals[i];
    inv.gpus.push_back(g);
  }
  return inv;
}

struct ManualClock {
  std::shared_ptr<std::chrono::steady_clock::time_point> t =
      std::make_shared<std::chrono::steady_clock::time_point>(std::chrono::steady_clock::now());
  void advance(std::chrono::milliseconds d) { *t += d; }
  std::function<std::chrono::steady_clock::time_point()> fn() const {
    auto p = t;
    return [p] { return *p; };
  }
};

// Log lines the scheduler wrote.
struct LogLines {
  std::shared_ptr<std::mutex> mu = std::make_shared<std::mutex>();
  std::shared_ptr<std::vector<std::string>> lines = std::make_shared<std::vector<std::string>>();
  std::function<void(const std::string&)> sink() const {
    auto m = mu;
    auto l = lines;
    return [m, l](const std::string& s) {
      std::lock_guard<std::mutex> g(*m);
      l->push_back(s);
    };
  }
  bool contains(const std::string& needle) const {
    std::lock_guard<std::mutex> g(*mu);
    for (const auto& s : *lines) {
      if (s.find(needle) != std::string::npos) return true;
    }
    return false;
  }
  std::string all() const {
    std::lock_guard<std::mutex> g(*mu);
    std::string out;
    for (const auto& s : *lines) out.append(s).append("\n");
    return out;
  }
};

struct Harness {
  ManualClock clock;
  LogLines log;
  std::map<std::string, std::string> models = test_models();
  std::filesystem::path status_file;  // where the scheduler publishes (empty: nowhere)
  std::unique_ptr<Scheduler> scheduler;

  // Builds places from `inv` and `yaml`, and a scheduler over them whose backends are CPU
  // backends (the places' memory limits still apply).
  void start(const gpu::Inventory& inv, const std::string& yaml, bool background = false) {
    auto config = parse_scheduler_config(yaml, "test.yaml");
    ASSERT_TRUE(config.ok()) << config.error().message;
    auto places = build_places(inv, *config, 0);
    ASSERT_TRUE(places.ok()) << places.error().message;
    SchedulerOptions o;
    o.config = *config;
    o.places = *places;
    auto names = std::make_shared<std::map<std::string, std::string>>(models);
    o.resolve = [names](const std::string& name) -> Result<ResolvedModel> {
      auto it = names->find(name);
      if (it == names->end()) {
        return make_error(ErrorCode::not_found, "no model named " + name);
      }
      return ResolvedModel{name, it->second};
    };
    // Stand-in GPUs: CPU backends that keep weights as stored (no re-arranged copies), so
    // they hold what a GPU would.
    o.make_backend = [](const Place&) -> Result<std::shared_ptr<backend::Backend>> {
      backend::CpuBackendOptions b;
      b.rearrange_weights = false;
      return backend::make_cpu_backend(b);
    };
    // Their estimate: the CPU's without re-arranged copies.
    o.estimate_device = [](PlaceKind, engine::MemoryOptions& mo) {
      mo.device = engine::MemoryDevice::cpu;
      mo.cpu_kernels = engine::CpuKernels::scalar;
    };
    o.clock = clock.fn();
    o.background = background;
    o.log = log.sink();
    o.n_threads = 2;
    o.status_file = status_file;
    auto s = Scheduler::create(std::move(o));
    ASSERT_TRUE(s.ok()) << s.error().message;
    scheduler = std::move(*s);
  }

  Result<Lease> get(const std::string& model, const std::string& app = "") {
    ModelRequest r;
    r.model = model;
    r.app = app;
    return scheduler->acquire(r);
  }

  const LoadedModelStatus* loaded(const std::string& model) {
    status_ = scheduler->status();
    for (const auto& m : status_.models) {
      if (m.name == model) return &m;
    }
    return nullptr;
  }
  std::vector<std::string> loaded_names() {
    std::vector<std::string> out;
    for (const auto& m : scheduler->status().models) out.push_back(m.name);
    return out;
  }

 private:
  SchedulerStatus status_;
};

// Greedy continuation of `prompt` for n tokens in the lease's slot.
inline Result<std::vector<engine::TokenId>> greedy(Lease& lease, const std::string& prompt, int n) {
  std::vector<engine::TokenId> out;
  Status s = lease.with_context([&](engine::LlmContext& ctx, int32_t seq) -> Status {
    std::vector<engine::TokenId> tokens = lease.llm().tokenizer().encode(prompt);
    int32_t pos = 0;
    for (int step = 0; step < n; ++step) {
      engine::Batch b;
      for (size_t i = 0; i < tokens.size(); ++i) {
        b.add(tokens[i], seq, pos++, i + 1 == tokens.size());
      }
      TESSERA_TRY(ctx.decode(b));
      auto logits = ctx.logits(b.size() - 1);
      engine::TokenId best = 0;
      for (size_t v = 1; v < logits.size(); ++v) {
        if (logits[v] > logits[static_cast<size_t>(best)]) best = static_cast<engine::TokenId>(v);
      }
      out.push_back(best);
      tokens = {best};
    }
    return {};
  });
  if (!s.ok()) return s.error();
  return out;
}

}  // namespace tessera::runtime::testing
