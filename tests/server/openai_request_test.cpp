#include "server/openai_request.h"

#include <gtest/gtest.h>

#include <string>

namespace tessera::server {
namespace {

// A bad request: the body, the param the error names and its whole message.
struct BadCase {
  const char* body;
  const char* param;
  const char* message;
};

template <class T>
void expect_rejected(const ApiResult<T>& r, const BadCase& c) {
  ASSERT_FALSE(r.ok()) << c.body;
  EXPECT_EQ(r.error().status, 400) << c.body;
  EXPECT_EQ(r.error().type, "invalid_request_error") << c.body;
  EXPECT_EQ(r.error().param, c.param) << c.body;
  EXPECT_EQ(r.error().message, c.message) << c.body;
}

constexpr const char* kHi = R"("messages":[{"role":"user","content":"hi"}])";

std::string chat(const std::string& extra) {
  std::string b = R"({"model":"m",)";
  b.append(kHi);
  if (!extra.empty()) b.append(",").append(extra);
  b.append("}");
  return b;
}

TEST(ChatRequest, EveryField) {
  const auto r = parse_chat_request(R"({
    "model": "qwen", "unknown_field": {"ignored": [1, 2]},
    "messages": [
      {"role": "system", "content": "be brief"},
      {"role": "developer", "content": "rules"},
      {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}],
       "name": "ann"},
      {"role": "assistant", "content": null,
       "tool_calls": [{"id": "c1", "type": "function",
                       "function": {"name": "f", "arguments": "{}"}}]},
      {"role": "tool", "content": "42", "tool_call_id": "c1"}],
    "tools": [{"type": "function", "function": {"name": "f"}}], "tool_choice": "auto",
    "temperature": 0.5, "top_p": 0.9, "top_k": 40, "min_p": 0.05, "repeat_penalty": 1.1,
    "presence_penalty": 0.5, "frequency_penalty": -0.5, "seed": 7, "max_tokens": 10,
    "max_completion_tokens": 20, "stop": ["\n\n", "END"], "n": 1, "logprobs": true,
    "top_logprobs": 3, "stream": true, "stream_options": {"include_usage": true},
    "user": "u1", "logit_bias": {"15": -100, "7": 2.5}, "response_format": {"type": "text"}})");
  ASSERT_TRUE(r.ok()) << r.error().message;
  const ChatRequest& c = r.value();
  EXPECT_EQ(c.model, "qwen");
  ASSERT_EQ(c.messages.size(), 5u);
  EXPECT_EQ(c.messages[2].dump(), R"({"role":"user","content":"a\nb","name":"ann"})");
  EXPECT_TRUE(c.messages[3]["content"].is_null());
  EXPECT_EQ(c.messages[3]["tool_calls"][0]["id"], "c1");
  EXPECT_EQ(c.messages[4]["tool_call_id"], "c1");
  EXPECT_EQ(c.tools[0]["function"]["name"], "f");
  EXPECT_EQ(c.tool_choice, "auto");
  const engine::SamplingParams& s = c.options.sampling;
  EXPECT_FLOAT_EQ(s.temperature, 0.5f);
  EXPECT_FLOAT_EQ(s.top_p, 0.9f);
  EXPECT_EQ(s.top_k, 40);
  EXPECT_FLOAT_EQ(s.min_p, 0.05f);
  EXPECT_FLOAT_EQ(s.repetition_penalty, 1.1f);
  EXPECT_FLOAT_EQ(s.presence_penalty, 0.5f);
  EXPECT_FLOAT_EQ(s.frequency_penalty, -0.5f);
  EXPECT_EQ(s.seed, 7u);
  EXPECT_TRUE(c.options.seed_given);
  EXPECT_EQ(s.max_tokens, 20);  // max_completion_tokens wins
  EXPECT_EQ(s.stop, (std::vector<std::string>{"\n\n", "END"}));
  EXPECT_TRUE(c.logprobs);
  EXPECT_EQ(s.n_probs, 3);
  EXPECT_TRUE(c.options.stream);
  EXPECT_TRUE(c.options.include_usage);
  EXPECT_EQ(c.options.user, "u1");
  EXPECT_EQ(s.logit_bias.size(), 2u);
  EXPECT_FLOAT_EQ(s.logit_bias.at(15), -100.0f);
  EXPECT_FLOAT_EQ(s.logit_bias.at(7), 2.5f);
}

TEST(ChatRequest, DefaultsAndNullsCountAsAbsent) {
  const auto r = parse_chat_request(chat(
      R"("temperature":null,"max_tokens":null,"stop":null,"seed":null,"tools":null,"n":null)"));
  ASSERT_TRUE(r.ok()) << r.error().message;
  const ChatRequest& c = r.value();
  EXPECT_FLOAT_EQ(c.options.sampling.temperature, 1.0f);
  EXPECT_EQ(c.options.sampling.max_tokens, -1);
  EXPECT_TRUE(c.options.sampling.stop.empty());
  EXPECT_FALSE(c.options.seed_given);
  EXPECT_FALSE(c.options.stream);
  EXPECT_FALSE(c.logprobs);
  EXPECT_TRUE(c.tools.is_null());
}

TEST(ChatRequest, ScalarFormsAndEdges) {
  auto r = parse_chat_request(chat(R"("stop":"###","seed":-1,"top_k":-1,"max_tokens":5.0)"));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r.value().options.sampling.stop, std::vector<std::string>{"###"});
  EXPECT_EQ(r.value().options.sampling.seed, ~uint64_t{0});
  EXPECT_EQ(r.value().options.sampling.top_k, 0);
  EXPECT_EQ(r.value().options.sampling.max_tokens, 5);
  r = parse_chat_request(chat(R"("seed":18446744073709551615,"temperature":0,"top_p":1)"));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r.value().options.sampling.seed, ~uint64_t{0});
  EXPECT_FLOAT_EQ(r.value().options.sampling.temperature, 0.0f);
}

TEST(ChatRequest, BadInput) {
  const BadCase cases[] = {
      {R"({"model":"m","messages":[})", "",
       "the request body is not valid JSON: error at byte 26: syntax error while parsing value "
       "- unexpected '}'; expected '[', '{', or a literal"},
      {"", "",
       "the request body is not valid JSON: error at byte 1: syntax error while parsing value - "
       "unexpected end of input; expected '[', '{', or a literal"},
      {R"({"model":"m","x":9E9999999})", "",
       "the request body is not valid JSON: number overflow parsing '9E9999999'"},
      {"[1]", "", "the request body must be a JSON object, got an array"},
      {R"({"messages":[{"role":"user","content":"hi"}]})", "model",
       "model is required: the name of a model (GET /v1/models lists them)"},
      {R"({"model":5,"messages":[]})", "model", "model must be a string, got an integer"},
      {R"({"model":"","messages":[]})", "model", "model must not be empty"},
      {R"({"model":"m"})", "messages", "messages is required: an array of {role, content}"},
      {R"({"model":"m","messages":"hi"})", "messages",
       "messages must be an array of {role, content}, got a string"},
      {R"({"model":"m","messages":[]})", "messages", "messages must hold at least one message"},
      {R"({"model":"m","messages":[1]})", "messages[0]",
       "messages[0] must be an object with role and content, got an integer"},
      {R"({"model":"m","messages":[{"content":"x"}]})", "messages[0].role",
       "messages[0].role is required"},
      {R"({"model":"m","messages":[{"role":"robot","content":"x"}]})", "messages[0].role",
       "messages[0].role must be one of system, user, assistant, tool, developer; got \"robot\""},
      {R"({"model":"m","messages":[{"role":"user"}]})", "messages[0].content",
       "messages[0].content is required"},
      {R"({"model":"m","messages":[{"role":"user","content":7}]})", "messages[0].content",
       "messages[0].content must be a string or an array of text parts, got an integer"},
      {R"({"model":"m","messages":[{"role":"user","content":"a"},{"role":"user","content":[
          {"type":"text","text":"x"},{"type":"image_url","image_url":{"url":"u"}}]}]})",
       "messages[1].content[1].type",
       "messages[1].content[1].type: content parts of type \"image_url\" are not supported; only "
       "\"text\" parts are"},
      {R"({"model":"m","messages":[{"role":"user","content":[{"text":"x"}]}]})",
       "messages[0].content[0].type", "messages[0].content[0].type is required"},
      {R"({"model":"m","messages":[{"role":"user","content":[{"type":"text"}]}]})",
       "messages[0].content[0].text", "messages[0].content[0].text is required"},
      {R"({"model":"m","messages":[{"role":"user","content":["x"]}]})", "messages[0].content[0]",
       "messages[0].content[0] must be an object {type, text}, got a string"},
      {R"({"model":"m","messages":[{"role":"assistant","content":"x","tool_calls":{}}]})",
       "messages[0].tool_calls", "messages[0].tool_calls must be an array, got an object"},
      {R"({"model":"m","messages":[{"role":"tool","content":"x","tool_call_id":1}]})",
       "messages[0].tool_call_id", "messages[0].tool_call_id must be a string, got an integer"},
  };
  for (const BadCase& c : cases) expect_rejected(parse_chat_request(c.body), c);
}

TEST(ChatRequest, BadSamplingFields) {
  const std::pair<const char*, BadCase> cases[] = {
      {R"("temperature":"hot")", {"", "temperature", "temperature must be a number, got a string"}},
      {R"("temperature":2.5)", {"", "temperature", "temperature must be in [0, 2], got 2.5"}},
      {R"("temperature":-0.1)", {"", "temperature", "temperature must be in [0, 2], got -0.1"}},
      {R"("top_p":0)", {"", "top_p", "top_p must be in (0, 1], got 0"}},
      {R"("top_p":1.5)", {"", "top_p", "top_p must be in (0, 1], got 1.5"}},
      {R"("top_k":-2)", {"", "top_k", "top_k must be >= 0 (0 or -1 = off), got -2"}},
      {R"("min_p":2)", {"", "min_p", "min_p must be in [0, 1], got 2"}},
      {R"("repeat_penalty":0)",
       {"", "repeat_penalty", "repeat_penalty must be in (0, 100], got 0"}},
      {R"("presence_penalty":3)",
       {"", "presence_penalty", "presence_penalty must be in [-2, 2], got 3"}},
      {R"("frequency_penalty":-2.5)",
       {"", "frequency_penalty", "frequency_penalty must be in [-2, 2], got -2.5"}},
      {R"("max_tokens":0)", {"", "max_tokens", "max_tokens must be >= 1, got 0"}},
      {R"("max_tokens":1.5)", {"", "max_tokens", "max_tokens must be an integer, got a number"}},
      {R"("max_tokens":"10")", {"", "max_tokens", "max_tokens must be an integer, got a string"}},
      {R"("max_tokens":99999999999)",
       {"", "max_tokens", "max_tokens must be >= 1, got 99999999999"}},
      {R"("max_completion_tokens":-5)",
       {"", "max_completion_tokens", "max_completion_tokens must be >= 1, got -5"}},
      {R"("stop":["a","b","c","d","e"])", {"", "stop", "stop may hold at most 4 strings, got 5"}},
      {R"("stop":["a",""])", {"", "stop[1]", "stop[1] must not be an empty string"}},
      {R"("stop":["a",3])", {"", "stop[1]", "stop[1] must be a string, got an integer"}},
      {R"("stop":3)", {"", "stop", "stop must be a string or an array of strings, got an integer"}},
      {R"("seed":"x")", {"", "seed", "seed must be an integer, got a string"}},
      {R"("n":2)",
       {"", "n",
        "n must be 1: one choice per request is supported, got 2; send the request several "
        "times instead"}},
      {R"("n":0)", {"", "n", "n must be >= 1, got 0"}},
      {R"("stream":"yes")", {"", "stream", "stream must be a boolean, got a string"}},
      {R"("stream_options":true)",
       {"", "stream_options", "stream_options must be an object, got a boolean"}},
      {R"("stream_options":{"include_usage":1})",
       {"", "stream_options.include_usage",
        "stream_options.include_usage must be a boolean, got an integer"}},
      {R"("logprobs":1)", {"", "logprobs", "logprobs must be a boolean, got an integer"}},
      {R"("logprobs":true,"top_logprobs":21)",
       {"", "top_logprobs", "top_logprobs must be in [0, 20], got 21"}},
      {R"("top_logprobs":2)", {"", "top_logprobs", "top_logprobs needs logprobs set to true"}},
      {R"("user":5)", {"", "user", "user must be a string, got an integer"}},
      {R"("tools":{})", {"", "tools", "tools must be an array, got an object"}},
      {R"("tools":[1])", {"", "tools[0]", "tools[0] must be an object, got an integer"}},
      {R"("tool_choice":1)",
       {"", "tool_choice", "tool_choice must be a string or an object, got an integer"}},
      {R"("logit_bias":[])",
       {"", "logit_bias", "logit_bias must be an object of token ids to numbers, got an array"}},
      {R"("logit_bias":{"abc":1})",
       {"", "logit_bias",
        "logit_bias keys must be token ids (non-negative integers), got \"abc\""}},
      {R"("logit_bias":{"5":101})",
       {"", "logit_bias.5", "logit_bias.5 must be in [-100, 100], got 101"}},
  };
  for (const auto& [extra, c] : cases) {
    const std::string body = chat(extra);
    const BadCase bc{body.c_str(), c.param, c.message};
    expect_rejected(parse_chat_request(body), bc);
  }
}

TEST(ChatRequest, LimitsOnSizeAndNesting) {
  std::string deep = chat(R"("x":)" + std::string(100, '[') + std::string(100, ']'));
  expect_rejected(parse_chat_request(deep),
                  {deep.c_str(), "",
                   "the request body nests objects and arrays more than 64 "
                   "levels deep"});
  // Brackets inside strings do not count.
  const std::string text = chat(R"("x":")" + std::string(100, '[') + R"(\"[")");
  EXPECT_TRUE(parse_chat_request(text).ok()) << text;
  std::string many = R"({"model":"m","messages":[)";
  for (int i = 0; i < 10'001; ++i)
    many.append(i ? "," : "").append(R"({"role":"user","content":"x"})");
  many.append("]}");
  expect_rejected(
      parse_chat_request(many),
      {"10001 messages", "messages", "messages may hold at most 10000 messages, got 10001"});
}

TEST(CompletionRequest, Fields) {
  auto r = parse_completion_request(
      R"({"model":"m","prompt":"Once","max_tokens":8,"temperature":0,"logprobs":2,"echo":false,
          "stop":"\n","stream":true,"stream_options":{"include_usage":true},"suffix":"","best_of":1,
          "other":1})");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r.value().prompt, "Once");
  EXPECT_EQ(r.value().options.sampling.max_tokens, 8);
  EXPECT_EQ(r.value().options.sampling.n_probs, 2);
  EXPECT_TRUE(r.value().logprobs_given);
  EXPECT_TRUE(r.value().options.include_usage);
  r = parse_completion_request(R"({"model":"m","prompt":["only one"]})");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value().prompt, "only one");
  EXPECT_FALSE(r.value().logprobs_given);
}

TEST(CompletionRequest, BadInput) {
  const BadCase cases[] = {
      {R"({"prompt":"x"})", "model",
       "model is required: the name of a model (GET /v1/models lists them)"},
      {R"({"model":"m"})", "prompt", "prompt is required: a string"},
      {R"({"model":"m","prompt":5})", "prompt", "prompt must be a string, got an integer"},
      {R"({"model":"m","prompt":["a","b"]})", "prompt",
       "prompt must be a string or an array of one string: one prompt per request is supported"},
      {R"({"model":"m","prompt":[]})", "prompt",
       "prompt must be a string or an array of one string: one prompt per request is supported"},
      {R"({"model":"m","prompt":[1]})", "prompt[0]",
       "token arrays as a prompt are not supported; send the text"},
      {R"({"model":"m","prompt":"x","echo":true})", "echo",
       "echo is not supported; it must be false"},
      {R"({"model":"m","prompt":"x","suffix":"end"})", "suffix",
       "suffix (insertion) is not supported"},
      {R"({"model":"m","prompt":"x","best_of":3})", "best_of",
       "best_of must be 1: one candidate per request is supported"},
      {R"({"model":"m","prompt":"x","logprobs":true})", "logprobs",
       "logprobs must be an integer, got a boolean"},
      {R"({"model":"m","prompt":"x","logprobs":30})", "logprobs",
       "logprobs must be in [0, 20], got 30"},
      {R"({"model":"m","prompt":"x","n":4})", "n",
       "n must be 1: one choice per request is supported, got 4; send the request several times "
       "instead"},
  };
  for (const BadCase& c : cases) expect_rejected(parse_completion_request(c.body), c);
}

TEST(EmbeddingsRequest, Fields) {
  auto r = parse_embeddings_request(R"({"model":"e","input":"hello","extra":[]})");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r.value().input, std::vector<std::string>{"hello"});
  EXPECT_EQ(r.value().encoding, EmbeddingEncoding::float_array);
  EXPECT_FALSE(r.value().dimensions.has_value());
  r = parse_embeddings_request(
      R"({"model":"e","input":["a","b"],"encoding_format":"base64","dimensions":256,"user":"u"})");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r.value().input, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(r.value().encoding, EmbeddingEncoding::base64);
  EXPECT_EQ(r.value().dimensions, 256);
  EXPECT_EQ(r.value().user, "u");
  r = parse_embeddings_request(R"({"model":"e","input":"x","encoding_format":"float"})");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value().encoding, EmbeddingEncoding::float_array);
}

TEST(EmbeddingsRequest, BadInput) {
  std::string too_many = R"({"model":"e","input":[)";
  for (int i = 0; i < 2049; ++i) too_many.append(i ? "," : "").append(R"("x")");
  too_many.append("]}");
  const BadCase cases[] = {
      {R"({"input":"x"})", "model",
       "model is required: the name of a model (GET /v1/models lists them)"},
      {R"({"model":"e"})", "input", "input is required: a string or an array of strings"},
      {R"({"model":"e","input":5})", "input",
       "input must be a string or an array of strings, got an integer"},
      {R"({"model":"e","input":""})", "input", "input must not be an empty string"},
      {R"({"model":"e","input":[]})", "input", "input must hold at least one string"},
      {R"({"model":"e","input":["a",""]})", "input[1]", "input[1] must not be an empty string"},
      {R"({"model":"e","input":["a",{}]})", "input[1]", "input[1] must be a string, got an object"},
      {R"({"model":"e","input":[1,2,3]})", "input",
       "input: token arrays are not supported as input; send the text"},
      {R"({"model":"e","input":["a",[1,2]]})", "input[1]",
       "input[1]: token arrays are not supported as input; send the text"},
      {too_many.c_str(), "input", "input may hold at most 2048 strings, got 2049"},
      {R"({"model":"e","input":"x","encoding_format":"int8"})", "encoding_format",
       "encoding_format must be \"float\" or \"base64\", got \"int8\""},
      {R"({"model":"e","input":"x","dimensions":0})", "dimensions",
       "dimensions must be >= 1, got 0"},
  };
  for (const BadCase& c : cases) expect_rejected(parse_embeddings_request(c.body), c);
}

TEST(RerankRequest, Fields) {
  auto r = parse_rerank_request(
      R"({"model":"r","query":"q","documents":["a",{"text":"b","id":1}],"top_n":1,
          "return_documents":true,"x":0})");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r.value().query, "q");
  EXPECT_EQ(r.value().documents, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(r.value().top_n, 1);
  EXPECT_TRUE(r.value().return_documents);
  r = parse_rerank_request(R"({"model":"r","query":"q","documents":["a"]})");
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r.value().top_n.has_value());
  EXPECT_FALSE(r.value().return_documents);
}

TEST(RerankRequest, BadInput) {
  const BadCase cases[] = {
      {R"({"query":"q","documents":["a"]})", "model",
       "model is required: the name of a model (GET /v1/models lists them)"},
      {R"({"model":"r","documents":["a"]})", "query",
       "query is required: the text to rank the documents against"},
      {R"({"model":"r","query":1,"documents":["a"]})", "query",
       "query must be a string, got an integer"},
      {R"({"model":"r","query":"q"})", "documents", "documents is required: an array of strings"},
      {R"({"model":"r","query":"q","documents":"a"})", "documents",
       "documents must be an array of strings, got a string"},
      {R"({"model":"r","query":"q","documents":[]})", "documents",
       "documents must hold at least one document"},
      {R"({"model":"r","query":"q","documents":["a",2]})", "documents[1]",
       "documents[1] must be a string or an object {text}, got an integer"},
      {R"({"model":"r","query":"q","documents":[{"title":"t"}]})", "documents[0].text",
       "documents[0].text is required"},
      {R"({"model":"r","query":"q","documents":["a"],"top_n":0})", "top_n",
       "top_n must be >= 1, got 0"},
      {R"({"model":"r","query":"q","documents":["a"],"return_documents":"yes"})",
       "return_documents", "return_documents must be a boolean, got a string"},
  };
  for (const BadCase& c : cases) expect_rejected(parse_rerank_request(c.body), c);
}

TEST(CheckFitsContext, NamesTheFieldThatDoesNotFit) {
  EXPECT_FALSE(check_fits_context(100, 50, 4096, "messages").has_value());
  EXPECT_FALSE(check_fits_context(100, -1, 4096, "messages").has_value());
  const auto over = check_fits_context(4000, 200, 4096, "messages");
  ASSERT_TRUE(over.has_value());
  EXPECT_EQ(over->status, 400);
  EXPECT_EQ(over->param, "max_tokens");
  EXPECT_EQ(over->code, "context_length_exceeded");
  EXPECT_EQ(over->message,
            "max_tokens is 200 but the model's context of 4096 tokens leaves 96 after the "
            "prompt's 4000; ask for at most that many");
  const auto full = check_fits_context(5000, -1, 4096, "prompt");
  ASSERT_TRUE(full.has_value());
  EXPECT_EQ(full->param, "prompt");
  EXPECT_EQ(full->message,
            "the prompt is 5000 tokens; the model's context holds 4096, which leaves no room for "
            "the answer");
}

}  // namespace
}  // namespace tessera::server
