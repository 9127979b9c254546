// One generation: a prompt run through a context, then tokens sampled and decoded one at a
// time, text streamed through a callback as it becomes complete, until a stop token, a stop
// string, max_tokens, a full context or an interruption. Used by `tessera run`; the server's
// scheduler will run the same steps interleaved over many sequences.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "engine/llm/llm.h"
#include "engine/sampling/sampler.h"
#include "engine/sampling/sampling_params.h"

namespace tessera::cli {

struct GenerateResult {
  std::vector<engine::TokenId> tokens;  // generated, the stop token excluded
  std::string text;                     // streamed text, the stop string excluded
  std::string finish_reason;            // "stop", "length" or "interrupted"
  // With top_logits > 0: the K largest (id, logit) after the prompt, descending.
  std::vector<std::pair<engine::TokenId, float>> top_logits;
  int64_t prompt_ms = 0;  // time to run the prompt
  int64_t generate_ms = 0;
};

struct GenerateRequest {
  std::vector<engine::TokenId> prompt;
  engine::SamplingParams sampling;
  int top_logits = 0;
  int32_t seq = 0;                                 // sequence id in the context
  std::function<void(std::string_view)> on_text;   // called with each complete piece
  const std::atomic<bool>* interrupted = nullptr;  // checked between tokens
};

// Clears `seq` in the context and generates. Errors: the prompt does not fit the context
// (out_of_range, with both sizes), empty prompt, invalid sampling parameters, decode errors
// (NaN/Inf in the logits...).
Result<GenerateResult> generate(engine::LlmContext& ctx, const GenerateRequest& request);

}  // namespace tessera::cli
