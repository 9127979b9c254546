#include "server/base64.h"

#include <gtest/gtest.h>

#include <cstring>

namespace tessera::server {
namespace {

std::vector<uint8_t> bytes(std::string_view s) {
  return {s.begin(), s.end()};
}

TEST(Base64, Rfc4648Vectors) {
  const char* cases[][2] = {{"", ""},
                            {"f", "Zg=="},
                            {"fo", "Zm8="},
                            {"foo", "Zm9v"},
                            {"foob", "Zm9vYg=="},
                            {"fooba", "Zm9vYmE="},
                            {"foobar", "Zm9vYmFy"}};
  for (const auto& c : cases) {
    EXPECT_EQ(base64_encode(bytes(c[0])), c[1]);
    const auto back = base64_decode(c[1]);
    ASSERT_TRUE(back.has_value()) << c[1];
    EXPECT_EQ(*back, bytes(c[0]));
  }
}

TEST(Base64, RejectsWhatIsNotBase64) {
  EXPECT_FALSE(base64_decode("Zg=").has_value());
  EXPECT_FALSE(base64_decode("Z!==").has_value());
  EXPECT_FALSE(base64_decode("Zg==Zg==").has_value());
}

TEST(Base64, Float32LittleEndianRoundTrip) {
  const std::vector<float> v = {1.0f, -2.5f, 0.0f, 3.14159f, -1e-30f};
  // 1.0f is 0x3f800000: bytes 00 00 80 3f.
  EXPECT_EQ(base64_float32_le(std::span<const float>(v.data(), 1)), "AACAPw==");
  const auto raw = base64_decode(base64_float32_le(v));
  ASSERT_TRUE(raw.has_value());
  ASSERT_EQ(raw->size(), v.size() * 4);
  for (size_t i = 0; i < v.size(); ++i) {
    uint32_t u = 0;
    for (size_t b = 0; b < 4; ++b) u |= uint32_t{(*raw)[i * 4 + b]} << (8 * b);
    float f = 0;
    std::memcpy(&f, &u, 4);
    EXPECT_EQ(f, v[i]);
  }
}

}  // namespace
}  // namespace tessera::server
