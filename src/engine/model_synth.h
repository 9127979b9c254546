// Synthesized models: deterministic random weights in the exact shape, tensor names and
// metadata keys of a real model, with a real tokenizer copied from another GGUF file. They
// let benchmarks and capacity planning run without downloading weights; llama.cpp loads them
// like a converted model. The weights are random, so the text they generate is gibberish.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>

#include "engine/architecture.h"
#include "gguf/tensor_type.h"
#include "util/result.h"

namespace tessera::engine {

// A named model shape. `arch` empty: a generic test shape usable with any architecture.
struct ShapePreset {
  std::string_view name;
  std::string_view arch;
  std::string_view about;
  ModelShape shape;  // n_vocab comes from the vocabulary file
};

std::span<const ShapePreset> shape_presets();
const ShapePreset* find_shape(std::string_view name);

struct SynthOptions {
  std::string arch;   // "" = the shape's own architecture (required for generic shapes)
  std::string shape;  // a ShapePreset name
  gguf::TensorType type = gguf::TensorType::F16;  // type of the weight matrices
  std::string vocab_path;                         // GGUF file whose tokenizer.* keys are copied
  std::string out_path;
  std::string name;  // general.name; "" = the shape's name
  uint64_t seed = 1234;
  bool pool_fill = false;  // tile a pool of random blocks: fast, timing-only weights
  bool sparse = false;     // write no weights: the tensor data is a hole that reads as zeros
                           // (gguf::Writer::write_sparse), for capacity planning and tests
  int threads = 0;         // 0 = one per core
  // Called after each tensor: (tensor name, tensor bytes written so far, file size).
  std::function<void(std::string_view, uint64_t, uint64_t)> progress;
};

struct SynthReport {
  ModelShape shape;
  uint64_t n_tensors = 0;
  uint64_t n_params = 0;
  uint64_t file_bytes = 0;
  uint64_t fallback_tensors = 0;  // matrices written in a fallback type (see below)
};

// The type a matrix of row length `row` gets when `wanted` cannot tile it (as llama.cpp's
// quantizer does): Q4_K -> Q5_0, Q5_K -> Q5_1, Q6_K -> Q8_0, a 32-value type -> F16.
gguf::TensorType synth_matrix_type(gguf::TensorType wanted, int64_t row);

// Writes the model. Errors: unknown shape or architecture, a generic shape without --arch,
// an architecture that does not match the shape, a type we cannot write, a vocabulary file
// that cannot be read or has no tokenizer.ggml.tokens, I/O errors.
Result<SynthReport> synthesize_model(const SynthOptions& options);

}  // namespace tessera::engine
