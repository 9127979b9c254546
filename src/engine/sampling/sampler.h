// Chooses the next token of one sequence from the model's logits.
//
// The transforms, in order (vLLM's order; llama.cpp's default chain applies the temperature
// last instead):
//   1. logit_bias is added;
//   2. repetition_penalty over the last penalty_last_n accepted tokens (llama.cpp: a positive
//      logit is divided, a negative one multiplied), then presence/frequency penalties over the
//      generated tokens (OpenAI: logit -= frequency * count + presence * (count > 0));
//   3. greedy (temperature 0): the largest logit, ties to the lower id. Otherwise, on the
//      distribution softmax(logit / temperature): top-k, then top-p (over the top-k tokens,
//      renormalized), then min-p; then one draw among the kept tokens, in proportion to their
//      probability.
// Candidates are always ordered by (logit desc, id asc), a total order, so the kept set and
// the draw depend only on the logits, the params and the seed: every non-greedy sample takes
// exactly one number from a SplitMix64 seeded with params.seed (greedy takes none), and the
// arithmetic is done in double in a fixed order.
//
// Log-probabilities (sample_with_logprobs) are those of the full-vocabulary distribution the
// draw starts from: log_softmax((logits + bias, penalized) / temperature), temperature 1 when
// greedy; before top-k/top-p/min-p cut anything, so a token those removed still has its
// finite log-probability. A token banned by a -infinity bias has -infinity.
//
// Logits that are NaN or infinite are a model bug: sample() reports them (malformed, naming
// the first bad id) instead of picking a token. To mask tokens, use logit_bias = -infinity.
//
// One Sampler per sequence; not thread-safe. It keeps scratch buffers sized to the vocabulary,
// so after the first call sampling allocates nothing (the histories grow amortized).
#pragma once

#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include "engine/sampling/sampling_params.h"
#include "util/random.h"

namespace tessera::engine {

struct TokenLogprob {
  TokenId token;
  float logprob;
};

struct SampledToken {
  TokenId token = kNoToken;
  float logprob = 0.0f;  // of `token`, see above
  // The params.n_probs most likely tokens (fewer when the vocabulary is smaller), most likely
  // first, ties to the lower id. Points into the Sampler: valid until its next sample call.
  std::span<const TokenLogprob> top;
};

class Sampler {
 public:
  // Fails with validate_sampling_params's error.
  static Result<Sampler> create(const SamplingParams& params);

  // Records the prompt for repetition_penalty (not for presence/frequency penalties).
  void accept_prompt(std::span<const TokenId> tokens);
  // Records a generated token (the caller's choice: usually what sample() returned) for all
  // penalties. May allocate (the histories grow amortized). Ids outside the logits of a
  // sample call are ignored there.
  void accept(TokenId token);

  // The next token from logits[n_vocab]; does not accept it. Fails (malformed) on a NaN or
  // infinite logit, (invalid_argument) on empty logits, a logit_bias id outside them, or when
  // the bias bans every token.
  Result<TokenId> sample(std::span<const float> logits);
  // Same token (same random draw) with its log-probability and the top params.n_probs.
  Result<SampledToken> sample_with_logprobs(std::span<const float> logits);

  // For tests and debugging, from the last sample call: the logits after bias and penalties
  // (before temperature), and the tokens the draw chose among, in the order it walked them
  // (most likely first; id order when neither top-k nor top-p was on; empty if greedy).
  std::span<const float> adjusted_logits() const { return adjusted_; }
  std::span<const TokenId> kept_tokens() const { return kept_; }

  const SamplingParams& params() const { return params_; }

 private:
  explicit Sampler(const SamplingParams& params);
  Status prepare(std::span<const float> logits);
  void apply_penalties();
  TokenId argmax() const;
  void select_top(size_t k, std::vector<TokenId>& out);  // 1 <= k <= n_vocab; best first
  TokenId draw();
  size_t keep_top_p(bool sorted, double total);
  Result<TokenId> choose(std::span<const float> logits);

  SamplingParams params_;
  std::vector<std::pair<TokenId, float>> bias_;  // from params_.logit_bias
  SplitMix64 rng_;

  // Penalty state. recent_ is a ring of the last penalty_last_n tokens (all of them for -1).
  std::vector<TokenId> recent_;
  size_t recent_next_ = 0;
  std::vector<int32_t> generated_count_;   // by id
  std::vector<TokenId> generated_tokens_;  // distinct ids with a count

  // Scratch, sized to n_vocab on first use.
  std::vector<float> adjusted_;
  TokenId best_ = kNoToken;     // argmax of adjusted_
  size_t banned_ = 0;           // tokens logit_bias sets to -infinity
  std::vector<double> weight_;  // exp((logit - max) / temperature), by id
  std::vector<uint32_t> seen_;  // stamp per id, deduplicates the repetition window
  uint32_t stamp_ = 0;
  std::vector<float> values_;   // a copy of adjusted_ to select on
  std::vector<TokenId> order_;  // top-n ids
  std::vector<TokenId> kept_;
  std::vector<TokenLogprob> top_;
};

}  // namespace tessera::engine
