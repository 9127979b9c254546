// The batch API: several sequences in one batch without cross-talk, chunking, thread-count
// independence, the KV cache's bookkeeping and the errors of decode().
#include "llm_test_util.h"

namespace tessera::test {
namespace {

using engine::Batch;
using engine::LlmContext;
using engine::TokenId;

std::vector<TokenId> prompt_tokens(const engine::LlmModel& m, size_t index) {
  const nlohmann::json prompts = [] {
    std::ifstream f(testdata("golden/prompts.json"));
    return nlohmann::json::parse(f);
  }();
  return m.tokenizer().encode(prompts[index].get<std::string>());
}

// Logits of every position of `tokens` run alone as sequence 0 of a fresh context.
std::vector<std::vector<float>> run_alone(std::shared_ptr<const engine::LlmModel> m,
                                          const std::vector<TokenId>& tokens, int threads,
                                          int64_t n_batch = 512) {
  engine::ContextOptions o;
  o.n_ctx = 256;
  o.kv_type = backend::KvType::f32;
  o.n_threads = threads;
  o.n_batch = n_batch;
  auto ctx = LlmContext::create(std::move(m), o);
  EXPECT_TRUE(ctx.ok());
  Batch b;
  for (size_t i = 0; i < tokens.size(); ++i) b.add(tokens[i], 0, static_cast<int32_t>(i), true);
  EXPECT_TRUE((*ctx)->decode(b).ok());
  std::vector<std::vector<float>> out;
  for (size_t i = 0; i < tokens.size(); ++i) {
    auto l = (*ctx)->logits(i);
    out.emplace_back(l.begin(), l.end());
  }
  return out;
}

class BatchTest : public ::testing::TestWithParam<const char*> {};

TEST_P(BatchTest, InterleavedSequencesMatchRunningAlone) {
  auto m = load_model(GetParam());
  ASSERT_NE(m, nullptr);
  const auto a = prompt_tokens(*m, 0);
  const auto b = prompt_tokens(*m, 4);
  const auto alone_a = run_alone(m, a, 2);
  const auto alone_b = run_alone(m, b, 2);

  auto ctx = make_context(m, 2, 256, 3);
  Batch batch;
  std::vector<std::pair<int32_t, size_t>> entries;  // (seq, position) of each batch entry
  for (size_t i = 0; i < std::max(a.size(), b.size()); ++i) {
    if (i < b.size()) {
      batch.add(b[i], 2, static_cast<int32_t>(i), true);
      entries.emplace_back(2, i);
    }
    if (i < a.size()) {
      batch.add(a[i], 0, static_cast<int32_t>(i), true);
      entries.emplace_back(0, i);
    }
  }
  ASSERT_TRUE(ctx->decode(batch).ok());
  EXPECT_EQ(ctx->sequence_length(0), static_cast<int32_t>(a.size()));
  EXPECT_EQ(ctx->sequence_length(1), 0);
  EXPECT_EQ(ctx->sequence_length(2), static_cast<int32_t>(b.size()));
  EXPECT_EQ(ctx->n_cells_used(), static_cast<int64_t>(a.size() + b.size()));
  for (size_t e = 0; e < entries.size(); ++e) {
    const auto& want =
        entries[e].first == 0 ? alone_a[entries[e].second] : alone_b[entries[e].second];
    const auto got = ctx->logits(e);
    ASSERT_EQ(got.size(), want.size());
    EXPECT_TRUE(std::equal(got.begin(), got.end(), want.begin())) << "batch entry " << e;
  }

  // One decode token of each sequence plus a new prompt in one batch; then free a sequence.
  const TokenId next_a = argmax(ctx->logits(entries.size() - 1));
  batch.clear();
  batch.add(next_a, 0, static_cast<int32_t>(a.size()), true);
  batch.add(b[0], 1, 0, false);
  batch.add(b[1], 1, 1, true);
  ASSERT_TRUE(ctx->decode(batch).ok());
  auto a_ext = a;
  a_ext.push_back(next_a);
  const auto alone_ext = run_alone(m, a_ext, 1);
  const auto got = ctx->logits(0);
  EXPECT_TRUE(std::equal(got.begin(), got.end(), alone_ext.back().begin()));
  EXPECT_TRUE(ctx->logits(1).empty());
  const auto got_b1 = ctx->logits(2);
  EXPECT_TRUE(std::equal(got_b1.begin(), got_b1.end(), alone_b[1].begin()));

  const int64_t used = ctx->n_cells_used();
  ctx->clear_sequence(2);
  EXPECT_EQ(ctx->sequence_length(2), 0);
  EXPECT_EQ(ctx->n_cells_used(), used - static_cast<int64_t>(b.size()));
}

// With per-sequence cells, a sequence's logits stay those of a run alone while others come,
// interleave and leave holes (the scheduler's contexts; unified cells give no such promise).
TEST_P(BatchTest, PerSequenceCellsKeepLogitsBitExactWhileOthersComeAndGo) {
  auto m = load_model(GetParam());
  ASSERT_NE(m, nullptr);
  const auto a = prompt_tokens(*m, 0);
  const auto b = prompt_tokens(*m, 4);
  std::vector<TokenId> whole = a;  // sequence 0 reads a, then b token by token
  whole.insert(whole.end(), b.begin(), b.end());
  const auto alone = run_alone(m, whole, 2);

  engine::ContextOptions o;
  o.n_ctx = 3 * 256;
  o.n_seq_max = 3;
  o.kv_type = backend::KvType::f32;
  o.n_threads = 2;
  o.kv_unified = false;
  auto made = LlmContext::create(m, o);
  ASSERT_TRUE(made.ok()) << made.error().message;
  LlmContext& ctx = **made;
  EXPECT_EQ(ctx.n_seq_cells(), 256);
  Batch batch;
  for (size_t i = 0; i < b.size(); ++i) batch.add(b[i], 1, static_cast<int32_t>(i), false);
  for (size_t i = 0; i < a.size(); ++i) batch.add(a[i], 0, static_cast<int32_t>(i), true);
  ASSERT_TRUE(ctx.decode(batch).ok());
  for (size_t i = 0; i < a.size(); ++i) {
    const auto got = ctx.logits(b.size() + i);
    ASSERT_TRUE(std::equal(got.begin(), got.end(), alone[i].begin())) << "prompt token " << i;
  }
  // Sequence 0 goes on one token a step; sequence 1 leaves, sequence 2 comes and goes.
  size_t s2 = 0;
  for (size_t k = 0; k < b.size(); ++k) {
    if (k == 2) ctx.clear_sequence(1);
    batch.clear();
    batch.add(b[k], 0, static_cast<int32_t>(a.size() + k), true);
    if (k >= 3) batch.add(a[s2++ % a.size()], 2, ctx.sequence_length(2), false);
    if (k % 2 == 1) batch.add(b[k], 1, ctx.sequence_length(1), false);
    const Status st = ctx.decode(batch);
    ASSERT_TRUE(st.ok()) << "step " << k << ": " << st.error().message;
    const auto got = ctx.logits(0);
    ASSERT_EQ(got.size(), alone[a.size() + k].size());
    EXPECT_TRUE(std::equal(got.begin(), got.end(), alone[a.size() + k].begin())) << "step " << k;
    if (k == 5) ctx.clear_sequence(2);
  }
}

// A sequence with per-sequence cells is full at its share, whatever the others hold.
TEST(LlmContextTest, PerSequenceCellsFillAtTheirShare) {
  auto m = load_model("llama-spm-tiny");
  ASSERT_NE(m, nullptr);
  engine::ContextOptions o;
  o.n_ctx = 17;
  o.n_seq_max = 2;
  o.kv_unified = false;
  auto made = LlmContext::create(m, o);
  ASSERT_TRUE(made.ok()) << made.error().message;
  LlmContext& ctx = **made;
  EXPECT_EQ(ctx.n_seq_cells(), 8);
  Batch b;
  for (int32_t i = 0; i < 8; ++i) b.add(1, 1, i, i == 7);
  ASSERT_TRUE(ctx.decode(b).ok());
  b.clear();
  b.add(1, 0, 0, false);
  b.add(1, 1, 8, true);
  const Status s = ctx.decode(b);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::out_of_range);
  EXPECT_NE(s.error().message.find("sequence 1 holds 8 KV cells"), std::string::npos)
      << s.error().message;
  EXPECT_EQ(ctx.n_cells_used(), 8);
  EXPECT_EQ(ctx.sequence_length(0), 0);
  b.clear();
  for (int32_t i = 0; i < 8; ++i) b.add(2, 0, i, i == 7);
  EXPECT_TRUE(ctx.decode(b).ok());
  EXPECT_EQ(ctx.n_cells_used(), 16);

  o.n_ctx = 1;
  const auto none = LlmContext::create(m, o);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code, ErrorCode::invalid_argument);
  EXPECT_NE(none.error().message.find("at least n_seq_max"), std::string::npos);
}

TEST_P(BatchTest, SameResultsForOneAndTwoThreadsAndAnyChunking) {
  auto m = load_model(GetParam());
  ASSERT_NE(m, nullptr);
  const auto t = prompt_tokens(*m, 4);
  const auto one = run_alone(m, t, 1);
  const auto two = run_alone(m, t, 2);
  const auto chunked = run_alone(m, t, 2, 7);
  EXPECT_EQ(one, two);
  EXPECT_EQ(one, chunked);
}

INSTANTIATE_TEST_SUITE_P(Models, BatchTest,
                         ::testing::Values("llama-spm-tiny", "qwen2-tiny", "llama-kq-tiny-Q4_K_M"),
                         [](const ::testing::TestParamInfo<const char*>& param_info) {
                           std::string n = param_info.param;
                           std::replace(n.begin(), n.end(), '-', '_');
                           return n;
                         });

TEST(LlmContextTest, ContextFullIsOutOfRangeAndChangesNothing) {
  auto m = load_model("llama-spm-tiny");
  ASSERT_NE(m, nullptr);
  auto ctx = make_context(m, 1, 8);
  Batch b;
  for (int32_t i = 0; i < 9; ++i) b.add(1, 0, i, false);
  Status s = ctx->decode(b);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::out_of_range);
  EXPECT_NE(s.error().message.find("context full"), std::string::npos) << s.error().message;
  EXPECT_NE(s.error().message.find("of 8"), std::string::npos) << s.error().message;
  EXPECT_EQ(ctx->n_cells_used(), 0);
  EXPECT_EQ(ctx->sequence_length(0), 0);

  b.clear();
  for (int32_t i = 0; i < 8; ++i) b.add(1, 0, i, i == 7);
  ASSERT_TRUE(ctx->decode(b).ok());
  EXPECT_EQ(ctx->n_cells_used(), 8);
  b.clear();
  b.add(1, 0, 8, true);
  s = ctx->decode(b);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::out_of_range);
  EXPECT_NE(s.error().message.find("8 used"), std::string::npos) << s.error().message;
  ctx->clear_sequence(0);
  EXPECT_EQ(ctx->n_cells_used(), 0);
  b.clear();
  b.add(1, 0, 0, true);
  EXPECT_TRUE(ctx->decode(b).ok());
}

TEST(LlmContextTest, RejectsBadBatchesWithoutChangingTheCache) {
  auto m = load_model("llama-spm-tiny");
  ASSERT_NE(m, nullptr);
  auto ctx = make_context(m, 1, 16, 2);
  Batch good;
  good.add(1, 0, 0, true);
  ASSERT_TRUE(ctx->decode(good).ok());

  const struct {
    TokenId token;
    int32_t seq;
    int32_t pos;
    const char* message;
  } cases[] = {
      {32000, 0, 1, "not in the vocabulary"},
      {-1, 0, 1, "not in the vocabulary"},
      {1, 2, 0, "sequence id 2 is out of range"},
      {1, -1, 0, "sequence id -1 is out of range"},
      {1, 0, 0, "not its next position 1"},
      {1, 1, 3, "position 3 of sequence 1 is not its next position 1"},
  };
  for (const auto& c : cases) {
    Batch b;
    b.add(1, 1, 0, true);  // a valid entry first: it must not be applied either
    b.add(c.token, c.seq, c.pos, true);
    const Status s = ctx->decode(b);
    ASSERT_FALSE(s.ok()) << c.message;
    EXPECT_EQ(s.error().code, ErrorCode::invalid_argument);
    EXPECT_NE(s.error().message.find(c.message), std::string::npos) << s.error().message;
    EXPECT_EQ(ctx->n_cells_used(), 1);
    EXPECT_EQ(ctx->sequence_length(0), 1);
    EXPECT_EQ(ctx->sequence_length(1), 0);
  }
  Batch bad_arrays = good;
  bad_arrays.pos.push_back(3);
  EXPECT_FALSE(ctx->decode(bad_arrays).ok());
}

TEST(LlmContextTest, RejectsBadOptions) {
  auto m = load_model("llama-spm-tiny");
  ASSERT_NE(m, nullptr);
  engine::ContextOptions o;
  o.n_seq_max = 0;
  EXPECT_FALSE(LlmContext::create(m, o).ok());
  o = {};
  o.n_ctx = -1;
  EXPECT_FALSE(LlmContext::create(m, o).ok());
  o = {};
  o.kv_type = backend::KvType::q8_0;  // head size 16 is not a multiple of 32
  EXPECT_FALSE(LlmContext::create(m, o).ok());
}

}  // namespace
}  // namespace tessera::test
