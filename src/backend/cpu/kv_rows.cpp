#include "backend/cpu/kv_rows.h"

#include <cstring>
#include <string>
#include <vector>

#include "gguf/quant_kernels.h"
#include "util/half.h"

namespace tessera::backend::cpu {
namespace {

constexpr int64_t kQ8Block = 32;
constexpr size_t kQ8BlockBytes = 34;

// All 65536 halves as floats: a load is one table read instead of a branchy conversion.
const float* f16_table() {
  static const std::vector<float> table = [] {
    std::vector<float> t(65536);
    for (uint32_t h = 0; h < 65536; ++h) t[h] = f16_to_f32(static_cast<uint16_t>(h));
    return t;
  }();
  return table.data();
}

}  // namespace

size_t kv_row_bytes(KvType type, int64_t n_values) {
  const auto n = static_cast<size_t>(n_values);
  switch (type) {
    case KvType::f16:
      return n * 2;
    case KvType::f32:
      return n * 4;
    case KvType::q8_0:
      return n / kQ8Block * kQ8BlockBytes;
  }
  return 0;
}

void kv_store(KvType type, const float* rows, int64_t n_rows, int64_t row_len, const int32_t* cells,
              void* cache, ThreadPool* pool) {
  const size_t row_bytes = kv_row_bytes(type, row_len);
  auto* base = static_cast<uint8_t*>(cache);
  parallel_for(pool, n_rows, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const float* src = rows + i * row_len;
      uint8_t* dst = base + static_cast<size_t>(cells[i]) * row_bytes;
      switch (type) {
        case KvType::f16:
          gguf::kernels::quantize_f16(src, dst, row_len);
          break;
        case KvType::f32:
          gguf::kernels::quantize_f32(src, dst, row_len);
          break;
        case KvType::q8_0:
          gguf::kernels::quantize_q8_0(src, dst, row_len);
          break;
      }
    }
  });
}

void kv_load(KvType type, const void* row, int64_t first, int64_t n, float* out) {
  const auto* bytes = static_cast<const uint8_t*>(row);
  switch (type) {
    case KvType::f16: {
      const float* table = f16_table();
      const uint8_t* p = bytes + first * 2;
      for (int64_t i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, p + 2 * i, 2);
        out[i] = table[h];
      }
      return;
    }
    case KvType::f32:
      std::memcpy(out, bytes + first * 4, static_cast<size_t>(n) * 4);
      return;
    case KvType::q8_0:
      gguf::kernels::dequantize_q8_0(bytes + first / kQ8Block * kQ8BlockBytes, out, n);
      return;
  }
}

}  // namespace tessera::backend::cpu
