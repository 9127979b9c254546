// Every model in shared/testdata/models tokenizes the golden prompts as llama.cpp did: with
// special tokens added (tokens), also parsed (tokens_parse_special) and neither
// (tokens_no_special); the reranker's query/document pairs as [CLS] query [SEP] document [SEP].
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tokenizer_test_util.h"

namespace tessera::engine {
namespace {

using test_util::ids_to_string;
using test_util::load_tokenizer;

nlohmann::json read_golden(const std::string& model) {
  return nlohmann::json::parse(
      test_util::read_text_file(tessera::test::testdata("golden/" + model + ".json")));
}

std::vector<std::string> decoder_and_embedding_models() {
  std::vector<std::string> out;
  for (const std::string& m : tessera::test::testdata_models()) {
    if (m != "bert-rerank-tiny") out.push_back(m);
  }
  return out;
}

class GoldenModel : public ::testing::TestWithParam<std::string> {};

TEST_P(GoldenModel, PromptsGiveTheReferenceTokens) {
  const auto& loaded = load_tokenizer("models/" + GetParam() + ".gguf");
  ASSERT_NE(loaded.tokenizer, nullptr) << loaded.error;
  const Tokenizer& tok = *loaded.tokenizer;
  const nlohmann::json golden = read_golden(GetParam());
  EXPECT_EQ(tok.bos(), golden["bos"].get<TokenId>());
  EXPECT_EQ(tok.eos(), golden["eos"].get<TokenId>());
  EXPECT_EQ(tok.add_bos(), golden["add_bos"].get<bool>());
  EXPECT_EQ(tok.add_eos(), golden["add_eos"].get<bool>());
  EXPECT_EQ(static_cast<int64_t>(tok.vocab_size()), golden["n_vocab"].get<int64_t>());

  const struct {
    const char* key;
    EncodeOptions options;
  } kinds[] = {
      {"tokens", {.add_special = true, .parse_special = false}},
      {"tokens_parse_special", {.add_special = true, .parse_special = true}},
      {"tokens_no_special", {.add_special = false, .parse_special = false}},
  };
  size_t checked = 0;
  for (const nlohmann::json& p : golden["prompts"]) {
    const std::string text = p["text"].get<std::string>();
    for (const auto& k : kinds) {
      ASSERT_TRUE(p.contains(k.key)) << GetParam() << " prompt " << p["index"];
      const auto expected = p[k.key].get<std::vector<TokenId>>();
      const std::vector<TokenId> got = tok.encode(text, k.options);
      EXPECT_EQ(got, expected) << GetParam() << " prompt " << p["index"] << " " << k.key
                               << "\n  expected" << ids_to_string(expected) << "\n  got     "
                               << ids_to_string(got);
      ++checked;
    }
  }
  EXPECT_EQ(checked, 24u);
}

INSTANTIATE_TEST_SUITE_P(SharedModels, GoldenModel,
                         ::testing::ValuesIn(decoder_and_embedding_models()),
                         [](const ::testing::TestParamInfo<std::string>& p) {
                           std::string name = p.param;
                           for (char& c : name) {
                             if (c == '-') c = '_';
                           }
                           return name;
                         });

// llama-server's rerank input when the model has no rerank template:
// [BOS if add_bos] query [EOS if add_eos] [SEP if add_sep] document [EOS if add_eos],
// each text tokenized without special tokens; EOS falls back to SEP.
TEST(GoldenRerank, PairsGiveTheReferenceTokens) {
  const auto& loaded = load_tokenizer("models/bert-rerank-tiny.gguf");
  ASSERT_NE(loaded.tokenizer, nullptr) << loaded.error;
  const Tokenizer& tok = *loaded.tokenizer;
  const nlohmann::json golden = read_golden("bert-rerank-tiny");
  EXPECT_EQ(tok.bos(), golden["bos"].get<TokenId>());
  EXPECT_EQ(tok.eos(), golden["eos"].get<TokenId>());
  EXPECT_EQ(tok.sep(), golden["sep"].get<TokenId>());
  EXPECT_EQ(tok.add_bos(), golden["add_bos"].get<bool>());
  EXPECT_EQ(tok.add_eos(), golden["add_eos"].get<bool>());
  EXPECT_EQ(tok.add_sep(), golden["add_sep"].get<bool>());

  const auto queries = golden["queries"].get<std::vector<std::string>>();
  const auto documents = golden["documents"].get<std::vector<std::string>>();
  const TokenId eos = tok.eos() != kNoToken ? tok.eos() : tok.sep();
  const EncodeOptions plain{.add_special = false, .parse_special = false};
  ASSERT_FALSE(golden["pairs"].empty());
  for (const nlohmann::json& pair : golden["pairs"]) {
    const std::string& q = queries.at(pair["query_index"].get<size_t>());
    const std::string& d = documents.at(pair["document_index"].get<size_t>());
    std::vector<TokenId> ids;
    if (tok.add_bos()) ids.push_back(tok.bos());
    const std::vector<TokenId> qt = tok.encode(q, plain);
    ids.insert(ids.end(), qt.begin(), qt.end());
    if (tok.add_eos()) ids.push_back(eos);
    if (tok.add_sep()) ids.push_back(tok.sep());
    const std::vector<TokenId> dt = tok.encode(d, plain);
    ids.insert(ids.end(), dt.begin(), dt.end());
    if (tok.add_eos()) ids.push_back(eos);
    EXPECT_EQ(qt.size(), pair["n_query_tokens"].get<size_t>()) << q;
    EXPECT_EQ(dt.size(), pair["n_document_tokens"].get<size_t>()) << d;
    EXPECT_EQ(ids, pair["tokens"].get<std::vector<TokenId>>()) << q << " / " << d;
  }
}

}  // namespace
}  // namespace tessera::engine
