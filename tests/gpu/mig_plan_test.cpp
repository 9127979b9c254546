// The MIG planner: known layouts for known model sets, the order of its preferences, agreement
// with an exhaustive search, determinism, and its errors (a model that fits nowhere, bad
// requests).
//
// Model sizes are `tessera model info` estimates (weights + f16 KV cache + compute buffers) of
// files written by `tessera model synth --fill none` with the real shapes and vocabularies:
//   Llama-2-7B Q4_K, context 4096:    6,308,508,672 bytes (weights 3,791,273,984; KV 2 GiB)
//   Llama-3-8B Q4_K, context 4096:    5,445,391,360 bytes (weights 4,517,937,152; KV 0.5 GiB)
//   Llama-3-8B BF16, context 4096:   16,988,509,184 bytes (weights 16,061,054,976)
//   TinyLlama-1.1B F16, context 2048: 2,432,144,384 bytes (weights 2,200,281,088);
//                      4 x 2048 tokens: 2,570,940,416 bytes
// tests/cli/gpu_plan_test.cpp checks the same plans through the command on those files.
#include "gpu/mig_plan.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <string>

#include "gpu/mig_export.h"

namespace tessera::gpu {
namespace {

constexpr uint64_t kMiB = uint64_t{1} << 20;
constexpr uint64_t kGiB = uint64_t{1} << 30;

MigDemand llama2_7b_q4(const std::string& label = "llama-2-7b-q4") {
  return {label, 6308508672u, 3791273984u, ""};
}
MigDemand llama3_8b_q4(const std::string& label = "llama-3-8b-q4") {
  return {label, 5445391360u, 4517937152u, ""};
}
MigDemand llama3_8b_bf16(const std::string& label = "llama-3-8b-bf16") {
  return {label, 16988509184u, 16061054976u, ""};
}
MigDemand tinyllama_f16(const std::string& label = "tinyllama-f16") {
  return {label, 2432144384u, 2200281088u, ""};
}

const MigGpu& gpu_named(std::string_view name) {
  return *find_mig_gpu(name).value();
}

MigPlan plan_ok(std::string_view gpu, const std::vector<MigDemand>& demands,
                MigPlanOptions options = {}) {
  auto p = plan_mig(gpu_named(gpu), demands, options);
  EXPECT_TRUE(p.ok()) << (p.ok() ? "" : p.error().message);
  return p.ok() ? std::move(p.value()) : MigPlan{};
}

std::string plan_error(std::string_view gpu, const std::vector<MigDemand>& demands,
                       MigPlanOptions options = {}) {
  auto p = plan_mig(gpu_named(gpu), demands, options);
  EXPECT_FALSE(p.ok());
  return p.ok() ? std::string() : p.error().message;
}

// "2g.10gb x3" style summary of a GPU's layout, largest profile first.
std::string layout(const MigPlan& p, size_t gpu) {
  std::string s;
  for (size_t i = p.gpu->profiles.size(); i-- > 0;) {
    const int n = p.gpus[gpu].counts[i];
    if (n == 0) continue;
    if (!s.empty()) s += " + ";
    s += std::string(p.gpu->profiles[i].name) + " x" + std::to_string(n);
  }
  return s;
}

// Invariants of every plan: valid layouts, one model per instance, each model fits, the figures
// add up.
void expect_sound(const MigPlan& p) {
  std::vector<int> seen(p.demands.size(), 0);
  uint64_t need = 0, memory = 0;
  for (size_t g = 0; g < p.gpus.size(); ++g) {
    const MigGpuPlan& gp = p.gpus[g];
    EXPECT_TRUE(layout_fits(*p.gpu, gp.counts));
    EXPECT_EQ(gp.compute_slices, layout_compute_slices(*p.gpu, gp.counts));
    EXPECT_EQ(gp.memory_slices, layout_memory_slices(*p.gpu, gp.counts));
    for (size_t i = 0; i < gp.instances.size(); ++i) {
      const MigInstancePlan& inst = gp.instances[i];
      ASSERT_GE(inst.demand, 0);
      ++seen[inst.demand];
      EXPECT_EQ(inst.need_bytes, p.demands[inst.demand].model_bytes + p.reserve_bytes);
      EXPECT_LE(inst.need_bytes, inst.memory_bytes);
      EXPECT_EQ(inst.memory_bytes, p.gpu->profiles[inst.profile].memory_bytes());
      EXPECT_EQ(p.spots[inst.demand].gpu, static_cast<int>(g));
      EXPECT_EQ(p.spots[inst.demand].instance, static_cast<int>(i));
      need += inst.need_bytes;
      memory += inst.memory_bytes;
    }
  }
  for (int n : seen) EXPECT_EQ(n, 1);
  EXPECT_EQ(p.need_bytes, need);
  EXPECT_EQ(p.memory_bytes, memory);
  EXPECT_DOUBLE_EQ(p.utilization, double(need) / double(memory));
}

// The example: three 7B-class Q4 models on an A100-40GB. Each needs 6.38 GiB with the
// reserve: more than a 1g.5gb (4.75 GiB), so one 2-memory-slice instance (9.62 GiB) each, and of
// those the 2g.10gb, which leaves one SM slice idle instead of four.
TEST(MigPlan, ThreeSevenBQ4ModelsOnAnA100_40GB) {
  const MigPlan p = plan_ok("A100-40GB", {llama2_7b_q4("a"), llama2_7b_q4("b"), llama2_7b_q4("c")});
  expect_sound(p);
  ASSERT_EQ(p.gpus.size(), 1u);
  EXPECT_EQ(layout(p, 0), "2g.10gb x3");
  EXPECT_EQ(p.gpus[0].compute_slices, 6);
  EXPECT_EQ(p.gpus[0].memory_slices, 6);
  const uint64_t need = 6308508672u + kMigInstanceReserveBytes;
  for (int i = 0; i < 3; ++i) {
    const MigInstancePlan& inst = p.gpus[0].instances[i];
    EXPECT_EQ(inst.start, 2 * i);
    EXPECT_EQ(inst.demand, i);
    EXPECT_EQ(inst.memory_bytes, 9856 * kMiB);
    EXPECT_NEAR(inst.utilization, 0.6624, 1e-4);  // 6.38 / 9.62 GiB
    EXPECT_EQ(inst.need_bytes, need);
  }
  // Room for one more small instance: a 1g.5gb or a 1g.10gb.
  const std::vector<std::pair<int, int>> room = {{0, 1}, {1, 1}};
  EXPECT_EQ(p.gpus[0].room, room);
  EXPECT_TRUE(p.proven_best);
  EXPECT_EQ(k8s_mig_resource(p.profile_of(1)), "nvidia.com/mig-2g.10gb");
}

// Seven 8B Q4 models (5.57 GiB each) fill an H200 with 1g.18gb (16 GiB) instances; the eighth
// needs a second GPU. An 8B BF16 model (16.32 GiB) is just too big for a 1g.18gb.
TEST(MigPlan, H200) {
  std::vector<MigDemand> eight(8, llama3_8b_q4());
  MigPlan p = plan_ok("H200-141GB", {eight.begin(), eight.begin() + 7});
  expect_sound(p);
  ASSERT_EQ(p.gpus.size(), 1u);
  EXPECT_EQ(layout(p, 0), "1g.18gb x7");
  EXPECT_TRUE(p.gpus[0].room.empty());
  p = plan_ok("H200-141GB", eight);
  expect_sound(p);
  ASSERT_EQ(p.gpus.size(), 2u);
  EXPECT_EQ(layout(p, 0), "1g.18gb x7");
  EXPECT_EQ(layout(p, 1), "1g.18gb x1");
  EXPECT_EQ(mig_parted_config(p, "c"),
            "version: v1\nmig-configs:\n  c:\n"
            "    - devices: [0]\n      mig-enabled: true\n      mig-devices:\n"
            "        \"1g.18gb\": 7\n"
            "    - devices: [1]\n      mig-enabled: true\n      mig-devices:\n"
            "        \"1g.18gb\": 1\n");

  p = plan_ok("H200", {llama3_8b_bf16()});
  EXPECT_EQ(p.profile_of(0).name, "2g.35gb");
  EXPECT_NEAR(p.gpus[0].instances[0].utilization, 16.32 / 32.5, 1e-3);
  // Next to six Q4 models: 2 + 6 memory slices; the 1g.35gb leaves them the compute they need.
  std::vector<MigDemand> mixed(6, llama3_8b_q4());
  mixed.push_back(llama3_8b_bf16());
  p = plan_ok("H200", mixed);
  expect_sound(p);
  ASSERT_EQ(p.gpus.size(), 1u);
  EXPECT_EQ(layout(p, 0), "1g.35gb x1 + 1g.18gb x6");
}

// Mixed sizes on an A100-80GB: the BF16 model needs a 2-slice instance (19.50 GiB), the others
// fit 1g.10gb (9.50 GiB), TinyLlama even with 4 sequences of 2048 tokens.
TEST(MigPlan, MixedSizesOnAnA100_80GB) {
  MigDemand tiny4 = tinyllama_f16();
  tiny4.model_bytes = 2570940416u;  // 4 sequences
  const MigPlan p = plan_ok("A100-80GB", {llama3_8b_bf16(), llama3_8b_q4("q4-a"),
                                          llama3_8b_q4("q4-b"), llama2_7b_q4(), tiny4});
  expect_sound(p);
  ASSERT_EQ(p.gpus.size(), 1u);
  EXPECT_EQ(layout(p, 0), "2g.20gb x1 + 1g.10gb x4");
  EXPECT_EQ(p.profile_of(0).name, "2g.20gb");
  EXPECT_EQ(p.profile_of(4).name, "1g.10gb");
  EXPECT_EQ(p.gpus[0].instances[0].start, 0);  // the 2g first
  EXPECT_EQ(p.gpus[0].memory_slices, 6);
  EXPECT_EQ(p.gpus[0].compute_slices, 6);
}

// The preferences, in order: fewest GPUs, least memory, most compute.
TEST(MigPlan, PrefersFewestGpusThenLeastMemoryThenMostCompute) {
  auto need = [](double gib, const std::string& label) {
    return MigDemand{label, static_cast<uint64_t>(gib * double(kGiB)) - kMigInstanceReserveBytes, 0,
                     ""};
  };
  // 15 GiB each on an A100-40GB: two 4-slice instances; the 4g.20gb and a 3g.20gb (7 SM
  // slices) rather than two 3g.20gb (6).
  MigPlan p = plan_ok("A100-40GB", {need(15, "a"), need(15, "b")});
  EXPECT_EQ(layout(p, 0), "4g.20gb x1 + 3g.20gb x1");
  // 9 GiB on an H100-80GB: the 1g.10gb's 9.75 GiB suffice.
  p = plan_ok("H100-80GB", {need(9, "a")});
  EXPECT_EQ(p.profile_of(0).name, "1g.10gb");
  // Eight 4.5 GiB models on A100-40GBs: 1g.5gb each, 7 on the first GPU.
  std::vector<MigDemand> eight;
  for (int i = 0; i < 8; ++i) {
    std::string label = "m";
    label += std::to_string(i);
    eight.push_back(need(4.5, label));
  }
  p = plan_ok("A100-40GB", eight);
  ASSERT_EQ(p.gpus.size(), 2u);
  EXPECT_EQ(layout(p, 0), "1g.5gb x7");
  // Three 19 GiB models on an A100-80GB fit one GPU only as three 2-slice instances: 2g.20gb x3
  // (6 compute slices) and not 3g.40gb (more memory).
  p = plan_ok("A100-80GB", {need(19, "a"), need(19, "b"), need(19, "c")});
  ASSERT_EQ(p.gpus.size(), 1u);
  EXPECT_EQ(layout(p, 0), "2g.20gb x3");
  // Restricted to 1g.10gb: seven per GPU.
  MigPlanOptions only;
  only.profiles = {"1g.10gb"};
  p = plan_ok("A100-80GB", std::vector<MigDemand>(9, need(5, "x")), only);
  ASSERT_EQ(p.gpus.size(), 2u);
  EXPECT_EQ(layout(p, 0), "1g.10gb x7");
  EXPECT_EQ(layout(p, 1), "1g.10gb x2");
  const std::vector<std::pair<int, int>> room = {{0, 5}};  // only allowed profiles count
  EXPECT_EQ(p.gpus[1].room, room);
}

// The best plan by exhaustive search over every assignment of models to (GPU, profile), for
// small random model sets on every GPU of the table: the planner must match its GPU count,
// memory slices and compute slices.
TEST(MigPlan, MatchesAnExhaustiveSearch) {
  uint64_t state = 12345;
  auto next = [&state] {
    state = state * 6364136223846793005u + 1442695040888963407u;
    return state >> 33;
  };
  for (int round = 0; round < 60; ++round) {
    const MigGpu& gpu = mig_gpus()[round % mig_gpus().size()];
    const size_t n = 1 + next() % 4;
    const uint64_t whole = gpu.largest().memory_bytes();
    std::vector<MigDemand> demands;
    for (size_t i = 0; i < n; ++i) {
      // Mostly small models, some large ones.
      const uint64_t cap = next() % 4 == 0 ? whole : whole / 4;
      std::string label = "m";
      label += std::to_string(i);
      demands.push_back({label, 1 + next() % (cap - kMigInstanceReserveBytes), 0, ""});
    }
    std::string trace(gpu.name);
    trace += " round ";
    trace += std::to_string(round);
    SCOPED_TRACE(trace);
    const MigPlan p = plan_ok(gpu.name, demands);
    expect_sound(p);

    // Exhaustive: model i goes to GPU g (an opened one or the next) with profile q.
    int best_gpus = 99, best_mem = 99, best_compute = -1;
    std::vector<MigCounts> gpus;
    std::function<void(size_t)> visit = [&](size_t i) {
      if (i == n) {
        int mem = 0, compute = 0;
        for (const MigCounts& c : gpus) {
          mem += layout_memory_slices(gpu, c);
          compute += layout_compute_slices(gpu, c);
        }
        const int g = static_cast<int>(gpus.size());
        if (g < best_gpus || (g == best_gpus && mem < best_mem) ||
            (g == best_gpus && mem == best_mem && compute > best_compute)) {
          best_gpus = g;
          best_mem = mem;
          best_compute = compute;
        }
        return;
      }
      const uint64_t need = demands[i].model_bytes + kMigInstanceReserveBytes;
      for (size_t g = 0; g <= gpus.size(); ++g) {
        const bool opened = g == gpus.size();
        if (opened) gpus.push_back(MigCounts{});
        for (size_t q = 0; q < gpu.profiles.size(); ++q) {
          if (gpu.profiles[q].memory_bytes() < need) continue;
          ++gpus[g][q];
          if (layout_fits(gpu, gpus[g])) visit(i + 1);
          --gpus[g][q];
        }
        if (opened) gpus.pop_back();
      }
    };
    visit(0);
    int mem = 0, compute = 0;
    for (const MigGpuPlan& g : p.gpus) {
      mem += g.memory_slices;
      compute += g.compute_slices;
    }
    EXPECT_EQ(static_cast<int>(p.gpus.size()), best_gpus);
    EXPECT_EQ(mem, best_mem);
    EXPECT_EQ(compute, best_compute);
  }
}

TEST(MigPlan, IsDeterministic) {
  const std::vector<MigDemand> d = {llama3_8b_q4("a"),   llama2_7b_q4("b"), tinyllama_f16("c"),
                                    llama3_8b_bf16("d"), llama3_8b_q4("e"), tinyllama_f16("f")};
  const MigPlan a = plan_ok("H100-80GB", d);
  const MigPlan b = plan_ok("H100-80GB", d);
  ASSERT_EQ(a.gpus.size(), b.gpus.size());
  for (size_t g = 0; g < a.gpus.size(); ++g) {
    EXPECT_EQ(a.gpus[g].counts, b.gpus[g].counts);
    ASSERT_EQ(a.gpus[g].instances.size(), b.gpus[g].instances.size());
    for (size_t i = 0; i < a.gpus[g].instances.size(); ++i) {
      EXPECT_EQ(a.gpus[g].instances[i].demand, b.gpus[g].instances[i].demand);
      EXPECT_EQ(a.gpus[g].instances[i].start, b.gpus[g].instances[i].start);
    }
  }
  // The models in another order: the same layout, each model on the same profile.
  std::vector<MigDemand> reversed(d.rbegin(), d.rend());
  const MigPlan r = plan_ok("H100-80GB", reversed);
  ASSERT_EQ(r.gpus.size(), a.gpus.size());
  EXPECT_EQ(r.gpus[0].counts, a.gpus[0].counts);
  for (size_t i = 0; i < d.size(); ++i) {
    EXPECT_EQ(r.profile_of(static_cast<int>(d.size() - 1 - i)).name,
              a.profile_of(static_cast<int>(i)).name);
  }
}

// The "fits nowhere" case: an 8B BF16 model (16.32 GiB) does not fit a 10 GB slice.
TEST(MigPlan, SaysWhenAModelFitsNowhere) {
  MigPlanOptions only_10gb;
  only_10gb.profiles = {"1g.10gb"};
  MigDemand bf16 = llama3_8b_bf16("llama-3-8b-bf16.gguf");
  bf16.detail = "for context 4096 x 1";
  std::string e = plan_error("A100-80GB", {llama3_8b_q4(), bf16}, only_10gb);
  EXPECT_EQ(e,
            "model 'llama-3-8b-bf16.gguf' fits no MIG instance of an A100-80GB: it needs 16.32 "
            "GiB (its estimate 15.82 GiB for context 4096 x 1; plus 0.50 GiB CUDA reserve per "
            "instance), and the largest allowed profile, 1g.10gb, has 9.50 GiB. Its weights alone "
            "take 14.96 GiB, so a smaller context cannot make it fit. To make it fit: a more "
            "quantized file (Q4_K_M weights take about 30% of BF16's); the A100-80GB's 1g.20gb "
            "profile (19.50 GiB), which the allowed profiles leave out; or a GPU where it fits: "
            "A100-40GB (3g.20gb, 19.50 GiB), H100-80GB (1g.20gb, 19.62 GiB), H100-94GB (1g.24gb, "
            "21.62 GiB), H200-141GB (1g.35gb, 32.50 GiB)");

  // Too big for a whole A100-40GB, but not its weights: a smaller context helps.
  MigDemand long_ctx = llama3_8b_bf16("long");
  long_ctx.model_bytes = 50 * kGiB;
  e = plan_error("A100-40GB", {long_ctx, llama3_8b_q4()});
  EXPECT_NE(e.find("model 'long' fits no MIG instance of an A100-40GB: it needs 50.50 GiB"),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("the largest profile, 7g.40gb, has 39.25 GiB. To make it fit: a smaller "
                   "context or fewer parallel sequences; a more quantized file"),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("H200-141GB (3g.71gb, 69.75 GiB)"), std::string::npos) << e;

  // Every model that fits nowhere is named, one per line.
  MigDemand huge{"huge", 200 * kGiB, 190 * kGiB, ""};
  e = plan_error("H200", {huge, long_ctx, huge});
  EXPECT_EQ(std::count(e.begin(), e.end(), '\n'), 1) << e;
  EXPECT_NE(e.find("model 'huge'"), std::string::npos);
  EXPECT_NE(e.find("several whole GPUs without MIG"), std::string::npos) << e;
  EXPECT_EQ(plan_mig(gpu_named("H200"), {huge}, {}).error().code, ErrorCode::out_of_range);
}

TEST(MigPlan, RejectsBadRequests) {
  EXPECT_NE(plan_error("A100-40GB", {}).find("no models to plan for"), std::string::npos);
  EXPECT_NE(plan_error("A100-40GB", std::vector<MigDemand>(129, tinyllama_f16()))
                .find("129 models given; a plan takes at most 128"),
            std::string::npos);
  MigPlanOptions bad;
  bad.max_gpus = -1;
  EXPECT_NE(plan_error("A100-40GB", {tinyllama_f16()}, bad).find("must be positive"),
            std::string::npos);
  bad.max_gpus = 0;
  bad.profiles = {"2g.20gb"};
  EXPECT_EQ(plan_error("A100-40GB", {tinyllama_f16()}, bad),
            "the A100-40GB has no MIG profile '2g.20gb'; its profiles: 1g.5gb, 1g.10gb, 2g.10gb, "
            "3g.20gb, 4g.20gb, 7g.40gb");
  // More GPUs needed than allowed.
  MigPlanOptions one;
  one.max_gpus = 1;
  const std::string e = plan_error("A100-40GB", std::vector<MigDemand>(5, llama2_7b_q4()), one);
  EXPECT_NE(e.find("the 5 models need at least 2 A100-40GB GPUs with one MIG instance each, and 1 "
                   "was allowed"),
            std::string::npos)
      << e;
  EXPECT_EQ(
      plan_mig(gpu_named("A100-40GB"), std::vector<MigDemand>(5, llama2_7b_q4()), one).error().code,
      ErrorCode::out_of_range);
}

// Many models stay fast, and a search cut short still gives a valid plan, flagged.
TEST(MigPlan, ManyModelsAndASearchCutShort) {
  std::vector<MigDemand> many;
  const MigDemand kinds[] = {llama3_8b_q4(), llama2_7b_q4(), tinyllama_f16(), llama3_8b_bf16()};
  for (int i = 0; i < 40; ++i) many.push_back(kinds[i % 4]);
  const MigPlan p = plan_ok("A100-80GB", many);
  expect_sound(p);
  EXPECT_EQ(p.gpus.size(), 7u);  // 50 memory slices: 7 GPUs at least
  MigPlanOptions tight;
  tight.search_budget = 50;
  const MigPlan q = plan_ok("A100-80GB", many, tight);
  expect_sound(q);
  EXPECT_FALSE(q.proven_best);
}

}  // namespace
}  // namespace tessera::gpu
