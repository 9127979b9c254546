// wordpiece_encode against Hugging Face's BertTokenizerFast (bge-small-en-v1.5): llama.cpp's
// test vectors for ggml-vocab-bert-bge.gguf, the bert-tiny golden prompts, and focused cases.
#include "engine/tokenizer/wordpiece.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "gguf/reader.h"
#include "support/test_support.h"

namespace tessera::engine {
namespace {

constexpr TokenId kUnk = 100;  // [UNK] of the bge vocabulary

std::string read_text_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

// The bge vocabulary as a PieceLookup over the file's stored spellings.
class BgeVocab {
 public:
  static const BgeVocab& get() {
    static const BgeVocab* vocab = new BgeVocab();
    return *vocab;
  }

  bool ok() const { return file_ != nullptr; }
  const PieceLookup& lookup() const { return lookup_; }
  TokenId id(std::string_view piece) const { return lookup_(piece); }

  std::vector<TokenId> encode(std::string_view text, size_t max_word_chars = 100) const {
    return wordpiece_encode(text, lookup_, kUnk, max_word_chars);
  }

 private:
  BgeVocab() {
    auto file = gguf::GgufFile::open(test::testdata("vocab/ggml-vocab-bert-bge.gguf"));
    if (!file.ok()) return;
    file_ = std::make_unique<gguf::GgufFile>(std::move(file).value());
    auto tokens = file_->get_array("tokenizer.ggml.tokens");
    if (!tokens.ok()) {
      file_.reset();
      return;
    }
    const auto& strings = (*tokens)->strings();
    for (size_t i = 0; i < strings.size(); ++i) ids_.emplace(strings[i], static_cast<TokenId>(i));
    lookup_ = [this](std::string_view piece) {
      const auto it = ids_.find(piece);
      return it == ids_.end() ? kNoToken : it->second;
    };
  }

  std::unique_ptr<gguf::GgufFile> file_;
  std::unordered_map<std::string_view, TokenId> ids_;
  PieceLookup lookup_;
};

class WordPieceBge : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(BgeVocab::get().ok()) << "cannot read the bge vocab"; }
  const BgeVocab& vocab() const { return BgeVocab::get(); }
};

TEST_F(WordPieceBge, StoredSpelling) {
  EXPECT_EQ(vocab().id("\xE2\x96\x81hello"), 7592);  // word-initial "hello"
  EXPECT_EQ(vocab().id("[UNK]"), kUnk);              // specials keep their brackets
  EXPECT_EQ(vocab().id("##s"), kNoToken);            // continuations lose "##"
}

TEST_F(WordPieceBge, LlamaCppVocabVectors) {
  const std::string base = test::testdata("vocab/ggml-vocab-bert-bge.gguf");
  const std::string inp = read_text_file(base + ".inp");
  const std::string expected_out = read_text_file(base + ".out");
  ASSERT_FALSE(inp.empty());

  constexpr std::string_view kSeparator = "\n__ggml_vocab_test__\n";
  std::vector<std::string> texts;
  for (size_t pos = 0; pos < inp.size();) {
    const size_t sep = inp.find(kSeparator, pos);
    ASSERT_NE(sep, std::string::npos) << "text without separator at byte " << pos;
    texts.push_back(inp.substr(pos, sep - pos));
    pos = sep + kSeparator.size();
  }
  std::vector<std::vector<TokenId>> expected;
  std::istringstream lines(expected_out);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream ids(line);
    expected.emplace_back();
    for (TokenId id; ids >> id;) expected.back().push_back(id);
  }
  ASSERT_EQ(texts.size(), 46u);
  ASSERT_EQ(expected.size(), texts.size());

  size_t passed = 0;
  for (size_t i = 0; i < texts.size(); ++i) {
    const auto got = vocab().encode(texts[i]);
    EXPECT_EQ(got, expected[i]) << "text " << i << ": \"" << texts[i] << "\"";
    passed += got == expected[i] ? 1 : 0;
  }
  EXPECT_EQ(passed, texts.size());
}

TEST_F(WordPieceBge, GoldenPrompts) {
  const auto golden =
      nlohmann::json::parse(read_text_file(test::testdata("golden/bert-tiny.json")), nullptr,
                            /*allow_exceptions=*/false);
  ASSERT_FALSE(golden.is_discarded());
  ASSERT_TRUE(golden.contains("prompts"));
  ASSERT_FALSE(golden["prompts"].empty());
  for (const auto& prompt : golden["prompts"]) {
    const auto text = prompt["text"].get<std::string>();
    const auto expected = prompt["tokens_no_special"].get<std::vector<TokenId>>();
    EXPECT_EQ(vocab().encode(text), expected) << "prompt \"" << text << "\"";
  }
}

TEST_F(WordPieceBge, AccentsAreStripped) {
  const std::vector<TokenId> hello = {7592};
  EXPECT_EQ(vocab().encode("Héllo"), hello);
  EXPECT_EQ(vocab().encode("He\xCC\x81llo"), hello);  // already decomposed
  EXPECT_EQ(vocab().encode("HÉLLÔ"), hello);
  EXPECT_EQ(vocab().encode("\xE2\x84\xAB"), vocab().encode("a"));  // ANGSTROM SIGN -> A + ring
}

TEST_F(WordPieceBge, CjkIdeographsAreWordsOfTheirOwn) {
  const TokenId wo = vocab().id("\xE2\x96\x81我");
  const TokenId bei = vocab().id("\xE2\x96\x81北");
  const TokenId jing = vocab().id("\xE2\x96\x81京");
  ASSERT_NE(wo, kNoToken);
  EXPECT_EQ(vocab().encode("我北京"), (std::vector<TokenId>{wo, bei, jing}));
  const auto with_latin = vocab().encode("hello我world");
  EXPECT_EQ(with_latin, (std::vector<TokenId>{7592, wo, 2088}));
}

TEST_F(WordPieceBge, PunctuationIsSplitOff) {
  // ',' 1010, '!' 999; ASCII symbols count as punctuation too ('$' 1002, '+' 1009).
  EXPECT_EQ(vocab().encode("hello,world!"), (std::vector<TokenId>{7592, 1010, 2088, 999}));
  EXPECT_EQ(vocab().encode("a+b"), (std::vector<TokenId>{1037, 1009, 1038}));
  EXPECT_EQ(vocab().encode("$hello"), (std::vector<TokenId>{1002, 7592}));
  // Unicode punctuation (U+2014 EM DASH, Pd) splits as well.
  const auto dashed = vocab().encode("hello\xE2\x80\x94world");
  ASSERT_EQ(dashed.size(), 3u);
  EXPECT_EQ(dashed[0], 7592);
  EXPECT_EQ(dashed[2], 2088);
}

TEST_F(WordPieceBge, UnknownWordBecomesUnk) {
  // U+2603 SNOWMAN is a symbol, not punctuation: it stays inside the word, which then has no
  // cover and becomes one [UNK].
  EXPECT_EQ(vocab().encode("hello\xE2\x98\x83world"), std::vector<TokenId>{kUnk});
  EXPECT_EQ(vocab().encode("hi \xE2\x98\x83 there"), (std::vector<TokenId>{7632, kUnk, 2045}));
}

TEST_F(WordPieceBge, OverLongWordBecomesUnk) {
  const std::string at_limit(100, 'a');
  const std::string over_limit(101, 'a');
  const auto tokens = vocab().encode(at_limit);
  EXPECT_FALSE(tokens.empty());
  EXPECT_EQ(std::count(tokens.begin(), tokens.end(), kUnk), 0);
  EXPECT_EQ(vocab().encode(over_limit), std::vector<TokenId>{kUnk});
  // The limit counts code points, not bytes.
  std::string accented;
  for (int i = 0; i < 100; ++i) accented += "\xC3\xA9";  // é
  const auto accented_tokens = vocab().encode(accented);
  EXPECT_FALSE(accented_tokens.empty());
  EXPECT_EQ(std::count(accented_tokens.begin(), accented_tokens.end(), kUnk), 0);
  EXPECT_EQ(vocab().encode("hello world", 4), (std::vector<TokenId>{kUnk, kUnk}));
}

TEST_F(WordPieceBge, EmptyAndWhitespaceOnly) {
  EXPECT_TRUE(vocab().encode("").empty());
  EXPECT_TRUE(vocab().encode(" \t\n\r  ").empty());
  EXPECT_TRUE(vocab().encode("\xE3\x80\x80\xC2\xA0\xE2\x80\x83").empty());  // U+3000 NBSP EM SP
  EXPECT_TRUE(vocab().encode("\x01\x7F\xE2\x80\x8B").empty());              // controls, ZWSP
}

TEST_F(WordPieceBge, ControlCharactersAreRemovedNotSplit) {
  const std::vector<TokenId> hello = {7592};
  EXPECT_EQ(vocab().encode("hel\x0Blo"), hello);                // VT is Cc, not whitespace
  EXPECT_EQ(vocab().encode("hel\xE2\x80\x8Dlo"), hello);        // ZWJ is Cf
  EXPECT_EQ(vocab().encode("hel\xEF\xBB\xBFlo"), hello);        // BOM is Cf
  EXPECT_EQ(vocab().encode(std::string("hel\0lo", 6)), hello);  // NUL
}

TEST_F(WordPieceBge, InvalidUtf8DoesNotCrash) {
  // Bad bytes read as U+FFFD, which the reference's cleaning removes.
  const std::vector<TokenId> hello = {7592};
  EXPECT_EQ(vocab().encode("hel\xFFlo"), hello);
  EXPECT_EQ(vocab().encode("hello\xE4\xB8"), hello);          // truncated sequence at the end
  EXPECT_EQ(vocab().encode("\xED\xA0\x80hello"), hello);      // encoded surrogate
  EXPECT_EQ(vocab().encode("\xC0\xAFhello"), hello);          // overlong '/'
  EXPECT_EQ(vocab().encode("\xF4\x90\x80\x80hello"), hello);  // past U+10FFFF
  EXPECT_TRUE(vocab().encode("\x80\x80\xBF\xFE").empty());
  std::string noise;
  for (int i = 0; i < 4096; ++i) noise.push_back(static_cast<char>((i * 131 + 7) & 0xFF));
  (void)vocab().encode(noise);
}

// A toy vocabulary, to see the greedy longest-match-first rule on its own.
class WordPieceToy : public ::testing::Test {
 protected:
  std::vector<TokenId> encode(std::string_view text, size_t max_word_chars = 100) const {
    return wordpiece_encode(text, lookup_, /*unk=*/0, max_word_chars);
  }

 private:
  std::unordered_map<std::string, TokenId> ids_ = {{"[UNK]", 0},
                                                   {"\xE2\x96\x81un", 1},
                                                   {"\xE2\x96\x81una", 2},
                                                   {"aff", 3},
                                                   {"able", 4},
                                                   {"a", 5},
                                                   {"ble", 6},
                                                   {"\xE2\x96\x81x", 7},
                                                   {"\xE2\x96\x81.", 8},
                                                   {"\xE2\x96\x81the", 9}};
  PieceLookup lookup_ = [this](std::string_view piece) {
    const auto it = ids_.find(std::string(piece));
    return it == ids_.end() ? kNoToken : it->second;
  };
};

TEST_F(WordPieceToy, GreedyLongestMatchFirst) {
  // "una" is taken first (longest word-initial match) although un + affable would cover it
  // too; then "ff..." has no continuation piece, so the whole word is [UNK].
  EXPECT_EQ(encode("unaffable"), std::vector<TokenId>{0});
  EXPECT_EQ(encode("unable"), (std::vector<TokenId>{2, 6}));  // una + ble, not un + able
  EXPECT_EQ(encode("x.x"), (std::vector<TokenId>{7, 8, 7}));
  EXPECT_EQ(encode("unable x", 5), (std::vector<TokenId>{0, 7}));
  EXPECT_EQ(encode("unable x", 6), (std::vector<TokenId>{2, 6, 7}));
}

TEST_F(WordPieceToy, ContinuationNeverMatchesAWordInitialPiece) {
  // The stored "\u2581the" is the word-initial piece "the"; in the middle of a word the
  // reference would look up "##\u2581the" instead, which does not exist.
  EXPECT_EQ(encode("x\xE2\x96\x81the"), std::vector<TokenId>{0});
}

}  // namespace
}  // namespace tessera::engine
