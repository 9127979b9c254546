#include "backend/op_checks.h"

namespace tessera::backend {

using gguf::TensorType;

bool is_f32(const Tensor& t, int64_t rows, int64_t cols) {
  return t.type == TensorType::F32 && t.data != nullptr && t.rows == rows && t.cols == cols;
}
bool is_i32_row(const Tensor& t, int64_t n) {
  return t.type == TensorType::I32 && (t.data != nullptr || n == 0) && t.rows == 1 && t.cols == n;
}
bool is_optional_row(const Tensor& t, int64_t n) {
  return !t.present() || is_f32(t, 1, n);
}
std::optional<KvType> kv_type_of(TensorType t) {
  for (KvType k : {KvType::f16, KvType::f32, KvType::q8_0}) {
    if (kv_tensor_type(k) == t) return k;
  }
  return std::nullopt;
}

namespace {

bool same_shape(const Tensor& a, const Tensor& b) {
  return is_f32(b, a.rows, a.cols);
}
const char* unless(bool ok, const char* contract) {
  return ok ? nullptr : contract;
}

}  // namespace

const char* check_get_rows(const Tensor& table, bool readable, const Tensor& ids,
                           const Tensor& out) {
  return unless(readable && table.layout == Layout::natural && is_i32_row(ids, ids.cols) &&
                    is_f32(out, ids.cols, table.cols),
                "table, ids (I32 1 x n) and out (n x table.cols)");
}

const char* check_gather_rows(const Tensor& src, const Tensor& rows, const Tensor& out) {
  return unless(src.type == TensorType::F32 && is_i32_row(rows, rows.cols) &&
                    is_f32(out, rows.cols, src.cols),
                "src f32, rows (I32 1 x n), out (n x src.cols)");
}

const char* check_matmul(const Tensor& w, bool readable, const Tensor& x, const Tensor& y,
                         const Tensor& bias) {
  return unless(readable && is_f32(x, x.rows, w.cols) && is_f32(y, x.rows, w.rows) &&
                    is_optional_row(bias, w.rows),
                "w (rows x cols), x (n x cols), y (n x rows), bias (1 x rows)");
}

const char* check_rms_norm(const Tensor& x, const Tensor& weight, const Tensor& y) {
  return unless(is_f32(x, x.rows, x.cols) && same_shape(x, y) && is_optional_row(weight, x.cols),
                "x, y (n x cols), weight (1 x cols)");
}

const char* check_layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias,
                             const Tensor& y) {
  return unless(is_f32(x, x.rows, x.cols) && same_shape(x, y) && is_optional_row(weight, x.cols) &&
                    is_optional_row(bias, x.cols),
                "x, y (n x cols), weight and bias (1 x cols)");
}

const char* check_rope(const Tensor& x, int n_heads, const Tensor& pos, const RopeOp& op) {
  const int head_dim = n_heads > 0 ? static_cast<int>(x.cols / n_heads) : 0;
  return unless(is_f32(x, x.rows, x.cols) && n_heads > 0 && x.cols % n_heads == 0 &&
                    is_i32_row(pos, x.rows) && op.n_rot > 0 && op.n_rot % 2 == 0 &&
                    op.n_rot <= head_dim && is_optional_row(op.freq_factors, op.n_rot / 2),
                "x (n x n_heads * head_dim), pos (I32 1 x n), even n_rot <= head_dim");
}

const char* check_unary(const Tensor& x, const Tensor& out) {
  return unless(is_f32(x, x.rows, x.cols) && same_shape(x, out), "f32 x, out of one shape");
}

const char* check_binary(const Tensor& a, const Tensor& b, const Tensor& out) {
  return unless(is_f32(a, a.rows, a.cols) && same_shape(a, b) && same_shape(a, out),
                "f32 a, b, out of one shape");
}

const char* check_add_row(const Tensor& a, const Tensor& row, const Tensor& out) {
  return unless(is_f32(a, a.rows, a.cols) && same_shape(a, out) && is_f32(row, 1, a.cols),
                "a, out (n x cols), row (1 x cols)");
}

const char* check_kv_store(const Tensor& rows, const Tensor& cells, const Tensor& cache) {
  return unless(kv_type_of(cache.type).has_value() && cache.data != nullptr &&
                    is_f32(rows, rows.rows, cache.cols) && is_i32_row(cells, rows.rows),
                "rows (n x width f32), cells (I32 1 x n), cache (F16/F32/Q8_0)");
}

const char* check_attention(const Tensor& q, const Tensor& queries, const KvLayer& kv,
                            const AttentionShape& shape, const Tensor& out) {
  const int64_t width = static_cast<int64_t>(shape.n_heads) * shape.head_dim;
  const int64_t kv_width = static_cast<int64_t>(shape.n_kv_heads) * shape.head_dim;
  const int64_t n_cells = kv.k.rows;
  return unless(
      kv_type_of(kv.k.type).has_value() && kv.v.type == kv.k.type && kv.v.rows == n_cells &&
          kv.k.cols == kv_width && kv.v.cols == kv_width && shape.n_kv_heads > 0 &&
          shape.head_dim > 0 && shape.n_heads % shape.n_kv_heads == 0 && is_f32(q, q.rows, width) &&
          is_f32(out, q.rows, width) && queries.type == TensorType::I32 && queries.rows == q.rows &&
          queries.cols == 4 && is_i32_row(kv.cell_seq, n_cells) && is_i32_row(kv.cell_pos, n_cells),
      "q, out (n x n_heads * head_dim), queries (I32 n x 4), K and V (cells x "
      "n_kv_heads * head_dim), cell_seq and cell_pos (I32 1 x cells)");
}

}  // namespace tessera::backend
