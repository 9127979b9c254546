// Reading a decoder's hyperparameters from its GGUF metadata (internal to engine/llm).
#pragma once

#include <string>
#include <string_view>

#include "engine/llm/llm.h"

namespace tessera::engine {

// Reads the `<arch>.*` keys into DecoderHparams (n_vocab is left for the caller: the rows of
// token_embd). Errors (malformed / unsupported): a required key missing or of the wrong
// type, implausible or inconsistent values (names the key and the value), a RoPE scaling
// type other than none/linear.
Result<DecoderHparams> read_decoder_hparams(const gguf::GgufFile& file, std::string_view arch);

// A required positive integer key, at most `max`. Errors (malformed): missing ("required for
// <model>"), zero or past max (names the key and the value); a key of another type.
Result<int64_t> read_positive(const gguf::GgufFile& file, const std::string& key, uint64_t max,
                              const char* model);

}  // namespace tessera::engine
