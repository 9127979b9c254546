// UTF-8 validation, replacement (maximal subparts, as Python's errors="replace"), streaming
// prefixes and code point decoding.
#include "util/utf8.h"

#include <gtest/gtest.h>

namespace tessera::utf8 {
namespace {

TEST(Utf8, ClassifiesSequences) {
  EXPECT_EQ(classify("a", 1).kind, Sequence::Kind::valid);
  EXPECT_EQ(classify("\xE4\xBD\xA0", 3).length, 3u);
  EXPECT_EQ(classify("\xE4\xBD", 2).kind, Sequence::Kind::incomplete);
  EXPECT_EQ(classify("\xC0\x80", 2).kind, Sequence::Kind::invalid);          // overlong
  EXPECT_EQ(classify("\xED\xA0\x80", 3).kind, Sequence::Kind::invalid);      // surrogate
  EXPECT_EQ(classify("\xF4\x90\x80\x80", 4).kind, Sequence::Kind::invalid);  // > U+10FFFF
  EXPECT_EQ(classify("\xE4\x41", 2).length, 1u);  // the maximal subpart is the lead byte
}

TEST(Utf8, ReplacesIllFormedPartsOncePerMaximalSubpart) {
  EXPECT_TRUE(is_valid("héllo 你好 🦙"));
  EXPECT_FALSE(is_valid("a\xFF"));
  EXPECT_EQ(sanitize("a\xFF"
                     "b"),
            "a\xEF\xBF\xBD"
            "b");
  EXPECT_EQ(sanitize("\xF0\x9F\x98"
                     "x"),
            "\xEF\xBF\xBD"
            "x");  // a cut emoji: one U+FFFD
  EXPECT_EQ(sanitize("\xE4\xBD"), "\xEF\xBF\xBD");
  EXPECT_EQ(sanitize("ok"), "ok");
}

TEST(Utf8, CompletePrefixHoldsBackACutCharacter) {
  EXPECT_EQ(complete_prefix_length("ab\xE4\xBD"), 2u);
  EXPECT_EQ(complete_prefix_length("ab\xE4\xBD\xA0"), 5u);
  EXPECT_EQ(complete_prefix_length("a\xFF"), 2u);  // invalid, not incomplete: emit it
}

TEST(Utf8, DecodesAndEncodesCodePoints) {
  const std::string s = "a\xC3\xA9\xE4\xBD\xA0\xF0\x9F\xA6\x99\xFF";
  std::vector<char32_t> cps;
  for (size_t i = 0; i < s.size();) cps.push_back(decode_next(s, i));
  EXPECT_EQ(cps, (std::vector<char32_t>{'a', 0xE9, 0x4F60, 0x1F999, 0xFFFD}));
  std::string out;
  for (char32_t c : cps) append(out, c);
  EXPECT_EQ(out, sanitize(s));
}

}  // namespace
}  // namespace tessera::utf8
