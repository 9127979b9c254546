#include "cli/generate.h"

#include <algorithm>
#include <chrono>

#include "engine/sampling/sequence_output.h"

namespace tessera::cli {
namespace {

int64_t ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                               t0)
      .count();
}

std::vector<std::pair<engine::TokenId, float>> top_k_logits(std::span<const float> logits,
                                                            size_t k) {
  std::vector<engine::TokenId> ids(logits.size());
  for (size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<engine::TokenId>(i);
  k = std::min(k, ids.size());
  auto better = [&logits](engine::TokenId a, engine::TokenId b) {
    const float la = logits[static_cast<size_t>(a)];
    const float lb = logits[static_cast<size_t>(b)];
    return la > lb || (la == lb && a < b);
  };
  std::partial_sort(ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(k), ids.end(), better);
  std::vector<std::pair<engine::TokenId, float>> out;
  for (size_t i = 0; i < k; ++i) out.emplace_back(ids[i], logits[static_cast<size_t>(ids[i])]);
  return out;
}

}  // namespace

Result<GenerateResult> generate(engine::LlmContext& ctx, const GenerateRequest& req) {
  const engine::Tokenizer& tok = ctx.model().tokenizer();
  if (req.prompt.empty()) {
    return make_error(ErrorCode::invalid_argument,
                      "the prompt has no tokens (an empty text with a vocabulary that adds no "
                      "BOS); give some text");
  }
  if (static_cast<int64_t>(req.prompt.size()) >= ctx.n_ctx()) {
    return make_error(ErrorCode::out_of_range,
                      "the prompt has " + std::to_string(req.prompt.size()) +
                          " tokens but the context holds " + std::to_string(ctx.n_ctx()) +
                          " (and one more is needed to generate); raise --ctx or shorten it");
  }
  auto output = engine::SequenceOutput::create(req.sampling, tok, req.prompt);
  if (!output.ok()) return output.error();
  engine::Sampler& sampler = output->sampler();

  GenerateResult out;
  ctx.clear_sequence(req.seq);
  engine::Batch batch;
  for (size_t i = 0; i < req.prompt.size(); ++i) {
    batch.add(req.prompt[i], req.seq, static_cast<int32_t>(i), i + 1 == req.prompt.size());
  }
  const auto t0 = std::chrono::steady_clock::now();
  TESSERA_TRY(ctx.decode(batch));
  out.prompt_ms = ms_since(t0);
  std::span<const float> logits = ctx.logits(batch.size() - 1);
  if (req.top_logits > 0)
    out.top_logits = top_k_logits(logits, static_cast<size_t>(req.top_logits));

  auto emit = [&](const std::string& text) {
    if (text.empty()) return;
    out.text += text;
    if (req.on_text) req.on_text(text);
  };
  const auto t1 = std::chrono::steady_clock::now();
  while (true) {
    if (req.interrupted != nullptr && req.interrupted->load()) {
      out.finish_reason = "interrupted";
      break;
    }
    auto token = sampler.sample(logits);
    if (!token.ok()) return token.error();
    const bool context_full = ctx.sequence_length(req.seq) + 1 >= ctx.n_ctx();
    engine::SequenceOutput::Step step = output->push(*token, context_full);
    if (step.in_output) out.tokens.push_back(*token);
    emit(step.text);
    if (step.finish != engine::FinishReason::none) {
      out.finish_reason = engine::finish_reason_name(step.finish);
      break;
    }
    batch.clear();
    batch.add(*token, req.seq, ctx.sequence_length(req.seq), true);
    TESSERA_TRY(ctx.decode(batch));
    logits = ctx.logits(0);
  }
  emit(output->finish());
  out.generate_ms = ms_since(t1);
  return out;
}

}  // namespace tessera::cli
