// What one generated sequence outputs, token by token: the bookkeeping every generation loop
// does after sampling a token (the single-sequence loop of `tessera run` and the server's
// batcher share it). For each token: the sampler accepts it, the finish reason is decided
// (finish_reason_after), a stop token is dropped, other tokens are detokenized through a
// StreamDecoder (whole UTF-8 characters only) and passed through a StopMatcher (text that could
// still become a stop string is held back). finish() returns the held-back tail.
//
// One per sequence; not thread-safe. The Tokenizer must outlive it.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "engine/sampling/sampler.h"
#include "engine/sampling/sampling_params.h"
#include "engine/sampling/stop_matcher.h"
#include "engine/tokenizer/tokenizer.h"
#include "util/result.h"

namespace tessera::engine {

class SequenceOutput {
 public:
  // A sampler for `params` that has seen `prompt` (repetition penalty). Fails with
  // Sampler::create's error (invalid parameters).
  static Result<SequenceOutput> create(const SamplingParams& params, const Tokenizer& tokenizer,
                                       std::span<const TokenId> prompt);

  struct Step {
    std::string text;                          // text that is safe to emit now (possibly empty)
    FinishReason finish = FinishReason::none;  // none: generation goes on
    bool in_output = true;                     // false for a stop token (not part of the text)
  };
  // Records `token`, the n-th generated (from 1). context_full: the sequence has no room for
  // another token. A stop string ends generation with stop, the text cut just before it.
  Step push(TokenId token, bool context_full);
  // At the end (any reason but a stop string): the held-back text, now final. "" after a stop
  // string.
  std::string finish();

  Sampler& sampler() { return sampler_; }
  int32_t n_generated() const { return n_generated_; }
  bool stopped_by_string() const { return stop_strings_.stopped(); }

 private:
  SequenceOutput(Sampler sampler, const SamplingParams& params, const Tokenizer& tokenizer);
  Sampler sampler_;
  StopTokenSet stop_tokens_;
  StopMatcher stop_strings_;
  StreamDecoder stream_;
  int32_t n_generated_ = 0;
};

}  // namespace tessera::engine
