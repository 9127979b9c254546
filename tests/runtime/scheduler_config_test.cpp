#include "runtime/scheduler_config.h"

#include <gtest/gtest.h>

#include "runtime/places.h"

namespace tessera::runtime {
namespace {

const char* kFull = R"(keep_alive: 10m
max_loaded_models: 4
max_queue: 8
context: 2048
parallel: 2
kv_type: q8_0
gpu_reserve: 256MiB
split: false
room_wait: 2s
cpu: {use: always, memory: 4GiB}
slices:
  - name: team-a
    device: 0
    memory: 20GiB
    apps: [support-bot]
  - name: shared
    device: GPU-1d2e
    memory: 10GiB
    models: [qwen]
quotas:
  - app: support-bot
    memory: 8GiB
    kv_tokens: 8192
models:
  qwen: {pinned: true, keep_alive: -1, context: 8192, parallel: 4, kv_type: f16}
)";

TEST(SchedulerConfig, ReadsEveryKey) {
  auto c = parse_scheduler_config(kFull, "sched.yaml");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->keep_alive.duration, std::chrono::minutes(10));
  EXPECT_EQ(c->max_loaded_models, 4);
  EXPECT_EQ(c->max_queue, 8);
  EXPECT_EQ(c->context, 2048);
  EXPECT_EQ(c->parallel, 2);
  EXPECT_EQ(c->kv_type, backend::KvType::q8_0);
  EXPECT_EQ(c->gpu_reserve, 256ull << 20);
  EXPECT_FALSE(c->split);
  EXPECT_EQ(c->room_wait.duration, std::chrono::seconds(2));
  EXPECT_EQ(c->cpu_use, CpuUse::always);
  EXPECT_EQ(*c->cpu_memory, 4ull << 30);
  ASSERT_EQ(c->slices.size(), 2u);
  EXPECT_EQ(c->slices[0].name, "team-a");
  EXPECT_EQ(c->slices[0].line, 12);
  EXPECT_EQ(c->slices[0].apps, std::vector<std::string>{"support-bot"});
  EXPECT_EQ(c->slices[1].models, std::vector<std::string>{"qwen"});
  ASSERT_NE(c->quota("support-bot"), nullptr);
  EXPECT_EQ(*c->quota("support-bot")->kv_tokens, 8192);
  EXPECT_EQ(c->quota("other"), nullptr);
  const ModelPolicy p = c->policy("qwen");
  EXPECT_TRUE(p.pinned);
  EXPECT_TRUE(p.keep_alive->forever);
  EXPECT_EQ(*p.context, 8192);
  EXPECT_EQ(*p.parallel, 4);
  EXPECT_FALSE(c->policy("other").pinned);
}

TEST(SchedulerConfig, EmptyFileMeansDefaults) {
  auto c = parse_scheduler_config("", "empty.yaml");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->keep_alive, kDefaultKeepAlive);
  EXPECT_EQ(c->max_queue, 512);
}

struct BadCase {
  const char* yaml;
  const char* where;  // "file:line:"
  const char* what;
};

TEST(SchedulerConfig, ErrorsNameFileLineAndKey) {
  const BadCase cases[] = {
      {"keep_alive: 5m\nmax_qeue: 3\n", "c.yaml:2:1:", "unknown key \"max_qeue\""},
      {"keep_alive: -5m\n", "c.yaml:1:13:", "-1 to keep the model loaded forever"},
      {"keep_alive: 99999h\n", "c.yaml:1:13:", "longer than a year"},
      {"keep_alive: soon\n", "c.yaml:1:13:", "not a duration"},
      {"parallel: 0\n", "c.yaml:1:11:", "out of range"},
      {"context: lots\n", "c.yaml:1:10:", "not an integer"},
      {"kv_type: q4\n", "c.yaml:1:10:", "not a KV cache type"},
      {"slices:\n  - name: a\n    device: 0\n", "c.yaml:2:5:", "missing \"memory\""},
      {"slices:\n  - {name: a, device: 0, memory: 1GiB}\n  - {name: a, device: 0, memory: 1GiB}\n",
       "c.yaml:3:5:", "defined twice"},
      {"slices:\n  - {name: a, device: 0, memory: 12 bananas}\n", "c.yaml:2:", "unknown unit"},
      {"slices: {name: a}\n", "c.yaml:1:9:", "expected a list"},
      {"quotas:\n  - app: x\n", "c.yaml:2:5:", "needs \"memory\", \"kv_tokens\""},
      {"cpu: {use: sometimes}\n", "c.yaml:1:12:", "not auto, always or never"},
      {"models:\n  m: {pinned: maybe}\n", "c.yaml:2:15:", "not true or false"},
      {"keep_alive: [1, 2]\n", "c.yaml:1:13:", "expected a single value"},
      {"slices:\n  - name: a\n   device: 0\n", "c.yaml:", "not valid YAML"},
      {"- just\n- a list\n", "c.yaml:1:1:", "expected a mapping"},
  };
  for (const BadCase& bc : cases) {
    auto c = parse_scheduler_config(bc.yaml, "c.yaml");
    ASSERT_FALSE(c.ok()) << bc.yaml;
    EXPECT_EQ(c.error().code, ErrorCode::malformed);
    EXPECT_EQ(c.error().message.rfind(bc.where, 0), 0u) << c.error().message;
    EXPECT_NE(c.error().message.find(bc.what), std::string::npos) << c.error().message;
  }
}

TEST(SchedulerConfig, MissingFileIsNotFound) {
  auto c = load_scheduler_config("/nonexistent/sched.yaml");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code, ErrorCode::not_found);
}

gpu::Inventory two_gpus() {
  gpu::Inventory inv;
  for (int i = 0; i < 2; ++i) {
    gpu::GpuInfo g;
    g.index = i;
    g.name = "Test GPU";
    g.uuid = "GPU-000" + std::to_string(i);
    g.memory_total = 16ull << 30;
    g.memory_used = 1ull << 30;
    inv.gpus.push_back(g);
  }
  return inv;
}

TEST(Places, SlicesAreCarvedFromTheirDevice) {
  auto c = parse_scheduler_config(
      "gpu_reserve: 1GiB\nslices:\n  - {name: a, device: 1, memory: 4GiB, apps: [bot]}\n"
      "  - {name: b, device: GPU-0001, memory: 6GiB}\n",
      "c.yaml");
  ASSERT_TRUE(c.ok()) << c.error().message;
  auto places = build_places(two_gpus(), *c, 64ull << 30);
  ASSERT_TRUE(places.ok()) << places.error().message;
  ASSERT_EQ(places->size(), 4u);  // gpu0, gpu1, slice:a, slice:b; no CPU (there are GPUs)
  EXPECT_EQ((*places)[0].id, "gpu0");
  EXPECT_EQ((*places)[0].capacity, 14ull << 30);  // 16 - 1 used - 1 reserve
  EXPECT_EQ((*places)[1].capacity, 4ull << 30);   // 14 - 4 - 6
  EXPECT_EQ((*places)[2].id, "slice:a");
  EXPECT_EQ((*places)[2].parent, "gpu1");
  EXPECT_EQ((*places)[2].cuda_ordinal, 1);
  EXPECT_TRUE((*places)[2].admits_app("bot"));
  EXPECT_FALSE((*places)[2].admits_app("other"));
  EXPECT_EQ((*places)[3].capacity, 6ull << 30);
}

TEST(Places, BadSlicesNameTheLine) {
  auto over = parse_scheduler_config(
      "slices:\n  - {name: a, device: 0, memory: 10GiB}\n  - {name: b, device: 0, memory: 10GiB}\n",
      "c.yaml");
  ASSERT_TRUE(over.ok());
  auto p = build_places(two_gpus(), *over, 0);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.error().message.rfind("c.yaml:3:", 0), 0u) << p.error().message;
  EXPECT_NE(p.error().message.find("slice \"b\" asks for 10.00 GiB"), std::string::npos);

  auto missing =
      parse_scheduler_config("slices:\n  - {name: a, device: 7, memory: 1GiB}\n", "c.yaml");
  ASSERT_TRUE(missing.ok());
  p = build_places(two_gpus(), *missing, 0);
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.error().message.find("c.yaml:2:"), std::string::npos);
  EXPECT_NE(p.error().message.find("device \"7\" is not a visible GPU"), std::string::npos);
  EXPECT_NE(p.error().message.find("GPU-0001"), std::string::npos);  // lists what there is
}

TEST(Places, MigInstancesAndTheCpu) {
  gpu::Inventory inv;
  gpu::GpuInfo g;
  g.name = "NVIDIA H100 80GB HBM3";
  g.mig_enabled = true;
  for (unsigned gi : {5u, 3u}) {
    gpu::MigInstance m;
    m.gpu_instance_id = gi;
    m.profile = "2g.20gb";
    m.uuid = "MIG-" + std::to_string(gi);
    m.memory_total = 20ull << 30;
    g.mig.push_back(m);
  }
  inv.gpus.push_back(g);
  SchedulerConfig c;
  c.gpu_reserve = 0;
  auto p = build_places(inv, c, 10ull << 30);
  ASSERT_TRUE(p.ok());
  ASSERT_EQ(p->size(), 2u);
  EXPECT_EQ((*p)[0].id, "gpu0/mig3");  // by GPU-instance id
  EXPECT_EQ((*p)[0].kind, PlaceKind::mig);
  EXPECT_EQ((*p)[1].id, "gpu0/mig5");
  c.cpu_use = CpuUse::always;
  p = build_places(inv, c, 10ull << 30);
  EXPECT_EQ(p->back().id, "cpu");
  EXPECT_EQ(p->back().capacity, 8ull << 30);  // 80% of what is available
  // No GPU: the CPU (auto); never: nothing.
  c.cpu_use = CpuUse::auto_;
  p = build_places(gpu::Inventory{}, c, 10ull << 30);
  ASSERT_EQ(p->size(), 1u);
  c.cpu_use = CpuUse::never;
  EXPECT_TRUE(build_places(gpu::Inventory{}, c, 10ull << 30)->empty());
  // A slice on the MIG GPU itself is refused with the fix.
  auto bad = parse_scheduler_config("slices:\n  - {name: a, device: 0, memory: 1GiB}\n", "c.yaml");
  auto r = build_places(inv, *bad, 0);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("MIG mode on"), std::string::npos);
}

}  // namespace
}  // namespace tessera::runtime
