// Continuous batching: the concurrent requests of one loaded decoder model are decoded
// together, one forward pass (LlmContext::decode) per step for all of them.
//
// One Batcher per loaded decoder model. It runs a worker thread that, while any sequence is
// active, repeats a step:
//   1. cancelled sequences leave (their cells are cleared); new requests join;
//   2. one Batch is built within options.step_tokens tokens: first the next token of every
//      sequence that is generating, then prompt chunks of the sequences still reading their
//      prompt. The prompt budget is shared fairly between apps (equal shares, an app's unused
//      share going to the others, the app order rotating every step), and within an app the
//      oldest request goes first. A long prompt is read in chunks, so it never stalls the
//      others' decoding, and one app's many prompts cannot starve another app's request;
//   3. decode(); every sequence whose last prompt token or decode token was in the batch is
//      sampled with its own Sampler, its text streamed (SequenceOutput: whole UTF-8
//      characters, stop strings held back), and it finishes on a stop token or string,
//      max_tokens, or a full context (length);
//   4. finished sequences leave; their cells are cleared.
// A decode error fails the sequences of that step with the error; the batcher goes on.
//
// The context is owned elsewhere (the scheduler's loaded model); the Batcher uses it only
// while holding `context_mutex` (the mutex every other user of the context takes, e.g. the
// scheduler's Lease::with_context), once per step, so other users can interleave between
// steps. Sequence ids are the caller's (the scheduler's slots): one request per id at a time.
//
// Determinism: with per-sequence KV cells (ContextOptions::kv_unified = false, as the scheduler
// makes its contexts) a sequence's logits do not depend on the rest of the batch nor on who
// came and left before (engine/llm), and each sequence samples with its own Sampler, so a
// request gives the same tokens alone or batched.
//
// Threads: generate() is called from request threads (any number at once) and blocks; the
// sink runs on the calling request thread, never on the worker, so a slow client does not
// stall the batch. The step observer runs on the worker thread. The destructor finishes
// every request still running with an `unavailable` error and joins the worker.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "engine/llm/llm.h"
#include "engine/sampling/sampler.h"
#include "engine/sampling/sampling_params.h"
#include "runtime/cancel_token.h"
#include "util/result.h"

namespace tessera::runtime {

struct GenerationRequest {
  std::vector<engine::TokenId> prompt;  // not empty
  // Sampling, seed, max_tokens (-1: until the sequence's context is full), stop strings, stop
  // token ids and n_probs (top log-probabilities per token with `logprobs`).
  engine::SamplingParams sampling;
  std::string app;        // whose request it is, for the fair share of prompt reading
  bool logprobs = false;  // fill TokenPiece::logprob and top
};

// One generated token as the client sees it: the text that became final with it (possibly
// empty: part of a UTF-8 character or of a possible stop string is held back) and the token.
// The last piece of a generation may have token == kNoToken: the held-back tail at the end.
struct TokenPiece {
  std::string_view text;
  engine::TokenId token = engine::kNoToken;
  float logprob = 0.0f;                   // with logprobs
  std::vector<engine::TokenLogprob> top;  // with logprobs and n_probs > 0
};
// Receives the pieces in order on the request thread. Returning false cancels the request
// (the client went away): it finishes with `cancelled`.
using TokenSink = std::function<bool(const TokenPiece& piece)>;

enum class GenerationFinish { stop, length, cancelled, error };
const char* generation_finish_name(GenerationFinish finish);  // "stop", "length", ...

struct GenerationResult {
  GenerationFinish finish = GenerationFinish::stop;
  Error error{ErrorCode::invalid_argument, ""};  // with finish == error: the decode's error
  std::string text;                              // everything sent to the sink
  std::vector<engine::TokenId> tokens;           // generated, a stop token excluded
  int32_t prompt_tokens = 0;
  int32_t completion_tokens = 0;  // tokens sampled (a stop token included)
  // Timings, from the call of generate(): to the first sampled token; between tokens.
  double time_to_first_token_ms = 0;
  std::vector<double> inter_token_ms;
  // Steps the worker ran from the one the request joined in to the one that sampled its first
  // token (0: the same step), a measure of fairness independent of the machine's speed.
  int64_t steps_to_first_token = 0;
};

// What one step decoded, for a batch-size histogram.
struct BatcherStep {
  int32_t sequences = 0;      // sequences with a token in the batch
  int32_t tokens = 0;         // tokens in the batch
  int32_t decode_tokens = 0;  // of which generated tokens (one per generating sequence)
  int32_t prompt_tokens = 0;  // of which prompt tokens
  double decode_ms = 0;       // the forward pass
  // The context's KV cells in use once the step's finished sequences left, of all of them.
  int64_t kv_cells_used = 0;
  int64_t kv_cells = 0;
  // The decode's error when it failed (every sequence of the batch ends with it); valid
  // during the on_step call only.
  const Error* error = nullptr;
};

struct BatcherOptions {
  int64_t step_tokens = 512;  // token budget of one step (decode tokens always go in)
  // Cells one sequence may hold (prompt + generated); a sequence that reaches it finishes with
  // length. 0 (or more than the context gives one sequence): LlmContext::n_seq_cells(). The
  // scheduler passes its slot size (Lease::context()).
  int64_t max_sequence_tokens = 0;
  // Called on the worker thread after every decode (finished sequences gone); keep it cheap.
  std::function<void(const BatcherStep& step)> on_step;
};

struct BatcherCounters {
  int64_t steps = 0;
  int64_t max_sequences = 0;  // the most sequences one step held
  int64_t tokens = 0;
};

class Batcher {
 public:
  // `context` and `context_mutex` must outlive the Batcher. Starts the worker thread.
  Batcher(engine::LlmContext& context, std::mutex& context_mutex, BatcherOptions options = {});
  ~Batcher();
  Batcher(const Batcher&) = delete;
  Batcher& operator=(const Batcher&) = delete;

  // Generates for `request` in sequence `seq` (cleared first), joining the batch at the next
  // step; blocks until it finishes. Errors (before anything runs): an empty prompt or one that
  // leaves no room to generate in the sequence's context (out_of_range, both sizes), invalid
  // sampling parameters, a sequence id already generating (invalid_argument). Everything after
  // joining ends in the result: stop, length, cancelled (the token or the sink), or error (a
  // decode error; the batcher shutting down: unavailable).
  Result<GenerationResult> generate(int32_t seq, const GenerationRequest& request,
                                    const TokenSink& on_piece, const CancelToken& cancel = {});

  BatcherCounters counters() const;

 private:
  struct Sequence;
  void run();
  // One step, with the context held.
  void step(std::vector<std::shared_ptr<Sequence>>& active);
  void build_prompt_chunks(std::vector<std::shared_ptr<Sequence>>& active, int64_t budget,
                           engine::Batch& batch);
  void sample(Sequence& s, std::span<const float> logits);
  // Ends s: the final text, the result handed to the waiting request.
  void finish(Sequence& s, GenerationFinish finish, const Error* error = nullptr);

  engine::LlmContext& ctx_;
  std::mutex& ctx_mu_;
  BatcherOptions options_;
  int64_t max_seq_tokens_ = 0;

  mutable std::mutex mu_;  // guards what follows and every Sequence's shared part
  std::condition_variable work_cv_;
  std::deque<std::shared_ptr<Sequence>> joining_;
  std::set<int32_t> busy_;  // sequence ids with a request in generate()
  bool stopping_ = false;
  BatcherCounters counters_;
  size_t app_rotation_ = 0;  // worker only
  int64_t step_index_ = 0;   // worker only
  std::thread worker_;
};

}  // namespace tessera::runtime
