#include "runtime/units.h"

#include <gtest/gtest.h>

#include <cmath>

namespace tessera::runtime {
namespace {

using std::chrono::milliseconds;

TEST(ParseBytes, UnitsAndFractions) {
  EXPECT_EQ(*parse_bytes("1048576"), 1048576u);
  EXPECT_EQ(*parse_bytes("512MiB"), 512ull << 20);
  EXPECT_EQ(*parse_bytes("20 GiB"), 20ull << 30);
  EXPECT_EQ(*parse_bytes("1.5gib"), 3ull << 29);
  EXPECT_EQ(*parse_bytes("8GB"), 8000000000ull);
  EXPECT_EQ(*parse_bytes("2T"), 2ull << 40);
  EXPECT_EQ(*parse_bytes("0"), 0u);
}

TEST(ParseBytes, BadSizesAreExplained) {
  for (const char* bad : {"", "GiB", "-1GiB", "12 parsecs", "1.2.3MiB", "1e400", "9999999TiB"}) {
    auto r = parse_bytes(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code, ErrorCode::invalid_argument);
    EXPECT_NE(r.error().message.find(std::string("\"") + bad + "\""), std::string::npos)
        << r.error().message;
  }
  EXPECT_NE(parse_bytes("3 furlongs").error().message.find("unknown unit"), std::string::npos);
}

TEST(ParseKeepAlive, DurationsForeverAndZero) {
  EXPECT_EQ(parse_keep_alive("5m")->duration, milliseconds(300000));
  EXPECT_EQ(parse_keep_alive("1h30m")->duration, milliseconds(5400000));
  EXPECT_EQ(parse_keep_alive("250ms")->duration, milliseconds(250));
  EXPECT_EQ(parse_keep_alive("300")->duration, milliseconds(300000));
  EXPECT_EQ(parse_keep_alive("0")->duration, milliseconds(0));
  EXPECT_FALSE(parse_keep_alive("0")->forever);
  for (const char* f : {"-1", "forever", "never", "FOREVER"}) {
    auto k = parse_keep_alive(f);
    ASSERT_TRUE(k.ok()) << f;
    EXPECT_TRUE(k->forever) << f;
  }
  EXPECT_EQ(format_keep_alive(*parse_keep_alive("1h30m")), "1h30m");
  EXPECT_EQ(format_keep_alive(*parse_keep_alive("-1")), "forever");
}

TEST(ParseKeepAlive, NegativeAndAbsurdValuesAreRefused) {
  auto neg = parse_keep_alive("-5m");
  ASSERT_FALSE(neg.ok());
  EXPECT_NE(neg.error().message.find("-1 to keep the model loaded forever"), std::string::npos)
      << neg.error().message;
  auto absurd = parse_keep_alive("100000h");
  ASSERT_FALSE(absurd.ok());
  EXPECT_NE(absurd.error().message.find("longer than a year"), std::string::npos);
  EXPECT_FALSE(parse_keep_alive("5 minutes").ok());
  EXPECT_FALSE(parse_keep_alive("").ok());
  EXPECT_FALSE(parse_keep_alive("5m-3s").ok());
  EXPECT_FALSE(keep_alive_from_seconds(-2).ok());
  EXPECT_FALSE(keep_alive_from_seconds(1e300).ok());
  EXPECT_FALSE(keep_alive_from_seconds(std::nan("")).ok());
  EXPECT_TRUE(keep_alive_from_seconds(-1)->forever);
  EXPECT_EQ(keep_alive_from_seconds(2.5)->duration, milliseconds(2500));
}

}  // namespace
}  // namespace tessera::runtime
