// The tokenizer against llama.cpp's test vectors (Hugging Face's output) for every vocabulary
// in shared/testdata/vocab, and the decode round trip on the same texts.
#include <gtest/gtest.h>

#include "tokenizer_test_util.h"

namespace tessera::engine {
namespace {

using test_util::ids_to_string;
using test_util::load_tokenizer;
using test_util::read_vectors;
using test_util::vocab_path;

class VocabVectors : public ::testing::TestWithParam<std::string> {};

TEST_P(VocabVectors, EveryTextGivesTheReferenceIds) {
  const auto& loaded = load_tokenizer(vocab_path(GetParam()));
  ASSERT_NE(loaded.tokenizer, nullptr) << loaded.error;
  const test_util::Vectors v = read_vectors(GetParam());
  ASSERT_EQ(v.texts.size(), 46u);
  ASSERT_EQ(v.ids.size(), v.texts.size());
  size_t passed = 0;
  for (size_t i = 0; i < v.texts.size(); ++i) {
    const std::vector<TokenId> got =
        loaded.tokenizer->encode(v.texts[i], {.add_special = false, .parse_special = false});
    if (got == v.ids[i]) {
      ++passed;
    } else {
      ADD_FAILURE() << GetParam() << " text " << i << " \"" << v.texts[i] << "\"\n  expected"
                    << ids_to_string(v.ids[i]) << "\n  got     " << ids_to_string(got);
    }
  }
  RecordProperty("passed", std::to_string(passed) + "/" + std::to_string(v.texts.size()));
  std::printf("[ vectors  ] %-15s %zu/%zu\n", GetParam().c_str(), passed, v.texts.size());
}

// The byte-level BPE and SentencePiece vocabularies (WordPiece lower-cases and drops
// whitespace, so it has no round trip).
class RoundTripVocabs : public ::testing::TestWithParam<std::string> {};

std::vector<std::string> round_trip_vocabs() {
  std::vector<std::string> names;
  for (const auto& v : tessera::test::testdata_vocabs()) {
    if (v != "bert-bge") names.push_back(v);
  }
  return names;
}

TEST_P(RoundTripVocabs, DecodeOfEncodeGivesTheTextBack) {
  const auto& loaded = load_tokenizer(vocab_path(GetParam()));
  ASSERT_NE(loaded.tokenizer, nullptr) << loaded.error;
  ASSERT_NE(loaded.tokenizer->kind(), TokenizerKind::wpm);
  const test_util::Vectors v = read_vectors(GetParam());
  for (size_t i = 0; i < v.texts.size(); ++i) {
    const std::vector<TokenId> ids =
        loaded.tokenizer->encode(v.texts[i], {.add_special = false, .parse_special = false});
    EXPECT_EQ(loaded.tokenizer->decode(ids), v.texts[i]) << GetParam() << " text " << i;
  }
}

std::string param_name(const ::testing::TestParamInfo<std::string>& p) {
  std::string name = p.param;
  for (char& c : name) {
    if (c == '-') c = '_';
  }
  return name;
}

INSTANTIATE_TEST_SUITE_P(SharedVocabs, VocabVectors,
                         ::testing::ValuesIn(tessera::test::testdata_vocabs()), param_name);
INSTANTIATE_TEST_SUITE_P(SharedVocabs, RoundTripVocabs, ::testing::ValuesIn(round_trip_vocabs()),
                         param_name);

}  // namespace
}  // namespace tessera::engine
