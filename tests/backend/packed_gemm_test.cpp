// The packed integer matmul path (packed_gemm.h, weights arranged by weight_repack.h) against a
// scalar model of its arithmetic contract, bit for bit, for both activation layouts (fewer / at
// least 8 tokens), row counts that are not multiples of the row group, every thread count and with
// and without bias; and the model against a double-precision dot product of the dequantized values.
#include "backend/cpu/packed_gemm.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "backend/cpu/matmul.h"
#include "backend/cpu/weight_repack.h"
#include "backend_test_util.h"
#include "gguf/quant_kernels.h"
#include "util/half.h"

namespace tessera::backend::cpu::test {
namespace {

constexpr int64_t kBlock = 32;

struct QuantRow {
  std::vector<int> codes;    // signed codes
  std::vector<float> scale;  // per block
};

// Activations as the contract quantizes them.
QuantRow quantize_activations(const float* x, int64_t n) {
  QuantRow q{std::vector<int>(static_cast<size_t>(n)), {}};
  for (int64_t b = 0; b < n / kBlock; ++b) {
    float amax = 0.0f;
    for (int64_t k = 0; k < kBlock; ++k) amax = std::max(amax, std::fabs(x[b * kBlock + k]));
    const float inv = amax != 0.0f ? 127.0f / amax : 0.0f;
    for (int64_t k = 0; k < kBlock; ++k) {
      q.codes[b * kBlock + k] = static_cast<int>(std::nearbyint(x[b * kBlock + k] * inv));
    }
    q.scale.push_back(amax / 127.0f);
  }
  return q;
}

// Weight codes recovered from the reference dequantizer (value / block scale, exact).
QuantRow weight_codes(TensorType type, const uint8_t* row, int64_t n) {
  const gguf::TensorTypeInfo* info = gguf::tensor_type_info(type);
  std::vector<float> values(static_cast<size_t>(n));
  info->dequantize(row, values.data(), n);
  QuantRow q{std::vector<int>(static_cast<size_t>(n)), {}};
  for (int64_t b = 0; b < n / kBlock; ++b) {
    const float d = load_f16(row + b * info->block_bytes);
    for (int64_t k = 0; k < kBlock; ++k) {
      q.codes[b * kBlock + k] =
          d == 0.0f ? 0 : static_cast<int>(std::lround(values[b * kBlock + k] / d));
    }
    q.scale.push_back(d);
  }
  return q;
}

float model_dot(const QuantRow& w, const QuantRow& x, float bias) {
  float acc = 0.0f;
  for (size_t b = 0; b < w.scale.size(); ++b) {
    int dot = 0;
    for (size_t k = b * kBlock; k < (b + 1) * kBlock; ++k) dot += w.codes[k] * x.codes[k];
    acc = std::fma(static_cast<float>(dot), w.scale[b] * x.scale[b], acc);
  }
  return acc + bias;
}

// w ([rows][n] natural) in the rows8 arrangement.
std::vector<uint8_t> arrange(TensorType type, const std::vector<uint8_t>& w, int64_t rows,
                             int64_t n) {
  std::vector<uint8_t> out(rows8_bytes(type, rows, n));
  repack_rows8(type, w.data(), rows, n, out.data());
  return out;
}

struct Case {
  TensorType type;
  int64_t cols;
};

class PackedGemmTest : public ::testing::TestWithParam<Case> {};

TEST_P(PackedGemmTest, EveryShapeMatchesTheArithmeticContractBitForBit) {
  const Case c = GetParam();
  if (find_packed_gemm(c.type) == nullptr) GTEST_SKIP() << "no packed kernel on this CPU";
  const int64_t n = c.cols;
  auto pools = test_pools();
  for (int64_t rows : {1, 3, 8, 13, 37}) {
    const std::vector<uint8_t> w = random_weight(c.type, rows, n, 31 + rows);
    const size_t ws = w.size() / static_cast<size_t>(rows);
    const std::vector<uint8_t> arranged = arrange(c.type, w, rows, n);
    const WeightView view{c.type, arranged.data(), rows, n, backend::Layout::rows8};
    const std::vector<float> bias = random_floats(41, static_cast<size_t>(rows));
    std::vector<QuantRow> wq;
    for (int64_t r = 0; r < rows; ++r) wq.push_back(weight_codes(c.type, w.data() + r * ws, n));
    for (int64_t tokens : {1, 2, 3, 5, 7, 8, 9, 16, 17, 33}) {
      const std::vector<float> x = random_floats(51 + tokens, static_cast<size_t>(tokens * n), 3.0);
      for (size_t p = 0; p <= pools.size(); ++p) {
        ThreadPool* pool = p < pools.size() ? pools[p].get() : nullptr;
        const bool with_bias = p % 2 == 0;
        std::vector<float> y(static_cast<size_t>(rows * tokens), -1.0f);
        matmul(view, x.data(), tokens, y.data(), with_bias ? bias.data() : nullptr, pool);
        for (int64_t t = 0; t < tokens; ++t) {
          const QuantRow xq = quantize_activations(x.data() + t * n, n);
          for (int64_t r = 0; r < rows; ++r) {
            const float want = model_dot(wq[r], xq, with_bias ? bias[r] : 0.0f);
            ASSERT_EQ(y[t * rows + r], want) << rows << " rows, " << tokens << " tokens, pool " << p
                                             << ": token " << t << " row " << r;
          }
        }
      }
    }
  }
}

TEST_P(PackedGemmTest, TheContractIsCloseToTheExactDotProduct) {
  const Case c = GetParam();
  const int64_t rows = 5, n = c.cols;
  const std::vector<uint8_t> w = random_weight(c.type, rows, n, 61);
  const size_t ws = w.size() / rows;
  const std::vector<float> x = random_floats(62, static_cast<size_t>(n), 2.0);
  const QuantRow xq = quantize_activations(x.data(), n);
  for (int64_t r = 0; r < rows; ++r) {
    const QuantRow wq = weight_codes(c.type, w.data() + r * ws, n);
    double exact = 0, mag = 0;
    for (int64_t k = 0; k < n; ++k) {
      const double wv = static_cast<double>(wq.codes[k]) * wq.scale[k / kBlock];
      const double xv = static_cast<double>(xq.codes[k]) * xq.scale[k / kBlock];
      exact += wv * xv;
      mag += std::fabs(wv * xv);
    }
    EXPECT_NEAR(model_dot(wq, xq, 0.0f), exact, 1e-5 * mag + 1e-6) << "row " << r;
    // And the activation codes are within half a step of the values.
    for (int64_t k = 0; k < n; ++k) {
      ASSERT_NEAR(xq.codes[k] * xq.scale[k / kBlock], x[k], 0.51 * xq.scale[k / kBlock] + 1e-6);
    }
  }
}

TEST(PackedGemmTest, ZeroActivationsGiveTheBias) {
  if (find_packed_gemm(TensorType::Q8_0) == nullptr) GTEST_SKIP() << "no packed kernel";
  const int64_t rows = 9, n = 64;
  const std::vector<uint8_t> w = random_weight(TensorType::Q8_0, rows, n, 71);
  const std::vector<float> bias = random_floats(72, rows);
  const std::vector<uint8_t> arranged = arrange(TensorType::Q8_0, w, rows, n);
  for (int64_t tokens : {1, 8}) {
    const std::vector<float> x(static_cast<size_t>(tokens * n), 0.0f);
    std::vector<float> y(static_cast<size_t>(rows * tokens));
    matmul(WeightView{TensorType::Q8_0, w.data(), rows, n}, x.data(), tokens, y.data(), bias.data(),
           nullptr);
    for (int64_t i = 0; i < rows * tokens; ++i) ASSERT_EQ(y[i], bias[i % rows]) << i;
  }
}

// The rows8 arrangement read back as weight_repack.h documents it gives every row's codes and
// scales (portable code: runs on every CPU); padding rows are zero.
TEST_P(PackedGemmTest, Rows8ArrangementHoldsEveryCodeWhereDocumented) {
  const Case c = GetParam();
  const int64_t rows = 13, n = c.cols, nb = n / kBlock;
  const std::vector<uint8_t> w = random_weight(c.type, rows, n, 81);
  const size_t ws = w.size() / rows;
  const std::vector<uint8_t> arranged = arrange(c.type, w, rows, n);
  ASSERT_EQ(arranged.size(), 16 * ws);  // two groups of 8 rows
  const size_t gb_bytes = 8 * gguf::tensor_type_info(c.type)->block_bytes;
  for (int64_t r = 0; r < 16; ++r) {
    const QuantRow q = r < rows ? weight_codes(c.type, w.data() + r * ws, n) : QuantRow{};
    for (int64_t b = 0; b < nb; ++b) {
      const uint8_t* gb = arranged.data() + ((r / 8) * nb + b) * gb_bytes;
      const int i = static_cast<int>(r % 8);
      EXPECT_EQ(load_f16(gb + 2 * i), r < rows ? q.scale[b] : 0.0f) << r << "," << b;
      for (int k = 0; k < kBlock; ++k) {
        const int s = k / 4, lane = 4 * i + k % 4;
        int code;
        if (c.type == TensorType::Q8_0) {
          code = gb[16 + 32 * s + lane] - 128;
        } else {
          const uint8_t byte = gb[16 + 32 * (s % 4) + lane];
          code = s < 4 ? byte & 0x0F : byte >> 4;
          if (c.type == TensorType::Q5_0) {
            code |= ((gb[144 + 4 * s + lane / 8] >> (lane % 8)) & 1) << 4;
            code -= 16;
          } else {
            code -= 8;
          }
        }
        if (r < rows) {
          ASSERT_EQ(code, q.codes[b * kBlock + k]) << "row " << r << " block " << b << " k " << k;
        } else {
          ASSERT_EQ(gb[16 + 32 * (s % 4) + lane], 0) << "padding row " << r;
        }
      }
    }
  }
}

// ---- Q4_K (dot_vnni_q4k.cpp): activations by the reference Q8_K quantizer, weights by the
// reference unpacker, and the contract's per-super-block integer sums and two fmas.

struct Q4KRow {
  std::vector<float> d, dmin;  // per super-block
  std::vector<int> scales, mins, codes;
};

Q4KRow q4k_row(const uint8_t* row, int64_t n) {
  Q4KRow q;
  for (int64_t b = 0; b < n / 256; ++b) {
    uint16_t d, dmin;
    int sc[8], mn[8], codes[256];
    gguf::kernels::q4_k_parts(row + b * 144, &d, &dmin, sc, mn, codes);
    q.d.push_back(f16_to_f32(d));
    q.dmin.push_back(f16_to_f32(dmin));
    q.scales.insert(q.scales.end(), sc, sc + 8);
    q.mins.insert(q.mins.end(), mn, mn + 8);
    q.codes.insert(q.codes.end(), codes, codes + 256);
  }
  return q;
}

float q4k_model(const Q4KRow& w, const std::vector<uint8_t>& q8k, int64_t n) {
  float acc = 0.0f;
  for (int64_t b = 0; b < n / 256; ++b) {
    const uint8_t* blk = q8k.data() + b * 292;
    float xd;
    std::memcpy(&xd, blk, 4);
    const auto* xc = reinterpret_cast<const int8_t*>(blk + 4);
    int32_t t = 0, m = 0;
    for (int j = 0; j < 8; ++j) {
      int32_t dot = 0, xsum = 0;
      for (int k = 0; k < 32; ++k) {
        dot += w.codes[b * 256 + 32 * j + k] * xc[32 * j + k];
        xsum += xc[32 * j + k];
      }
      t += w.scales[b * 8 + j] * dot;
      m += w.mins[b * 8 + j] * xsum;
    }
    acc = std::fma(static_cast<float>(t), w.d[b] * xd, acc);
    acc = std::fma(-static_cast<float>(m), w.dmin[b] * xd, acc);
  }
  return acc;
}

TEST(PackedGemmQ4K, EveryShapeMatchesTheArithmeticContractBitForBit) {
  if (find_packed_gemm(TensorType::Q4_K) == nullptr) GTEST_SKIP() << "no packed Q4_K kernel";
  auto pools = test_pools();
  for (const int64_t n : {256, 768}) {
    for (const int64_t rows : {1, 8, 13, 37}) {
      const std::vector<uint8_t> w = random_weight(TensorType::Q4_K, rows, n, 91 + rows);
      const size_t ws = w.size() / static_cast<size_t>(rows);
      const std::vector<uint8_t> arranged = arrange(TensorType::Q4_K, w, rows, n);
      const WeightView view{TensorType::Q4_K, arranged.data(), rows, n, backend::Layout::rows8};
      const std::vector<float> bias = random_floats(92, static_cast<size_t>(rows));
      std::vector<Q4KRow> wq;
      for (int64_t r = 0; r < rows; ++r) wq.push_back(q4k_row(w.data() + r * ws, n));
      for (const int64_t tokens : {1, 2, 5, 8, 9, 17}) {
        const std::vector<float> x =
            random_floats(93 + tokens, static_cast<size_t>(tokens * n), 3.0);
        for (size_t p = 0; p <= pools.size(); ++p) {
          ThreadPool* pool = p < pools.size() ? pools[p].get() : nullptr;
          const bool with_bias = p % 2 == 0;
          std::vector<float> y(static_cast<size_t>(rows * tokens), -1.0f);
          matmul(view, x.data(), tokens, y.data(), with_bias ? bias.data() : nullptr, pool);
          for (int64_t t = 0; t < tokens; ++t) {
            std::vector<uint8_t> q8k(static_cast<size_t>(n / 256) * 292);
            gguf::kernels::quantize_q8_k(x.data() + t * n, q8k.data(), n);
            for (int64_t r = 0; r < rows; ++r) {
              const float acc = q4k_model(wq[r], q8k, n);
              const float want = with_bias ? acc + bias[r] : acc;
              ASSERT_EQ(y[t * rows + r], want)
                  << n << " cols, " << rows << " rows, " << tokens << " tokens, pool " << p
                  << ": token " << t << " row " << r;
            }
          }
        }
      }
    }
  }
}

// The contract's result against the double-precision dot product of the dequantized weights
// and activations, and the arrangement against the natural matmul.
TEST(PackedGemmQ4K, TheContractIsCloseToTheExactDotProduct) {
  const int64_t rows = 4, n = 512;
  const std::vector<uint8_t> w = random_weight(TensorType::Q4_K, rows, n, 97);
  const std::vector<float> x = random_floats(98, static_cast<size_t>(n), 2.0);
  std::vector<uint8_t> q8k(static_cast<size_t>(n / 256) * 292);
  gguf::kernels::quantize_q8_k(x.data(), q8k.data(), n);
  std::vector<float> xv(static_cast<size_t>(n)), wv(static_cast<size_t>(n));
  gguf::tensor_type_info(TensorType::Q8_K)->dequantize(q8k.data(), xv.data(), n);
  for (int64_t r = 0; r < rows; ++r) {
    gguf::kernels::dequantize_q4_k(w.data() + r * (n / 256) * 144, wv.data(), n);
    double exact = 0, mag = 0;
    for (int64_t k = 0; k < n; ++k) {
      exact += static_cast<double>(wv[k]) * xv[k];
      mag += std::fabs(static_cast<double>(wv[k]) * xv[k]);
    }
    const float got = q4k_model(q4k_row(w.data() + r * (n / 256) * 144, n), q8k, n);
    EXPECT_NEAR(got, exact, 1e-5 * mag + 1e-5) << "row " << r;
  }
}

INSTANTIATE_TEST_SUITE_P(Types, PackedGemmTest,
                         ::testing::Values(Case{TensorType::Q8_0, 32}, Case{TensorType::Q8_0, 896},
                                           Case{TensorType::Q4_0, 96}, Case{TensorType::Q4_0, 896},
                                           Case{TensorType::Q5_0, 64}, Case{TensorType::Q5_0, 896}),
                         [](const ::testing::TestParamInfo<Case>& p) {
                           return std::string(gguf::tensor_type_name(p.param.type)) + "_" +
                                  std::to_string(p.param.cols);
                         });

}  // namespace
}  // namespace tessera::backend::cpu::test
