// The scheduler on fake inventories, with CPU backends doing the actual work under the places'
// memory limits: on-demand load, keep-alive, eviction order, pinning, queueing, quotas,
// admission errors, splitting, concurrency and broken files.
#include "runtime/scheduler.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include "runtime/sched_test_util.h"
#include "runtime/status_file.h"

namespace tessera::runtime {
namespace {

using namespace std::chrono_literals;
using testing::greedy;
using testing::Harness;

std::string bytes_yaml(uint64_t b) {
  return std::to_string(b);
}

// What each model is charged when loaded alone (learned from a scheduler with ample room).
uint64_t charge_of(const std::string& model, const std::string& config = "gpu_reserve: 0\n") {
  Harness h;
  h.start(testing::small_gpus({8ull << 30}), config);
  {
    auto l = h.get(model);
    EXPECT_TRUE(l.ok()) << l.error().message;
  }
  return h.loaded(model)->bytes;
}

TEST(Scheduler, LoadsOnFirstRequestAndExplainsWhere) {
  Harness h;
  h.start(testing::scenario_inventory("h100_mig_3x2g.json"), "gpu_reserve: 0\n");
  EXPECT_TRUE(h.loaded_names().empty());
  auto lease = h.get("qwen");
  ASSERT_TRUE(lease.ok()) << lease.error().message;
  const LoadedModelStatus* m = h.loaded("qwen");
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->state, "ready");
  // The three 2g.20gb instances differ only in what others use: the tightest fit is GI 5.
  ASSERT_EQ(m->places.size(), 1u);
  EXPECT_EQ(m->places[0].first, "gpu0/mig5");
  EXPECT_NE(m->why.find("tightest fit"), std::string::npos) << m->why;
  EXPECT_EQ(m->in_flight, 1);
  EXPECT_EQ(m->context, 256);  // the config's 4096, capped at the model's training context
  EXPECT_GE(m->bytes, m->estimate);
  EXPECT_GT(m->measured, 0u);
  EXPECT_TRUE(h.log.contains("loaded qwen in")) << h.log.all();
  // It generates what the model generates without a scheduler.
  auto tokens = greedy(*lease, "The capital of France is", 6);
  ASSERT_TRUE(tokens.ok()) << tokens.error().message;
  auto model = engine::LlmModel::load(testing::model_path("qwen2-tiny.gguf"));
  ASSERT_TRUE(model.ok());
  auto ctx = engine::LlmContext::create(*model, {});
  std::vector<engine::TokenId> prompt = (*model)->tokenizer().encode("The capital of France is");
  std::vector<engine::TokenId> expected;
  int32_t pos = 0;
  for (int step = 0; step < 6; ++step) {
    engine::Batch b;
    for (size_t i = 0; i < prompt.size(); ++i) b.add(prompt[i], 0, pos++, i + 1 == prompt.size());
    ASSERT_TRUE((*ctx)->decode(b).ok());
    auto logits = (*ctx)->logits(b.size() - 1);
    expected.push_back(static_cast<engine::TokenId>(std::max_element(logits.begin(), logits.end()) -
                                                    logits.begin()));
    prompt = {expected.back()};
  }
  EXPECT_EQ(*tokens, expected);
  EXPECT_EQ(h.scheduler->status().counters.loads, 1u);
}

TEST(Scheduler, EncodersServeEmbeddings) {
  Harness h;
  h.start(testing::small_gpus({1ull << 30}), "gpu_reserve: 0\n");
  auto lease = h.get("bert");
  ASSERT_TRUE(lease.ok()) << lease.error().message;
  EXPECT_FALSE(lease->is_decoder());
  Status s = lease->with_encoder([](const engine::EncoderModel& m) -> Status {
    auto e = m.embed({"hello world"});
    if (!e.ok()) return e.error();
    return e->size() == 1 && !(*e)[0].values.empty() ? Status{}
                                                     : make_error(ErrorCode::malformed, "empty");
  });
  EXPECT_TRUE(s.ok()) << s.error().message;
  EXPECT_FALSE(lease->with_context([](engine::LlmContext&, int32_t) { return Status{}; }).ok());
}

TEST(Scheduler, RequestsQueueWhileTheirModelLoadsAndItLoadsOnce) {
  Harness h;
  h.start(testing::small_gpus({1ull << 30}), "gpu_reserve: 0\nparallel: 8\n");
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 6; ++i) {
    threads.emplace_back([&] {
      auto l = h.get("spm");
      if (l.ok()) ++ok;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 6);
  EXPECT_EQ(h.scheduler->status().counters.loads, 1u);
}

TEST(Scheduler, KeepAliveExpiryAndPerRequestOverrides) {
  Harness h;
  h.start(testing::small_gpus({1ull << 30}), "gpu_reserve: 0\nkeep_alive: 5m\n");
  { ASSERT_TRUE(h.get("qwen").ok()); }
  h.clock.advance(4min);
  h.scheduler->tick();
  ASSERT_NE(h.loaded("qwen"), nullptr);
  EXPECT_EQ(*h.loaded("qwen")->expires_in, std::chrono::milliseconds(1min));
  h.clock.advance(61s);
  h.scheduler->tick();
  EXPECT_EQ(h.loaded("qwen"), nullptr);
  EXPECT_EQ(h.scheduler->status().counters.expirations, 1u);
  EXPECT_TRUE(h.log.contains("unloaded qwen from gpu0: idle for its keep-alive of 5m"))
      << h.log.all();

  // keep_alive 0: unloaded as soon as the request ends.
  ModelRequest now;
  now.model = "qwen";
  now.keep_alive = KeepAlive{0ms, false};
  { ASSERT_TRUE(h.scheduler->acquire(now).ok()); }
  EXPECT_EQ(h.loaded("qwen"), nullptr);
  // forever: survives any idle time; the override sticks for the model.
  ModelRequest forever = now;
  forever.keep_alive = KeepAlive{0ms, true};
  { ASSERT_TRUE(h.scheduler->acquire(forever).ok()); }
  { ASSERT_TRUE(h.get("qwen").ok()); }
  h.clock.advance(std::chrono::hours(24 * 30));
  h.scheduler->tick();
  ASSERT_NE(h.loaded("qwen"), nullptr);
  EXPECT_FALSE(h.loaded("qwen")->expires_in.has_value());
}

TEST(Scheduler, PinnedModelsNeverExpire) {
  Harness h;
  h.start(testing::small_gpus({1ull << 30}),
          "gpu_reserve: 0\nkeep_alive: 1s\nmodels:\n  spm: {pinned: true}\n");
  { ASSERT_TRUE(h.get("spm").ok()); }
  { ASSERT_TRUE(h.get("qwen").ok()); }
  h.clock.advance(1h);
  h.scheduler->tick();
  EXPECT_EQ(h.loaded_names(), std::vector<std::string>{"spm"});
  EXPECT_TRUE(h.loaded("spm")->pinned);
}

// A GPU that holds qwen and bpe but not a third model next to them.
struct Crowded {
  uint64_t qwen = charge_of("qwen"), bpe = charge_of("bpe");
  gpu::Inventory inv = testing::small_gpus({qwen + bpe + (1ull << 20)});
};

TEST(Scheduler, EvictsTheModelIdleLongestWhenReloadCostsAreAlike) {
  Crowded c;
  Harness h;
  h.start(c.inv, "gpu_reserve: 0\n");
  { ASSERT_TRUE(h.get("qwen").ok()); }
  h.clock.advance(30min);
  { ASSERT_TRUE(h.get("bpe").ok()); }
  h.clock.advance(1min);
  auto spm = h.get("spm");
  ASSERT_TRUE(spm.ok()) << spm.error().message;
  auto names = h.loaded_names();
  EXPECT_EQ(names, (std::vector<std::string>{"bpe", "spm"}));
  EXPECT_EQ(h.scheduler->status().counters.evictions, 1u);
  EXPECT_TRUE(h.log.contains("unloaded qwen from gpu0: room for spm")) << h.log.all();
  EXPECT_TRUE(h.log.contains("idle 31 min")) << h.log.all();
  EXPECT_TRUE(h.log.contains("kept bpe (reload ~")) << h.log.all();
}

TEST(Scheduler, PinnedModelsAreNeverEvicted) {
  Crowded c;
  Harness h;
  h.start(c.inv, "gpu_reserve: 0\nmodels:\n  qwen: {pinned: true}\n");
  { ASSERT_TRUE(h.get("qwen").ok()); }
  h.clock.advance(30min);  // idle far longer, but pinned
  { ASSERT_TRUE(h.get("bpe").ok()); }
  { ASSERT_TRUE(h.get("spm").ok()); }
  EXPECT_EQ(h.loaded_names(), (std::vector<std::string>{"qwen", "spm"}));
}

TEST(Scheduler, SecondModelOverASliceIsRefusedWhileTheFirstServes) {
  const uint64_t qwen = charge_of("qwen");
  const uint64_t bpe = charge_of("bpe");
  Harness h;
  h.start(testing::scenario_inventory("h100_mig_3x2g.json"),
          "gpu_reserve: 0\nroom_wait: 200ms\nslices:\n  - name: team-a\n"
          "    device: MIG-000000a0-1111-2222-3333-000000000000\n    memory: " +
              bytes_yaml(qwen + bpe / 2) + "\n    apps: [bot]\n");
  auto first = h.get("qwen", "bot");
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_EQ(first->places(), std::vector<std::string>{"slice:team-a"});
  auto second = h.get("bpe", "bot");
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().code, ErrorCode::out_of_range);
  const std::string& msg = second.error().message;
  EXPECT_NE(msg.find("cannot load model bpe: it needs"), std::string::npos) << msg;
  EXPECT_NE(msg.find("weights"), std::string::npos) << msg;
  EXPECT_NE(msg.find("KV cache"), std::string::npos) << msg;
  EXPECT_NE(msg.find("on slice:team-a"), std::string::npos) << msg;
  EXPECT_NE(msg.find("To make it fit:"), std::string::npos) << msg;
  EXPECT_NE(msg.find("bigger GPU, MIG instance or slice"), std::string::npos) << msg;
  // The first keeps serving.
  auto tokens = greedy(*first, "Hello", 3);
  EXPECT_TRUE(tokens.ok());
  EXPECT_EQ(h.scheduler->status().counters.refused_no_room, 1u);
  // Other apps do not get into the slice, and the bot does not get out of it.
  auto other = h.get("bpe", "other-app");
  ASSERT_TRUE(other.ok());
  ASSERT_EQ(other->places().size(), 1u);
  EXPECT_EQ(other->places()[0].rfind("gpu0/mig", 0), 0u) << other->places()[0];
}

TEST(Scheduler, SplitsAModelOverTwoFakeGpusWithTheSameResults) {
  // Two GPUs too small for the model alone: the smallest size (in steps of 5% of what it is
  // charged on one device) where the split works. The tiny model is mostly its token embedding
  // (first device) and output projection (last device, with a chunk's logits), so each device
  // needs well over half.
  const std::string config = "gpu_reserve: 0\ncontext: 32\n";
  const uint64_t need = charge_of("kq", config);
  Harness h;
  uint64_t size = 0;
  std::optional<Lease> lease;
  for (int pct = 50; pct < 100 && !lease; pct += 5) {
    size = need * static_cast<uint64_t>(pct) / 100;
    h.scheduler.reset();
    h.start(testing::small_gpus({size, size}), config);
    auto l = h.get("kq");
    if (l.ok()) lease.emplace(std::move(*l));
  }
  ASSERT_TRUE(lease.has_value()) << h.log.all();
  EXPECT_EQ(lease->places(), (std::vector<std::string>{"gpu0", "gpu1"})) << size << " of " << need;
  EXPECT_EQ(lease->llm().devices().size(), 2u);
  EXPECT_NE(h.loaded("kq")->why.find("split by layers over"), std::string::npos);
  for (const auto& [place, bytes] : h.loaded("kq")->places) EXPECT_LE(bytes, size);
  auto split = greedy(*lease, "Once upon a time", 5);
  ASSERT_TRUE(split.ok()) << split.error().message;
  Harness one;
  one.start(testing::small_gpus({1ull << 30}), config);
  auto whole = one.get("kq");
  ASSERT_TRUE(whole.ok());
  EXPECT_EQ(*split, *greedy(*whole, "Once upon a time", 5));
  lease.reset();
}

TEST(Scheduler, ConcurrentRequestsToDifferentModels) {
  Harness h;
  h.start(testing::small_gpus({1ull << 30}), "gpu_reserve: 0\n");
  std::map<std::string, std::vector<engine::TokenId>> expected;
  for (const char* m : {"qwen", "spm"}) {
    auto l = h.get(m);
    ASSERT_TRUE(l.ok());
    expected[m] = *greedy(*l, "A quick brown fox", 6);
  }
  std::atomic<int> mismatches{0}, failures{0};
  std::vector<std::thread> threads;
  for (const char* m : {"qwen", "spm", "qwen", "spm"}) {
    threads.emplace_back([&, name = std::string(m)] {
      for (int i = 0; i < 3; ++i) {
        auto l = h.get(name);
        if (!l.ok()) {
          ++failures;
          continue;
        }
        auto t = greedy(*l, "A quick brown fox", 6);
        if (!t.ok()) {
          ++failures;
        } else if (*t != expected[name]) {
          ++mismatches;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(mismatches.load(), 0);
  EXPECT_EQ(h.scheduler->status().counters.loads, 2u);
}

TEST(Scheduler, BoundedQueueSaysBusyAndCancelledRequestsLeave) {
  Harness h;
  h.start(testing::small_gpus({1ull << 30}), "gpu_reserve: 0\nmax_queue: 1\nparallel: 1\n");
  auto held = h.get("qwen");
  ASSERT_TRUE(held.ok());
  ModelRequest waiting;
  waiting.model = "qwen";
  std::atomic<bool> done{false};
  Result<Lease> waited = make_error(ErrorCode::invalid_argument, "not run");
  std::thread t([&] {
    waited = h.scheduler->acquire(waiting);
    done = true;
  });
  while (h.scheduler->status().waiting < 1) std::this_thread::sleep_for(1ms);
  auto busy = h.get("qwen");
  ASSERT_FALSE(busy.ok());
  EXPECT_EQ(busy.error().code, ErrorCode::unavailable);
  EXPECT_NE(busy.error().message.find("server busy: 1 requests are waiting (max_queue 1)"),
            std::string::npos)
      << busy.error().message;
  EXPECT_FALSE(done.load());
  waiting.cancel.cancel();
  t.join();
  ASSERT_FALSE(waited.ok());
  EXPECT_EQ(waited.error().code, ErrorCode::cancelled);
  const auto counters = h.scheduler->status().counters;
  EXPECT_EQ(counters.refused_busy, 1u);
  EXPECT_EQ(counters.cancelled, 1u);
  EXPECT_EQ(h.scheduler->status().waiting, 0);
  // A waiting request gets the slot when it frees.
  std::thread t2([&] { waited = h.get("qwen"); });
  while (h.scheduler->status().waiting < 1) std::this_thread::sleep_for(1ms);
  held = make_error(ErrorCode::invalid_argument, "released");
  t2.join();
  EXPECT_TRUE(waited.ok());
}

TEST(Scheduler, KvTokenQuotaKeepsOneAppFromTakingEverySlot) {
  Harness h;
  h.start(testing::small_gpus({1ull << 30}),
          "gpu_reserve: 0\nparallel: 2\nquotas:\n  - {app: bot, kv_tokens: 256}\n"
          "  - {app: tiny, kv_tokens: 100}\n");
  auto a = h.get("qwen", "bot");
  ASSERT_TRUE(a.ok());
  ModelRequest more;
  more.model = "qwen";
  more.app = "bot";
  more.max_wait = 100ms;
  auto b = h.scheduler->acquire(more);
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.error().code, ErrorCode::unavailable);
  // Another app still gets the second slot.
  auto other = h.get("qwen", "support");
  ASSERT_TRUE(other.ok());
  EXPECT_NE(other->sequence(), a->sequence());
  auto tiny = h.get("qwen", "tiny");
  ASSERT_FALSE(tiny.ok());
  EXPECT_EQ(tiny.error().code, ErrorCode::out_of_range);
  EXPECT_NE(tiny.error().message.find("more than the app's quota of 100"), std::string::npos);
}

TEST(Scheduler, MemoryQuotaPerApp) {
  const uint64_t qwen = charge_of("qwen");
  Harness h;
  h.start(testing::small_gpus({1ull << 30}),
          "gpu_reserve: 0\nquotas:\n  - {app: bot, memory: " + bytes_yaml(qwen / 2) +
              "}\n"
              "  - {app: two, memory: " +
              bytes_yaml(qwen + qwen / 2) + "}\n");
  auto r = h.get("qwen", "bot");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::out_of_range);
  EXPECT_NE(r.error().message.find("more than the app's memory quota"), std::string::npos);
  // Within its quota an app makes room among its own idle models.
  { ASSERT_TRUE(h.get("qwen", "two").ok()); }
  { ASSERT_TRUE(h.get("bpe", "two").ok()); }
  EXPECT_EQ(h.loaded_names(), std::vector<std::string>{"bpe"});
  EXPECT_TRUE(h.log.contains("app two needs room within its memory quota")) << h.log.all();
}

TEST(Scheduler, MaxLoadedModelsEvictsTheIdleOne) {
  Harness h;
  h.start(testing::small_gpus({1ull << 30}), "gpu_reserve: 0\nmax_loaded_models: 1\n");
  { ASSERT_TRUE(h.get("qwen").ok()); }
  { ASSERT_TRUE(h.get("spm").ok()); }
  EXPECT_EQ(h.loaded_names(), std::vector<std::string>{"spm"});
  EXPECT_TRUE(h.log.contains("max_loaded_models (1) reached")) << h.log.all();
}

TEST(Scheduler, RuntimeAllocationFailureFailsOnlyThatRequest) {
  Harness h;
  h.start(testing::small_gpus({1ull << 30}), "gpu_reserve: 0\n");
  auto lease = h.get("qwen");
  ASSERT_TRUE(lease.ok());
  // Logits for every token of a long prompt need far more than the model was charged.
  Status s = lease->with_context([&](engine::LlmContext& ctx, int32_t seq) -> Status {
    engine::Batch b;
    for (int32_t i = 0; i < 200; ++i) b.add(1 + i % 50, seq, i, true);
    return ctx.decode(b);
  });
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::out_of_range);
  EXPECT_NE(s.error().message.find("does not fit"), std::string::npos) << s.error().message;
  EXPECT_EQ(h.scheduler->status().counters.runtime_oom, 1u);
  ASSERT_NE(h.loaded("qwen"), nullptr);  // still loaded, still serving
  EXPECT_TRUE(greedy(*lease, "Hello", 3).ok());
}

TEST(Scheduler, BrokenFilesAreRefusedAndTheSchedulerGoesOn) {
  const std::string dir = ::testing::TempDir() + "sched_broken";
  std::filesystem::create_directories(dir);
  {
    std::ifstream in(testing::model_path("qwen2-tiny.gguf"), std::ios::binary);
    std::string head(100000, '\0');
    in.read(head.data(), static_cast<std::streamsize>(head.size()));
    std::ofstream(dir + "/truncated.gguf", std::ios::binary) << head;
    std::ofstream(dir + "/garbage.gguf", std::ios::binary) << "not a model at all";
  }
  Harness h;
  h.models["truncated"] = dir + "/truncated.gguf";
  h.models["garbage"] = dir + "/garbage.gguf";
  h.start(testing::small_gpus({1ull << 30}), "gpu_reserve: 0\n");
  for (const char* m : {"truncated", "garbage"}) {
    auto r = h.get(m);
    ASSERT_FALSE(r.ok()) << m;
    EXPECT_EQ(r.error().code, ErrorCode::malformed) << r.error().message;
    EXPECT_NE(r.error().message.find(std::string("model ") + m + " ("), std::string::npos);
    EXPECT_NE(r.error().message.find("cannot be loaded"), std::string::npos);
  }
  auto missing = h.get("nope");
  EXPECT_EQ(missing.error().code, ErrorCode::not_found);
  EXPECT_TRUE(h.get("qwen").ok());
  EXPECT_EQ(h.scheduler->status().counters.load_failures, 3u);
  std::filesystem::remove_all(dir);
}

TEST(Scheduler, ServesFromTheModelStoreWhereBrokenFilesStayBroken) {
  const std::string dir = ::testing::TempDir() + "sched_store";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  std::filesystem::copy_file(testing::model_path("llama-spm-tiny-q4_0.gguf"), dir + "/spm.gguf");
  std::ofstream(dir + "/cut.gguf", std::ios::binary) << "GGUF\x03\0\0\0";
  testing::LogLines log;
  SchedulerOptions o;
  o.places = build_places(testing::small_gpus({1ull << 30}), SchedulerConfig{}, 0).value();
  o.resolve = store_resolver(dir);
  o.make_backend = [](const Place&) -> Result<std::shared_ptr<backend::Backend>> {
    return backend::make_cpu_backend();
  };
  o.background = false;
  o.log = log.sink();
  auto s = Scheduler::create(std::move(o));
  ASSERT_TRUE(s.ok());
  ModelRequest r;
  r.model = "cut";
  auto cut = (*s)->acquire(r);
  ASSERT_FALSE(cut.ok());
  EXPECT_EQ(cut.error().code, ErrorCode::malformed) << cut.error().message;
  r.model = "../spm";
  auto escape = (*s)->acquire(r);
  ASSERT_FALSE(escape.ok());
  EXPECT_EQ(escape.error().code, ErrorCode::invalid_argument) << escape.error().message;
  r.model = "spn";
  auto typo = (*s)->acquire(r);
  ASSERT_FALSE(typo.ok());
  EXPECT_NE(typo.error().message.find("spm"), std::string::npos) << typo.error().message;
  r.model = "spm";
  auto spm = (*s)->acquire(r);
  ASSERT_TRUE(spm.ok()) << spm.error().message;
  EXPECT_TRUE(greedy(*spm, "Hello", 2).ok());
  spm = make_error(ErrorCode::cancelled, "done");
  s->reset();
  std::filesystem::remove_all(dir);
}

TEST(Scheduler, AModelThatFitsNowhereGetsTheExplainedError) {
  const uint64_t need = testing::estimate("qwen");
  Harness h;
  h.start(testing::small_gpus({need / 2}), "gpu_reserve: 0\n");
  auto r = h.get("qwen");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::out_of_range);
  const std::string& msg = r.error().message;
  EXPECT_NE(msg.find("cannot load model qwen: it needs " + format_bytes(need)), std::string::npos)
      << msg;
  EXPECT_NE(msg.find("largest space is " + format_bytes(need / 2) + " on gpu0"), std::string::npos)
      << msg;
  EXPECT_TRUE(h.log.contains("cannot load model qwen"));
  EXPECT_TRUE(h.loaded_names().empty());
}

std::string run(const std::string& command) {
  std::string out;
  FILE* p = popen(command.c_str(), "r");
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  pclose(p);
  return out;
}

TEST(Scheduler, PublishesItsStatusForTesseraPs) {
  const std::string data = ::testing::TempDir() + "sched_ps";
  std::filesystem::remove_all(data);
  std::filesystem::create_directories(data + "/run");
  Harness h;
  h.status_file = status_file_path(data + "/run", static_cast<int>(getpid()));
  h.start(testing::small_gpus({1ull << 30}), "gpu_reserve: 0\nkeep_alive: 5m\n");
  { ASSERT_TRUE(h.get("qwen").ok()); }
  auto held = h.get("spm");
  h.scheduler->tick();
  ASSERT_TRUE(std::filesystem::exists(h.status_file));
  const std::string ps = std::string(TESSERA_BIN) + " ps --data-dir " + data;
  const nlohmann::json j = nlohmann::json::parse(run(ps + " --json"));
  ASSERT_EQ(j["processes"].size(), 1u) << j.dump();
  const auto& proc = j["processes"][0];
  EXPECT_EQ(proc["pid"], static_cast<int>(getpid()));
  ASSERT_EQ(proc["models"].size(), 2u);
  const auto& qwen = proc["models"][0];
  EXPECT_EQ(qwen["name"], "qwen");
  EXPECT_EQ(qwen["places"][0]["id"], "gpu0");
  EXPECT_EQ(qwen["context"], 256);
  EXPECT_EQ(qwen["keep_alive"], "5m");
  EXPECT_NE(qwen["until"].get<std::string>().find("from now"), std::string::npos) << qwen;
  EXPECT_EQ(proc["models"][1]["until"], "in use");
  EXPECT_EQ(proc["counters"]["loads"], 2);
  const std::string table = run(ps);
  EXPECT_NE(table.find("NAME"), std::string::npos) << table;
  EXPECT_NE(table.find("qwen"), std::string::npos) << table;
  EXPECT_NE(table.find("in use"), std::string::npos) << table;
  held = make_error(ErrorCode::cancelled, "done");
  h.scheduler.reset();  // stops: the file goes
  EXPECT_FALSE(std::filesystem::exists(h.status_file));
  EXPECT_NE(run(ps).find("no serving process"), std::string::npos);
  std::filesystem::remove_all(data);
}

TEST(Scheduler, PsReadsForeignOrBrokenStatusFilesWithoutCrashing) {
  const std::string data = ::testing::TempDir() + "sched_ps_bad";
  std::filesystem::remove_all(data);
  std::filesystem::create_directories(data + "/run");
  // Files named after live processes (this one and its parent) but not as a scheduler writes.
  std::ofstream(status_file_path(data + "/run", static_cast<int>(getpid())))
      << R"({"models":[{"name":7,"state":5,"places":"x","bytes":"big","expires_at":"soon"}]})";
  std::ofstream(status_file_path(data + "/run", static_cast<int>(getppid()))) << R"({"models":3})";
  std::ofstream(data + "/run/123.json.tmp") << "{half";
  const std::string ps = std::string(TESSERA_BIN) + " ps --data-dir " + data;
  const std::string table = run(ps + "; echo rc=$?");
  EXPECT_NE(table.find("rc=0"), std::string::npos) << table;
  EXPECT_NE(table.find("?"), std::string::npos) << table;
  const std::string json = run(ps + " --json");
  const auto j = nlohmann::json::parse(json, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << json;
  ASSERT_EQ(j["processes"].size(), 1u) << json;  // the {"models":3} file is skipped
  EXPECT_EQ(j["processes"][0]["models"][0]["until"], "?");
  std::filesystem::remove_all(data);
}

}  // namespace
}  // namespace tessera::runtime
