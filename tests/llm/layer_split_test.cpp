// A model split by layers over several devices: the plan (which layers go where, and the error
// when the model fits no combination), then models split over CPU backends with memory limits
// standing in for devices: the same logits, bit for bit, as on one backend (same kernels), each
// device holding only its share, and nothing left allocated after a failure.
#include "engine/llm/layer_split.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "backend/cpu/cpu_backend.h"
#include "engine/llm/weight_placement.h"
#include "llm_test_util.h"

namespace tessera::test {
namespace {

using engine::DeviceLayers;
using engine::kNoLimit;
using engine::LayerSplitNeeds;
using engine::plan_layer_split;
using engine::SplitDevice;

// ---- The plan.

// Four layers of 100 bytes of weights and 10 of KV cache; embedding 50, output 40, 5 bytes
// of activations per device.
LayerSplitNeeds four_layers() {
  LayerSplitNeeds n;
  n.layer_bytes = {100, 100, 100, 100};
  n.first_bytes = 50;
  n.last_bytes = 40;
  n.layer_context_bytes = 10;
  n.device_bytes = 5;
  return n;
}
constexpr uint64_t kAll = 4 * 110 + 50 + 40 + 5;  // everything on one device

std::vector<SplitDevice> devices(const std::vector<uint64_t>& free) {
  std::vector<SplitDevice> d;
  for (size_t i = 0; i < free.size(); ++i) d.push_back({"dev" + std::to_string(i), free[i]});
  return d;
}

// The ranges of a plan, e.g. {{0, 2}, {2, 4}}.
std::vector<std::pair<int64_t, int64_t>> ranges(const std::vector<DeviceLayers>& plan) {
  std::vector<std::pair<int64_t, int64_t>> r;
  for (const DeviceLayers& d : plan) r.emplace_back(d.begin, d.end);
  return r;
}
using Ranges = std::vector<std::pair<int64_t, int64_t>>;

TEST(LayerSplitPlanTest, AModelThatFitsTheFirstDeviceStaysThere) {
  const auto plan = plan_layer_split(four_layers(), devices({kAll, 1000}));
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  EXPECT_EQ(ranges(*plan), (Ranges{{0, 4}, {4, 4}}));
  EXPECT_EQ((*plan)[0].bytes, kAll);
  EXPECT_TRUE((*plan)[1].empty());
  EXPECT_EQ((*plan)[1].bytes, 0u);
}

TEST(LayerSplitPlanTest, LayersSpillToTheNextDeviceInOrder) {
  // Device 0: activations 5 + embedding 50 + two layers 220 = 275, a third would need 385.
  const auto plan = plan_layer_split(four_layers(), devices({300, 1000}));
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  EXPECT_EQ(ranges(*plan), (Ranges{{0, 2}, {2, 4}}));
  EXPECT_EQ((*plan)[0].bytes, 275u);
  EXPECT_EQ((*plan)[1].bytes, 5u + 220 + 40);
}

TEST(LayerSplitPlanTest, ExactFitsAreUsedAndOneByteLessIsNot) {
  auto plan = plan_layer_split(four_layers(), devices({kAll, 0}));
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  EXPECT_EQ(ranges(*plan), (Ranges{{0, 4}, {4, 4}}));

  plan = plan_layer_split(four_layers(), devices({kAll - 1, kNoLimit}));
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  EXPECT_EQ(ranges(*plan), (Ranges{{0, 3}, {3, 4}}));  // the last layer goes with the output

  plan = plan_layer_split(four_layers(), devices({275, 275 - 50 + 40}));  // both exactly full
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  EXPECT_EQ(ranges(*plan), (Ranges{{0, 2}, {2, 4}}));
  EXPECT_EQ((*plan)[1].bytes, 265u);
}

TEST(LayerSplitPlanTest, ALayerTooBigForEveryDeviceIsAnErrorWithTheSizes) {
  LayerSplitNeeds n = four_layers();
  n.layer_bytes[2] = 5000;
  const auto plan = plan_layer_split(n, devices({1000, 2000}));
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.error().code, ErrorCode::out_of_range);
  const std::string& m = plan.error().message;
  EXPECT_NE(m.find("layer 2 of 4 needs 5000 bytes of weights + 10 of KV cache"), std::string::npos)
      << m;
  EXPECT_NE(m.find("dev0: 1000 bytes free, layers 0-1 (275 bytes)"), std::string::npos) << m;
  EXPECT_NE(m.find("dev1: 2000 bytes free, no layers"), std::string::npos) << m;
}

TEST(LayerSplitPlanTest, TheEmbeddingAndOutputCountWithTheirLayers) {
  // Layer 0 with the embedding (165 + 5) does not fit device 0: it gets nothing.
  auto plan = plan_layer_split(four_layers(), devices({160, kNoLimit}));
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  EXPECT_EQ(ranges(*plan), (Ranges{{0, 0}, {0, 4}}));

  // The output does not fit after layer 3 on device 1: layer 3 moves on with it.
  plan = plan_layer_split(four_layers(), devices({275, 5 + 110 + 110 + 39, kNoLimit}));
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  EXPECT_EQ(ranges(*plan), (Ranges{{0, 2}, {2, 3}, {3, 4}}));

  // Too big an embedding: the message says so.
  LayerSplitNeeds n = four_layers();
  n.first_bytes = 10000;
  const auto err = plan_layer_split(n, devices({1000, 1000}));
  ASSERT_FALSE(err.ok());
  EXPECT_NE(err.error().message.find("layer 0 of 4 needs 100 bytes of weights + 10 of KV cache + "
                                     "10000 of token embedding"),
            std::string::npos)
      << err.error().message;
}

TEST(LayerSplitPlanTest, DevicesWithNoRoomGetNothing) {
  auto plan = plan_layer_split(four_layers(), devices({0, 300, 0, kNoLimit}));
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  EXPECT_EQ(ranges(*plan), (Ranges{{0, 0}, {0, 2}, {2, 2}, {2, 4}}));

  const auto none = plan_layer_split(four_layers(), devices({0, 0}));
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code, ErrorCode::out_of_range);
  EXPECT_NE(none.error().message.find("layer 0 of 4"), std::string::npos);
  EXPECT_NE(none.error().message.find("dev1: 0 bytes free, no layers"), std::string::npos);
}

TEST(LayerSplitPlanTest, DevicesNotNeededGetNothing) {
  const auto plan = plan_layer_split(four_layers(), devices({300, kNoLimit, kNoLimit, 7}));
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  EXPECT_EQ(ranges(*plan), (Ranges{{0, 2}, {2, 4}, {4, 4}, {4, 4}}));
  EXPECT_EQ((*plan)[2].bytes, 0u);
  EXPECT_EQ((*plan)[3].bytes, 0u);
}

TEST(LayerSplitPlanTest, OneLayerModelsAndBadArguments) {
  LayerSplitNeeds one;
  one.layer_bytes = {100};
  one.first_bytes = 1;
  one.last_bytes = 2;
  const auto plan = plan_layer_split(one, devices({102, 103}));
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  EXPECT_EQ(ranges(*plan), (Ranges{{0, 0}, {0, 1}}));

  EXPECT_EQ(plan_layer_split(LayerSplitNeeds{}, devices({1})).error().code,
            ErrorCode::invalid_argument);
  EXPECT_EQ(plan_layer_split(one, {}).error().code, ErrorCode::invalid_argument);
  one.layer_bytes = {kNoLimit - 1};  // sizes past 2^64 never fit, even with no limit
  EXPECT_EQ(plan_layer_split(one, devices({kNoLimit})).error().code, ErrorCode::out_of_range);
}

// Every plan covers the layers with contiguous runs in device order, within each device's
// room, and a device was left only when the next layer did not fit it.
TEST(LayerSplitPlanTest, PlansAreContiguousWithinRoomAndGreedy) {
  LayerSplitNeeds n;
  for (int l = 0; l < 9; ++l) n.layer_bytes.push_back(40 + 13 * static_cast<uint64_t>(l % 4));
  n.first_bytes = 30;
  n.last_bytes = 25;
  n.layer_context_bytes = 7;
  n.device_bytes = 3;
  int planned = 0;
  for (uint64_t a = 0; a < 400; a += 17) {
    for (uint64_t b = 0; b < 400; b += 23) {
      const std::vector<uint64_t> free = {a, b, 150};
      const auto plan = plan_layer_split(n, devices(free));
      if (!plan.ok()) continue;
      ++planned;
      int64_t next = 0;
      for (size_t d = 0; d < plan->size(); ++d) {
        const DeviceLayers& p = (*plan)[d];
        EXPECT_LE(p.bytes, free[d]);
        EXPECT_EQ(p.begin, next) << "a " << a << " b " << b;
        next = p.end;
        if (p.empty() || p.end == 9) continue;
        // Left for the next device only because its next layer did not fit.
        const uint64_t cost = n.layer_bytes[static_cast<size_t>(p.end)] + n.layer_context_bytes +
                              (p.end == 8 ? n.last_bytes : 0);
        EXPECT_GT(cost, free[d] - p.bytes) << "a " << a << " b " << b;
      }
      EXPECT_EQ(next, 9) << "a " << a << " b " << b;
    }
  }
  EXPECT_GT(planned, 40);
}

// ---- Models split over CPU backends.

constexpr int64_t kPromptEntries = 12;  // both prompts, every entry wants logits

engine::ContextOptions context_options() {
  engine::ContextOptions o;
  o.n_ctx = 64;
  o.n_seq_max = 2;
  o.kv_type = backend::KvType::f32;
  o.n_threads = 1;
  o.n_batch = 8;  // the prompts run in two chunks, each crossing every device boundary
  return o;
}

using Logits = std::vector<std::vector<float>>;

// Two sequences: prompts of 7 and 5 tokens in one batch, then 4 steps of one token each
// (greedy), both in one batch. Every row of logits, in order.
Logits run_two_sequences(const std::shared_ptr<const engine::LlmModel>& model) {
  Logits out;
  auto ctx = engine::LlmContext::create(model, context_options());
  EXPECT_TRUE(ctx.ok()) << ctx.error().message;
  if (!ctx.ok()) return out;
  const std::vector<std::vector<engine::TokenId>> prompts = {
      {1, 450, 4996, 17354, 1701, 29916, 432}, {1, 15043, 29892, 920, 526}};
  engine::Batch batch;
  for (int32_t s = 0; s < 2; ++s) {
    for (size_t i = 0; i < prompts[s].size(); ++i) {
      batch.add(prompts[s][i], s, static_cast<int32_t>(i), true);
    }
  }
  EXPECT_EQ(static_cast<int64_t>(batch.size()), kPromptEntries);
  std::vector<int32_t> last = {6, 11};  // batch entry of each sequence's last token
  std::vector<int32_t> length = {7, 5};
  for (int step = 0; step <= 4; ++step) {
    const Status st = (*ctx)->decode(batch);
    EXPECT_TRUE(st.ok()) << st.error().message;
    if (!st.ok()) return out;
    for (size_t i = 0; i < batch.size(); ++i) {
      const std::span<const float> row = (*ctx)->logits(i);
      out.emplace_back(row.begin(), row.end());
    }
    std::vector<engine::TokenId> next = {argmax((*ctx)->logits(static_cast<size_t>(last[0]))),
                                         argmax((*ctx)->logits(static_cast<size_t>(last[1])))};
    batch.clear();
    for (int32_t s = 0; s < 2; ++s) batch.add(next[s], s, length[s]++, true);
    last = {0, 1};
  }
  return out;
}

void expect_same_bits(const Logits& got, const Logits& want) {
  ASSERT_EQ(got.size(), want.size());
  ASSERT_EQ(got.size(), static_cast<size_t>(kPromptEntries + 2 * 4));
  for (size_t r = 0; r < want.size(); ++r) {
    ASSERT_EQ(got[r].size(), want[r].size());
    ASSERT_FALSE(want[r].empty());
    EXPECT_EQ(std::memcmp(got[r].data(), want[r].data(), want[r].size() * sizeof(float)), 0)
        << "row " << r;
  }
}

// What the split of `path` needs (the loader's own figures), for limits that force a split.
LayerSplitNeeds needs_of(const std::string& path) {
  auto f = gguf::GgufFile::open(path);
  EXPECT_TRUE(f.ok());
  auto m = load_model_file(path, 1);
  auto needs = engine::split_needs(
      *f, m->hparams(), m->file().find_tensor("output.weight") == nullptr, context_options());
  EXPECT_TRUE(needs.ok()) << needs.error().message;
  return *needs;
}

// The room device d needs for layers [begin, end) of a model of n layers, by the plan's rules.
uint64_t room_for(const LayerSplitNeeds& n, int64_t begin, int64_t end) {
  uint64_t bytes = n.device_bytes;
  for (int64_t l = begin; l < end; ++l) {
    bytes += n.layer_bytes[static_cast<size_t>(l)] + n.layer_context_bytes;
  }
  if (begin == 0) bytes += n.first_bytes;
  if (end == static_cast<int64_t>(n.layer_bytes.size())) bytes += n.last_bytes;
  return bytes;
}

// The prompt batch asks for 12 rows of logits, the plan counts one chunk's (8).
uint64_t extra_logits(const engine::LlmModel& m) {
  return static_cast<uint64_t>(kPromptEntries - context_options().n_batch) *
         static_cast<uint64_t>(m.n_vocab()) * sizeof(float);
}

std::vector<std::shared_ptr<backend::Backend>> cpu_backends(const std::vector<uint64_t>& limits) {
  std::vector<std::shared_ptr<backend::Backend>> b;
  for (uint64_t limit : limits) {
    b.push_back(backend::make_cpu_backend());
    b.back()->set_memory_limit(limit);
  }
  return b;
}

Result<std::shared_ptr<const engine::LlmModel>> load_split(
    const std::string& path, const std::vector<std::shared_ptr<backend::Backend>>& backends) {
  engine::LoadOptions o;
  o.n_threads = 1;
  o.backends = backends;
  o.split_context = context_options();
  return engine::LlmModel::load(path, o);
}

// Bytes of the tensors a device holding layers [begin, end) of n reads: as stored, and with
// the file's alignment padding (what one run spanning them may include).
std::pair<uint64_t, uint64_t> share_bytes(const gguf::GgufFile& f, int64_t begin, int64_t end,
                                          int64_t n_layer) {
  uint64_t exact = 0, padded = 0;
  for (const gguf::TensorInfo& t : f.tensors()) {
    const std::string name(t.name);
    bool mine = false;
    for (int64_t l = begin; l < end; ++l)
      mine |= name.starts_with("blk." + std::to_string(l) + ".");
    if (name == "token_embd.weight") {
      mine = begin == 0 || (end == n_layer && f.find_tensor("output.weight") == nullptr);
    }
    if (name == "output_norm.weight" || name == "output.weight") mine = end == n_layer;
    if (!mine) continue;
    exact += t.n_bytes;
    padded += (t.n_bytes + f.alignment() - 1) / f.alignment() * f.alignment();
  }
  return {exact, padded};
}

// Each device holds its layers' weights and nothing of the others'.
void expect_shares(const engine::LlmModel& m) {
  for (const engine::ModelDevice& d : m.devices()) {
    const auto [exact, padded] = share_bytes(m.file(), d.layer_begin, d.layer_end, m.n_layer());
    const uint64_t in_use = d.backend->memory().in_use();
    EXPECT_GE(in_use, exact) << "layers " << d.layer_begin << "-" << d.layer_end;
    EXPECT_LE(in_use, padded) << "layers " << d.layer_begin << "-" << d.layer_end;
    EXPECT_EQ(d.backend->memory().allocated, 0u);  // F32 weights: used in place, no copies
  }
}

class LayerSplitModelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = model_path("llama-spm-tiny");  // F32, 3 layers, output tied to the embedding
    reference_ = run_two_sequences(load_model_file(path_, 1));
    needs_ = needs_of(path_);
  }
  std::string path_;
  Logits reference_;
  LayerSplitNeeds needs_;
};

TEST_F(LayerSplitModelTest, TwoDevicesGiveTheSameLogitsAndHoldTheirShare) {
  auto be = cpu_backends({room_for(needs_, 0, 1), room_for(needs_, 1, 3)});
  auto m = load_split(path_, be);
  ASSERT_TRUE(m.ok()) << m.error().message;
  ASSERT_EQ((*m)->devices().size(), 2u);
  EXPECT_EQ((*m)->devices()[0].layer_end, 1);
  EXPECT_EQ((*m)->devices()[1].layer_begin, 1);
  EXPECT_EQ((*m)->devices()[1].layer_end, 3);
  expect_shares(**m);

  be[1]->set_memory_limit(room_for(needs_, 1, 3) + extra_logits(**m));
  expect_same_bits(run_two_sequences(*m), reference_);
  EXPECT_EQ(be[0]->memory().allocated, 0u);  // the context is gone
  expect_shares(**m);
}

TEST_F(LayerSplitModelTest, ThreeDevicesGiveTheSameLogitsAndHoldTheirShare) {
  auto be = cpu_backends({room_for(needs_, 0, 1), room_for(needs_, 1, 2), room_for(needs_, 2, 3)});
  auto m = load_split(path_, be);
  ASSERT_TRUE(m.ok()) << m.error().message;
  ASSERT_EQ((*m)->devices().size(), 3u);
  for (int64_t d = 0; d < 3; ++d) {
    EXPECT_EQ((*m)->devices()[static_cast<size_t>(d)].layer_begin, d);
    EXPECT_EQ((*m)->devices()[static_cast<size_t>(d)].layer_end, d + 1);
  }
  expect_shares(**m);
  be[2]->set_memory_limit(room_for(needs_, 2, 3) + extra_logits(**m));

  {
    auto ctx = engine::LlmContext::create(*m, context_options());
    ASSERT_TRUE(ctx.ok()) << ctx.error().message;
    uint64_t allocated = 0;
    for (const auto& b : be) {
      EXPECT_GT(b->memory().allocated, 0u);  // a KV cache and activations on every device
      allocated += b->memory().allocated;
    }
    EXPECT_EQ(allocated, (*ctx)->backend_bytes());
  }

  expect_same_bits(run_two_sequences(*m), reference_);
}

TEST_F(LayerSplitModelTest, OneBackendInTheListIsTheSameAsBackend) {
  auto be = cpu_backends({0});
  auto m = load_split(path_, be);
  ASSERT_TRUE(m.ok()) << m.error().message;
  ASSERT_EQ((*m)->devices().size(), 1u);
  EXPECT_EQ(be[0]->memory().in_use(), (*m)->file().tensor_data_size());  // imported whole
  expect_same_bits(run_two_sequences(*m), reference_);
}

TEST_F(LayerSplitModelTest, DevicesWithoutRoomOrNotNeededGetNothing) {
  // Device 1 has no room left for a layer; device 3 is not needed.
  auto be = cpu_backends({room_for(needs_, 0, 1), 1000, 0, 0});
  auto m = load_split(path_, be);
  ASSERT_TRUE(m.ok()) << m.error().message;
  ASSERT_EQ((*m)->devices().size(), 2u);
  EXPECT_EQ((*m)->devices()[0].backend, be[0]);
  EXPECT_EQ((*m)->devices()[1].backend, be[2]);
  EXPECT_EQ((*m)->devices()[1].layer_begin, 1);
  EXPECT_EQ(be[1]->memory().in_use(), 0u);
  EXPECT_EQ(be[3]->memory().in_use(), 0u);
  expect_same_bits(run_two_sequences(*m), reference_);
  EXPECT_EQ(be[3]->memory().in_use(), 0u);
}

TEST_F(LayerSplitModelTest, AModelThatFitsNoCombinationIsRefusedWithNothingLeft) {
  auto be = cpu_backends({room_for(needs_, 0, 1), room_for(needs_, 1, 3) - 1});
  auto m = load_split(path_, be);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.error().code, ErrorCode::out_of_range);
  const std::string& msg = m.error().message;
  EXPECT_NE(msg.find("does not fit the 2 devices given: layer 2 of 3"), std::string::npos) << msg;
  EXPECT_NE(msg.find("device 0 (cpu): " + std::to_string(room_for(needs_, 0, 1)) +
                     " bytes free, layers 0-0"),
            std::string::npos)
      << msg;
  EXPECT_NE(msg.find("device 1 (cpu): " + std::to_string(room_for(needs_, 1, 3) - 1) +
                     " bytes free, layers 1-1"),
            std::string::npos)
      << msg;
  for (const auto& b : be) EXPECT_EQ(b->memory().in_use(), 0u);

  auto tiny = cpu_backends({1 << 20, 1 << 20, 1 << 20});  // the embedding alone is 8 MB
  m = load_split(path_, tiny);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.error().message.find("layer 0 of 3"), std::string::npos) << m.error().message;
  for (const auto& b : tiny) EXPECT_EQ(b->memory().in_use(), 0u);
}

TEST_F(LayerSplitModelTest, AContextLargerThanPlannedIsRefusedWithNothingLeft) {
  auto be = cpu_backends({room_for(needs_, 0, 1), room_for(needs_, 1, 3)});
  auto m = load_split(path_, be);
  ASSERT_TRUE(m.ok()) << m.error().message;
  std::vector<uint64_t> loaded;
  for (const auto& b : be) loaded.push_back(b->memory().in_use());
  engine::ContextOptions big = context_options();
  big.n_ctx *= 2;
  auto ctx = engine::LlmContext::create(*m, big);
  ASSERT_FALSE(ctx.ok());
  EXPECT_EQ(ctx.error().code, ErrorCode::out_of_range);
  for (size_t d = 0; d < be.size(); ++d) EXPECT_EQ(be[d]->memory().in_use(), loaded[d]);
}

TEST_F(LayerSplitModelTest, BadBackendListsAreRefused) {
  auto be = cpu_backends({0, 0});
  engine::LoadOptions o;
  o.backends = {be[0], be[0]};
  EXPECT_EQ(engine::LlmModel::load(path_, o).error().code, ErrorCode::invalid_argument);
  o.backends = {be[0], nullptr};
  EXPECT_EQ(engine::LlmModel::load(path_, o).error().code, ErrorCode::invalid_argument);
  o.backends = be;
  o.backend = be[0];
  EXPECT_EQ(engine::LlmModel::load(path_, o).error().code, ErrorCode::invalid_argument);
  engine::LoadOptions enc;
  enc.backends = be;
  auto e = engine::EncoderModel::load(model_path("bert-tiny"), enc);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().code, ErrorCode::unsupported);
}

// A copy of the model with its tensors in reverse file order (so each device's tensors are
// not where layer order puts them) and an output projection of its own (not tied).
void write_reversed_untied(const std::string& src, const std::string& dst) {
  auto file = gguf::GgufFile::open(src);
  ASSERT_TRUE(file.ok());
  gguf::Writer w(file->alignment());
  for (const auto& e : file->metadata()) w.set(e.key, e.value);
  const gguf::TensorInfo* embd = file->find_tensor("token_embd.weight");
  ASSERT_NE(embd, nullptr);
  std::vector<std::pair<std::string, const gguf::TensorInfo*>> order;
  for (const auto& t : file->tensors()) order.emplace_back(std::string(t.name), &t);
  std::reverse(order.begin(), order.end());
  order.insert(order.begin() + 1, {"output.weight", embd});
  for (const auto& [name, t] : order) {
    const std::vector<int64_t> ne(t->ne.begin(), t->ne.begin() + t->n_dims);
    ASSERT_TRUE(w.add_tensor(name, t->type, ne, {t->data, t->n_bytes}).ok()) << name;
  }
  ASSERT_TRUE(w.write(dst).ok());
}

TEST_F(LayerSplitModelTest, TensorsInAnyFileOrderAndAnUntiedOutputSplitTheSame) {
  TempDir dir;
  const std::string path = dir.file("reversed.gguf");
  write_reversed_untied(path_, path);
  const LayerSplitNeeds needs = needs_of(path);
  auto be = cpu_backends({room_for(needs, 0, 1), room_for(needs, 1, 2), room_for(needs, 2, 3)});
  auto m = load_split(path, be);
  ASSERT_TRUE(m.ok()) << m.error().message;
  ASSERT_NE((*m)->file().find_tensor("output.weight"), nullptr);
  ASSERT_EQ((*m)->devices().size(), 3u);
  expect_shares(**m);
  EXPECT_LT(be[1]->memory().in_use(), 1u << 20);  // no embedding in the middle
  be[2]->set_memory_limit(room_for(needs, 2, 3) + extra_logits(**m));
  expect_same_bits(run_two_sequences(*m), reference_);
}

TEST_F(LayerSplitModelTest, AFailedDecodeOnASplitModelChangesNothing) {
  TempDir dir;
  const std::string path = dir.file("nan.gguf");
  copy_model(
      path_, path, [](const gguf::TensorInfo&, std::vector<int64_t>&) { return true; },
      "blk.2.ffn_norm.weight");
  const LayerSplitNeeds needs = needs_of(path);
  auto be = cpu_backends({room_for(needs, 0, 2), 0});
  auto m = load_split(path, be);
  ASSERT_TRUE(m.ok()) << m.error().message;
  ASSERT_EQ((*m)->devices().size(), 2u);
  auto ctx = engine::LlmContext::create(*m, context_options());
  ASSERT_TRUE(ctx.ok()) << ctx.error().message;
  engine::Batch b;
  for (int32_t i = 0; i < 10; ++i) b.add(1 + i, i % 2, i / 2, true);
  for (int attempt = 0; attempt < 2; ++attempt) {
    const Status st = (*ctx)->decode(b);
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.error().code, ErrorCode::malformed);
    EXPECT_NE(st.error().message.find("the batch was not applied"), std::string::npos);
    EXPECT_EQ((*ctx)->n_cells_used(), 0);
    EXPECT_EQ((*ctx)->sequence_length(0), 0);
    EXPECT_EQ((*ctx)->sequence_length(1), 0);
    EXPECT_TRUE((*ctx)->logits(0).empty());
  }
}

}  // namespace
}  // namespace tessera::test
