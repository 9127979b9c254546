// Loads one model on the backends the scheduler made for its places: a decoder (LlmModel and
// one LlmContext with a slot per parallel sequence, split by layers when there are several
// backends) or an encoder (EncoderModel). Internal to the scheduler.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "engine/llm/encoder.h"
#include "engine/llm/llm.h"
#include "runtime/batcher.h"
#include "util/result.h"

namespace tessera::runtime {

struct LoadedModel {
  std::shared_ptr<const engine::LlmModel> llm;
  std::unique_ptr<engine::LlmContext> context;
  std::shared_ptr<const engine::EncoderModel> encoder;
  std::vector<std::shared_ptr<backend::Backend>> backends;  // one per place, in place order
  double seconds = 0;                                       // wall time of the load
  // Decoders: the continuous batcher over `context` (made by the scheduler; declared last so
  // it stops before the context goes).
  std::unique_ptr<Batcher> batcher;
};

// `context`: n_ctx = tokens per sequence x sequences, n_seq_max = sequences. Errors: the
// engine's (the file, the backend's memory limit), with the model's path.
Result<LoadedModel> load_model(const std::string& path, bool decoder,
                               std::vector<std::shared_ptr<backend::Backend>> backends,
                               const engine::ContextOptions& context, int n_threads);

}  // namespace tessera::runtime
