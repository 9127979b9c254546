// `tessera bench --model ENCODER`: embedding throughput (texts/s and tokens/s) of an encoder
// model at batch 1 and 32, texts of `tokens` pseudo-random tokens (at most the model's context)
// — the figures issue #6 asks for. Used by bench_cmd.cpp when the model is an encoder.
#pragma once

#include <string>

#include "util/result.h"

namespace tessera::cli {

// Whether the GGUF at `path` is an encoder (its architecture's kind); false when unreadable
// (the decoder path then reports the problem).
bool is_encoder_file(const std::string& path);

// Loads the model, warms up, then times `reps` calls at each batch size; prints a table (or
// JSON: {"model", "threads", "tokens_per_text", "embed": [{"batch", "texts_per_s": median,
// "tokens_per_s": median, "min", "max", "runs"}...]}).
Status bench_encoder(const std::string& path, int threads, int tokens, int reps, bool json);

}  // namespace tessera::cli
