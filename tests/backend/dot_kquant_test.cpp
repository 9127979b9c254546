// K-quant dot kernels (dot_kquant_avx2.cpp: Q4_K, Q5_K, Q6_K weights against Q8_K activations)
// against a double-precision dot product of the dequantized weights with the dequantized
// activations.
//
// Error budget: both sides read the same codes, so the only error is the f32 rounding of the
// per-block scale products and of the accumulation:
//   |got - ref| <= 1e-4 * sum_i |w_i * y_i| + 1e-5.
// Every element of every tile shape (rm, rn in 1..4, at several places, with padded strides)
// equals the 1x1 result bit for bit, and nothing outside the tile is written.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "backend/cpu/cpu_isa.h"
#include "backend/cpu/quant_dot.h"
#include "backend_test_util.h"
#include "gguf/quant_kernels.h"
#include "util/half.h"
#include "util/random.h"

namespace tessera::backend::cpu {
namespace {

using test::TensorType;

constexpr double kRelBudget = 1e-4;
constexpr double kAbsBudget = 1e-5;
constexpr int64_t kRows = 6;    // weight rows: room for 4-row tiles at several offsets
constexpr int64_t kTokens = 6;  // activation rows
constexpr size_t kPad = 40;     // bytes after each row, so strides differ from row sizes

bool cpu_has_avx2() {
  return std::string(dot_kernels_isa()) != "scalar";  // AVX2 is part of every fast ISA
}

size_t row_bytes(TensorType type, int64_t n) {
  return static_cast<size_t>(*gguf::row_bytes(*gguf::tensor_type_info(type), n));
}

// Weight bytes that reach every code and scale (the quantizer's output need not, e.g. 6-bit
// scales and mins of 63, a Q6_K scale of -128): random block bytes with sane f16 scales.
std::vector<uint8_t> random_block_bytes(TensorType type, int64_t rows, int64_t n, uint64_t seed) {
  std::vector<uint8_t> bytes(row_bytes(type, n) * rows);
  SplitMix64 rng(seed);
  for (auto& b : bytes) b = static_cast<uint8_t>(rng.next());
  const size_t block_bytes = gguf::tensor_type_info(type)->block_bytes;
  for (size_t off = 0; off < bytes.size(); off += block_bytes) {
    const auto d = static_cast<float>(0.001 + 0.01 * rng.uniform());
    if (type == TensorType::Q6_K) {
      store_f16(bytes.data() + off + 208, d);
    } else {  // Q4_K, Q5_K: d, dmin first
      store_f16(bytes.data() + off, d);
      store_f16(bytes.data() + off + 2, static_cast<float>(d * rng.uniform()));
    }
  }
  return bytes;
}

// Activation values of every kind: random, then a row of +1 (all codes 127) and one of
// random signs (codes +-127), the extremes for the integer sums.
std::vector<float> test_activations(int64_t n, uint64_t seed) {
  std::vector<float> x = test::random_floats(seed, static_cast<size_t>(kTokens * n), 2.0);
  SplitMix64 rng(seed + 1);
  for (int64_t i = 0; i < n; ++i) {
    x[static_cast<size_t>((kTokens - 2) * n + i)] = 1.0f;
    x[static_cast<size_t>((kTokens - 1) * n + i)] = (rng.next() & 1) != 0 ? 1.0f : -1.0f;
  }
  return x;
}

// Copies `rows` rows of `bytes` bytes each, with kPad bytes of garbage after each.
std::vector<uint8_t> padded_rows(const std::vector<uint8_t>& src, int64_t rows, size_t bytes) {
  std::vector<uint8_t> out((bytes + kPad) * rows, 0xA5);
  for (int64_t r = 0; r < rows; ++r) {
    std::memcpy(out.data() + r * (bytes + kPad), src.data() + r * bytes, bytes);
  }
  return out;
}

class KquantDot : public ::testing::TestWithParam<TensorType> {
 protected:
  void SetUp() override {
    if (!cpu_has_avx2()) GTEST_SKIP() << "CPU lacks AVX2/FMA/F16C: no K-quant AVX2 kernels";
  }

  // Checks every tile shape for weights `w_rows` (kRows rows of n values in the test's type).
  void check_tiles(const std::vector<uint8_t>& w_rows, int64_t n, uint64_t seed) {
    const TensorType type = GetParam();
    const DotTileFn tile = find_kquant_tile_avx2(type);
    ASSERT_NE(tile, nullptr);
    const size_t w_bytes = row_bytes(type, n);
    const size_t x_bytes = row_bytes(TensorType::Q8_K, n);
    const std::vector<float> wd = test::dequantized(type, w_rows, kRows * n);

    const std::vector<float> xf = test_activations(n, seed);
    std::vector<uint8_t> x_rows(x_bytes * kTokens);
    ASSERT_TRUE(gguf::quantize(TensorType::Q8_K, xf.data(), x_rows.data(), kTokens * n).ok());
    const std::vector<float> xd = test::dequantized(TensorType::Q8_K, x_rows, kTokens * n);

    const std::vector<uint8_t> w = padded_rows(w_rows, kRows, w_bytes);
    const std::vector<uint8_t> x = padded_rows(x_rows, kTokens, x_bytes);
    const size_t ws = w_bytes + kPad;
    const size_t xs = x_bytes + kPad;

    // 1x1 results against the double reference.
    float single[kRows][kTokens];
    for (int64_t r = 0; r < kRows; ++r) {
      for (int64_t t = 0; t < kTokens; ++t) {
        tile(n, w.data() + r * ws, ws, x.data() + t * xs, xs, 1, 1, &single[r][t], 1);
        double ref = 0.0, mag = 0.0;
        for (int64_t i = 0; i < n; ++i) {
          const double p = static_cast<double>(wd[r * n + i]) * xd[t * n + i];
          ref += p;
          mag += std::fabs(p);
        }
        EXPECT_NEAR(single[r][t], ref, kRelBudget * mag + kAbsBudget)
            << "row " << r << " token " << t;
      }
    }

    // Every tile shape, at both ends, into an output with a wider leading dimension.
    constexpr size_t kLdo = kMaxTile + 3;
    const float sentinel = std::numeric_limits<float>::quiet_NaN();
    for (int rm = 1; rm <= kMaxTile; ++rm) {
      for (int rn = 1; rn <= kMaxTile; ++rn) {
        for (int64_t r0 : {int64_t{0}, kRows - rm}) {
          for (int64_t t0 : {int64_t{0}, kTokens - rn}) {
            SCOPED_TRACE("tile " + std::to_string(rm) + "x" + std::to_string(rn) + " at (" +
                         std::to_string(r0) + ", " + std::to_string(t0) + ")");
            std::vector<float> out(kMaxTile * kLdo, sentinel);
            tile(n, w.data() + r0 * ws, ws, x.data() + t0 * xs, xs, rm, rn, out.data(), kLdo);
            for (int i = 0; i < kMaxTile; ++i) {
              for (size_t j = 0; j < kLdo; ++j) {
                const float got = out[i * kLdo + j];
                if (i < rm && j < static_cast<size_t>(rn)) {
                  const float want = single[r0 + i][t0 + static_cast<int64_t>(j)];
                  EXPECT_EQ(0, std::memcmp(&got, &want, sizeof got))
                      << "element (" << i << ", " << j << "): " << got << " vs 1x1 " << want;
                } else {
                  EXPECT_TRUE(std::isnan(got)) << "wrote outside the tile at " << i << ", " << j;
                }
              }
            }
          }
        }
      }
    }
  }
};

TEST_P(KquantDot, QuantizedWeightsMatchDoubleReferenceInEveryTile) {
  for (int64_t n : {256, 512, 2816}) {
    SCOPED_TRACE("n " + std::to_string(n));
    check_tiles(test::random_weight(GetParam(), kRows, n, 100 + n), n, 200 + n);
  }
}

TEST_P(KquantDot, RandomBlockBytesMatchDoubleReferenceInEveryTile) {
  for (int64_t n : {256, 768, 2816}) {
    SCOPED_TRACE("n " + std::to_string(n));
    check_tiles(random_block_bytes(GetParam(), kRows, n, 300 + n), n, 400 + n);
  }
}

// Largest codes, scales and mins everywhere (Q6_K: scales of -128), against the activation
// rows of all +-127 codes: the integer sums at their extremes.
TEST_P(KquantDot, ExtremeCodesAndScalesDoNotOverflow) {
  const TensorType type = GetParam();
  constexpr int64_t n = 2816;
  std::vector<uint8_t> w(row_bytes(type, n) * kRows, 0xff);
  const size_t block_bytes = gguf::tensor_type_info(type)->block_bytes;
  for (size_t off = 0; off < w.size(); off += block_bytes) {
    if (type == TensorType::Q6_K) {
      std::memset(w.data() + off + 192, 0x80, 16);
      store_f16(w.data() + off + 208, 0.01f);
    } else {
      store_f16(w.data() + off, 0.01f);
      store_f16(w.data() + off + 2, 0.02f);
    }
  }
  check_tiles(w, n, 9);
}

TEST_P(KquantDot, TilesLargerThanKMaxTileAreSplit) {
  const TensorType type = GetParam();
  const DotTileFn tile = find_kquant_tile_avx2(type);
  ASSERT_NE(tile, nullptr);
  constexpr int64_t n = 512;
  constexpr int kRm = 7, kRn = 6;
  const size_t ws = row_bytes(type, n);
  const size_t xs = row_bytes(TensorType::Q8_K, n);
  const std::vector<uint8_t> w = test::random_weight(type, kRm, n, 5);
  const std::vector<float> xf = test::random_floats(6, kRn * n);
  std::vector<uint8_t> x(xs * kRn);
  ASSERT_TRUE(gguf::quantize(TensorType::Q8_K, xf.data(), x.data(), kRn * n).ok());
  std::vector<float> out(kRm * kRn);
  tile(n, w.data(), ws, x.data(), xs, kRm, kRn, out.data(), kRn);
  for (int i = 0; i < kRm; ++i) {
    for (int j = 0; j < kRn; ++j) {
      float one = 0.0f;
      tile(n, w.data() + i * ws, ws, x.data() + j * xs, xs, 1, 1, &one, 1);
      EXPECT_EQ(0, std::memcmp(&one, &out[i * kRn + j], sizeof one)) << i << ", " << j;
    }
  }
}

std::string type_name(const ::testing::TestParamInfo<TensorType>& info) {
  return gguf::tensor_type_info(info.param)->name;
}

INSTANTIATE_TEST_SUITE_P(KQuants, KquantDot,
                         ::testing::Values(TensorType::Q4_K, TensorType::Q5_K, TensorType::Q6_K),
                         type_name);

// The fast Q8_K activation quantizer gives the reference's bytes exactly, including ties,
// clamping, equal magnitudes of both signs (the first wins), zeros and NaN.
TEST(ActivationQuantizers, Q8KMatchesTheReferenceByteForByte) {
  if (cpu_isa() == Isa::scalar) GTEST_SKIP() << "no AVX2 quantizers on this CPU";
  const int64_t n = 256 * 6;
  std::vector<float> x = test::random_floats(5, n, 3.0);
  x[3] = 2.5f, x[7] = -2.5f, x[8] = 0.5f;           // super-block 0: max 2.5 and -2.5, first wins
  x[256 + 10] = -4.0f, x[256 + 11] = 4.0f;          // super-block 1: the first is negative
  for (int64_t i = 512; i < 768; ++i) x[i] = 0.0f;  // all zero
  x[768 + 5] = std::numeric_limits<float>::quiet_NaN();
  x[1024 + 1] = -127.0f, x[1024 + 2] = 62.5f;  // scale 1: 62.5 ties to even (62)
  for (int64_t i = 1280; i < n; ++i) x[i] = static_cast<float>(i % 7) - 3.0f;  // exact codes
  const gguf::TensorTypeInfo* q8k = gguf::tensor_type_info(TensorType::Q8_K);
  std::vector<uint8_t> want(act_row_bytes(TensorType::Q8_K, n)), got(want.size(), 0xEE);
  gguf::kernels::quantize_q8_k(x.data(), want.data(), n);
  quantize_row_q8_k_avx2(x.data(), got.data(), n);
  for (size_t i = 0; i < want.size(); ++i) {
    ASSERT_EQ(got[i], want[i]) << "byte " << i << " of super-block " << i / q8k->block_bytes;
  }
}

TEST(KquantDotTable, OnlyQ4KQ5KQ6KHaveKernels) {
  if (!cpu_has_avx2()) GTEST_SKIP() << "CPU lacks AVX2/FMA/F16C: no K-quant AVX2 kernels";
  for (TensorType type : test::weight_types()) {
    const bool expected =
        type == TensorType::Q4_K || type == TensorType::Q5_K || type == TensorType::Q6_K;
    EXPECT_EQ(find_kquant_tile_avx2(type) != nullptr, expected)
        << gguf::tensor_type_info(type)->name;
  }
}

}  // namespace
}  // namespace tessera::backend::cpu
