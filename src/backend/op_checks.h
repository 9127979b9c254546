// The shape and type contract of each Stream op (backend.h), checked the same way by every
// backend before it runs a kernel: cheap integer compares on the Tensor descriptors, never a
// read of tensor data (index arrays may live on a device). Each check returns null when the
// tensors fit, else the op's contract in words for the error message.
#pragma once

#include <cstdint>
#include <optional>

#include "backend/ops.h"
#include "backend/tensor.h"

namespace tessera::backend {

// An F32 tensor of exactly rows x cols with data.
bool is_f32(const Tensor& t, int64_t rows, int64_t cols);
// An I32 tensor of 1 x n (data may be null when n == 0).
bool is_i32_row(const Tensor& t, int64_t n);
// Absent, or an F32 row of n values.
bool is_optional_row(const Tensor& t, int64_t n);
// The KV type whose cache tensors have GGUF type `t`, if any.
std::optional<KvType> kv_type_of(gguf::TensorType t);

// `readable`: whether the backend reads the weight / table (type, layout) — its own rule.
const char* check_get_rows(const Tensor& table, bool readable, const Tensor& ids,
                           const Tensor& out);
const char* check_gather_rows(const Tensor& src, const Tensor& rows, const Tensor& out);
const char* check_matmul(const Tensor& w, bool readable, const Tensor& x, const Tensor& y,
                         const Tensor& bias);
const char* check_rms_norm(const Tensor& x, const Tensor& weight, const Tensor& y);
const char* check_layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias,
                             const Tensor& y);
const char* check_rope(const Tensor& x, int n_heads, const Tensor& pos, const RopeOp& op);
const char* check_unary(const Tensor& x, const Tensor& out);
const char* check_binary(const Tensor& a, const Tensor& b, const Tensor& out);
const char* check_add_row(const Tensor& a, const Tensor& row, const Tensor& out);
const char* check_kv_store(const Tensor& rows, const Tensor& cells, const Tensor& cache);
const char* check_attention(const Tensor& q, const Tensor& queries, const KvLayer& kv,
                            const AttentionShape& shape, const Tensor& out);

}  // namespace tessera::backend
