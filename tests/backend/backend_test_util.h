// Helpers for the CPU kernel tests: deterministic random data, weights of every type, and
// error checks against double-precision references.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "backend/cpu/thread_pool.h"
#include "gguf/tensor_type.h"
#include "util/half.h"
#include "util/random.h"

namespace tessera::backend::cpu::test {

using gguf::TensorType;

// n values uniform in [-amp, amp).
inline std::vector<float> random_floats(uint64_t seed, size_t n, double amp = 1.0) {
  SplitMix64 rng(seed);
  std::vector<float> v(n);
  for (auto& x : v) x = static_cast<float>((rng.uniform() * 2.0 - 1.0) * amp);
  return v;
}

// The thread counts every multi-threaded kernel is run with; null = the caller's thread.
inline std::vector<std::unique_ptr<ThreadPool>> test_pools() {
  std::vector<std::unique_ptr<ThreadPool>> pools;
  for (int n : {2, 3, 4, 7}) pools.push_back(std::make_unique<ThreadPool>(n));
  return pools;
}

// The weight types matmul and get_rows must read.
inline const std::vector<TensorType>& weight_types() {
  static const std::vector<TensorType> kTypes = {
      TensorType::F32,  TensorType::F16,  TensorType::BF16, TensorType::Q4_0, TensorType::Q4_1,
      TensorType::Q5_0, TensorType::Q5_1, TensorType::Q8_0, TensorType::Q2_K, TensorType::Q3_K,
      TensorType::Q4_K, TensorType::Q5_K, TensorType::Q6_K, TensorType::Q8_K};
  return kTypes;
}

// Random weight bytes of `rows` x `cols` in `type`: quantized from random floats where we have
// a quantizer; for Q2_K / Q3_K (none) random block bytes with sane f16 scales.
inline std::vector<uint8_t> random_weight(TensorType type, int64_t rows, int64_t cols,
                                          uint64_t seed) {
  const gguf::TensorTypeInfo* info = gguf::tensor_type_info(type);
  const uint64_t row_bytes = *gguf::row_bytes(*info, static_cast<uint64_t>(cols));
  std::vector<uint8_t> bytes(row_bytes * static_cast<uint64_t>(rows));
  if (info->quantize != nullptr) {
    const std::vector<float> values = random_floats(seed, static_cast<size_t>(rows * cols), 1.0);
    EXPECT_TRUE(gguf::quantize(type, values.data(), bytes.data(), rows * cols).ok());
    return bytes;
  }
  SplitMix64 rng(seed);
  for (auto& b : bytes) b = static_cast<uint8_t>(rng.next());
  const size_t blocks = bytes.size() / info->block_bytes;
  for (size_t i = 0; i < blocks; ++i) {
    uint8_t* block = bytes.data() + i * info->block_bytes;
    const float d = static_cast<float>(0.01 + 0.05 * rng.uniform());
    if (type == TensorType::Q2_K) {  // scales[16] qs[64] d dmin
      store_f16(block + 80, d);
      store_f16(block + 82, d * 0.5f);
    } else if (type == TensorType::Q3_K) {  // hmask[32] qs[64] scales[12] d
      store_f16(block + 108, d);
    } else {
      ADD_FAILURE() << "no way to make random " << info->name << " weights";
    }
  }
  return bytes;
}

inline std::vector<float> dequantized(TensorType type, const std::vector<uint8_t>& bytes,
                                      int64_t n) {
  std::vector<float> out(static_cast<size_t>(n));
  EXPECT_TRUE(gguf::dequantize(type, bytes.data(), out.data(), n).ok());
  return out;
}

// Bitwise equality of two float vectors (results must not depend on the thread count).
inline void expect_same_bits(const std::vector<float>& a, const std::vector<float>& b,
                             const char* what) {
  ASSERT_EQ(a.size(), b.size());
  EXPECT_EQ(0, std::memcmp(a.data(), b.data(), a.size() * sizeof(float))) << what;
}

}  // namespace tessera::backend::cpu::test
