// Parameters of the ops every backend implements (Stream in backend.h): plain data shared by
// the interface and the kernels of each backend.
#pragma once

#include <cstddef>
#include <cstdint>

#include "backend/tensor.h"
#include "gguf/tensor_type.h"

namespace tessera::backend {

// How the K/V cache stores values.
enum class KvType {
  f16,   // the default: IEEE half, round to nearest even
  f32,   // exact
  q8_0,  // GGUF Q8_0 blocks of 32 values (head_dim must be a multiple of 32)
};

const char* kv_type_name(KvType type);
// The GGUF type a cache of `type` is stored as (F16, F32, Q8_0): a cache tensor has that type.
gguf::TensorType kv_tensor_type(KvType type);
// Checks a cache layout. Errors: invalid_argument (non-positive sizes, or q8_0 with a
// head_dim that is not a multiple of 32).
Status check_kv_layout(KvType type, int n_kv_heads, int head_dim);

enum class RopeStyle {
  normal,  // llama: rotates adjacent pairs (2i, 2i + 1)
  neox,    // qwen2, NeoX: rotates pairs (i, i + n_rot / 2)
};

// Rotary position embedding of each head's first n_rot dimensions (see backend/cpu/rope.h for
// the exact arithmetic every backend follows).
struct RopeOp {
  RopeStyle style = RopeStyle::normal;
  int n_rot = 0;  // even, 0 < n_rot <= head_dim
  float freq_base = 10000.0f;
  float freq_scale = 1.0f;  // linear position scaling (1 / rope.scaling.factor)
  Tensor freq_factors;      // F32, 1 x n_rot / 2 divisors of the angles (Llama-3.1), or absent
};

struct AttentionShape {
  int n_heads = 0;     // query heads, a multiple of n_kv_heads
  int n_kv_heads = 0;  // query head h reads kv head h / (n_heads / n_kv_heads)
  int head_dim = 0;
  float scale = 0.0f;  // score scale; 0 means 1 / sqrt(head_dim)
};

// What one query token sees: the cells of sequence `seq` with position <= `pos`, looked for in
// the window [cell_begin, cell_end). Four int32 values: a queries tensor is I32, n x 4.
struct AttentionQuery {
  int32_t seq = 0;
  int32_t pos = 0;
  int32_t cell_begin = 0;
  int32_t cell_end = 0;
};
static_assert(sizeof(AttentionQuery) == 4 * sizeof(int32_t));

// One layer of a K/V cache shared by several sequences: cell c holds one token of sequence
// cell_seq[c] (< 0: empty) at position cell_pos[c].
struct KvLayer {
  Tensor k;         // n_cells x (n_kv_heads * head_dim), of kv_tensor_type(...)
  Tensor v;         // same shape and type as k
  Tensor cell_seq;  // I32, 1 x n_cells
  Tensor cell_pos;  // I32, 1 x n_cells
};

}  // namespace tessera::backend
