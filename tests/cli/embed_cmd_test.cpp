// `tessera embed` and `tessera rerank` as a user runs them: JSON shapes, input order, texts
// from a file, and clear refusals (exit code 2 for bad input).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "support/test_support.h"

namespace tessera {
namespace {

using nlohmann::json;
using test::tessera;

const std::string kEmbed = test::testdata("models/bert-tiny.gguf");
const std::string kRerank = test::testdata("models/bert-rerank-tiny.gguf");

TEST(CliEmbed, JsonHasOneUnitVectorPerTextInOrder) {
  auto r = tessera("embed --model " + kEmbed + " --json 'hello world' 'a longer second text' ''");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const json j = json::parse(r.output);
  ASSERT_EQ(j["embeddings"].size(), 3u);
  ASSERT_EQ(j["tokens"], json({4, 6, 2}));
  ASSERT_EQ(j["truncated"], json({false, false, false}));
  for (const auto& e : j["embeddings"]) {
    ASSERT_EQ(e.size(), 64u);
    double norm = 0;
    for (const auto& v : e) norm += v.get<double>() * v.get<double>();
    EXPECT_NEAR(norm, 1.0, 1e-5);
  }
  // The same text alone gives the same vector (no cross-talk).
  auto one = tessera("embed --model " + kEmbed + " --json 'a longer second text'");
  ASSERT_EQ(one.exit_code, 0);
  EXPECT_EQ(json::parse(one.output)["embeddings"][0], j["embeddings"][1]);
}

TEST(CliEmbed, TextsFromAFileAndTokenVectors) {
  test::TempDir dir;
  const std::string f = dir.file("texts.txt");
  test::write_file(f, {'o', 'n', 'e', '\r', '\n', 't', 'w', 'o', '\n'});
  auto r = tessera("embed --model " + kEmbed + " --json --file " + f);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(json::parse(r.output)["embeddings"].size(), 2u);
  auto none = tessera("embed --model " + kEmbed + " --json --pooling none 'one two'");
  ASSERT_EQ(none.exit_code, 0);
  const json n = json::parse(none.output);
  EXPECT_EQ(n["embeddings"][0].size(), 4u * 64u);  // [CLS] one two [SEP], a row each
}

TEST(CliRerank, ScoresInInputOrder) {
  auto r = tessera("rerank --model " + kRerank +
                   " --query 'what is the capital of france?' --json"
                   " 'Paris is the capital and most populous city of France.'"
                   " 'Vitamin D deficiency can cause bone pain, muscle weakness and fatigue.'");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const json j = json::parse(r.output);
  ASSERT_EQ(j["scores"].size(), 2u);
  EXPECT_NEAR(j["scores"][0].get<double>(), 0.5349636673927307, 2e-3);  // golden pair (0, 0)
  EXPECT_EQ(j["tokens"][0], 21);
  auto s = tessera("rerank --model " + kRerank + " --query q --sigmoid --json d");
  ASSERT_EQ(s.exit_code, 0);
  const double p = json::parse(s.output)["scores"][0].get<double>();
  EXPECT_GT(p, 0.0);
  EXPECT_LT(p, 1.0);
}

TEST(CliEmbed, BadInputIsRefusedClearly) {
  const std::string decoder = test::testdata("models/qwen2-tiny.gguf");
  struct Case {
    std::string args;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"embed --model " + decoder + " hi", "is a qwen2 decoder"},
      {"embed --model " + kEmbed, "give the texts as arguments or --file"},
      {"embed --model " + kEmbed + " --pooling max hi", "--pooling max is unknown"},
      {"embed --model " + kEmbed + " \"$(printf 'bad \\377 byte')\"", "text 0 is not valid UTF-8"},
      {"rerank --model " + kEmbed + " --query q d", "not a reranker"},
      {"rerank --model " + kRerank + " --query q", "give the documents as arguments"},
  };
  for (const Case& c : cases) {
    auto r = tessera(c.args, true);
    EXPECT_EQ(r.exit_code, 2) << c.args << "\n" << r.output;
    EXPECT_NE(r.output.find(c.message), std::string::npos) << c.args << "\n" << r.output;
  }
}

}  // namespace
}  // namespace tessera
