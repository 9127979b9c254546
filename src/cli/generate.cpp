#include "cli/generate.h"

#include <algorithm>
#include <chrono>

#include "engine/sampling/stop_matcher.h"

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
  auto sampler = engine::Sampler::create(req.sampling);
  if (!sampler.ok()) return sampler.error();
  sampler->accept_prompt(req.prompt);
  const engine::StopTokenSet stop_tokens(req.sampling, tok);
  engine::StopMatcher stop_strings(req.sampling.stop);
  engine::StreamDecoder stream(tok, /*render_special=*/false, /*at_text_start=*/false);

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
  int32_t n_generated = 0;
  while (true) {
    if (req.interrupted != nullptr && req.interrupted->load()) {
      out.finish_reason = "interrupted";
      break;
    }
    auto token = sampler->sample(logits);
    if (!token.ok()) return token.error();
    sampler->accept(*token);
    ++n_generated;
    const bool context_full = ctx.sequence_length(req.seq) + 1 >= ctx.n_ctx();
    const engine::FinishReason finish =
        engine::finish_reason_after(*token, n_generated, context_full, req.sampling, stop_tokens);
    const bool is_stop_token = stop_tokens.contains(*token);
    if (!is_stop_token) {
      out.tokens.push_back(*token);
      emit(stop_strings.push(stream.push(*token)));
      if (stop_strings.stopped()) {
        out.finish_reason = "stop";
        break;
      }
    }
    if (finish != engine::FinishReason::none) {
      out.finish_reason = engine::finish_reason_name(finish);
      break;
    }
    batch.clear();
    batch.add(*token, req.seq, ctx.sequence_length(req.seq), true);
    TESSERA_TRY(ctx.decode(batch));
    logits = ctx.logits(0);
  }
  if (!stop_strings.stopped()) emit(stop_strings.push(stream.flush()) + stop_strings.flush());
  out.generate_ms = ms_since(t1);
  return out;
}

}  // namespace tessera::cli
