#include "engine/sampling/sampling_params.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace tessera::engine {
namespace {

// A number as a user wrote it: 1.5, not 1.500000.
std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

Error invalid(std::string message) {
  return make_error(ErrorCode::invalid_argument, std::move(message));
}

Status check_token(std::string_view field, TokenId id, size_t n_vocab) {
  if (id < 0)
    return invalid(std::string(field) + ": token id " + std::to_string(id) + " is negative");
  if (n_vocab > 0 && static_cast<size_t>(id) >= n_vocab) {
    return invalid(std::string(field) + ": token id " + std::to_string(id) +
                   " is outside the vocabulary (n_vocab " + std::to_string(n_vocab) + ")");
  }
  return {};
}

}  // namespace

Status validate_sampling_params(const SamplingParams& p, size_t n_vocab) {
  if (!std::isfinite(p.temperature) || p.temperature < 0.0f) {
    return invalid(std::string("temperature must be >= 0 (0 = greedy), got ") + num(p.temperature));
  }
  if (p.top_k < -1)
    return invalid(std::string("top_k must be >= 0 (0 = off), got ") + std::to_string(p.top_k));
  if (!(p.top_p > 0.0f && p.top_p <= 1.0f)) {
    return invalid(std::string("top_p must be in (0, 1] (1 = off), got ") + num(p.top_p));
  }
  if (!(p.min_p >= 0.0f && p.min_p <= 1.0f)) {
    return invalid(std::string("min_p must be in [0, 1] (0 = off), got ") + num(p.min_p));
  }
  if (!std::isfinite(p.repetition_penalty) || p.repetition_penalty <= 0.0f) {
    return invalid(std::string("repetition_penalty must be > 0 (1 = off), got ") +
                   num(p.repetition_penalty));
  }
  if (p.penalty_last_n < -1) {
    return invalid(std::string("penalty_last_n must be >= -1 (-1 = all tokens, 0 = none), got ") +
                   std::to_string(p.penalty_last_n));
  }
  if (!(p.presence_penalty >= -2.0f && p.presence_penalty <= 2.0f)) {
    return invalid(std::string("presence_penalty must be in [-2, 2] (0 = off), got ") +
                   num(p.presence_penalty));
  }
  if (!(p.frequency_penalty >= -2.0f && p.frequency_penalty <= 2.0f)) {
    return invalid(std::string("frequency_penalty must be in [-2, 2] (0 = off), got ") +
                   num(p.frequency_penalty));
  }
  if (p.max_tokens == 0 || p.max_tokens < -1) {
    return invalid(std::string("max_tokens must be >= 1 (-1 = until the context is full), got ") +
                   std::to_string(p.max_tokens));
  }
  for (const auto& [id, bias] : p.logit_bias) {
    TESSERA_TRY(check_token("logit_bias", id, n_vocab));
    if (std::isnan(bias) || bias == INFINITY) {
      return invalid(std::string("logit_bias for token ") + std::to_string(id) +
                     " must be a number or -infinity (to ban it), got " + num(bias));
    }
  }
  if (p.n_probs < 0)
    return invalid(std::string("n_probs must be >= 0, got ") + std::to_string(p.n_probs));
  for (size_t i = 0; i < p.stop.size(); ++i) {
    if (p.stop[i].empty())
      return invalid(std::string("stop[") + std::to_string(i) + "] is an empty string");
  }
  for (TokenId id : p.stop_token_ids) TESSERA_TRY(check_token("stop_token_ids", id, n_vocab));
  return {};
}

const char* finish_reason_name(FinishReason reason) {
  switch (reason) {
    case FinishReason::none:
      return "none";
    case FinishReason::stop:
      return "stop";
    case FinishReason::length:
      return "length";
  }
  return "none";
}

StopTokenSet::StopTokenSet(std::vector<TokenId> ids) : ids_(std::move(ids)) {
  std::sort(ids_.begin(), ids_.end());
  ids_.erase(std::unique(ids_.begin(), ids_.end()), ids_.end());
}

StopTokenSet::StopTokenSet(const SamplingParams& params, const Tokenizer& tokenizer) {
  std::vector<TokenId> ids = params.stop_token_ids;
  if (!params.ignore_eos) {
    const auto n = static_cast<TokenId>(tokenizer.vocab_size());
    for (TokenId id = 0; id < n; ++id) {
      if (tokenizer.is_end_of_generation(id)) ids.push_back(id);
    }
  }
  *this = StopTokenSet(std::move(ids));
}

bool StopTokenSet::contains(TokenId id) const {
  return std::binary_search(ids_.begin(), ids_.end(), id);
}

FinishReason finish_reason_after(TokenId token, int32_t n_generated, bool context_full,
                                 const SamplingParams& params, const StopTokenSet& stop_tokens) {
  if (stop_tokens.contains(token)) return FinishReason::stop;
  if (context_full || (params.max_tokens > 0 && n_generated >= params.max_tokens)) {
    return FinishReason::length;
  }
  return FinishReason::none;
}

}  // namespace tessera::engine
