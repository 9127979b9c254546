// Continuous batching on the tiny test models: 16 concurrent requests give the same text as
// each alone (greedy and seeded), they were batched, a cancelled one does not disturb the
// others, one app's long prompts do not delay another app's first token, and every finish
// reason ends a sequence where it should.
#include "runtime/batcher.h"

#include <gtest/gtest.h>

#include <atomic>
#include <iostream>
#include <latch>
#include <map>
#include <thread>

#include "runtime/sched_test_util.h"

namespace tessera::runtime {
namespace {

constexpr int kSeqs = 16;
constexpr int64_t kSeqTokens = 256;

struct Model {
  std::shared_ptr<const engine::LlmModel> llm;
  std::unique_ptr<engine::LlmContext> ctx;
  std::mutex mu;
};

Model& model(const std::string& file) {
  static std::map<std::string, std::unique_ptr<Model>> models;
  auto& m = models[file];
  if (!m) {
    m = std::make_unique<Model>();
    auto llm = engine::LlmModel::load(testing::model_path(file));
    EXPECT_TRUE(llm.ok()) << llm.error().message;
    m->llm = *llm;
    engine::ContextOptions o;
    o.n_seq_max = kSeqs;
    o.n_ctx = kSeqs * kSeqTokens;
    auto ctx = engine::LlmContext::create(m->llm, o);
    EXPECT_TRUE(ctx.ok()) << ctx.error().message;
    m->ctx = std::move(*ctx);
  }
  return *m;
}

BatcherOptions slot_options() {
  BatcherOptions o;
  o.max_sequence_tokens = kSeqTokens;
  return o;
}

GenerationRequest request(const Model& m, int i, int32_t max_tokens = 20) {
  GenerationRequest r;
  std::string text = "Request ";
  text.append(std::to_string(i)).append(i % 3 == 0 ? ": once upon a time" : ": the weather is");
  r.prompt = m.llm->tokenizer().encode(text);
  r.sampling.max_tokens = max_tokens;
  r.sampling.ignore_eos = true;  // every request runs its full length
  if (i % 2 == 0) {
    r.sampling.temperature = 0;
  } else {
    r.sampling.temperature = 0.9f;
    r.sampling.seed = 1000 + static_cast<uint64_t>(i);
  }
  r.app = i % 2 == 0 ? "even" : "odd";
  return r;
}

// The request alone in a batcher of its own.
GenerationResult solo(Model& m, const GenerationRequest& r, BatcherOptions o = slot_options()) {
  Batcher b(*m.ctx, m.mu, std::move(o));
  auto res = b.generate(0, r, nullptr);
  EXPECT_TRUE(res.ok()) << res.error().message;
  return res.ok() ? *res : GenerationResult{};
}

class BatcherModels : public ::testing::TestWithParam<std::string> {};

TEST_P(BatcherModels, ConcurrentRequestsMatchTheirSoloRuns) {
  Model& m = model(GetParam());
  std::vector<GenerationResult> expected;
  for (int i = 0; i < kSeqs; ++i) expected.push_back(solo(m, request(m, i)));

  std::mutex steps_mu;
  std::vector<BatcherStep> steps;
  BatcherOptions o = slot_options();
  o.on_step = [&](const BatcherStep& s) {
    std::lock_guard<std::mutex> lock(steps_mu);
    steps.push_back(s);
  };
  Batcher b(*m.ctx, m.mu, o);
  std::vector<Result<GenerationResult>> got(kSeqs, Error{ErrorCode::cancelled, "not run"});
  std::vector<std::string> streamed(kSeqs);
  std::latch start(kSeqs);
  std::vector<std::thread> threads;
  for (int i = 0; i < kSeqs; ++i) {
    threads.emplace_back([&, i] {
      start.arrive_and_wait();
      got[static_cast<size_t>(i)] = b.generate(i, request(m, i), [&](const TokenPiece& p) {
        streamed[static_cast<size_t>(i)] += p.text;
        return true;
      });
    });
  }
  for (auto& t : threads) t.join();
  std::lock_guard<std::mutex> steps_lock(steps_mu);  // the worker reports after answering
  for (size_t i = 0; i < kSeqs; ++i) {
    ASSERT_TRUE(got[i].ok()) << got[i].error().message;
    EXPECT_EQ(got[i]->tokens, expected[i].tokens) << "request " << i;
    EXPECT_EQ(got[i]->text, expected[i].text) << "request " << i;
    EXPECT_EQ(streamed[i], got[i]->text);
    EXPECT_EQ(got[i]->finish, GenerationFinish::length);
    EXPECT_EQ(got[i]->completion_tokens, 20);
    EXPECT_EQ(got[i]->inter_token_ms.size(), 19u);
    EXPECT_GT(got[i]->time_to_first_token_ms, 0.0);
  }
  int max_seqs = 0;
  for (const BatcherStep& s : steps) max_seqs = std::max(max_seqs, s.sequences);
  EXPECT_GT(max_seqs, 1) << "no step batched two sequences";
  EXPECT_EQ(b.counters().max_sequences, max_seqs);
  // Each step reports the cells in use once its finished sequences left.
  int64_t max_cells = 0;
  for (const BatcherStep& s : steps) {
    EXPECT_EQ(s.kv_cells, m.ctx->n_ctx());
    EXPECT_EQ(s.error, nullptr);
    max_cells = std::max(max_cells, s.kv_cells_used);
  }
  EXPECT_GT(max_cells, 0);
  std::cout << "[ batching ] " << GetParam() << ": " << steps.size() << " steps, most sequences "
            << max_seqs << " (16 alone: " << 16 * 20 << " steps)\n";
}

INSTANTIATE_TEST_SUITE_P(TinyModels, BatcherModels,
                         ::testing::Values("qwen2-tiny.gguf", "llama-spm-tiny.gguf"));

TEST(Batcher, ADisconnectedClientDoesNotDisturbTheOthers) {
  Model& m = model("qwen2-tiny.gguf");
  constexpr int kVictim = 5;
  std::vector<GenerationResult> expected;
  for (int i = 0; i < kSeqs; ++i) expected.push_back(solo(m, request(m, i, 30)));
  Batcher b(*m.ctx, m.mu, slot_options());
  std::vector<Result<GenerationResult>> got(kSeqs, Error{ErrorCode::cancelled, "not run"});
  std::latch start(kSeqs);
  std::vector<std::thread> threads;
  CancelToken outside;  // cancelled by another thread, as a server would on a closed socket
  for (int i = 0; i < kSeqs; ++i) {
    threads.emplace_back([&, i] {
      start.arrive_and_wait();
      int pieces = 0;
      got[static_cast<size_t>(i)] = b.generate(
          i, request(m, i, 30),
          [&, i](const TokenPiece&) {
            if (i == kVictim && ++pieces == 3) return false;  // the client went away
            if (i == kVictim + 1 && ++pieces == 4) outside.cancel();
            return true;
          },
          i == kVictim + 1 ? outside : CancelToken{});
    });
  }
  for (auto& t : threads) t.join();
  for (size_t i = 0; i < kSeqs; ++i) {
    ASSERT_TRUE(got[i].ok()) << got[i].error().message;
    if (i == kVictim || i == kVictim + 1) {
      EXPECT_EQ(got[i]->finish, GenerationFinish::cancelled) << i;
      EXPECT_LT(got[i]->completion_tokens, 30) << i;
      continue;
    }
    EXPECT_EQ(got[i]->tokens, expected[i].tokens) << "request " << i;
    EXPECT_EQ(got[i]->finish, GenerationFinish::length);
  }
  // The cancelled sequences' cells were freed; their ids can be used again.
  auto again = b.generate(kVictim, request(m, kVictim, 30), nullptr);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->tokens, expected[kVictim].tokens);
}

TEST(Batcher, LongPromptsOfOneAppDoNotDelayAnotherAppsFirstToken) {
  Model& m = model("qwen2-tiny.gguf");
  BatcherOptions o = slot_options();
  o.step_tokens = 32;
  std::atomic<int> steps{0};
  o.on_step = [&](const BatcherStep&) { ++steps; };
  Batcher b(*m.ctx, m.mu, o);
  std::vector<engine::TokenId> long_prompt;
  while (long_prompt.size() < 200) {
    for (engine::TokenId t : m.llm->tokenizer().encode("a long document about many things "))
      long_prompt.push_back(t);
  }
  long_prompt.resize(200);
  std::vector<std::thread> bulk;
  for (int i = 0; i < 10; ++i) {
    bulk.emplace_back([&, i] {
      GenerationRequest r;
      r.prompt = long_prompt;
      r.prompt[0] = static_cast<engine::TokenId>(100 + i);
      r.sampling.temperature = 0;
      r.sampling.max_tokens = 2;
      r.app = "bulk";
      auto res = b.generate(i, r, nullptr);
      EXPECT_TRUE(res.ok());
    });
  }
  while (steps.load() < 2) std::this_thread::yield();
  GenerationRequest chat = request(m, 0, 3);
  chat.app = "chat";
  auto res = b.generate(12, chat, nullptr);
  const int steps_then = steps.load();
  for (auto& t : bulk) t.join();
  ASSERT_TRUE(res.ok()) << res.error().message;
  // 2000 prompt tokens at 32 a step: first come, first served would take ~60 steps.
  EXPECT_LE(res->steps_to_first_token, 1);
  EXPECT_LT(steps_then, 40) << "the chat request finished after the bulk prompts";
  EXPECT_EQ(res->tokens, solo(m, chat).tokens);
}

TEST(Batcher, FinishReasons) {
  Model& m = model("qwen2-tiny.gguf");
  const GenerationRequest base = request(m, 2, 12);
  const GenerationResult full = solo(m, base);
  ASSERT_EQ(full.tokens.size(), 12u);
  EXPECT_EQ(full.finish, GenerationFinish::length);

  // A stop token ends it with stop; the token is not part of the output.
  GenerationRequest r = base;
  const engine::TokenId stop_id = full.tokens[4];
  r.sampling.stop_token_ids = {stop_id};
  GenerationResult got = solo(m, r);
  const size_t first = static_cast<size_t>(
      std::find(full.tokens.begin(), full.tokens.end(), stop_id) - full.tokens.begin());
  EXPECT_EQ(got.finish, GenerationFinish::stop);
  EXPECT_EQ(got.tokens,
            std::vector<engine::TokenId>(full.tokens.begin(), full.tokens.begin() + first));
  EXPECT_EQ(got.completion_tokens, static_cast<int32_t>(first) + 1);

  // A stop string: the text ends just before it.
  if (full.text.size() > 6) {
    r = base;
    const std::string stop = full.text.substr(full.text.size() / 2, 3);
    r.sampling.stop = {stop};
    got = solo(m, r);
    EXPECT_EQ(got.finish, GenerationFinish::stop);
    EXPECT_EQ(got.text, full.text.substr(0, full.text.find(stop)));
  }

  // The sequence's context is full: length after the last cell.
  BatcherOptions small = slot_options();
  small.max_sequence_tokens = static_cast<int64_t>(base.prompt.size()) + 5;
  r = base;
  r.sampling.max_tokens = -1;
  got = solo(m, r, small);
  EXPECT_EQ(got.finish, GenerationFinish::length);
  EXPECT_EQ(got.completion_tokens, 5);
  EXPECT_EQ(got.tokens, std::vector<engine::TokenId>(full.tokens.begin(), full.tokens.begin() + 5));

  // Refused before joining.
  Batcher b(*m.ctx, m.mu, small);
  r = base;
  r.prompt.clear();
  EXPECT_EQ(b.generate(0, r, nullptr).error().code, ErrorCode::invalid_argument);
  r.prompt.assign(static_cast<size_t>(small.max_sequence_tokens), base.prompt[0]);
  EXPECT_EQ(b.generate(0, r, nullptr).error().code, ErrorCode::out_of_range);
  r = base;
  r.sampling.top_p = 2;
  EXPECT_EQ(b.generate(0, r, nullptr).error().code, ErrorCode::invalid_argument);
}

TEST(Batcher, LogprobsComeWithEachToken) {
  Model& m = model("qwen2-tiny.gguf");
  GenerationRequest r = request(m, 1, 5);
  r.logprobs = true;
  r.sampling.n_probs = 3;
  Batcher b(*m.ctx, m.mu, slot_options());
  std::vector<TokenPiece> pieces;
  auto res = b.generate(3, r, [&](const TokenPiece& p) {
    pieces.push_back(p);
    return true;
  });
  ASSERT_TRUE(res.ok());
  ASSERT_GE(pieces.size(), 5u);
  for (size_t i = 0; i < 5; ++i) {
    EXPECT_EQ(pieces[i].token, res->tokens[i]);
    EXPECT_LE(pieces[i].logprob, 0.0f);
    EXPECT_EQ(pieces[i].top.size(), 3u);
  }
  EXPECT_EQ(res->tokens, solo(m, request(m, 1, 5)).tokens);
}

}  // namespace
}  // namespace tessera::runtime
