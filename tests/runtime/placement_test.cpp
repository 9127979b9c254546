#include "runtime/placement.h"

#include <gtest/gtest.h>

namespace tessera::runtime {
namespace {

constexpr uint64_t GiB = 1ull << 30;

Place make_place(std::string id, PlaceKind kind, uint64_t capacity) {
  Place p;
  p.id = std::move(id);
  p.kind = kind;
  p.capacity = capacity;
  return p;
}

Resident resident(std::string model, uint64_t gib, double reload_s, double idle_s,
                  bool busy = false, bool pinned = false) {
  Resident r;
  r.model = std::move(model);
  r.bytes = gib * GiB;
  r.reload_seconds = reload_s;
  r.idle_seconds = idle_s;
  r.busy = busy;
  r.pinned = pinned;
  return r;
}

PlaceUse use(const Place& p, std::vector<Resident> rs) {
  PlaceUse u;
  u.place = &p;
  for (const Resident& r : rs) u.used += r.bytes;
  u.residents = std::move(rs);
  return u;
}

Demand demand(std::string model, uint64_t gib, std::string app = "") {
  Demand d;
  d.model = std::move(model);
  d.app = std::move(app);
  d.bytes = gib * GiB;
  d.splittable = true;
  return d;
}

TEST(Placement, TightestFitWithTheReason) {
  const Place a = make_place("gpu0", PlaceKind::gpu, 80 * GiB);
  const Place b = make_place("gpu1", PlaceKind::gpu, 24 * GiB);
  const Plan p = plan_placement(demand("m", 10), {use(a, {}), use(b, {})}, SchedulerConfig{});
  EXPECT_EQ(p.decision, Decision::place);
  EXPECT_EQ(p.places, std::vector<std::string>{"gpu1"});
  EXPECT_NE(p.why.find("gpu1 (24.00 GiB free of 24.00 GiB) is the tightest fit (also fit: gpu0"),
            std::string::npos)
      << p.why;
  // Ties go to the first place.
  const Place c = make_place("gpu2", PlaceKind::gpu, 24 * GiB);
  EXPECT_EQ(plan_placement(demand("m", 10), {use(b, {}), use(c, {})}, SchedulerConfig{}).places[0],
            "gpu1");
}

TEST(Placement, EvictsTheCheapIdleModelNotTheSlowToReloadOne) {
  // An 8B model that takes 20 s to reload and a 0.5B one that takes 1 s, both idle a minute:
  // room for a new 1 GiB model is made by unloading the small one.
  const Place g = make_place("gpu0", PlaceKind::gpu, 24 * GiB);
  const PlaceUse u = use(g, {resident("llama-8b", 16, 20, 60), resident("qwen-0.5b", 1, 1, 60),
                             resident("busy-7b", 6, 15, 0, true)});
  const Plan p = plan_placement(demand("new-1b", 2), {u}, SchedulerConfig{});
  ASSERT_EQ(p.decision, Decision::evict);
  EXPECT_EQ(p.victims, std::vector<std::string>{"qwen-0.5b"});
  EXPECT_NE(p.why.find("after unloading qwen-0.5b (1.00 GiB, idle 60 s, reload ~1.0 s)"),
            std::string::npos)
      << p.why;
  EXPECT_NE(p.why.find("kept llama-8b (reload ~20 s), busy-7b (in use)"), std::string::npos)
      << p.why;
  // When the small one is not enough, the big one goes (and only it: cheapest set).
  const Plan big = plan_placement(demand("new-7b", 8), {u}, SchedulerConfig{});
  ASSERT_EQ(big.decision, Decision::evict);
  EXPECT_EQ(big.victims, std::vector<std::string>{"llama-8b"});
}

TEST(Placement, LongIdleMakesASlowModelCheap) {
  EXPECT_LT(eviction_cost(resident("a", 16, 20, 3600)), eviction_cost(resident("b", 1, 1, 0)));
  const Place g = make_place("gpu0", PlaceKind::gpu, 18 * GiB);
  const PlaceUse u = use(g, {resident("llama-8b", 16, 20, 3600), resident("qwen-0.5b", 1, 1, 0)});
  EXPECT_EQ(plan_placement(demand("m", 2), {u}, SchedulerConfig{}).victims,
            std::vector<std::string>{"llama-8b"});
}

TEST(Placement, PinnedAndBusyModelsAreNeverVictims) {
  const Place g = make_place("gpu0", PlaceKind::gpu, 20 * GiB);
  const PlaceUse pinned = use(g, {resident("p", 16, 1, 1000, false, true)});
  const Plan refused = plan_placement(demand("m", 8), {pinned}, SchedulerConfig{});
  EXPECT_EQ(refused.decision, Decision::refuse);
  EXPECT_EQ(refused.largest, 4 * GiB);
  EXPECT_EQ(refused.largest_place, "gpu0");
  const PlaceUse busy = use(g, {resident("b", 16, 1, 0, true)});
  EXPECT_EQ(plan_placement(demand("m", 8), {busy}, SchedulerConfig{}).decision, Decision::wait);
}

TEST(Placement, SplitsOverGpusWhenNoneFitsAlone) {
  const Place a = make_place("gpu0", PlaceKind::gpu, 10 * GiB);
  const Place b = make_place("gpu1", PlaceKind::gpu, 12 * GiB);
  const Place cpu = make_place("cpu", PlaceKind::cpu, 64 * GiB);
  Demand d = demand("m", 20);
  d.split_overhead = GiB / 2;
  Plan p = plan_placement(d, {use(a, {}), use(b, {})}, SchedulerConfig{});
  ASSERT_EQ(p.decision, Decision::split);
  EXPECT_EQ(p.places, (std::vector<std::string>{"gpu1", "gpu0"}));  // most free first
  d.bytes = 22 * GiB;  // 10 + 12 minus the second device's overhead is not enough
  EXPECT_EQ(plan_placement(d, {use(a, {}), use(b, {})}, SchedulerConfig{}).decision,
            Decision::refuse);
  SchedulerConfig no_split;
  no_split.split = false;
  d.bytes = 20 * GiB;
  EXPECT_EQ(plan_placement(d, {use(a, {}), use(b, {})}, no_split).decision, Decision::refuse);
  // Encoders are not split; the CPU is not part of a split.
  d.splittable = false;
  EXPECT_EQ(plan_placement(d, {use(a, {}), use(b, {})}, SchedulerConfig{}).decision,
            Decision::refuse);
  d.splittable = true;
  d.bytes = 70 * GiB;
  EXPECT_EQ(plan_placement(d, {use(a, {}), use(cpu, {})}, SchedulerConfig{}).decision,
            Decision::refuse);
}

TEST(Placement, SlicesKeepTheirAppsAndModelsApart) {
  SchedulerConfig c;
  SliceConfig s;
  s.name = "team-a";
  s.apps = {"bot"};
  c.slices = {s};
  Place gpu = make_place("gpu0", PlaceKind::gpu, 40 * GiB);
  Place slice = make_place("slice:team-a", PlaceKind::slice, 8 * GiB);
  slice.apps = {"bot"};
  const std::vector<PlaceUse> uses = {use(gpu, {}), use(slice, {})};
  // The bot may only use its slice; others may not use it.
  EXPECT_EQ(plan_placement(demand("m", 4, "bot"), uses, c).places[0], "slice:team-a");
  EXPECT_EQ(plan_placement(demand("m", 4, "other"), uses, c).places[0], "gpu0");
  EXPECT_EQ(plan_placement(demand("m", 4), uses, c).places[0], "gpu0");
  const Plan too_big = plan_placement(demand("m", 12, "bot"), uses, c);
  EXPECT_EQ(too_big.decision, Decision::refuse);
  EXPECT_EQ(too_big.largest_place, "slice:team-a");
  EXPECT_NE(too_big.why.find("largest space is 8.00 GiB on slice:team-a"), std::string::npos);
}

TEST(Placement, ChooseVictimsFindsTheCheapestSufficientSet) {
  std::vector<Resident> rs = {resident("a", 4, 4, 0), resident("b", 3, 1, 0),
                              resident("c", 3, 1, 0), resident("d", 10, 100, 0)};
  auto v = choose_victims(rs, 6 * GiB);
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v[0]->model, "b");
  EXPECT_EQ(v[1]->model, "c");
  EXPECT_TRUE(choose_victims(rs, 100 * GiB).empty());
  // Past 16 candidates a greedy choice still finds a sufficient set.
  std::vector<Resident> many;
  for (int i = 0; i < 20; ++i) {
    std::string name = "m";
    name.append(std::to_string(i));
    many.push_back(resident(name, 1, 1, 0));
  }
  EXPECT_EQ(choose_victims(many, 3 * GiB).size(), 3u);
}

}  // namespace
}  // namespace tessera::runtime
