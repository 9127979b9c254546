// Hand-built blocks of every GGUF block type that must decode to exact values.
//
// The blocks are encoded here with ggml's own loop structure (dequantize_row_*), not with the
// index formulas of quant_kquant.cpp, so a layout slip there shows up as a mismatch rather
// than cancelling out.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "gguf/quant_helpers.h"
#include "gguf/tensor_type.h"
#include "util/half.h"

namespace tessera::gguf {
namespace {

using T = TensorType;
using namespace test_quant;

// ---------------------------------------------------------------- hand-built blocks

void put_f16(std::vector<uint8_t>& b, size_t at, float v) {
  const uint16_t h = f32_to_f16(v);
  ASSERT_EQ(f16_to_f32(h), v) << "test scales must be exact in f16";
  std::memcpy(b.data() + at, &h, 2);
}

std::vector<float> decode(T type, const std::vector<uint8_t>& block) {
  return dequantize_vec(type, block, tensor_type_info(type)->block_size);
}

TEST(HandBuilt, Q4_0) {
  std::vector<uint8_t> b(18);
  put_f16(b, 0, -0.5f);
  for (int j = 0; j < 16; ++j) b[2 + j] = static_cast<uint8_t>(j | ((15 - j) << 4));
  const std::vector<float> y = decode(T::Q4_0, b);
  for (int j = 0; j < 16; ++j) {
    EXPECT_EQ(y[j], -0.5f * static_cast<float>(j - 8));
    EXPECT_EQ(y[j + 16], -0.5f * static_cast<float>(7 - j));
  }
  EXPECT_EQ(y[0], 4.0f);    // code 0 -> (0 - 8) * -0.5
  EXPECT_EQ(y[16], -3.5f);  // code 15 -> (15 - 8) * -0.5
}

TEST(HandBuilt, Q4_1) {
  std::vector<uint8_t> b(20);
  put_f16(b, 0, 0.25f);
  put_f16(b, 2, -1.5f);
  for (int j = 0; j < 16; ++j) b[4 + j] = static_cast<uint8_t>(j | ((15 - j) << 4));
  const std::vector<float> y = decode(T::Q4_1, b);
  for (int j = 0; j < 16; ++j) {
    EXPECT_EQ(y[j], 0.25f * static_cast<float>(j) - 1.5f);
    EXPECT_EQ(y[j + 16], 0.25f * static_cast<float>(15 - j) - 1.5f);
  }
  EXPECT_EQ(y[16], 2.25f);  // 15 * 0.25 - 1.5
}

// Q5 codes: element j's fifth bit is bit j of the little-endian 32-bit qh.
std::vector<uint8_t> q5_payload(const int* codes) {
  std::vector<uint8_t> p(20);
  uint32_t qh = 0;
  for (int j = 0; j < 32; ++j) qh |= static_cast<uint32_t>(codes[j] >> 4) << j;
  std::memcpy(p.data(), &qh, 4);
  for (int j = 0; j < 16; ++j) {
    p[4 + j] = static_cast<uint8_t>((codes[j] & 15) | ((codes[j + 16] & 15) << 4));
  }
  return p;
}

TEST(HandBuilt, Q5_0) {
  int codes[32];
  for (int j = 0; j < 32; ++j) codes[j] = (j * 13 + 5) % 32;
  std::vector<uint8_t> b(22);
  put_f16(b, 0, 0.125f);
  const std::vector<uint8_t> p = q5_payload(codes);
  std::copy(p.begin(), p.end(), b.begin() + 2);
  const std::vector<float> y = decode(T::Q5_0, b);
  for (int j = 0; j < 32; ++j) EXPECT_EQ(y[j], 0.125f * static_cast<float>(codes[j] - 16)) << j;
  EXPECT_EQ(y[1], 0.25f);  // code 18
  EXPECT_EQ(y[3], -0.5f);  // code 12 (44 % 32)
}

TEST(HandBuilt, Q5_1) {
  int codes[32];
  for (int j = 0; j < 32; ++j) codes[j] = (j * 7 + 3) % 32;
  std::vector<uint8_t> b(24);
  put_f16(b, 0, 0.5f);
  put_f16(b, 2, -4.0f);
  const std::vector<uint8_t> p = q5_payload(codes);
  std::copy(p.begin(), p.end(), b.begin() + 4);
  const std::vector<float> y = decode(T::Q5_1, b);
  for (int j = 0; j < 32; ++j) EXPECT_EQ(y[j], 0.5f * static_cast<float>(codes[j]) - 4.0f) << j;
  EXPECT_EQ(y[4], 11.5f);  // code 31
}

TEST(HandBuilt, Q8_0) {
  std::vector<uint8_t> b(34);
  put_f16(b, 0, 0.0625f);
  for (int j = 0; j < 32; ++j) b[2 + j] = static_cast<uint8_t>(static_cast<int8_t>(j * 8 - 128));
  const std::vector<float> y = decode(T::Q8_0, b);
  for (int j = 0; j < 32; ++j) EXPECT_EQ(y[j], 0.0625f * static_cast<float>(j * 8 - 128));
  EXPECT_EQ(y[0], -8.0f);
}

// K-quant codes and scales used below: simple patterns whose products are exact in f32.
int pattern_code(int i, int modulus) {
  return (i * 7 + i / 16) % modulus;
}

TEST(HandBuilt, Q2_K) {
  std::vector<uint8_t> b(84);
  for (int s = 0; s < 16; ++s) b[s] = static_cast<uint8_t>((s % 16) | ((15 - s) << 4));
  // ggml's loop: per 128-value half, 4 shifts of 2 bits over the same 32 bytes.
  for (int h = 0; h < 2; ++h) {
    for (int shift = 0; shift < 4; ++shift) {
      for (int l = 0; l < 32; ++l) {
        const int i = 128 * h + 32 * shift + l;
        b[16 + 32 * h + l] |= static_cast<uint8_t>(pattern_code(i, 4) << (2 * shift));
      }
    }
  }
  put_f16(b, 80, 0.5f);
  put_f16(b, 82, 0.25f);
  const std::vector<float> y = decode(T::Q2_K, b);
  for (int i = 0; i < 256; ++i) {
    const int s = i / 16;
    const float expected = 0.5f * static_cast<float>(s) * static_cast<float>(pattern_code(i, 4)) -
                           0.25f * static_cast<float>(15 - s);
    EXPECT_EQ(y[i], expected) << i;
  }
  EXPECT_EQ(y[0], -3.75f);  // scale 0, min 15: 0 - 0.25 * 15
  EXPECT_EQ(y[18], -2.0f);  // scale 1, min 14, code 127 % 4 = 3: 1.5 - 3.5
  EXPECT_EQ(y[250], 7.5f);  // scale 15, min 0, code 1765 % 4 = 1
}

// Q3_K scales as ggml unpacks them (the kmask1/kmask2 shuffle of dequantize_row_q3_K).
std::vector<int> ggml_q3_k_scales(const uint8_t* sc) {
  uint32_t aux[4];
  std::memcpy(aux, sc, 12);
  const uint32_t kmask1 = 0x03030303, kmask2 = 0x0f0f0f0f;
  const uint32_t tmp = aux[2];
  aux[2] = ((aux[0] >> 4) & kmask2) | (((tmp >> 4) & kmask1) << 4);
  aux[3] = ((aux[1] >> 4) & kmask2) | (((tmp >> 6) & kmask1) << 4);
  aux[0] = (aux[0] & kmask2) | (((tmp >> 0) & kmask1) << 4);
  aux[1] = (aux[1] & kmask2) | (((tmp >> 2) & kmask1) << 4);
  uint8_t bytes[16];
  std::memcpy(bytes, aux, 16);
  std::vector<int> out(16);
  for (int s = 0; s < 16; ++s) out[s] = static_cast<int8_t>(bytes[s]) - 32;
  return out;
}

TEST(HandBuilt, Q3_K) {
  std::vector<uint8_t> b(110);
  // 6-bit biased scales 0..63 spread over the 16 sub-blocks.
  int biased[16];
  for (int s = 0; s < 16; ++s) biased[s] = (s * 23 + 9) % 64;
  for (int s = 0; s < 16; ++s) {
    b[96 + s % 8] |= static_cast<uint8_t>((biased[s] & 15) << (4 * (s / 8)));
    b[96 + 8 + s % 4] |= static_cast<uint8_t>((biased[s] >> 4) << (2 * (s / 4)));
  }
  const std::vector<int> scales = ggml_q3_k_scales(b.data() + 96);
  for (int s = 0; s < 16; ++s) ASSERT_EQ(scales[s], biased[s] - 32) << "test encoder, scale " << s;
  // Codes -4..3: low two bits like Q2_K; hmask bit set means "no -4".
  auto code = [](int i) { return pattern_code(i, 8) - 4; };
  for (int h = 0; h < 2; ++h) {
    for (int shift = 0; shift < 4; ++shift) {
      for (int l = 0; l < 32; ++l) {
        const int i = 128 * h + 32 * shift + l;
        const int c = code(i) + 4;
        b[32 + 32 * h + l] |= static_cast<uint8_t>((c & 3) << (2 * shift));
        if (c >= 4) b[l] |= static_cast<uint8_t>(1 << (4 * h + shift));
      }
    }
  }
  put_f16(b, 108, 0.25f);
  const std::vector<float> y = decode(T::Q3_K, b);
  for (int i = 0; i < 256; ++i) {
    EXPECT_EQ(y[i], 0.25f * static_cast<float>(scales[i / 16]) * static_cast<float>(code(i))) << i;
  }
  EXPECT_EQ(y[0], 0.25f * -23.0f * -4.0f);  // scale 9 - 32 = -23, code 0 - 4
}

// ggml's get_scale_min_k4, as written there.
void ggml_scale_min_k4(int j, const uint8_t* q, int& d, int& m) {
  if (j < 4) {
    d = q[j] & 63;
    m = q[j + 4] & 63;
  } else {
    d = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
    m = (q[j + 4] >> 4) | ((q[j - 0] >> 6) << 4);
  }
}

// 8 (scale, min) pairs chosen so that every packed bit is exercised.
void pack_k4_scales(uint8_t* sc, int* scales, int* mins) {
  for (int s = 0; s < 8; ++s) {
    scales[s] = (s * 19 + 40) % 64;
    mins[s] = (s * 29 + 17) % 64;
  }
  for (int j = 0; j < 4; ++j) {
    sc[j] = static_cast<uint8_t>(scales[j] | ((scales[j + 4] >> 4) << 6));
    sc[j + 4] = static_cast<uint8_t>(mins[j] | ((mins[j + 4] >> 4) << 6));
    sc[j + 8] = static_cast<uint8_t>((scales[j + 4] & 15) | ((mins[j + 4] & 15) << 4));
  }
  for (int s = 0; s < 8; ++s) {
    int d = 0, m = 0;
    ggml_scale_min_k4(s, sc, d, m);
    ASSERT_EQ(d, scales[s]);
    ASSERT_EQ(m, mins[s]);
  }
}

TEST(HandBuilt, Q4_K) {
  std::vector<uint8_t> b(144);
  put_f16(b, 0, 0.125f);
  put_f16(b, 2, 0.0625f);
  int scales[8], mins[8];
  pack_k4_scales(b.data() + 4, scales, mins);
  // ggml's loop: per 64 values, 32 bytes: low nibbles first 32 values, high nibbles next 32.
  for (int j = 0; j < 4; ++j) {
    for (int l = 0; l < 32; ++l) {
      b[16 + 32 * j + l] = static_cast<uint8_t>(pattern_code(64 * j + l, 16) |
                                                (pattern_code(64 * j + 32 + l, 16) << 4));
    }
  }
  const std::vector<float> y = decode(T::Q4_K, b);
  for (int i = 0; i < 256; ++i) {
    const int s = i / 32;
    EXPECT_EQ(y[i],
              0.125f * static_cast<float>(scales[s]) * static_cast<float>(pattern_code(i, 16)) -
                  0.0625f * static_cast<float>(mins[s]))
        << i;
  }
  EXPECT_EQ(y[0], -1.0625f);  // code 0, min 17 * 0.0625
}

TEST(HandBuilt, Q5_K) {
  std::vector<uint8_t> b(176);
  put_f16(b, 0, 0.125f);
  put_f16(b, 2, 0.0625f);
  int scales[8], mins[8];
  pack_k4_scales(b.data() + 4, scales, mins);
  // ggml's loop: pair j uses qh bits 2j (first 32 values) and 2j + 1 (next 32).
  for (int j = 0; j < 4; ++j) {
    for (int l = 0; l < 32; ++l) {
      const int c1 = pattern_code(64 * j + l, 32);
      const int c2 = pattern_code(64 * j + 32 + l, 32);
      b[48 + 32 * j + l] = static_cast<uint8_t>((c1 & 15) | ((c2 & 15) << 4));
      b[16 + l] |= static_cast<uint8_t>(((c1 >> 4) << (2 * j)) | ((c2 >> 4) << (2 * j + 1)));
    }
  }
  const std::vector<float> y = decode(T::Q5_K, b);
  for (int i = 0; i < 256; ++i) {
    const int s = i / 32;
    EXPECT_EQ(y[i],
              0.125f * static_cast<float>(scales[s]) * static_cast<float>(pattern_code(i, 32)) -
                  0.0625f * static_cast<float>(mins[s]))
        << i;
  }
  // i = 37: sub-block 1 (scale 59, min 46), code (259 + 2) % 32 = 5.
  EXPECT_EQ(y[37], 0.125f * 59 * 5 - 0.0625f * 46);
}

TEST(HandBuilt, Q6_K) {
  std::vector<uint8_t> b(210);
  auto code = [](int i) { return pattern_code(i, 64) - 32; };
  // ggml's loop: per 128 values, l < 32 covers values l, l+32, l+64, l+96.
  for (int h = 0; h < 2; ++h) {
    for (int l = 0; l < 32; ++l) {
      const int c1 = code(128 * h + l) + 32, c2 = code(128 * h + l + 32) + 32;
      const int c3 = code(128 * h + l + 64) + 32, c4 = code(128 * h + l + 96) + 32;
      b[64 * h + l] = static_cast<uint8_t>((c1 & 15) | ((c3 & 15) << 4));
      b[64 * h + l + 32] = static_cast<uint8_t>((c2 & 15) | ((c4 & 15) << 4));
      b[128 + 32 * h + l] =
          static_cast<uint8_t>((c1 >> 4) | ((c2 >> 4) << 2) | ((c3 >> 4) << 4) | ((c4 >> 4) << 6));
    }
  }
  int scales[16];
  for (int s = 0; s < 16; ++s) {
    scales[s] = s * 17 - 128;  // -128 .. 127
    b[192 + s] = static_cast<uint8_t>(static_cast<int8_t>(scales[s]));
  }
  put_f16(b, 208, 0.03125f);
  const std::vector<float> y = decode(T::Q6_K, b);
  for (int i = 0; i < 256; ++i) {
    EXPECT_EQ(y[i], 0.03125f * static_cast<float>(scales[i / 16]) * static_cast<float>(code(i)))
        << i;
  }
  EXPECT_EQ(y[0], 0.03125f * -128 * -32);  // = 128
}

TEST(HandBuilt, Q8_K) {
  std::vector<uint8_t> b(292);
  const float d = -0.75f;
  std::memcpy(b.data(), &d, 4);
  for (int i = 0; i < 256; ++i) b[4 + i] = static_cast<uint8_t>(static_cast<int8_t>(i - 128));
  const std::vector<float> y = decode(T::Q8_K, b);
  for (int i = 0; i < 256; ++i) EXPECT_EQ(y[i], -0.75f * static_cast<float>(i - 128));
}

// The README's rule: m = value of largest magnitude, q = round-half-even(x * (-127/m)) capped
// at 127, d = m / -127 (f32), bsums = sums of 16 consecutive q.
TEST(Q8_K, FollowsReferenceRule) {
  std::vector<float> x(256, 0.0f);
  x[0] = -127.0f;  // m: -127/m = 1, so codes are x rounded half to even
  x[1] = 2.5f;
  x[2] = 3.5f;
  x[3] = -2.5f;
  x[4] = 126.5f;
  for (int i = 16; i < 256; ++i) x[i] = static_cast<float>(i % 50) - 20.0f;
  const std::vector<uint8_t> b = quantize_vec(T::Q8_K, x);
  float d;
  std::memcpy(&d, b.data(), 4);
  EXPECT_EQ(d, 1.0f);
  const auto q = [&](int i) { return static_cast<int8_t>(b[4 + i]); };
  EXPECT_EQ(q(0), -127);
  EXPECT_EQ(q(1), 2);
  EXPECT_EQ(q(2), 4);
  EXPECT_EQ(q(3), -2);
  EXPECT_EQ(q(4), 126);
  for (int g = 0; g < 16; ++g) {
    int sum = 0;
    for (int i = 16 * g; i < 16 * g + 16; ++i) sum += q(i);
    int16_t bsum;
    std::memcpy(&bsum, b.data() + 260 + 2 * g, 2);
    EXPECT_EQ(bsum, sum) << g;
  }
  // A positive extreme gives a negative d (m/-127) and codes of the opposite sign.
  std::vector<float> p(256, 0.5f);
  p[9] = 4.0f;
  const std::vector<uint8_t> pb = quantize_vec(T::Q8_K, p);
  std::memcpy(&d, pb.data(), 4);
  EXPECT_EQ(d, 4.0f / -127.0f);
  EXPECT_EQ(static_cast<int8_t>(pb[4 + 9]), -127);
  EXPECT_EQ(static_cast<int8_t>(pb[4 + 0]), -16);  // 0.5 * 31.75 = 15.875
}

}  // namespace
}  // namespace tessera::gguf
