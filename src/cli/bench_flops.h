// Arithmetic of a decoder's prompt processing, for the GPU benchmark's TFLOP/s figure.
#pragma once

#include <cstdint>

#include "engine/llm/llm.h"
#include "gguf/reader.h"

namespace tessera::cli {

// Floating-point operations (a multiply-add is 2) of one prompt of `n` tokens with logits of
// the last one only: every layer matrix (blk.* tensors of 2 dimensions) times each token, the
// output projection once, and causal attention (q.k and p.v over the 1..n visible tokens).
// Norms, RoPE and activations are left out (a fraction of a percent).
double prompt_flops(const gguf::GgufFile& file, const engine::DecoderHparams& hp, int64_t n);

}  // namespace tessera::cli
