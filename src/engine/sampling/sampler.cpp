#include "engine/sampling/sampler.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <string>

namespace tessera::engine {
namespace {

constexpr float kBanned = -INFINITY;
constexpr size_t kMaxVocab = size_t{1} << 24;
constexpr size_t kHeapSelectMax = 256;  // top-k by heap up to here, by nth_element above

// The candidate order: larger logit first, ties to the lower id. A total order, so sorts and
// selections give the same result with every standard library.
struct ByLogit {
  const std::vector<float>& logits;
  bool operator()(TokenId a, TokenId b) const {
    const float la = logits[static_cast<size_t>(a)];
    const float lb = logits[static_cast<size_t>(b)];
    return la > lb || (la == lb && a < b);
  }
};

}  // namespace

Result<Sampler> Sampler::create(const SamplingParams& params) {
  TESSERA_TRY(validate_sampling_params(params));
  return Sampler(params);
}

Sampler::Sampler(const SamplingParams& params)
    : params_(params),
      bias_(params.logit_bias.begin(), params.logit_bias.end()),
      rng_(params.seed) {
  if (params_.top_k < 0) params_.top_k = 0;
  if (params_.penalty_last_n > 0 && params_.repetition_penalty != 1.0f) {
    recent_.reserve(static_cast<size_t>(params_.penalty_last_n));
  }
}

void Sampler::accept_prompt(std::span<const TokenId> tokens) {
  if (params_.repetition_penalty == 1.0f || params_.penalty_last_n == 0) return;
  const size_t cap = static_cast<size_t>(params_.penalty_last_n);  // huge for -1
  for (TokenId t : tokens) {
    if (recent_.size() < cap) {
      recent_.push_back(t);
    } else {
      recent_[recent_next_] = t;
      recent_next_ = (recent_next_ + 1) % cap;
    }
  }
}

void Sampler::accept(TokenId token) {
  accept_prompt(std::span<const TokenId>(&token, 1));
  if (params_.presence_penalty == 0.0f && params_.frequency_penalty == 0.0f) return;
  const auto id = static_cast<size_t>(token);
  // Outside the vocabulary (or, before the first sample, absurd): would never be penalized.
  const size_t limit = adjusted_.empty() ? kMaxVocab : adjusted_.size();
  if (token < 0 || id >= limit) return;
  if (id >= generated_count_.size()) generated_count_.resize(id + 1, 0);
  if (generated_count_[id]++ == 0) generated_tokens_.push_back(token);
}

Status Sampler::prepare(std::span<const float> logits) {
  const size_t n = logits.size();
  if (n == 0) return make_error(ErrorCode::invalid_argument, "sample: the logits are empty");
  bool all_finite = true;
  for (float v : logits) all_finite &= (v - v == 0.0f);  // NaN for NaN and inf; vectorizes
  if (!all_finite) {
    const auto bad =
        std::find_if(logits.begin(), logits.end(), [](float v) { return !std::isfinite(v); });
    return make_error(ErrorCode::malformed,
                      "logits[" + std::to_string(bad - logits.begin()) + "] is " +
                          (std::isnan(*bad) ? "NaN" : "inf") +
                          ": the model produced a non-finite value (a model or backend bug)");
  }
  adjusted_.assign(logits.begin(), logits.end());
  if (weight_.size() != n) {  // first call (or a new vocabulary): size all scratch once
    weight_.assign(n, 0.0);
    kept_.reserve(n);
    order_.reserve(n);
    values_.reserve(n);
    top_.reserve(std::min(n, static_cast<size_t>(params_.n_probs)));
    if (params_.repetition_penalty != 1.0f) seen_.assign(n, 0);
  }
  banned_ = 0;
  for (const auto& [id, bias] : bias_) {
    if (static_cast<size_t>(id) >= n) {
      return make_error(ErrorCode::invalid_argument, "logit_bias: token id " + std::to_string(id) +
                                                         " is outside the vocabulary (n_vocab " +
                                                         std::to_string(n) + ")");
    }
    adjusted_[static_cast<size_t>(id)] += bias;
    if (bias == kBanned) ++banned_;
  }
  apply_penalties();
  return {};
}

void Sampler::apply_penalties() {
  const size_t n = adjusted_.size();
  const float rep = params_.repetition_penalty;
  if (rep != 1.0f && !recent_.empty()) {
    if (++stamp_ == 0) {  // wrapped: old stamps could collide
      std::fill(seen_.begin(), seen_.end(), 0);
      stamp_ = 1;
    }
    for (TokenId t : recent_) {
      if (t < 0 || static_cast<size_t>(t) >= n || seen_[static_cast<size_t>(t)] == stamp_) continue;
      seen_[static_cast<size_t>(t)] = stamp_;
      float& l = adjusted_[static_cast<size_t>(t)];
      l = l <= 0.0f ? l * rep : l / rep;
    }
  }
  const float freq = params_.frequency_penalty;
  const float presence = params_.presence_penalty;
  for (TokenId t : generated_tokens_) {
    if (static_cast<size_t>(t) >= n) continue;
    const auto count = static_cast<float>(generated_count_[static_cast<size_t>(t)]);
    adjusted_[static_cast<size_t>(t)] -= count * freq + presence;
  }
}

TokenId Sampler::argmax() const {
  TokenId best = kNoToken;
  float best_logit = kBanned;
  for (size_t i = 0; i < adjusted_.size(); ++i) {
    if (adjusted_[i] > best_logit) {  // strict: ties keep the lower id
      best_logit = adjusted_[i];
      best = static_cast<TokenId>(i);
    }
  }
  return best;
}

size_t Sampler::keep_top_p(bool sorted, double total) {
  const ByLogit by_logit{adjusted_};
  const double target = static_cast<double>(params_.top_p) * total;
  const auto at = [this](size_t i) { return kept_.begin() + static_cast<std::ptrdiff_t>(i); };
  const auto weight = [this](TokenId t) { return weight_[static_cast<size_t>(t)]; };
  size_t hi = kept_.size();
  if (!sorted) {
    // Narrow [0, hi) to a top set (in candidate order) that surely holds the cut, by
    // quickselect on probability mass with a margin far above the rounding of the sums, so
    // that only the kept tokens and a few more get sorted.
    constexpr size_t kSortDirectly = 256;
    const double margin = 1e-9 * total;
    size_t lo = 0;  // [0, lo) is kept whole; its mass is acc
    double acc = 0.0;
    while (hi - lo > kSortDirectly) {
      std::iter_swap(at(lo + (hi - lo) / 2), at(hi - 1));
      const TokenId pivot = kept_[hi - 1];
      const auto mid_it =
          std::partition(at(lo), at(hi - 1), [&](TokenId t) { return by_logit(t, pivot); });
      std::iter_swap(mid_it, at(hi - 1));
      const auto mid = static_cast<size_t>(mid_it - kept_.begin());
      double upper = 0.0;
      for (size_t i = lo; i < mid; ++i) upper += weight(kept_[i]);
      if (acc + upper >= target + margin) {
        hi = mid;
      } else {
        acc += upper + weight(pivot);
        lo = mid + 1;
      }
    }
    std::sort(at(0), at(hi), by_logit);
  }
  double acc = 0.0;
  for (size_t i = 0; i < kept_.size(); ++i) {
    if (i == hi) std::sort(at(hi), kept_.end(), by_logit);  // only if rounding defied the margin
    acc += weight(kept_[i]);
    if (acc >= target) return i + 1;
  }
  return kept_.size();
}

void Sampler::select_top(size_t k, std::vector<TokenId>& out) {
  const size_t n = adjusted_.size();
  const ByLogit by_logit{adjusted_};
  out.clear();
  if (k <= kHeapSelectMax) {
    // One pass with a heap of the k best so far (worst on top): most tokens cost a compare.
    for (size_t i = 0; i < n; ++i) {
      const auto id = static_cast<TokenId>(i);
      if (out.size() < k) {
        out.push_back(id);
        std::push_heap(out.begin(), out.end(), by_logit);
      } else if (adjusted_[i] > adjusted_[static_cast<size_t>(out.front())]) {
        std::pop_heap(out.begin(), out.end(), by_logit);  // a later equal logit has a higher id
        out.back() = id;
        std::push_heap(out.begin(), out.end(), by_logit);
      }
    }
  } else {
    // Select on the plain values (faster than through ids), then gather in id order so that
    // ties at the k-th value go to the lower ids.
    values_.assign(adjusted_.begin(), adjusted_.end());
    const auto kth_it = values_.begin() + static_cast<std::ptrdiff_t>(k - 1);
    std::nth_element(values_.begin(), kth_it, values_.end(), std::greater<float>());
    const float kth = *kth_it;
    for (size_t i = 0; i < n; ++i) {
      if (adjusted_[i] > kth) out.push_back(static_cast<TokenId>(i));
    }
    for (size_t i = 0; i < n && out.size() < k; ++i) {
      if (adjusted_[i] == kth) out.push_back(static_cast<TokenId>(i));
    }
  }
  std::sort(out.begin(), out.end(), by_logit);
}

TokenId Sampler::draw() {
  const size_t n = adjusted_.size();
  const double max_logit = adjusted_[static_cast<size_t>(best_)];
  const double temperature = params_.temperature;
  bool sorted = false;
  const auto k = static_cast<size_t>(params_.top_k);
  if (k > 0 && k < n - banned_) {  // so the k-th logit is finite
    select_top(k, kept_);
    sorted = true;
  } else {
    kept_.clear();
    for (size_t i = 0; i < n; ++i) {
      if (adjusted_[i] != kBanned) kept_.push_back(static_cast<TokenId>(i));
    }
  }

  double total = 0.0;  // the top-k mass, which top-p is relative to
  for (TokenId t : kept_) {
    const double w = std::exp((adjusted_[static_cast<size_t>(t)] - max_logit) / temperature);
    weight_[static_cast<size_t>(t)] = w;
    total += w;
  }
  // min-p and top-p both keep a top set (weight = p / p_max, whatever the renormalization), so
  // applying min-p first gives the same result and leaves top-p less to sort.
  if (params_.min_p > 0.0f) {
    const double min_p = params_.min_p;
    std::erase_if(kept_, [&](TokenId t) { return weight_[static_cast<size_t>(t)] < min_p; });
  }
  if (params_.top_p < 1.0f) kept_.resize(keep_top_p(sorted, total));

  double kept_total = 0.0;
  for (TokenId t : kept_) kept_total += weight_[static_cast<size_t>(t)];
  const double r = rng_.uniform() * kept_total;
  double acc = 0.0;
  for (TokenId t : kept_) {
    acc += weight_[static_cast<size_t>(t)];
    if (r < acc) return t;
  }
  return kept_.back();  // r within rounding of kept_total
}

Result<TokenId> Sampler::choose(std::span<const float> logits) {
  TESSERA_TRY(prepare(logits));
  best_ = argmax();
  if (best_ == kNoToken) {
    return make_error(ErrorCode::invalid_argument,
                      "logit_bias bans every token (all are -infinity): nothing to sample");
  }
  if (params_.temperature == 0.0f) {
    kept_.clear();
    return best_;
  }
  return draw();
}

Result<TokenId> Sampler::sample(std::span<const float> logits) {
  return choose(logits);
}

Result<SampledToken> Sampler::sample_with_logprobs(std::span<const float> logits) {
  TESSERA_TRY_ASSIGN(token, choose(logits));
  const size_t n = adjusted_.size();
  const double temperature = params_.temperature > 0.0f ? params_.temperature : 1.0;
  const double max_logit = adjusted_[static_cast<size_t>(best_)];
  double sum = 0.0;
  for (float l : adjusted_) sum += std::exp((l - max_logit) / temperature);  // exp(-inf) = 0
  const double log_sum = std::log(sum);
  auto logprob = [&](TokenId t) {
    return static_cast<float>((adjusted_[static_cast<size_t>(t)] - max_logit) / temperature -
                              log_sum);
  };

  const size_t top_n = std::min(n, static_cast<size_t>(params_.n_probs));
  top_.clear();
  if (top_n > 0) {
    select_top(top_n, order_);
    for (TokenId t : order_) top_.push_back({t, logprob(t)});
  }
  return SampledToken{token, logprob(token), top_};
}

}  // namespace tessera::engine
