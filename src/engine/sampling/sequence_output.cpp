#include "engine/sampling/sequence_output.h"

#include <utility>

namespace tessera::engine {

Result<SequenceOutput> SequenceOutput::create(const SamplingParams& params,
                                              const Tokenizer& tokenizer,
                                              std::span<const TokenId> prompt) {
  auto sampler = Sampler::create(params);
  if (!sampler.ok()) return sampler.error();
  sampler->accept_prompt(prompt);
  return SequenceOutput(std::move(*sampler), params, tokenizer);
}

SequenceOutput::SequenceOutput(Sampler sampler, const SamplingParams& params,
                               const Tokenizer& tokenizer)
    : sampler_(std::move(sampler)),
      stop_tokens_(params, tokenizer),
      stop_strings_(params.stop),
      stream_(tokenizer, /*render_special=*/false, /*at_text_start=*/false) {}

SequenceOutput::Step SequenceOutput::push(TokenId token, bool context_full) {
  Step step;
  sampler_.accept(token);
  ++n_generated_;
  step.finish =
      finish_reason_after(token, n_generated_, context_full, sampler_.params(), stop_tokens_);
  step.in_output = !stop_tokens_.contains(token);
  if (step.in_output) {
    step.text = stop_strings_.push(stream_.push(token));
    if (stop_strings_.stopped()) step.finish = FinishReason::stop;
  }
  return step;
}

std::string SequenceOutput::finish() {
  if (stop_strings_.stopped()) return "";
  std::string text = stop_strings_.push(stream_.flush());
  text += stop_strings_.flush();
  return text;
}

}  // namespace tessera::engine
