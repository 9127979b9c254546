// CudaStream's ops: each checks its tensors (backend/op_checks.h), adds its arguments to the
// step signature, and enqueues one launcher of this folder's kernels. Matmul is in
// cuda_matmul.cpp.
#include "backend/cuda/attention.h"
#include "backend/cuda/cuda_stream.h"
#include "backend/cuda/dequant.h"
#include "backend/cuda/elementwise.h"
#include "backend/cuda/norm_rope.h"
#include "backend/cuda/quant_matvec.h"
#include "backend/cuda/rows.h"
#include "backend/op_checks.h"

namespace tessera::cuda {
namespace {

using backend::Tensor;

float* f32(const Tensor& t) {
  return static_cast<float*>(t.data);
}
const float* f32_or_null(const Tensor& t) {
  return t.present() ? static_cast<const float*>(t.data) : nullptr;
}
const int32_t* i32(const Tensor& t) {
  return static_cast<const int32_t*>(t.data);
}
int64_t elements(const Tensor& t) {
  return t.rows * t.cols;
}

// Op identities in step signatures.
enum Op : uint64_t {
  kGetRows = 1,
  kGatherRows,
  kRmsNorm,
  kLayerNorm,
  kRope,
  kAdd,
  kMul,
  kScale,
  kGelu,
  kSilu,
  kSwiglu,
  kAddRow,
  kSoftmax,
  kKvStore,
  kAttention,
};

}  // namespace

void CudaStream::get_rows(const Tensor& table, const Tensor& ids, const Tensor& out) {
  const bool readable =
      check_tensor(table, "table").ok() && cuda_weight_type_supported(static_cast<int>(table.type));
  if (!fits("get_rows", backend::check_get_rows(table, readable, ids, out))) return;
  sign(kGetRows, {&table, &ids, &out});
  const int type = static_cast<int>(table.type);
  const void* t = table.data;
  const int64_t rows = table.rows, cols = table.cols, n = ids.cols;
  const int32_t* id = i32(ids);
  float* o = f32(out);
  auto* err = static_cast<unsigned*>(error_word_->data());
  enqueue("get_rows",
          [=](cudaStream_t s) { launch_get_rows(s, type, t, rows, cols, id, n, o, err); });
}

void CudaStream::gather_rows(const Tensor& src, const Tensor& rows, const Tensor& out) {
  if (!fits("gather_rows", backend::check_gather_rows(src, rows, out))) return;
  sign(kGatherRows, {&src, &rows, &out});
  const float* from = f32(src);
  const int64_t src_rows = src.rows, cols = src.cols, n = rows.cols;
  const int32_t* idx = i32(rows);
  float* o = f32(out);
  auto* err = static_cast<unsigned*>(error_word_->data());
  enqueue("gather_rows",
          [=](cudaStream_t s) { launch_gather_rows(s, from, src_rows, cols, idx, n, o, err); });
}

void CudaStream::rms_norm(const Tensor& x, const Tensor& weight, float eps, const Tensor& y) {
  if (!fits("rms_norm", backend::check_rms_norm(x, weight, y))) return;
  sign(kRmsNorm, {&x, &weight, &y}, {float_word(eps)});
  const float* in = f32(x);
  const float* w = f32_or_null(weight);
  const int64_t rows = x.rows, cols = x.cols;
  float* o = f32(y);
  enqueue("rms_norm", [=](cudaStream_t s) { launch_rms_norm(s, in, w, eps, rows, cols, o); });
}

void CudaStream::layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, float eps,
                            const Tensor& y) {
  if (!fits("layer_norm", backend::check_layer_norm(x, weight, bias, y))) return;
  sign(kLayerNorm, {&x, &weight, &bias, &y}, {float_word(eps)});
  const float* in = f32(x);
  const float* w = f32_or_null(weight);
  const float* b = f32_or_null(bias);
  const int64_t rows = x.rows, cols = x.cols;
  float* o = f32(y);
  enqueue("layer_norm",
          [=](cudaStream_t s) { launch_layer_norm(s, in, w, b, eps, rows, cols, o); });
}

void CudaStream::rope(const Tensor& x, int n_heads, const Tensor& pos, const backend::RopeOp& op) {
  if (!fits("rope", backend::check_rope(x, n_heads, pos, op))) return;
  sign(kRope, {&x, &pos, &op.freq_factors},
       {static_cast<uint64_t>(n_heads), static_cast<uint64_t>(op.style),
        static_cast<uint64_t>(op.n_rot), float_word(op.freq_base), float_word(op.freq_scale)});
  float* data = f32(x);
  const int64_t n = x.rows;
  const int head_dim = static_cast<int>(x.cols / n_heads);
  const int32_t* p = i32(pos);
  const int style = op.style == backend::RopeStyle::neox ? 1 : 0;
  const int n_rot = op.n_rot;
  const float base = op.freq_base, fscale = op.freq_scale;
  const float* factors = f32_or_null(op.freq_factors);
  enqueue("rope", [=](cudaStream_t s) {
    launch_rope(s, data, n, n_heads, head_dim, p, style, n_rot, base, fscale, factors);
  });
}

void CudaStream::add(const Tensor& a, const Tensor& b, const Tensor& out) {
  if (!fits("add", backend::check_binary(a, b, out))) return;
  sign(kAdd, {&a, &b, &out});
  const float *x = f32(a), *y = f32(b);
  float* o = f32(out);
  const int64_t n = elements(a);
  enqueue("add", [=](cudaStream_t s) { launch_add(s, x, y, o, n); });
}

void CudaStream::mul(const Tensor& a, const Tensor& b, const Tensor& out) {
  if (!fits("mul", backend::check_binary(a, b, out))) return;
  sign(kMul, {&a, &b, &out});
  const float *x = f32(a), *y = f32(b);
  float* o = f32(out);
  const int64_t n = elements(a);
  enqueue("mul", [=](cudaStream_t s) { launch_mul(s, x, y, o, n); });
}

void CudaStream::scale(const Tensor& x, float factor, const Tensor& out) {
  if (!fits("scale", backend::check_unary(x, out))) return;
  sign(kScale, {&x, &out}, {float_word(factor)});
  const float* in = f32(x);
  float* o = f32(out);
  const int64_t n = elements(x);
  enqueue("scale", [=](cudaStream_t s) { launch_scale(s, in, factor, o, n); });
}

void CudaStream::gelu(const Tensor& x, const Tensor& out) {
  if (!fits("gelu", backend::check_unary(x, out))) return;
  sign(kGelu, {&x, &out});
  const float* in = f32(x);
  float* o = f32(out);
  const int64_t n = elements(x);
  enqueue("gelu", [=](cudaStream_t s) { launch_gelu(s, in, o, n); });
}

void CudaStream::silu(const Tensor& x, const Tensor& out) {
  if (!fits("silu", backend::check_unary(x, out))) return;
  sign(kSilu, {&x, &out});
  const float* in = f32(x);
  float* o = f32(out);
  const int64_t n = elements(x);
  enqueue("silu", [=](cudaStream_t s) { launch_silu(s, in, o, n); });
}

void CudaStream::swiglu(const Tensor& gate, const Tensor& up, const Tensor& out) {
  if (!fits("swiglu", backend::check_binary(gate, up, out))) return;
  sign(kSwiglu, {&gate, &up, &out});
  const float *g = f32(gate), *u = f32(up);
  float* o = f32(out);
  const int64_t n = elements(gate);
  enqueue("swiglu", [=](cudaStream_t s) { launch_swiglu(s, g, u, o, n); });
}

void CudaStream::add_row(const Tensor& a, const Tensor& row, const Tensor& out) {
  if (!fits("add_row", backend::check_add_row(a, row, out))) return;
  sign(kAddRow, {&a, &row, &out});
  const float *x = f32(a), *r = f32(row);
  float* o = f32(out);
  const int64_t rows = a.rows, cols = a.cols;
  enqueue("add_row", [=](cudaStream_t s) { launch_add_row(s, x, r, o, rows, cols); });
}

void CudaStream::softmax(const Tensor& x, const Tensor& out) {
  if (!fits("softmax", backend::check_unary(x, out))) return;
  sign(kSoftmax, {&x, &out});
  const float* in = f32(x);
  float* o = f32(out);
  const int64_t rows = x.rows, cols = x.cols;
  enqueue("softmax", [=](cudaStream_t s) { launch_softmax(s, in, o, rows, cols); });
}

void CudaStream::kv_store(const Tensor& rows, const Tensor& cells, const Tensor& cache) {
  if (!fits("kv_store", backend::check_kv_store(rows, cells, cache))) return;
  sign(kKvStore, {&rows, &cells, &cache});
  const int type = static_cast<int>(*backend::kv_type_of(cache.type));
  const float* r = f32(rows);
  const int64_t n = rows.rows, len = rows.cols, n_cells = cache.rows;
  const int32_t* c = i32(cells);
  void* dst = cache.data;
  auto* err = static_cast<unsigned*>(error_word_->data());
  enqueue("kv_store",
          [=](cudaStream_t s) { launch_kv_store(s, type, r, n, len, c, n_cells, dst, err); });
}

void CudaStream::attention(const Tensor& q, const Tensor& queries, const backend::KvLayer& kv,
                           const backend::AttentionShape& shape, const Tensor& out) {
  if (!fits("attention", backend::check_attention(q, queries, kv, shape, out))) return;
  if (!fits("attention", shape.head_dim <= kAttentionMaxHeadDim
                             ? nullptr
                             : "a head size of at most 256 on the GPU")) {
    return;
  }
  sign(kAttention, {&q, &queries, &kv.k, &kv.v, &kv.cell_seq, &kv.cell_pos, &out},
       {static_cast<uint64_t>(shape.n_heads), static_cast<uint64_t>(shape.n_kv_heads),
        static_cast<uint64_t>(shape.head_dim), float_word(shape.scale)});
  const int64_t n = q.rows, n_cells = kv.k.rows;
  void* work = scratch(
      kAttention, attention_scratch_bytes(n, shape.n_heads, shape.head_dim, n_cells), "attention");
  if (work == nullptr) return;
  const int type = static_cast<int>(*backend::kv_type_of(kv.k.type));
  const float* qs = f32(q);
  const int32_t* query = i32(queries);
  const void *k = kv.k.data, *v = kv.v.data;
  const int32_t *seq = i32(kv.cell_seq), *pos = i32(kv.cell_pos);
  float* o = f32(out);
  auto* err = static_cast<unsigned*>(error_word_->data());
  enqueue("attention", [=](cudaStream_t s) {
    launch_attention(s, qs, n, query, type, k, v, seq, pos, n_cells, shape.n_heads,
                     shape.n_kv_heads, shape.head_dim, shape.scale, o, work, err);
  });
}

}  // namespace tessera::cuda
