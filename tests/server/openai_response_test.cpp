#include "server/openai_response.h"

#include <gtest/gtest.h>

#include <set>

#include "server/base64.h"

namespace tessera::server {
namespace {

using engine::FinishReason;

const ResponseMeta kMeta{"chatcmpl-1", 1700000000, "qwen"};

TEST(OpenAiResponse, ModelList) {
  const ModelEntry models[] = {{"qwen", 1}, {"bge", 2}};
  EXPECT_EQ(model_list_json(models).dump(),
            R"({"object":"list","data":[{"id":"qwen","object":"model","created":1,)"
            R"("owned_by":"tessera"},{"id":"bge","object":"model","created":2,)"
            R"("owned_by":"tessera"}]})");
  EXPECT_EQ(model_list_json({}).dump(), R"({"object":"list","data":[]})");
}

TEST(OpenAiResponse, ChatCompletion) {
  EXPECT_EQ(chat_completion_json(kMeta, "Hi!", FinishReason::stop, {5, 2}).dump(),
            R"({"id":"chatcmpl-1","object":"chat.completion","created":1700000000,)"
            R"("model":"qwen","choices":[{"index":0,"message":{"role":"assistant",)"
            R"("content":"Hi!"},"logprobs":null,"finish_reason":"stop"}],)"
            R"("usage":{"prompt_tokens":5,"completion_tokens":2,"total_tokens":7}})");
  const auto j = chat_completion_json(kMeta, "", FinishReason::length, {1, 0});
  EXPECT_EQ(j["choices"][0]["finish_reason"], "length");
}

TEST(OpenAiResponse, ChatLogprobs) {
  const std::vector<TokenLogprob> lp = {
      {"Hi", -0.25f, {{"Hi", -0.25f}, {"Yo", -1.5f}}},
      {"\xC3", -std::numeric_limits<float>::infinity(), {}},
  };
  const auto j = chat_completion_json(kMeta, "Hi", FinishReason::stop, {1, 2}, &lp);
  EXPECT_EQ(
      j["choices"][0]["logprobs"].dump(-1, ' ', false, ordered_json::error_handler_t::replace),
      R"({"content":[{"token":"Hi","logprob":-0.25,"bytes":[72,105],"top_logprobs":[)"
      R"({"token":"Hi","logprob":-0.25,"bytes":[72,105]},)"
      R"({"token":"Yo","logprob":-1.5,"bytes":[89,111]}]},)"
      "{\"token\":\"\xEF\xBF\xBD\",\"logprob\":-9999.0,\"bytes\":[195],\"top_logprobs\":[]}],"
      R"("refusal":null})");
}

TEST(OpenAiResponse, ChatStreamChunks) {
  EXPECT_EQ(chat_chunk_role_json(kMeta, false).dump(),
            R"({"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,)"
            R"("model":"qwen","choices":[{"index":0,"delta":{"role":"assistant","content":""},)"
            R"("logprobs":null,"finish_reason":null}]})");
  EXPECT_EQ(chat_chunk_content_json(kMeta, "Hel", true).dump(),
            R"({"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,)"
            R"("model":"qwen","choices":[{"index":0,"delta":{"content":"Hel"},)"
            R"("logprobs":null,"finish_reason":null}],"usage":null})");
  EXPECT_EQ(chat_chunk_finish_json(kMeta, FinishReason::length, false).dump(),
            R"({"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,)"
            R"("model":"qwen","choices":[{"index":0,"delta":{},"logprobs":null,)"
            R"("finish_reason":"length"}]})");
  EXPECT_EQ(chat_chunk_usage_json(kMeta, {3, 4}).dump(),
            R"({"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,)"
            R"("model":"qwen","choices":[],)"
            R"("usage":{"prompt_tokens":3,"completion_tokens":4,"total_tokens":7}})");
}

TEST(OpenAiResponse, TextCompletion) {
  const ResponseMeta meta{"cmpl-9", 5, "m"};
  EXPECT_EQ(text_completion_json(meta, " upon", FinishReason::length, {1, 1}).dump(),
            R"({"id":"cmpl-9","object":"text_completion","created":5,"model":"m",)"
            R"("choices":[{"text":" upon","index":0,"logprobs":null,"finish_reason":"length"}],)"
            R"("usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}})");
  const std::vector<TokenLogprob> lp = {{" up", -0.5f, {{" up", -0.5f}, {" a", -2.0f}}},
                                        {"on", -0.125f, {}}};
  EXPECT_EQ(completion_logprobs_json(lp).dump(),
            R"({"tokens":[" up","on"],"token_logprobs":[-0.5,-0.125],)"
            R"("top_logprobs":[{" up":-0.5," a":-2.0},{}],"text_offset":[0,3]})");
  // A stream chunk's offsets go on from the tokens streamed before it.
  const auto chunk = text_completion_chunk_json(meta, " upon", FinishReason::none, false, &lp, 7);
  EXPECT_EQ(chunk["choices"][0]["logprobs"]["text_offset"].dump(), "[7,10]");
  EXPECT_EQ(text_completion_chunk_json(meta, "x", FinishReason::none, true).dump(),
            R"({"id":"cmpl-9","object":"text_completion","created":5,"model":"m",)"
            R"("choices":[{"text":"x","index":0,"logprobs":null,"finish_reason":null}],)"
            R"("usage":null})");
  EXPECT_EQ(text_completion_usage_json(meta, {2, 3}).dump(),
            R"({"id":"cmpl-9","object":"text_completion","created":5,"model":"m","choices":[],)"
            R"("usage":{"prompt_tokens":2,"completion_tokens":3,"total_tokens":5}})");
}

TEST(OpenAiResponse, Embeddings) {
  const std::vector<std::vector<float>> v = {{1.0f, -0.5f}, {0.25f}};
  EXPECT_EQ(embeddings_json("bge", v, EmbeddingEncoding::float_array, 4).dump(),
            R"({"object":"list","data":[{"object":"embedding","index":0,"embedding":[1.0,-0.5]},)"
            R"({"object":"embedding","index":1,"embedding":[0.25]}],"model":"bge",)"
            R"("usage":{"prompt_tokens":4,"total_tokens":4}})");
  const auto b = embeddings_json("bge", v, EmbeddingEncoding::base64, 4);
  EXPECT_EQ(b["data"][0]["embedding"], "AACAPwAAAL8=");
  const auto raw = base64_decode(b["data"][0]["embedding"].get<std::string>());
  ASSERT_TRUE(raw.has_value());
  EXPECT_EQ(*raw, (std::vector<uint8_t>{0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0xbf}));
}

TEST(OpenAiResponse, RerankSortedByScore) {
  const float scores[] = {0.1f, 0.9f, 0.5f, 0.9f};
  const std::string docs[] = {"a", "b", "c", "d"};
  EXPECT_EQ(
      rerank_json("r", scores, docs, std::nullopt, false, 12).dump(),
      R"({"model":"r","object":"list","usage":{"prompt_tokens":12,"total_tokens":12},)"
      R"("results":[{"index":1,"relevance_score":0.8999999761581421},)"
      R"({"index":3,"relevance_score":0.8999999761581421},)"
      R"({"index":2,"relevance_score":0.5},{"index":0,"relevance_score":0.10000000149011612}]})");
  const auto top = rerank_json("r", scores, docs, 2, true, 12);
  ASSERT_EQ(top["results"].size(), 2u);
  EXPECT_EQ(top["results"][1].dump(),
            R"({"index":3,"relevance_score":0.8999999761581421,"document":{"text":"d"}})");
  EXPECT_EQ(rerank_json("r", scores, docs, 100, false, 0)["results"].size(), 4u);
}

TEST(OpenAiResponse, SseFraming) {
  ordered_json j;
  j["a"] = 1;
  EXPECT_EQ(sse_event(j), "data: {\"a\":1}\n\n");
  EXPECT_EQ(sse_done(), "data: [DONE]\n\n");
}

TEST(OpenAiResponse, ResponseIdsAreUnique) {
  std::set<std::string> ids;
  for (int i = 0; i < 1000; ++i) {
    const std::string id = new_response_id("chatcmpl-");
    EXPECT_EQ(id.rfind("chatcmpl-", 0), 0u);
    EXPECT_EQ(id.size(), 9u + 24u);
    ids.insert(id);
  }
  EXPECT_EQ(ids.size(), 1000u);
}

}  // namespace
}  // namespace tessera::server
