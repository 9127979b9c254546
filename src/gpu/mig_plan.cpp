#include "gpu/mig_plan.h"

#include <algorithm>
#include <climits>
#include <cstdio>
#include <unordered_map>

namespace tessera::gpu {
namespace {

std::string gib(uint64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f GiB", static_cast<double>(bytes) / (1u << 30));
  return buf;
}

double ratio(uint64_t a, uint64_t b) {
  return b == 0 ? 0.0 : static_cast<double>(a) / static_cast<double>(b);
}

// A model as the search sees it: its need and the profiles it fits, in the order they are tried.
struct Model {
  int demand = 0;
  uint64_t need = 0;
  std::vector<int> candidates;
};

// The smallest profile of `gpu` (by memory) that holds `need`, or nullptr.
const MigProfile* smallest_fitting(const MigGpu& gpu, uint64_t need) {
  const MigProfile* best = nullptr;
  for (const MigProfile& p : gpu.profiles) {
    if (p.memory_bytes() >= need && (best == nullptr || p.memory_mib < best->memory_mib)) best = &p;
  }
  return best;
}

// Why `d` (need `need`) fits no allowed profile, and what would make it fit.
std::string fits_nowhere(const MigGpu& gpu, uint32_t allowed, const MigDemand& d, uint64_t need,
                         uint64_t reserve) {
  const MigProfile* largest = nullptr;
  for (size_t i = 0; i < gpu.profiles.size(); ++i) {
    if ((allowed & (1u << i)) != 0) largest = &gpu.profiles[i];
  }
  const bool restricted = largest != &gpu.largest();
  std::string m = "model '" + d.label + "' fits no MIG instance of an " + std::string(gpu.name) +
                  ": it needs " + gib(need) + " (its estimate " + gib(d.model_bytes);
  if (!d.detail.empty()) m += " " + d.detail;
  m += "; plus " + gib(reserve) + " CUDA reserve per instance), and the largest " +
       std::string(restricted ? "allowed " : "") + "profile, " + std::string(largest->name) +
       ", has " + gib(largest->memory_bytes()) + ".";
  std::vector<std::string> ways;
  if (d.weights_bytes == 0 || d.weights_bytes + reserve < largest->memory_bytes()) {
    ways.push_back("a smaller context or fewer parallel sequences");
  } else {
    m += " Its weights alone take " + gib(d.weights_bytes) +
         ", so a smaller context cannot make it fit.";
  }
  m += " To make it fit: ";
  ways.push_back("a more quantized file (Q4_K_M weights take about 30% of BF16's)");
  if (restricted) {
    if (const MigProfile* p = smallest_fitting(gpu, need)) {
      ways.push_back("the " + std::string(gpu.name) + "'s " + std::string(p->name) + " profile (" +
                     gib(p->memory_bytes()) + "), which the allowed profiles leave out");
    }
  }
  std::string others;
  for (const MigGpu& g : mig_gpus()) {
    const MigProfile* p = &g == &gpu ? nullptr : smallest_fitting(g, need);
    if (p == nullptr) continue;
    if (!others.empty()) others += ", ";
    others +=
        std::string(g.name) + " (" + std::string(p->name) + ", " + gib(p->memory_bytes()) + ")";
  }
  if (!others.empty()) {
    ways.push_back("a GPU where it fits: " + others);
  } else {
    ways.push_back(
        "several whole GPUs without MIG (no MIG instance of a GPU Tessera knows is "
        "that large)");
  }
  for (size_t i = 0; i < ways.size(); ++i) {
    if (i > 0) m += i + 1 == ways.size() ? "; or " : "; ";
    m += ways[i];
  }
  return m;
}

uint64_t pack(const MigCounts& c) {
  uint64_t k = 0;
  for (uint8_t n : c) k = (k << 8) | n;
  return k;
}

// Branch and bound over the profile of each model (largest need first); a partial choice is
// kept only while its instances still fit on `g` GPUs.
class Search {
 public:
  Search(const MigGpu& gpu, std::vector<MigCounts> layouts, std::vector<Model> models,
         uint64_t budget)
      : gpu_(gpu), layouts_(std::move(layouts)), models_(std::move(models)), budget_(budget) {
    const size_t n = models_.size();
    min_mem_.assign(n + 1, 0);
    max_compute_.assign(n + 1, 0);
    for (size_t i = n; i-- > 0;) {
      int mem = INT_MAX, compute = 0;
      for (int p : models_[i].candidates) {
        mem = std::min(mem, gpu_.profiles[p].memory_slices);
        compute = std::max(compute, gpu_.profiles[p].compute_slices);
      }
      min_mem_[i] = min_mem_[i + 1] + mem;
      max_compute_[i] = max_compute_[i + 1] + compute;
    }
  }

  // GPUs no plan can do with less.
  int lower_bound() const {
    const int n = static_cast<int>(models_.size());
    return std::max({1, (min_mem_[0] + kMigMemorySlices - 1) / kMigMemorySlices,
                     (n + kMigComputeSlices - 1) / kMigComputeSlices});
  }

  // The least wasteful choice with at most `g` GPUs; false when none was found.
  bool run(int g) {
    g_ = g;
    steps_ = 0;
    exhausted_ = false;
    best_mem_ = INT_MAX;
    best_compute_ = -1;
    best_.clear();
    choice_.assign(models_.size(), 0);
    rank_.assign(models_.size(), 0);
    MigCounts counts{};
    descend(0, counts, 0, 0);
    return best_mem_ != INT_MAX;
  }
  bool exhausted() const { return exhausted_; }
  const std::vector<int>& best() const { return best_; }  // profile per model

  // The fewest GPUs that hold the instances `c` (exact, memoized).
  int gpus_needed(const MigCounts& c) {
    int top = -1;
    for (int i = 0; i < kMaxMigProfiles; ++i) {
      if (c[i] > 0) top = i;
    }
    if (top < 0) return 0;
    const uint64_t key = pack(c);
    if (auto it = memo_.find(key); it != memo_.end()) return it->second;
    const int mem = layout_memory_slices(gpu_, c), compute = layout_compute_slices(gpu_, c);
    const int floor = std::max((mem + kMigMemorySlices - 1) / kMigMemorySlices,
                               (compute + kMigComputeSlices - 1) / kMigComputeSlices);
    int best = INT_MAX;
    for (const MigCounts& l : layouts_) {
      if (!within(l, c, top)) continue;
      best = std::min(best, 1 + gpus_needed(minus(c, l)));
      if (best == floor) break;
    }
    memo_[key] = best;
    return best;
  }

  // The layouts of the GPUs that hold `c`, fullest first.
  std::vector<MigCounts> partition(MigCounts c) {
    std::vector<MigCounts> out;
    for (int left = gpus_needed(c); left > 0; --left) {
      int top = kMaxMigProfiles - 1;
      while (c[top] == 0) --top;
      for (const MigCounts& l : layouts_) {
        if (within(l, c, top) && gpus_needed(minus(c, l)) == left - 1) {
          out.push_back(l);
          c = minus(c, l);
          break;
        }
      }
    }
    return out;
  }

 private:
  // `l` takes at least one instance of profile `top` and nothing `c` does not have.
  static bool within(const MigCounts& l, const MigCounts& c, int top) {
    if (l[top] == 0) return false;
    for (int i = 0; i < kMaxMigProfiles; ++i) {
      if (l[i] > c[i]) return false;
    }
    return true;
  }
  static MigCounts minus(MigCounts c, const MigCounts& l) {
    for (int i = 0; i < kMaxMigProfiles; ++i) c[i] -= l[i];
    return c;
  }

  void descend(size_t i, MigCounts& counts, int mem, int compute) {
    if (++steps_ > budget_) {
      exhausted_ = true;
      return;
    }
    if (i == models_.size()) {
      if (mem < best_mem_ || (mem == best_mem_ && compute > best_compute_)) {
        best_mem_ = mem;
        best_compute_ = compute;
        best_ = choice_;
      }
      return;
    }
    const int lb = mem + min_mem_[i];
    if (lb > best_mem_ || lb > g_ * kMigMemorySlices) return;
    if (lb == best_mem_ && compute + max_compute_[i] <= best_compute_) return;
    // Models with the same candidates are interchangeable: keep their choices in order.
    const std::vector<int>& cands = models_[i].candidates;
    const bool same = i > 0 && models_[i - 1].candidates == cands;
    for (size_t r = same ? rank_[i - 1] : 0; r < cands.size() && !exhausted_; ++r) {
      const MigProfile& p = gpu_.profiles[cands[r]];
      ++counts[cands[r]];
      if (gpus_needed(counts) <= g_) {
        choice_[i] = cands[r];
        rank_[i] = r;
        descend(i + 1, counts, mem + p.memory_slices, compute + p.compute_slices);
      }
      --counts[cands[r]];
    }
  }

  const MigGpu& gpu_;
  std::vector<MigCounts> layouts_;
  std::vector<Model> models_;
  uint64_t budget_;
  std::vector<int> min_mem_, max_compute_;  // suffix sums over models i..n-1
  std::unordered_map<uint64_t, int> memo_;
  int g_ = 0;
  uint64_t steps_ = 0;
  bool exhausted_ = false;
  int best_mem_ = INT_MAX, best_compute_ = -1;
  std::vector<int> best_, choice_;
  std::vector<size_t> rank_;
};

Result<uint32_t> allowed_profiles(const MigGpu& gpu, const std::vector<std::string>& names) {
  if (names.empty()) return (1u << gpu.profiles.size()) - 1;
  uint32_t mask = 0;
  for (const std::string& n : names) {
    const MigProfile* p = gpu.find_profile(n);
    if (p == nullptr) {
      std::string known;
      for (const MigProfile& q : gpu.profiles)
        known += (known.empty() ? "" : ", ") + std::string(q.name);
      return make_error(ErrorCode::invalid_argument, "the " + std::string(gpu.name) +
                                                         " has no MIG profile '" + n +
                                                         "'; its profiles: " + known);
    }
    mask |= 1u << gpu.index_of(*p);
  }
  return mask;
}

// The plan's GPUs and instances from the chosen profile per model.
MigPlan assemble(const MigGpu& gpu, const std::vector<MigDemand>& demands,
                 const std::vector<Model>& models, const std::vector<int>& choice,
                 const std::vector<MigCounts>& layouts, uint32_t allowed, uint64_t reserve) {
  MigPlan plan;
  plan.gpu = &gpu;
  plan.reserve_bytes = reserve;
  plan.demands = demands;
  plan.spots.resize(demands.size());
  for (const MigCounts& l : layouts) {
    MigGpuPlan g;
    g.counts = l;
    const std::vector<MigPlacement> placements = place_layout(gpu, l).value();
    for (const MigPlacement& pl : placements) {
      MigInstancePlan inst;
      inst.profile = pl.profile;
      inst.start = pl.start;
      inst.demand = -1;
      inst.memory_bytes = gpu.profiles[pl.profile].memory_bytes();
      g.instances.push_back(inst);
    }
    g.compute_slices = layout_compute_slices(gpu, l);
    g.memory_slices = layout_memory_slices(gpu, l);
    for (size_t p = 0; p < gpu.profiles.size(); ++p) {
      const int more = (allowed & (1u << p)) != 0 ? room_for(gpu, l, static_cast<int>(p)) : 0;
      if (more > 0) g.room.emplace_back(static_cast<int>(p), more);
    }
    plan.gpus.push_back(std::move(g));
  }
  for (size_t m = 0; m < models.size(); ++m) {
    bool placed = false;
    for (size_t gi = 0; gi < plan.gpus.size() && !placed; ++gi) {
      auto& insts = plan.gpus[gi].instances;
      for (size_t ii = 0; ii < insts.size() && !placed; ++ii) {
        if (insts[ii].demand >= 0 || insts[ii].profile != choice[m]) continue;
        insts[ii].demand = models[m].demand;
        insts[ii].need_bytes = models[m].need;
        insts[ii].utilization = ratio(models[m].need, insts[ii].memory_bytes);
        plan.spots[models[m].demand] = {static_cast<int>(gi), static_cast<int>(ii)};
        placed = true;
      }
    }
  }
  for (MigGpuPlan& g : plan.gpus) {
    for (const MigInstancePlan& i : g.instances) {
      g.need_bytes += i.need_bytes;
      g.memory_bytes += i.memory_bytes;
    }
    g.utilization = ratio(g.need_bytes, g.memory_bytes);
    plan.need_bytes += g.need_bytes;
    plan.memory_bytes += g.memory_bytes;
  }
  plan.utilization = ratio(plan.need_bytes, plan.memory_bytes);
  return plan;
}

}  // namespace

Result<MigPlan> plan_mig(const MigGpu& gpu, const std::vector<MigDemand>& demands,
                         const MigPlanOptions& options) {
  if (demands.empty()) return make_error(ErrorCode::invalid_argument, "no models to plan for");
  if (demands.size() > kMaxMigDemands) {
    return make_error(ErrorCode::invalid_argument, std::to_string(demands.size()) +
                                                       " models given; a plan takes at most " +
                                                       std::to_string(kMaxMigDemands));
  }
  if (options.max_gpus < 0) {
    return make_error(ErrorCode::invalid_argument,
                      "the number of GPUs must be positive (0 = as many as needed), got " +
                          std::to_string(options.max_gpus));
  }
  TESSERA_TRY_ASSIGN(allowed, allowed_profiles(gpu, options.profiles));

  std::vector<Model> models;
  std::string nowhere;
  for (size_t i = 0; i < demands.size(); ++i) {
    Model m;
    m.demand = static_cast<int>(i);
    m.need = demands[i].model_bytes + options.reserve_bytes;
    for (size_t p = 0; p < gpu.profiles.size(); ++p) {
      if ((allowed & (1u << p)) != 0 && gpu.profiles[p].memory_bytes() >= m.need) {
        m.candidates.push_back(static_cast<int>(p));
      }
    }
    if (m.candidates.empty()) {
      if (!nowhere.empty()) nowhere += "\n";
      nowhere += fits_nowhere(gpu, allowed, demands[i], m.need, options.reserve_bytes);
      continue;
    }
    std::stable_sort(m.candidates.begin(), m.candidates.end(), [&](int a, int b) {
      const MigProfile& pa = gpu.profiles[a];
      const MigProfile& pb = gpu.profiles[b];
      if (pa.memory_slices != pb.memory_slices) return pa.memory_slices < pb.memory_slices;
      return pa.compute_slices > pb.compute_slices;
    });
    models.push_back(std::move(m));
  }
  if (!nowhere.empty()) return make_error(ErrorCode::out_of_range, nowhere);
  std::stable_sort(models.begin(), models.end(),
                   [](const Model& a, const Model& b) { return a.need > b.need; });

  Search search(gpu, valid_layouts(gpu, allowed), models, options.search_budget);
  bool proven = true;
  int g = search.lower_bound();
  for (; g <= static_cast<int>(models.size()); ++g) {
    const bool found = search.run(g);
    if (search.exhausted()) proven = false;
    if (found) break;
  }
  const std::vector<int> choice = search.best();
  if (choice.size() != models.size()) {  // cannot happen: one model per GPU always fits
    return make_error(ErrorCode::out_of_range, "no MIG plan found for these models");
  }
  MigCounts total{};
  for (int p : choice) ++total[p];
  const std::vector<MigCounts> layouts = search.partition(total);
  if (options.max_gpus > 0 && static_cast<int>(layouts.size()) > options.max_gpus) {
    return make_error(
        ErrorCode::out_of_range,
        "the " + std::to_string(demands.size()) + " models need " +
            std::string(proven ? "at least " : "") + std::to_string(layouts.size()) + " " +
            std::string(gpu.name) + " GPUs with one MIG instance each, and " +
            std::to_string(options.max_gpus) + " " + (options.max_gpus == 1 ? "was" : "were") +
            " allowed: allow more GPUs, plan fewer models, or shrink them (smaller contexts, "
            "more quantized files)");
  }
  MigPlan plan = assemble(gpu, demands, models, choice, layouts, allowed, options.reserve_bytes);
  plan.proven_best = proven;
  return plan;
}

}  // namespace tessera::gpu
