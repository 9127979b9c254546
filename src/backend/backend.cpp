// Backend-independent parts of the interface: tensor geometry, the memory account, names.
#include "backend/backend.h"

#include <cassert>
#include <cstdio>
#include <string>

namespace tessera::backend {
namespace {

std::string mib(uint64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(bytes) / (1024.0 * 1024.0));
  return buf;
}

}  // namespace

size_t Tensor::row_bytes() const {
  const gguf::TensorTypeInfo* info = gguf::tensor_type_info(type);
  assert(info != nullptr && cols % info->block_size == 0);
  return static_cast<size_t>(cols / info->block_size) * info->block_bytes;
}

Tensor Tensor::slice_rows(int64_t first, int64_t n) const {
  assert(first >= 0 && n >= 0 && first + n <= rows);
  Tensor t = *this;
  t.data = static_cast<uint8_t*>(data) + static_cast<size_t>(first) * row_bytes();
  t.rows = n;
  return t;
}

Status check_tensor(const Tensor& t, const char* what) {
  const gguf::TensorTypeInfo* info = gguf::tensor_type_info(t.type);
  if (info == nullptr) {
    return make_error(ErrorCode::invalid_argument,
                      std::string(what) + ": unknown tensor type " +
                          std::to_string(static_cast<uint32_t>(t.type)));
  }
  if (t.cols <= 0 || t.cols % info->block_size != 0 || t.rows < 0) {
    return make_error(ErrorCode::invalid_argument,
                      std::string(what) + ": shape [" + std::to_string(t.cols) + ", " +
                          std::to_string(t.rows) + "] is not whole rows of " + info->name +
                          " blocks of " + std::to_string(info->block_size));
  }
  if (t.rows > 0 && t.data == nullptr) {
    return make_error(ErrorCode::invalid_argument, std::string(what) + ": no data");
  }
  return {};
}

const char* kv_type_name(KvType type) {
  switch (type) {
    case KvType::f16:
      return "f16";
    case KvType::f32:
      return "f32";
    case KvType::q8_0:
      return "q8_0";
  }
  return "?";
}

gguf::TensorType kv_tensor_type(KvType type) {
  switch (type) {
    case KvType::f16:
      return gguf::TensorType::F16;
    case KvType::f32:
      return gguf::TensorType::F32;
    case KvType::q8_0:
      return gguf::TensorType::Q8_0;
  }
  return gguf::TensorType::F16;
}

Status check_kv_layout(KvType type, int n_kv_heads, int head_dim) {
  if (n_kv_heads <= 0 || head_dim <= 0) {
    return make_error(ErrorCode::invalid_argument,
                      "KV cache layout needs positive head counts and sizes (got " +
                          std::to_string(n_kv_heads) + " heads of " + std::to_string(head_dim) +
                          ")");
  }
  if (type == KvType::q8_0 && head_dim % 32 != 0) {
    return make_error(ErrorCode::invalid_argument,
                      "a q8_0 KV cache needs a head size that is a multiple of 32 (got " +
                          std::to_string(head_dim) + "); use f16");
  }
  return {};
}

const char* device_kind_name(DeviceKind kind) {
  return kind == DeviceKind::cpu ? "cpu" : "cuda";
}

Status MemoryAccount::reserve(uint64_t bytes, bool imported, std::string_view what,
                              std::string_view device) {
  std::lock_guard<std::mutex> lock(mu_);
  const uint64_t in_use = stats_.in_use();
  if (stats_.limit != 0 && (bytes > stats_.limit || in_use > stats_.limit - bytes)) {
    return make_error(ErrorCode::out_of_range, std::string(what) + ": " + mib(bytes) +
                                                   " does not fit on " + std::string(device) +
                                                   ": " + mib(in_use) + " of its limit of " +
                                                   mib(stats_.limit) + " are in use");
  }
  (imported ? stats_.imported : stats_.allocated) += bytes;
  if (stats_.in_use() > stats_.peak) stats_.peak = stats_.in_use();
  return {};
}

void MemoryAccount::release(uint64_t bytes, bool imported) {
  std::lock_guard<std::mutex> lock(mu_);
  uint64_t& counter = imported ? stats_.imported : stats_.allocated;
  assert(counter >= bytes);
  counter -= bytes;
}

void MemoryAccount::set_limit(uint64_t limit) {
  std::lock_guard<std::mutex> lock(mu_);
  stats_.limit = limit;
}

MemoryStats MemoryAccount::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

Tensor Buffer::tensor(gguf::TensorType type, size_t offset, int64_t rows, int64_t cols) const {
  Tensor t{type, static_cast<uint8_t*>(data_) + offset, rows, cols};
  assert(offset + t.bytes() <= size_);
  return t;
}

}  // namespace tessera::backend
