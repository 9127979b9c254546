// Reference converters of every GGUF block type: round trips of random data within a per-type
// error budget, stability of re-quantization, F16/BF16 corner cases, and byte equality with
// mkgguf.py's Q8_0/Q4_0 encoders. Hand-built blocks are in quant_blocks_test.cpp.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "gguf/quant_helpers.h"
#include "gguf/tensor_type.h"
#include "util/half.h"

namespace tessera::gguf {
namespace {

using T = TensorType;
using namespace test_quant;

// ---------------------------------------------------------------- error budgets
//
// max:      bound on |deq - x| / amax, amax = largest |x| in the value's block (32 values; 256
//           for K-quants).
// rmse:     bound on rms(deq - x) / rms(x) for normal and uniform data. Estimate: a rounding
//           error of step s has rms s / sqrt(12); the amax of 32 normals is ~2.1 sigma (16:
//           ~1.8, 256: ~2.8), their range ~4.1 sigma.
// outliers: the same for normal data with every 37th value 40x larger (whole blocks go coarse).
// requant:  bound on rms(second round trip - first) / (rmse budget * rms(first)); 0 = exact.
// f16_ulps: largest integer an f16 scale is multiplied by: with scales in the f16 subnormal
//           range (steps of 2^-24) each value may lose f16_ulps * 2^-25 more.
//
// Budgets (measured = worst over RoundTrip's shapes and sizes):
//
// | type | max: derivation                       | measured | set   |
// | Q8_0 | d/2 + 127 d 2^-11, d = amax/127       | .0041    | .0044 |
// | Q4_0 | x/d in [7.5, 8] clips: d = amax/8     | .124     | .125  |
// | Q5_0 | as Q4_0, d = amax/16                  | .062     | .0626 |
// | Q4_1 | d/2 + f16(d, m), d <= 2 amax/15       | .064     | .068  |
// | Q5_1 | d/2 + f16(d, m), d <= 2 amax/31       | .032     | .034  |
// | Q4_K | d/2 = .067, + least-squares clipping  | .086     | .12   |
// | Q5_K | d/2 = .032, + least-squares clipping  | .042     | .05   |
// | Q6_K | d/2 = amax/64, + 8-bit sub-scales     | .0163    | .025  |
// | Q8_K | d/2 = amax/254 (f32 d), + rounding    | .0039    | .0039 |
//
// | type | rmse: estimate measured set | outliers: measured set |
// | Q8_0 | .0047 .0051 .007            | .0135 .016             |
// | Q4_0 | .075  .090  .11             | .142  .19              |
// | Q5_0 | .037  .046  .055            | .097  .115             |
// | Q4_1 | .079  .088  .11             | .136  .16              |
// | Q5_1 | .038  .040  .05             | .051  .07              |
// | Q4_K | .077  .069  .09             | .093  .12              |
// | Q5_K | .037  .034  .045            | .051  .065             |
// | Q6_K | .016  .0141 .021            | .035  .045             |
// | Q8_K | .0064 .0071 .0085           | .0275 .032             |
//
// Requantizing is exact for the legacy types and Q8_K (the grid's end points are in the data
// again). Our K-quant search can settle on a neighbouring grid when a sub-block's extreme codes
// went unused: measured up to 0.24 of the budget, set 0.4.
struct Budget {
  T type;
  double max;
  double rmse;
  double outliers;
  double requant;
  double f16_ulps;
};

constexpr Budget kBudgets[] = {
    {T::Q8_0, 0.5 / 127 + 1.0 / 2048, 0.007, 0.016, 0.0, 127},
    {T::Q4_0, 1.0 / 8 * (1 + 1.0 / 1024), 0.11, 0.19, 0.0, 8},
    {T::Q5_0, 1.0 / 16 * (1 + 1.0 / 1024), 0.055, 0.115, 0.0, 16},
    {T::Q4_1, 1.0 / 15 + 3.0 / 2048, 0.11, 0.16, 0.0, 16},
    {T::Q5_1, 1.0 / 31 + 3.0 / 2048, 0.05, 0.07, 0.0, 32},
    {T::Q4_K, 0.12, 0.09, 0.12, 0.4, 63 * 15 + 63},
    {T::Q5_K, 0.05, 0.045, 0.065, 0.4, 63 * 31 + 63},
    {T::Q6_K, 0.025, 0.021, 0.045, 0.4, 128 * 32},
    {T::Q8_K, 0.5 / 127 + 1e-6, 0.0085, 0.032, 0.0, 0},
};

// ---------------------------------------------------------------- test data

enum class Shape { normal, uniform, outliers, zeros, constant_pos, constant_neg, tiny };

const char* shape_name(Shape s) {
  constexpr const char* kNames[] = {"normal",       "uniform",      "outliers", "zeros",
                                    "constant_pos", "constant_neg", "tiny"};
  return kNames[static_cast<int>(s)];
}

// normal: weight-like; uniform: lopsided [-3, 1); outliers: every 37th value 40x larger;
// tiny: small enough that f16 scales become subnormal.
float draw(Shape shape, size_t i, std::mt19937& rng) {
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::uniform_real_distribution<float> uniform(-3.0f, 1.0f);
  switch (shape) {
    case Shape::normal:
      return 0.05f * normal(rng);
    case Shape::uniform:
      return uniform(rng);
    case Shape::outliers:
      return normal(rng) * (i % 37 == 5 ? 40.0f : 1.0f);
    case Shape::zeros:
      return 0.0f;
    case Shape::constant_pos:
      return 0.3712f;
    case Shape::constant_neg:
      return -2.5f;
    case Shape::tiny:
      return 1e-4f * normal(rng);
  }
  return 0.0f;
}

std::vector<float> make_data(Shape shape, size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<float> x(n);
  for (size_t i = 0; i < n; ++i) x[i] = draw(shape, i, rng);
  return x;
}

constexpr Shape kShapes[] = {Shape::normal, Shape::uniform,      Shape::outliers,
                             Shape::zeros,  Shape::constant_pos, Shape::constant_neg,
                             Shape::tiny};
constexpr size_t kBlockCounts[] = {1, 3, 7};

// Largest (|err| - floor) / amax over blocks; an all-zero block must decode to zeros.
double worst_block_error(const std::vector<float>& x, const std::vector<float>& y, size_t block,
                         double floor = 0) {
  double worst = 0;
  for (size_t b = 0; b < x.size(); b += block) {
    double amax = 0, emax = 0;
    for (size_t i = b; i < b + block; ++i) {
      amax = std::max(amax, static_cast<double>(std::fabs(x[i])));
      emax = std::max(emax, std::fabs(static_cast<double>(y[i]) - x[i]));
    }
    if (!(emax <= amax + 1e30)) return INFINITY;  // NaN
    if (amax == 0) {
      if (emax != 0) return INFINITY;
    } else {
      worst = std::max(worst, (emax - floor) / amax);
    }
  }
  return worst;
}

// Half the smallest f16 step: what rounding a subnormal scale may cost per unit of code.
const double kHalfF16Step = std::ldexp(1.0, -25);

class RoundTrip : public ::testing::TestWithParam<Budget> {};

TEST_P(RoundTrip, StaysWithinBudget) {
  const Budget budget = GetParam();
  const TensorTypeInfo* info = tensor_type_info(budget.type);
  ASSERT_NE(info, nullptr);
  ASSERT_NE(info->quantize, nullptr);
  const double floor = budget.f16_ulps * kHalfF16Step;
  uint32_t seed = 1;
  for (Shape shape : kShapes) {
    for (size_t blocks : kBlockCounts) {
      SCOPED_TRACE(std::string(shape_name(shape)) + ", " + std::to_string(blocks) + " blocks");
      const std::vector<float> x = make_data(shape, blocks * info->block_size, seed++);
      const std::vector<float> y = round_trip(budget.type, x);
      EXPECT_LE(worst_block_error(x, y, info->block_size, floor), budget.max);
      const double data_rms = rms(x);
      const double err_rms = rms_diff(x, y);
      const double rel = shape == Shape::outliers ? budget.outliers : budget.rmse;
      EXPECT_LE(err_rms, rel * data_rms + floor);
      if (data_rms == 0) {
        EXPECT_EQ(err_rms, 0.0);
      }
    }
  }
}

// Quantizing what we dequantized changes (almost) nothing: the first pass's grid points are
// representable, so a second pass has little left to lose and errors do not pile up.
TEST_P(RoundTrip, RequantizingIsStable) {
  const Budget budget = GetParam();
  const TensorTypeInfo* info = tensor_type_info(budget.type);
  const double floor = budget.f16_ulps * kHalfF16Step;
  uint32_t seed = 100;
  for (Shape shape : kShapes) {
    SCOPED_TRACE(shape_name(shape));
    const std::vector<float> x = make_data(shape, 7 * info->block_size, seed++);
    const std::vector<float> y = round_trip(budget.type, x);
    const std::vector<float> z = round_trip(budget.type, y);
    if (budget.requant == 0) {
      EXPECT_EQ(y, z);
    } else {
      const double rel = shape == Shape::outliers ? budget.outliers : budget.rmse;
      EXPECT_LE(rms_diff(y, z), budget.requant * rel * rms(y) + floor);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(AllWritableTypes, RoundTrip, ::testing::ValuesIn(kBudgets),
                         [](const ::testing::TestParamInfo<Budget>& p) {
                           return std::string(tensor_type_name(p.param.type));
                         });

// The symmetric types with ggml's rounding reproduce their own output byte for byte.
TEST(Requantize, SymmetricTypesAreFixedPoints) {
  for (T type : {T::Q8_0, T::Q4_0, T::Q5_0}) {
    SCOPED_TRACE(tensor_type_name(type));
    const std::vector<float> x = make_data(Shape::normal, 7 * 32, 7);
    const std::vector<uint8_t> first = quantize_vec(type, x);
    const std::vector<float> y = dequantize_vec(type, first, x.size());
    EXPECT_EQ(quantize_vec(type, y), first);
  }
}

// Prints measured error ratios (set TESSERA_QUANT_MEASURE=1) to re-derive the budget table.
// ---------------------------------------------------------------- API errors

TEST(QuantApi, RejectsPartialBlocksAndUnwritableTypes) {
  std::vector<float> x(48, 1.0f);
  std::vector<uint8_t> buf(1024);
  Status st = quantize(T::Q8_0, x.data(), buf.data(), 48);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, ErrorCode::invalid_argument);
  st = quantize(T::Q2_K, x.data(), buf.data(), 0);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, ErrorCode::unsupported);
  st = dequantize(T::IQ2_XXS, buf.data(), x.data(), 0);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, ErrorCode::unsupported);
}

TEST(QuantApi, BlockSizesMatchGgml) {
  const std::pair<T, uint32_t> sizes[] = {
      {T::Q4_0, 18},  {T::Q4_1, 20},  {T::Q5_0, 22},  {T::Q5_1, 24},  {T::Q8_0, 34}, {T::Q2_K, 84},
      {T::Q3_K, 110}, {T::Q4_K, 144}, {T::Q5_K, 176}, {T::Q6_K, 210}, {T::Q8_K, 292}};
  for (auto [type, bytes] : sizes) {
    EXPECT_EQ(tensor_type_info(type)->block_bytes, bytes) << tensor_type_name(type);
  }
}

// ---------------------------------------------------------------- mkgguf.py byte equality

// Input of the fixtures below, built the same way in Python:
//   [f32(((j*37)%61-30)/16) for j<32] + [f32(((j*53)%41-23)/7) for j<32]
//   + [(j-16)*0.5 for j<32] + [127.0] + [(j-16)*0.5 for 1<=j<32]
std::vector<float> mkgguf_input() {
  std::vector<float> x;
  for (int j = 0; j < 32; ++j) x.push_back(static_cast<float>((j * 37) % 61 - 30) / 16.0f);
  for (int j = 0; j < 32; ++j) x.push_back(static_cast<float>((j * 53) % 41 - 23) / 7.0f);
  for (int j = 0; j < 32; ++j) x.push_back(static_cast<float>(j - 16) * 0.5f);
  x.push_back(127.0f);
  for (int j = 1; j < 32; ++j) x.push_back(static_cast<float>(j - 16) * 0.5f);
  return x;
}

// python3 -c "import mkgguf as m; print(m.q8_0_bytes(xs).hex())" with xs as above
const std::vector<uint8_t> kMkggufQ8_0 = {
    0x8f, 0x23, 0x81, 0x1e, 0xb8, 0x55, 0xef, 0x89, 0x26, 0xc1, 0x5d, 0xf8, 0x92, 0x2f, 0xc9, 0x66,
    0x00, 0x9a, 0x37, 0xd1, 0x6e, 0x08, 0xa3, 0x3f, 0xda, 0x77, 0x11, 0xab, 0x48, 0xe2, 0x7f, 0x19,
    0xb4, 0x50, 0xa0, 0x26, 0x81, 0xc3, 0x06, 0x48, 0xa8, 0xea, 0x2c, 0x8c, 0xce, 0x11, 0x53, 0xb3,
    0xf5, 0x37, 0x97, 0xd9, 0x1c, 0x5e, 0xbe, 0x00, 0x42, 0xa2, 0xe4, 0x27, 0x87, 0xc9, 0x0b, 0x4d,
    0xad, 0xef, 0x32, 0x92, 0x08, 0x2c, 0x81, 0x89, 0x91, 0x99, 0xa1, 0xa9, 0xb1, 0xb9, 0xc0, 0xc8,
    0xd0, 0xd8, 0xe0, 0xe8, 0xf0, 0xf8, 0x00, 0x08, 0x10, 0x18, 0x20, 0x28, 0x30, 0x38, 0x40, 0x47,
    0x4f, 0x57, 0x5f, 0x67, 0x6f, 0x77, 0x00, 0x3c, 0x7f, 0xf8, 0xf9, 0xf9, 0xfa, 0xfa, 0xfb, 0xfb,
    0xfc, 0xfc, 0xfd, 0xfd, 0xfe, 0xfe, 0xff, 0xff, 0x00, 0x01, 0x01, 0x02, 0x02, 0x03, 0x03, 0x04,
    0x04, 0x05, 0x05, 0x06, 0x06, 0x07, 0x07, 0x08,
};

// Same, m.q4_0_bytes(xs)
const std::vector<uint8_t> kMkggufQ4_0 = {
    0x80, 0x33, 0xb0, 0x5a, 0xf3, 0x9d, 0x27, 0xc1, 0x6a, 0xf4, 0x9e, 0x37, 0xd1, 0x6b, 0xf5,
    0xae, 0x38, 0xd2, 0x92, 0x36, 0xa0, 0xe4, 0x48, 0x8d, 0xc2, 0x27, 0x6b, 0xa1, 0x05, 0x59,
    0x9d, 0xd3, 0x37, 0x7b, 0xb1, 0x16, 0x00, 0x3c, 0x80, 0x91, 0x91, 0xa2, 0xa2, 0xb3, 0xb3,
    0xc4, 0xc4, 0xd5, 0xd5, 0xe6, 0xe6, 0xf7, 0xf7, 0xf8, 0xf0, 0xcb, 0x80, 0x88, 0x88, 0x88,
    0x88, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88,
};

TEST(Mkgguf, Q8_0BytesMatchReferenceScript) {
  EXPECT_EQ(quantize_vec(T::Q8_0, mkgguf_input()), kMkggufQ8_0);
}

TEST(Mkgguf, Q4_0BytesMatchReferenceScript) {
  EXPECT_EQ(quantize_vec(T::Q4_0, mkgguf_input()), kMkggufQ4_0);
}

// ---------------------------------------------------------------- F16 / BF16

std::vector<uint8_t> u16_bytes(std::initializer_list<uint16_t> v) {
  std::vector<uint8_t> out(v.size() * 2);
  size_t i = 0;
  for (uint16_t h : v) {
    std::memcpy(out.data() + 2 * i++, &h, 2);
  }
  return out;
}

uint16_t f16_of(float x) {
  uint16_t h;
  const std::vector<uint8_t> b = quantize_vec(T::F16, {x});
  std::memcpy(&h, b.data(), 2);
  return h;
}

uint16_t bf16_of(float x) {
  uint16_t h;
  const std::vector<uint8_t> b = quantize_vec(T::BF16, {x});
  std::memcpy(&h, b.data(), 2);
  return h;
}

TEST(F16, DecodesSpecialValuesExactly) {
  const std::vector<float> y =
      dequantize_vec(T::F16,
                     u16_bytes({0x0000, 0x8000, 0x0001, 0x03ff, 0x0400, 0x3c00, 0xc000, 0x7bff,
                                0x7c00, 0xfc00, 0x7e00, 0x3555}),
                     12);
  EXPECT_EQ(y[0], 0.0f);
  EXPECT_FALSE(std::signbit(y[0]));
  EXPECT_EQ(y[1], 0.0f);
  EXPECT_TRUE(std::signbit(y[1]));
  EXPECT_EQ(y[2], std::ldexp(1.0f, -24));     // smallest subnormal
  EXPECT_EQ(y[3], std::ldexp(1023.0f, -24));  // largest subnormal
  EXPECT_EQ(y[4], std::ldexp(1.0f, -14));     // smallest normal
  EXPECT_EQ(y[5], 1.0f);
  EXPECT_EQ(y[6], -2.0f);
  EXPECT_EQ(y[7], 65504.0f);
  EXPECT_EQ(y[8], std::numeric_limits<float>::infinity());
  EXPECT_EQ(y[9], -std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(y[10]));
  EXPECT_EQ(y[11], 0.333251953125f);  // 1365 / 4096, the f16 nearest 1/3
}

TEST(F16, EncodesWithRoundHalfToEven) {
  EXPECT_EQ(f16_of(1.0f), 0x3c00);
  EXPECT_EQ(f16_of(1.0f + std::ldexp(1.0f, -11)), 0x3c00);      // tie, down to even
  EXPECT_EQ(f16_of(1.0f + 3 * std::ldexp(1.0f, -11)), 0x3c02);  // tie, up to even
  EXPECT_EQ(f16_of(1.0f + std::ldexp(1.0f, -11) + std::ldexp(1.0f, -20)), 0x3c01);
  EXPECT_EQ(f16_of(65504.0f), 0x7bff);
  EXPECT_EQ(f16_of(65519.0f), 0x7bff);  // below the midpoint to 65536
  EXPECT_EQ(f16_of(65520.0f), 0x7c00);  // tie between 65504 and "65536": even is inf
  EXPECT_EQ(f16_of(1e10f), 0x7c00);
  EXPECT_EQ(f16_of(-1e10f), 0xfc00);
  EXPECT_EQ(f16_of(std::ldexp(1.0f, -24)), 0x0001);
  EXPECT_EQ(f16_of(std::ldexp(1.0f, -25)), 0x0000);  // tie, down to even (zero)
  EXPECT_EQ(f16_of(std::ldexp(3.0f, -25)), 0x0002);  // tie, up to even
  EXPECT_EQ(f16_of(std::ldexp(1.0f, -25) * 1.0001f), 0x0001);
  EXPECT_EQ(f16_of(std::ldexp(1023.5f, -24)), 0x0400);  // subnormal rounds up to normal
  EXPECT_EQ(f16_of(-0.0f), 0x8000);
  EXPECT_EQ(f16_of(std::numeric_limits<float>::infinity()), 0x7c00);
  const uint16_t nan = f16_of(std::numeric_limits<float>::quiet_NaN());
  EXPECT_EQ(nan & 0x7c00, 0x7c00);
  EXPECT_NE(nan & 0x03ff, 0);
}

TEST(F16, EveryHalfRoundTrips) {
  for (uint32_t h = 0; h < 0x10000; ++h) {
    const float f = f16_to_f32(static_cast<uint16_t>(h));
    if (std::isnan(f)) continue;
    ASSERT_EQ(f16_of(f), h) << std::hex << h;
  }
}

TEST(BF16, ConvertsExactlyWithRoundHalfToEven) {
  EXPECT_EQ(bf16_of(1.0f), 0x3f80);
  EXPECT_EQ(bf16_of(1.0f + std::ldexp(1.0f, -8)), 0x3f80);      // tie, down to even
  EXPECT_EQ(bf16_of(1.0f + 3 * std::ldexp(1.0f, -8)), 0x3f82);  // tie, up to even
  EXPECT_EQ(bf16_of(-2.0f), 0xc000);
  EXPECT_EQ(bf16_of(std::numeric_limits<float>::max()), 0x7f80);  // rounds to inf
  EXPECT_EQ(bf16_of(std::numeric_limits<float>::denorm_min()), 0x0000);
  EXPECT_EQ(bf16_of(std::ldexp(1.0f, -133)), 0x0001);  // f32 subnormal, exact in bf16
  const uint16_t nan = bf16_of(std::numeric_limits<float>::quiet_NaN());
  EXPECT_EQ(nan & 0x7f80, 0x7f80);
  EXPECT_NE(nan & 0x007f, 0);
  const std::vector<float> y =
      dequantize_vec(T::BF16, u16_bytes({0x3f80, 0x0001, 0x7f80, 0xff80, 0x7fc0, 0x4049}), 6);
  EXPECT_EQ(y[0], 1.0f);
  EXPECT_EQ(y[1], std::ldexp(1.0f, -133));
  EXPECT_EQ(y[2], std::numeric_limits<float>::infinity());
  EXPECT_EQ(y[3], -std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(y[4]));
  EXPECT_EQ(y[5], 3.140625f);
}

TEST(F32, CopiesBitsUnchanged) {
  const std::vector<float> x = {1.5f, -0.0f, std::numeric_limits<float>::denorm_min(),
                                std::numeric_limits<float>::infinity()};
  const std::vector<float> y = round_trip(T::F32, x);
  ASSERT_EQ(std::memcmp(x.data(), y.data(), x.size() * 4), 0);
}

}  // namespace
}  // namespace tessera::gguf
