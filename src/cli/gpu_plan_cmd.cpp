// `tessera gpu plan`: the MIG layout that holds the given models with the least memory idle
// (gpu/mig_plan.h), each model's need from its GGUF file (engine/memory_estimate.h), and the
// layout as a mig-parted config and Kubernetes resources. The JSON shape is documented in
// docs/cli.md (schema "tessera.gpu-plan.v1").
#include <CLI/CLI.hpp>
#include <algorithm>
#include <charconv>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "engine/memory_estimate.h"
#include "engine/model_info.h"
#include "gguf/reader.h"
#include "gpu/mig_export.h"
#include "gpu/mig_plan.h"

namespace tessera::cli {
namespace {

using nlohmann::ordered_json;

constexpr int64_t kMaxContext = int64_t{1} << 24;   // beyond any model's context window
constexpr int64_t kMaxParallel = int64_t{1} << 16;  // as `model info --parallel`
constexpr const char* kConfigName = "tessera-plan";

struct PlanArgs {
  std::string gpu;
  std::vector<std::string> models;
  int max_gpus = 0;
  std::vector<std::string> profiles;
  std::string kv_type = "f16";
  uint64_t reserve_mib = gpu::kMigInstanceReserveBytes >> 20;
  bool json = false;
};

// One --model argument: FILE[:CTX[:PARALLEL]].
struct ModelSpec {
  std::string path;
  int64_t n_ctx = 0;  // 0: the model's default
  int64_t n_parallel = 1;
};

// A CTX or PARALLEL field of `spec`: digits only, 1..max; empty = `fallback`.
Result<int64_t> spec_number(const std::string& spec, const std::string& field, const char* what,
                            int64_t max, int64_t fallback) {
  if (field.empty()) return fallback;
  const std::string where = "--model '" + spec + "': ";
  int64_t v = 0;
  const auto [end, ec] = std::from_chars(field.data(), field.data() + field.size(), v);
  if (field[0] == '-' || field[0] == '+' || end != field.data() + field.size() ||
      ec == std::errc::invalid_argument) {
    return make_error(ErrorCode::invalid_argument, where + "the " + what + " '" + field +
                                                       "' is not a positive whole number " +
                                                       "(FILE[:CTX[:PARALLEL]])");
  }
  if (ec == std::errc::result_out_of_range || v > max) {
    return make_error(ErrorCode::invalid_argument, where + "the " + what + " " + field +
                                                       " is too large (at most " +
                                                       std::to_string(max) + ")");
  }
  if (v < 1) {
    return make_error(ErrorCode::invalid_argument,
                      where + "the " + what + " must be at least 1 (leave it out for " +
                          (fallback == 0 ? "the model's default" : "1") + ")");
  }
  return v;
}

Result<ModelSpec> parse_model_spec(const std::string& spec) {
  std::vector<std::string> parts;
  size_t from = 0;
  for (size_t colon; (colon = spec.find(':', from)) != std::string::npos; from = colon + 1) {
    parts.push_back(spec.substr(from, colon - from));
  }
  parts.push_back(spec.substr(from));
  if (parts.size() > 3 || parts[0].empty()) {
    return make_error(
        ErrorCode::invalid_argument,
        "--model '" + spec + "': expected FILE[:CTX[:PARALLEL]], e.g. " + "model.gguf:8192:4");
  }
  ModelSpec m;
  m.path = parts[0];
  if (parts.size() > 1) {
    TESSERA_TRY_ASSIGN(ctx, spec_number(spec, parts[1], "context", kMaxContext, 0));
    m.n_ctx = ctx;
  }
  if (parts.size() > 2) {
    TESSERA_TRY_ASSIGN(par, spec_number(spec, parts[2], "parallel count", kMaxParallel, 1));
    m.n_parallel = par;
  }
  return m;
}

struct PlannedModel {
  ModelSpec spec;
  engine::MemoryEstimate estimate;
};

std::string gib(uint64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f GiB", static_cast<double>(bytes) / (1u << 30));
  return buf;
}

std::string percent(double r) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%.1f%%", 100.0 * r);
  return buf;
}

// Each model's estimate, labelled by file name (a second use of one file gets "#2").
Result<std::vector<PlannedModel>> estimate_models(const PlanArgs& a,
                                                  std::vector<gpu::MigDemand>& demands) {
  const gguf::TensorTypeInfo* kv = gguf::tensor_type_by_name(a.kv_type);
  std::vector<PlannedModel> out;
  std::map<std::string, engine::ModelInfo> read;  // a file given several times is read once
  for (const std::string& arg : a.models) {
    TESSERA_TRY_ASSIGN(spec, parse_model_spec(arg));
    auto it = read.find(spec.path);
    if (it == read.end()) {
      TESSERA_TRY_ASSIGN(file, gguf::GgufFile::open(spec.path));
      TESSERA_TRY_ASSIGN(model_info, engine::read_model_info(file));
      it = read.emplace(spec.path, std::move(model_info)).first;
    }
    const engine::ModelInfo& info = it->second;
    if (info.vocab_only) {
      return make_error(ErrorCode::invalid_argument,
                        spec.path + ": a vocabulary-only file (no weights); nothing to place");
    }
    engine::MemoryOptions opts;
    opts.n_ctx = spec.n_ctx;
    opts.n_parallel = spec.n_parallel;
    opts.kv_type = kv->type;
    opts.device = engine::MemoryDevice::cuda;  // a MIG instance is a CUDA device
    auto est = engine::estimate_memory(info, opts);
    if (!est.ok()) return make_error(est.error().code, spec.path + ": " + est.error().message);
    gpu::MigDemand d;
    const std::string base = std::filesystem::path(spec.path).filename().string();
    int uses = 1;
    for (const gpu::MigDemand& prev : demands) {
      if (prev.label == base || prev.label.starts_with(base + "#")) ++uses;
    }
    d.label = uses == 1 ? base : base + "#" + std::to_string(uses);
    d.model_bytes = est->total;
    d.weights_bytes = est->weights;
    d.detail = "for context " + std::to_string(est->n_ctx) + " x " +
               std::to_string(est->n_parallel) + ", " + a.kv_type + " KV: weights " +
               gib(est->weights) + ", KV cache " + gib(est->kv_cache) + ", compute " +
               gib(est->compute);
    demands.push_back(std::move(d));
    out.push_back({spec, *est});
  }
  return out;
}

std::string layout_text(const gpu::MigGpu& g, const gpu::MigCounts& c) {
  std::string s;
  for (size_t p = g.profiles.size(); p-- > 0;) {
    if (c[p] == 0) continue;
    if (!s.empty()) s += " + ";
    s += std::to_string(c[p]) + " x " + std::string(g.profiles[p].name);
  }
  return s;
}

ordered_json plan_json(const gpu::MigPlan& plan, const std::vector<PlannedModel>& models,
                       const std::string& kv_type) {
  const gpu::MigGpu& g = *plan.gpu;
  ordered_json jm = ordered_json::array();
  ordered_json requests = ordered_json::array();
  for (size_t i = 0; i < models.size(); ++i) {
    const gpu::MigModelSpot& s = plan.spots[i];
    const gpu::MigInstancePlan& inst = plan.gpus[s.gpu].instances[s.instance];
    const gpu::MigProfile& p = g.profiles[inst.profile];
    const engine::MemoryEstimate& e = models[i].estimate;
    jm.push_back({{"label", plan.demands[i].label},
                  {"path", models[i].spec.path},
                  {"context", e.n_ctx},
                  {"parallel", e.n_parallel},
                  {"kv_type", kv_type},
                  {"estimate_bytes", e.total},
                  {"weights_bytes", e.weights},
                  {"need_bytes", inst.need_bytes},
                  {"gpu", s.gpu},
                  {"profile", std::string(p.name)},
                  {"start_slice", inst.start},
                  {"memory_bytes", inst.memory_bytes},
                  {"utilization", inst.utilization},
                  {"k8s_resource", gpu::k8s_mig_resource(p)}});
    requests.push_back(
        {{"model", plan.demands[i].label}, {"resource", gpu::k8s_mig_resource(p)}, {"count", 1}});
  }
  ordered_json jg = ordered_json::array();
  size_t n_instances = 0;
  for (size_t k = 0; k < plan.gpus.size(); ++k) {
    const gpu::MigGpuPlan& gp = plan.gpus[k];
    ordered_json layout = ordered_json::object();
    for (size_t p = 0; p < g.profiles.size(); ++p) {
      if (gp.counts[p] > 0) layout[std::string(g.profiles[p].name)] = gp.counts[p];
    }
    ordered_json insts = ordered_json::array();
    for (const gpu::MigInstancePlan& i : gp.instances) {
      const gpu::MigProfile& p = g.profiles[i.profile];
      insts.push_back({{"profile", std::string(p.name)},
                       {"start_slice", i.start},
                       {"memory_slices", p.memory_slices},
                       {"compute_slices", p.compute_slices},
                       {"memory_bytes", i.memory_bytes},
                       {"model", plan.demands[i.demand].label},
                       {"need_bytes", i.need_bytes},
                       {"utilization", i.utilization}});
    }
    n_instances += gp.instances.size();
    ordered_json room = ordered_json::object();
    for (const auto& [p, n] : gp.room) room[std::string(g.profiles[p].name)] = n;
    jg.push_back({{"index", k},
                  {"layout", layout},
                  {"instances", insts},
                  {"compute_slices_used", gp.compute_slices},
                  {"memory_slices_used", gp.memory_slices},
                  {"need_bytes", gp.need_bytes},
                  {"memory_bytes", gp.memory_bytes},
                  {"utilization", gp.utilization},
                  {"room", room}});
  }
  return {{"schema", "tessera.gpu-plan.v1"},
          {"gpu",
           {{"name", std::string(g.name)},
            {"products", std::string(g.products)},
            {"compute_slices", gpu::kMigComputeSlices},
            {"memory_slices", gpu::kMigMemorySlices}}},
          {"reserve_bytes", plan.reserve_bytes},
          {"proven_best", plan.proven_best},
          {"models", jm},
          {"gpus", jg},
          {"totals",
           {{"gpus", plan.gpus.size()},
            {"instances", n_instances},
            {"need_bytes", plan.need_bytes},
            {"memory_bytes", plan.memory_bytes},
            {"utilization", plan.utilization}}},
          {"mig_parted",
           {{"config_name", kConfigName}, {"yaml", gpu::mig_parted_config(plan, kConfigName)}}},
          {"kubernetes", {{"mig_strategy", "mixed"}, {"requests", requests}}}};
}

void print_plan(const gpu::MigPlan& plan, const std::vector<PlannedModel>& models) {
  const gpu::MigGpu& g = *plan.gpu;
  std::printf("MIG plan: %zu model%s on %zu x %s (%s)\n", models.size(),
              models.size() == 1 ? "" : "s", plan.gpus.size(), std::string(g.name).c_str(),
              std::string(g.products).c_str());
  std::printf("need = the model's estimate + %s CUDA reserve per instance\n\n",
              human_bytes(plan.reserve_bytes).c_str());
  int w = 5;
  for (const gpu::MigDemand& d : plan.demands) w = std::max(w, static_cast<int>(d.label.size()));
  std::printf("%-*s  %-12s  %10s  %3s  %-9s %5s  %10s  %6s\n", w, "model", "context", "need", "GPU",
              "profile", "start", "memory", "use");
  for (size_t i = 0; i < models.size(); ++i) {
    const gpu::MigModelSpot& s = plan.spots[i];
    const gpu::MigInstancePlan& inst = plan.gpus[s.gpu].instances[s.instance];
    std::string ctx = std::to_string(models[i].estimate.n_ctx);
    ctx += " x ";
    ctx += std::to_string(models[i].estimate.n_parallel);
    std::printf("%-*s  %-12s  %10s  %3d  %-9s %5d  %10s  %6s\n", w, plan.demands[i].label.c_str(),
                ctx.c_str(), gib(inst.need_bytes).c_str(), s.gpu,
                std::string(g.profiles[inst.profile].name).c_str(), inst.start,
                gib(inst.memory_bytes).c_str(), percent(inst.utilization).c_str());
  }
  std::printf("\n");
  for (size_t k = 0; k < plan.gpus.size(); ++k) {
    const gpu::MigGpuPlan& gp = plan.gpus[k];
    std::printf("GPU %zu: %s; compute %d/%d slices, memory %d/%d slices; %s of %s used (%s)\n", k,
                layout_text(g, gp.counts).c_str(), gp.compute_slices, gpu::kMigComputeSlices,
                gp.memory_slices, gpu::kMigMemorySlices, gib(gp.need_bytes).c_str(),
                gib(gp.memory_bytes).c_str(), percent(gp.utilization).c_str());
    std::string room;
    for (const auto& [p, n] : gp.room) {
      if (!room.empty()) room += ", or ";
      room += std::to_string(n) + " more " + std::string(g.profiles[p].name);
    }
    std::printf("  room left: %s\n", room.empty() ? "none" : room.c_str());
  }
  std::printf("total: %s needed in %s of instances (%s)\n", gib(plan.need_bytes).c_str(),
              gib(plan.memory_bytes).c_str(), percent(plan.utilization).c_str());
  if (!plan.proven_best) {
    std::printf(
        "note: the search stopped at its step limit; this plan is valid, but a less "
        "wasteful one may exist\n");
  }
  std::printf("\nmig-parted config (nvidia-mig-parted apply -f FILE -c %s):\n%s", kConfigName,
              gpu::mig_parted_config(plan, kConfigName).c_str());
  std::printf(
      "\nKubernetes resources per model container (device plugin, MIG strategy "
      "\"mixed\"):\n");
  for (size_t i = 0; i < models.size(); ++i) {
    std::printf("  %-*s  resources: {limits: {%s: 1}}\n", w, plan.demands[i].label.c_str(),
                gpu::k8s_mig_resource(plan.profile_of(static_cast<int>(i))).c_str());
  }
}

Status run_plan(const PlanArgs& a) {
  TESSERA_TRY_ASSIGN(gpu_type, gpu::find_mig_gpu(a.gpu));
  std::vector<gpu::MigDemand> demands;
  TESSERA_TRY_ASSIGN(models, estimate_models(a, demands));
  gpu::MigPlanOptions opts;
  opts.max_gpus = a.max_gpus;
  opts.profiles = a.profiles;
  opts.reserve_bytes = a.reserve_mib << 20;
  TESSERA_TRY_ASSIGN(plan, gpu::plan_mig(*gpu_type, demands, opts));
  if (a.json) {
    std::printf("%s\n", plan_json(plan, models, a.kv_type).dump(2).c_str());
  } else {
    print_plan(plan, models);
  }
  return {};
}

}  // namespace

Runner add_gpu_plan_command(CLI::App& gpu) {
  auto a = std::make_shared<PlanArgs>();
  CLI::App* cmd = gpu.add_subcommand(
      "plan", "The MIG layout that holds the given models with the least memory idle");
  cmd->add_option("--gpu", a->gpu,
                  "GPU type: " + gpu::mig_gpu_names() + " (case-insensitive; H200 alone works)")
      ->required();
  cmd->add_option("--model", a->models,
                  "GGUF model FILE[:CTX[:PARALLEL]]: context per sequence (default: the "
                  "model's, at most 4096) and sequences decoded at once (default 1); repeat "
                  "for each model, a file once per copy")
      ->required();
  cmd->add_option("--gpus", a->max_gpus, "GPUs at most (default: as many as needed)")
      ->check(CLI::Range(1, 1024));
  cmd->add_option("--profile", a->profiles,
                  "Use only these MIG profiles (repeat or comma-separate: 1g.10gb,2g.20gb)")
      ->delimiter(',');
  cmd->add_option("--kv-type", a->kv_type, "KV cache type: f16 (default), f32 or q8_0")
      ->check(CLI::IsMember({"f16", "f32", "q8_0"}, CLI::ignore_case));
  cmd->add_option("--reserve-mib", a->reserve_mib,
                  "Memory per instance for the CUDA context and runtime, MiB (default 512)")
      ->check(CLI::Range(uint64_t{0}, uint64_t{1} << 20));
  cmd->add_flag("--json", a->json, "Print the plan as JSON (docs/cli.md)");
  return [a] { return run_plan(*a); };
}

}  // namespace tessera::cli
