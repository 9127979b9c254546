// Helpers shared by the quantization tests: whole-vector conversions through the public API
// and error measures.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "gguf/tensor_type.h"

namespace tessera::gguf::test_quant {

using T = TensorType;

inline std::vector<uint8_t> quantize_vec(T type, const std::vector<float>& x) {
  const TensorTypeInfo* info = tensor_type_info(type);
  std::vector<uint8_t> out(*row_bytes(*info, x.size()));
  const Status st = quantize(type, x.data(), out.data(), static_cast<int64_t>(x.size()));
  EXPECT_TRUE(st.ok()) << (st.ok() ? "" : st.error().message);
  return out;
}

inline std::vector<float> dequantize_vec(T type, const std::vector<uint8_t>& blocks, size_t n) {
  std::vector<float> out(n);
  const Status st = dequantize(type, blocks.data(), out.data(), static_cast<int64_t>(n));
  EXPECT_TRUE(st.ok()) << (st.ok() ? "" : st.error().message);
  return out;
}

inline std::vector<float> round_trip(T type, const std::vector<float>& x) {
  return dequantize_vec(type, quantize_vec(type, x), x.size());
}

inline double rms(const std::vector<float>& a) {
  double s = 0;
  for (float v : a) s += static_cast<double>(v) * v;
  return std::sqrt(s / static_cast<double>(a.size()));
}

inline double rms_diff(const std::vector<float>& a, const std::vector<float>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    const double e = static_cast<double>(a[i]) - b[i];
    s += e * e;
  }
  return std::sqrt(s / static_cast<double>(a.size()));
}

}  // namespace tessera::gguf::test_quant
