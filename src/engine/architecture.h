// The model architectures Tessera knows, as a table: one file per architecture
// (arch_<name>.cpp) defines its ArchSpec, and kArchitectures in architecture.cpp lists them.
//
// An ArchSpec says what kind of model the architecture is and how its GGUF file is laid out
// (metadata keys and tensor names, as llama.cpp's converters write them). Model info, memory
// estimates and `model synth` read these facts from here; the forward passes (later) will
// register beside them.
#pragma once

#include <cmath>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "gguf/tensor_type.h"
#include "gguf/writer.h"

namespace tessera::engine {

enum class ModelKind {
  decoder,  // causal LM with a KV cache (llama, qwen2)
  encoder,  // bidirectional, no KV cache (bert embedders and rerankers)
};

// Pooling of an encoder's token states (`<arch>.pooling_type`, llama.cpp's numbering).
enum class Pooling : int { none = 0, mean = 1, cls = 2, last = 3, rank = 4 };

// Hyperparameters of a model to synthesize.
struct ModelShape {
  std::string arch;
  int64_t n_vocab = 0;  // rows of token_embd (= tokens of the vocabulary)
  int64_t n_ctx = 0;    // training context; bert: rows of position_embd
  int64_t n_embd = 0;
  int64_t n_layer = 0;
  int64_t n_head = 0;
  int64_t n_head_kv = 0;  // decoders (GQA); encoders use n_head
  int64_t n_ff = 0;
  double rope_freq_base = 10000.0;
  double norm_eps = 1e-5;  // RMSNorm eps (decoders) or LayerNorm eps (encoders)
  bool tied_output = false;
  Pooling pooling = Pooling::mean;
  int64_t n_token_types = 2;
};

// How to initialise a tensor's values: normal(mean, std).
struct TensorInit {
  double mean;
  double std;
};

// The initialisations every architecture shares: linear layers normal(0, 1/sqrt(n_in)),
// norm weights normal(1, 0.1), biases normal(0, 0.1).
inline TensorInit linear_init(int64_t n_in) {
  return TensorInit{0.0, 1.0 / std::sqrt(static_cast<double>(n_in))};
}
inline constexpr TensorInit kNormInit{1.0, 0.1};
inline constexpr TensorInit kBiasInit{0.0, 0.1};

// One tensor of a model file. `matrix` tensors take the model's weight type; vectors (norms,
// biases) are always F32; `fixed_f32` marks small matrices kept F32 (bert's position and
// token-type embeddings).
struct TensorPlan {
  std::string name;
  std::vector<int64_t> ne;  // ggml order: ne[0] is the row length
  TensorInit init;
  bool fixed_f32 = false;
};

// How a decoder's forward pass differs between architectures: what the runtime
// (engine/llm/) reads to build a model. Hyperparameters always come from the generic
// `<arch>.*` keys: attention.head_count(_kv), attention.layer_norm_rms_epsilon,
// rope.freq_base, rope.dimension_count, rope.scaling.type/factor; tensor names are
// llama.cpp's (token_embd, blk.N.attn_q, ..., output_norm, output, rope_freqs).
enum class RopeKind {
  normal,  // rotates adjacent pairs (2i, 2i + 1): llama
  neox,    // rotates pairs (i, i + n_rot / 2): qwen2, NeoX
};

struct DecoderTraits {
  RopeKind rope = RopeKind::normal;
  bool qkv_bias = false;  // blk.N.attn_{q,k,v}.bias are required
  // output.weight may be absent, the output projection then uses token_embd (tied).
  bool output_may_be_tied = true;
  // rope_freqs.weight (Llama-3.1 per-dimension frequency divisors) is read when present.
  bool rope_freq_factors = true;
};

struct ArchSpec {
  std::string_view name;
  ModelKind kind;
  // Writes the `<arch>.*` hyperparameter keys (not general.*, not tokenizer.*).
  void (*write_hparams)(const ModelShape& shape, gguf::Writer& w);
  // The tensors of a model of this shape, in file order.
  std::vector<TensorPlan> (*tensor_plan)(const ModelShape& shape);
  // Decoders the runtime can run; nullptr for the others.
  const DecoderTraits* decoder = nullptr;
};

// The table; nullptr for an architecture we do not know.
const ArchSpec* find_architecture(std::string_view name);
std::span<const ArchSpec* const> architectures();

// Writes the keys every architecture shares: <arch>.vocab_size, context_length,
// embedding_length, block_count, feed_forward_length, attention.head_count.
void write_common_hparams(const ModelShape& shape, gguf::Writer& w);

// Per-architecture definitions (arch_*.cpp).
const ArchSpec& llama_architecture();
const ArchSpec& qwen2_architecture();
const ArchSpec& bert_architecture();

}  // namespace tessera::engine
