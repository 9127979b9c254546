// Plain float types: F32 (copy), F16 and BF16 (bit conversions of util/half.h).
#include <cstring>

#include "gguf/quant_kernels.h"
#include "util/half.h"

namespace tessera::gguf::kernels {

void dequantize_f32(const void* blocks, float* out, int64_t n) {
  std::memcpy(out, blocks, static_cast<size_t>(n) * sizeof(float));
}

void quantize_f32(const float* in, void* blocks, int64_t n) {
  std::memcpy(blocks, in, static_cast<size_t>(n) * sizeof(float));
}

void dequantize_f16(const void* blocks, float* out, int64_t n) {
  const auto* p = static_cast<const uint8_t*>(blocks);
  for (int64_t i = 0; i < n; ++i) out[i] = load_f16(p + 2 * i);
}

void quantize_f16(const float* in, void* blocks, int64_t n) {
  auto* p = static_cast<uint8_t*>(blocks);
  for (int64_t i = 0; i < n; ++i) store_f16(p + 2 * i, in[i]);
}

void dequantize_bf16(const void* blocks, float* out, int64_t n) {
  const auto* p = static_cast<const uint8_t*>(blocks);
  for (int64_t i = 0; i < n; ++i) {
    uint16_t b;
    std::memcpy(&b, p + 2 * i, 2);
    out[i] = bf16_to_f32(b);
  }
}

void quantize_bf16(const float* in, void* blocks, int64_t n) {
  auto* p = static_cast<uint8_t*>(blocks);
  for (int64_t i = 0; i < n; ++i) {
    const uint16_t b = f32_to_bf16(in[i]);
    std::memcpy(p + 2 * i, &b, 2);
  }
}

}  // namespace tessera::gguf::kernels
