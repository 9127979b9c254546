// What a request asks of token selection and of when generation ends: the knobs of llama.cpp,
// vLLM and the OpenAI API, their validation, stop tokens and finish reasons.
//
// Plain data, validated once per request (validate_sampling_params); a Sampler and a
// StopMatcher are then built from it. Pure functions; safe from any thread.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/tokenizer/tokenizer.h"
#include "util/result.h"

namespace tessera::engine {

struct SamplingParams {
  // Logits are divided by it before the softmax; 0 = greedy (argmax, ties to the lower id;
  // top_k, top_p, min_p and seed are then ignored).
  float temperature = 1.0f;
  // Keep only the k most likely tokens; 0 or -1 = off.
  int32_t top_k = 0;
  // Keep the smallest set of most likely tokens whose probability sums to at least top_p
  // (the token that crosses it included); 1 = off. In (0, 1].
  float top_p = 1.0f;
  // Keep tokens whose probability is at least min_p times the most likely one's; 0 = off.
  float min_p = 0.0f;
  // llama.cpp's repeat penalty over the last penalty_last_n tokens (prompt and generated):
  // a positive logit is divided by it, a negative one multiplied, once per distinct token.
  // 1 = off; > 0.
  float repetition_penalty = 1.0f;
  // How many recent tokens repetition_penalty looks at: 0 = none, -1 = all of them.
  int32_t penalty_last_n = 64;
  // OpenAI's penalties over the generated tokens (not the prompt):
  // logit -= frequency_penalty * count + presence_penalty * (count > 0). In [-2, 2].
  float presence_penalty = 0.0f;
  float frequency_penalty = 0.0f;
  // The random stream of the draws: the same seed and inputs give the same tokens on every
  // machine, compiler and thread count. A server picks a random seed when the user gave none.
  uint64_t seed = 0;
  // Most tokens to generate; -1 = until the context is full. -1 or >= 1.
  int32_t max_tokens = -1;
  // Added to a token's logit before anything else (OpenAI's logit_bias). -infinity bans the
  // token; NaN and +infinity are rejected. Ids must lie inside the vocabulary.
  std::map<TokenId, float> logit_bias;
  // How many most likely tokens to report with their log-probabilities (OpenAI's
  // top_logprobs, llama.cpp's n_probs); 0 = none. At most n_vocab are reported.
  int32_t n_probs = 0;
  // Generation stops when the text contains one of these; the text returned ends just before
  // it (see StopMatcher). Not empty strings.
  std::vector<std::string> stop;
  // Tokens that end generation, besides the tokenizer's end-of-generation tokens (EOS, EOT,
  // ...), which count too unless ignore_eos. A stop token is not part of the output text.
  std::vector<TokenId> stop_token_ids;
  bool ignore_eos = false;
};

// Ok, or invalid_argument naming the first field that is out of range and the range allowed
// ("top_p must be in (0, 1], got 1.5"). With n_vocab > 0, token ids (logit_bias,
// stop_token_ids) must also lie in [0, n_vocab).
Status validate_sampling_params(const SamplingParams& params, size_t n_vocab = 0);

// Why generation ended. none while it goes on (OpenAI's finish_reason null).
enum class FinishReason {
  none,
  stop,    // a stop token or a stop string
  length,  // max_tokens reached, or the context is full
};

// "stop", "length"; "none" for none (which maps to JSON null at the API boundary).
const char* finish_reason_name(FinishReason reason);

// The set of token ids that end generation. Immutable; safe from any thread.
class StopTokenSet {
 public:
  StopTokenSet() = default;
  explicit StopTokenSet(std::vector<TokenId> ids);
  // params.stop_token_ids plus, unless params.ignore_eos, every token the tokenizer marks as
  // end of generation.
  StopTokenSet(const SamplingParams& params, const Tokenizer& tokenizer);

  bool contains(TokenId id) const;
  std::span<const TokenId> ids() const { return ids_; }  // sorted, unique

 private:
  std::vector<TokenId> ids_;
};

// The finish reason once `token` has been generated as the n_generated-th token (from 1):
// stop for a stop token (which wins over length, as in vLLM), length when n_generated reached
// params.max_tokens or context_full (no room for another token), else none. Stop strings are
// StopMatcher's business.
FinishReason finish_reason_after(TokenId token, int32_t n_generated, bool context_full,
                                 const SamplingParams& params, const StopTokenSet& stop_tokens);

}  // namespace tessera::engine
