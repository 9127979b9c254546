#include "engine/sampling/stop_matcher.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace tessera::engine {
namespace {

// Feeds the chunks, then flushes; returns everything emitted.
std::string run(StopMatcher& m, const std::vector<std::string>& chunks) {
  std::string out;
  for (const std::string& c : chunks) out += m.push(c);
  return out + m.flush();
}

TEST(StopMatcher, NoStopStringsPassesEverythingThrough) {
  StopMatcher m({});
  EXPECT_EQ(m.push("Hello"), "Hello");
  EXPECT_EQ(m.push(", world"), ", world");
  EXPECT_EQ(m.flush(), "");
  EXPECT_FALSE(m.stopped());
  EXPECT_EQ(m.matched_stop(), "");
}

TEST(StopMatcher, NoStopInTextEmitsAllAndFlushesTheHeldTail) {
  StopMatcher m({"END"});
  EXPECT_EQ(m.push("the E"), "the ");  // "E" could begin "END"
  EXPECT_EQ(m.push("xit EN"), "Exit ");
  EXPECT_EQ(m.flush(), "EN");  // generation ended: the tail is plain text
  EXPECT_FALSE(m.stopped());
}

TEST(StopMatcher, StopInsideOneChunkCutsBeforeIt) {
  StopMatcher m({"\n\n"});
  EXPECT_EQ(m.push("one\n\ntwo"), "one");
  EXPECT_TRUE(m.stopped());
  EXPECT_EQ(m.matched_stop(), "\n\n");
  EXPECT_EQ(m.push("more"), "");
  EXPECT_EQ(m.flush(), "");
}

TEST(StopMatcher, StopSplitAcrossChunks) {
  StopMatcher m({"</answer>"});
  EXPECT_EQ(m.push("42</"), "42");
  EXPECT_EQ(m.push("ans"), "");
  EXPECT_EQ(m.push("wer> trailing"), "");
  EXPECT_TRUE(m.stopped());
  EXPECT_EQ(m.matched_stop(), "</answer>");
}

TEST(StopMatcher, FalseStartIsReleased) {
  StopMatcher m({"</answer>"});
  EXPECT_EQ(m.push("a </ans"), "a ");
  EXPECT_EQ(m.push("i"), "</ansi");
  EXPECT_EQ(m.push("</a"), "");
  EXPECT_EQ(m.push("</answer>"), "</a");
  EXPECT_TRUE(m.stopped());
}

TEST(StopMatcher, OverlappingPrefixesStopAtTheFirstToComplete) {
  {
    StopMatcher m({"abc", "ab"});
    EXPECT_EQ(run(m, {"xa", "bc"}), "x");
    EXPECT_EQ(m.matched_stop(), "ab");
  }
  {
    StopMatcher m({"abc", "ab"});
    EXPECT_EQ(run(m, {"xabc"}), "x");
    EXPECT_EQ(m.matched_stop(), "ab");
  }
  {
    // "bc" completes before "abcd" could: the text stops before "bc" whatever the chunking.
    for (const auto& chunks : std::vector<std::vector<std::string>>{
             {"abcd"}, {"a", "b", "c", "d"}, {"ab", "cd"}, {"abc", "d"}}) {
      StopMatcher m({"abcd", "bc"});
      EXPECT_EQ(run(m, chunks), "a");
      EXPECT_EQ(m.matched_stop(), "bc");
    }
  }
  {
    // Two ending at the same byte: the longer one (earlier start) wins.
    StopMatcher m({"c", "abc"});
    EXPECT_EQ(run(m, {"zab", "c"}), "z");
    EXPECT_EQ(m.matched_stop(), "abc");
  }
}

TEST(StopMatcher, ResultIsIndependentOfChunking) {
  const std::string text = "say hello<|end|> then more";
  for (size_t cut = 0; cut <= text.size(); ++cut) {
    StopMatcher m({"<|end|>", "<|e"});
    EXPECT_EQ(run(m, {text.substr(0, cut), text.substr(cut)}), "say hello") << cut;
    EXPECT_EQ(m.matched_stop(), "<|e");
  }
}

TEST(StopMatcher, MultiByteStopStrings) {
  {
    StopMatcher m({"。", "停止"});  // U+3002, U+505C U+6B62
    EXPECT_EQ(m.push("你好"), "你好");
    EXPECT_EQ(m.push("停"), "");
    EXPECT_EQ(m.push("止了"), "");
    EXPECT_TRUE(m.stopped());
    EXPECT_EQ(m.matched_stop(), "停止");
  }
  {
    // A stop of one accented character, its bytes split across chunks.
    StopMatcher m({"é"});
    EXPECT_EQ(m.push("caf\xC3"), "caf");
    EXPECT_EQ(m.push("\xA9!"), "");
    EXPECT_EQ(m.matched_stop(), "é");
  }
  {
    // Shares a lead byte with the stop but is another character: released whole.
    StopMatcher m({"é"});
    EXPECT_EQ(m.push("caf\xC3"), "caf");
    EXPECT_EQ(m.push("\xA8!"), "\xC3\xA8!");
    EXPECT_FALSE(m.stopped());
  }
}

TEST(StopMatcher, EmptyStopStringsAreIgnored) {
  StopMatcher m({"", "x"});
  EXPECT_EQ(run(m, {"abx"}), "ab");
  EXPECT_EQ(m.matched_stop(), "x");
}

}  // namespace
}  // namespace tessera::engine
