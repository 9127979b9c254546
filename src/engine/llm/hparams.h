// Reading a decoder's hyperparameters from its GGUF metadata (internal to engine/llm).
#pragma once

#include <string_view>

#include "engine/llm/llm.h"

namespace tessera::engine {

// Reads the `<arch>.*` keys into DecoderHparams (n_vocab is left for the caller: the rows of
// token_embd). Errors (malformed / unsupported): a required key missing or of the wrong
// type, implausible or inconsistent values (names the key and the value), a RoPE scaling
// type other than none/linear.
Result<DecoderHparams> read_decoder_hparams(const gguf::GgufFile& file, std::string_view arch);

}  // namespace tessera::engine
