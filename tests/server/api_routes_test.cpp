// The model routes over HTTP with the tiny test models: chat blocking and streaming (the same
// text for the same seed), embeddings, errors, 16 concurrent streams batched with one client
// leaving mid-stream, and the metrics they leave.
#include "server/api_routes.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <thread>

#include "server/server_test_util.h"

namespace tessera::server {
namespace {

using testing::TestServer;

std::string chat_body(const std::string& text, int seed, bool stream, int max_tokens = 12) {
  nlohmann::json j = {
      {"model", "qwen"},          {"messages", {{{"role", "user"}, {"content", text}}}},
      {"max_tokens", max_tokens}, {"seed", seed},
      {"temperature", 0.8},       {"stream", stream}};
  if (stream) j["stream_options"] = {{"include_usage", true}};
  return j.dump();
}

// The content of an SSE stream's chunks, and whether it ended with [DONE].
std::pair<std::string, bool> stream_text(const std::string& body) {
  std::string text;
  bool done = false;
  size_t pos = 0;
  while ((pos = body.find("data: ", pos)) != std::string::npos) {
    const size_t end = body.find("\n\n", pos);
    const std::string data = body.substr(pos + 6, end - pos - 6);
    pos = end;
    if (data == "[DONE]") {
      done = true;
      continue;
    }
    auto j = nlohmann::json::parse(data);
    if (!j["choices"].empty() && j["choices"][0]["delta"].contains("content")) {
      text += j["choices"][0]["delta"]["content"].get<std::string>();
    }
  }
  return {text, done};
}

TEST(ApiRoutes, ChatStreamsTheSameTextItReturnsBlocking) {
  TestServer t;
  t.start({{"qwen", "qwen2-tiny.gguf"}});
  auto c = t.client();
  auto blocking =
      c.Post("/v1/chat/completions", chat_body("Hello there", 7, false), "application/json");
  ASSERT_TRUE(blocking);
  ASSERT_EQ(blocking->status, 200) << blocking->body;
  auto b = nlohmann::json::parse(blocking->body);
  EXPECT_EQ(b["object"], "chat.completion");
  EXPECT_EQ(b["usage"]["completion_tokens"], 12);
  const std::string text = b["choices"][0]["message"]["content"];
  EXPECT_FALSE(text.empty());
  auto streamed =
      c.Post("/v1/chat/completions", chat_body("Hello there", 7, true), "application/json");
  ASSERT_TRUE(streamed);
  EXPECT_EQ(streamed->status, 200);
  EXPECT_EQ(streamed->get_header_value("Content-Type"), "text/event-stream");
  auto [s, done] = stream_text(streamed->body);
  EXPECT_TRUE(done);
  EXPECT_EQ(s, text);
  EXPECT_NE(streamed->body.find("\"completion_tokens\":12"), std::string::npos);
}

TEST(ApiRoutes, TextCompletionsAndRerank) {
  TestServer t;
  t.start({{"qwen", "qwen2-tiny.gguf"}, {"rr", "bert-rerank-tiny.gguf"}});
  auto c = t.client();
  const std::string body = R"({"model":"qwen","prompt":"Once upon","max_tokens":6,"seed":3)";
  auto whole = c.Post("/v1/completions", body + "}", "application/json");
  ASSERT_TRUE(whole);
  ASSERT_EQ(whole->status, 200) << whole->body;
  auto w = nlohmann::json::parse(whole->body);
  EXPECT_EQ(w["object"], "text_completion");
  EXPECT_EQ(w["usage"]["completion_tokens"], 6);
  auto streamed = c.Post("/v1/completions", body + R"(,"stream":true})", "application/json");
  ASSERT_TRUE(streamed);
  std::string text;
  size_t pos = 0;
  while ((pos = streamed->body.find("data: {", pos)) != std::string::npos) {
    const size_t end = streamed->body.find("\n\n", pos);
    auto j = nlohmann::json::parse(streamed->body.substr(pos + 6, end - pos - 6));
    text += j["choices"][0]["text"].get<std::string>();
    pos = end;
  }
  EXPECT_EQ(text, w["choices"][0]["text"].get<std::string>());
  EXPECT_NE(streamed->body.find("data: [DONE]"), std::string::npos);

  auto rr =
      c.Post("/v1/rerank",
             R"({"model":"rr","query":"cats","documents":["dogs bark","cats purr"],"top_n":1})",
             "application/json");
  ASSERT_TRUE(rr);
  ASSERT_EQ(rr->status, 200) << rr->body;
  auto r = nlohmann::json::parse(rr->body);
  ASSERT_EQ(r["results"].size(), 1u);
  EXPECT_TRUE(r["results"][0].contains("relevance_score"));
  auto not_rr =
      c.Post("/v1/rerank", R"({"model":"qwen","query":"q","documents":["d"]})", "application/json");
  ASSERT_TRUE(not_rr);
  EXPECT_EQ(not_rr->status, 400);
}

TEST(ApiRoutes, EmbeddingsAndErrors) {
  TestServer t;
  t.start({{"qwen", "qwen2-tiny.gguf"}, {"bert", "bert-tiny.gguf"}});
  auto c = t.client();
  auto e =
      c.Post("/v1/embeddings", R"({"model":"bert","input":["a cat","a dog"]})", "application/json");
  ASSERT_TRUE(e);
  ASSERT_EQ(e->status, 200) << e->body;
  auto j = nlohmann::json::parse(e->body);
  ASSERT_EQ(j["data"].size(), 2u);
  EXPECT_EQ(j["data"][1]["index"], 1);
  EXPECT_FALSE(j["data"][0]["embedding"].empty());
  struct Case {
    const char* path;
    const char* body;
    int status;
    const char* param;
  };
  const Case cases[] = {
      {"/v1/chat/completions", "{not json", 400, ""},
      {"/v1/chat/completions", R"({"model":"nope","messages":[{"role":"user","content":"x"}]})",
       404, "model"},
      {"/v1/chat/completions", R"({"messages":[{"role":"user","content":"x"}]})", 400, "model"},
      {"/v1/chat/completions",
       R"({"model":"qwen","messages":[{"role":"user","content":"x"}],"max_tokens":100000})", 400,
       ""},
      {"/v1/chat/completions", R"({"model":"bert","messages":[{"role":"user","content":"x"}]})",
       400, "model"},
      {"/v1/embeddings", R"({"model":"qwen","input":"x"})", 400, "model"},
      {"/v1/embeddings", R"({"model":"bert","input":42})", 400, "input"},
  };
  for (const Case& k : cases) {
    auto r = c.Post(k.path, k.body, "application/json");
    ASSERT_TRUE(r) << k.body;
    EXPECT_EQ(r->status, k.status) << k.body << " -> " << r->body;
    auto err = nlohmann::json::parse(r->body, nullptr, false);
    ASSERT_TRUE(err.contains("error")) << r->body;
    if (*k.param) {
      EXPECT_EQ(err["error"]["param"], k.param) << r->body;
    }
  }
  EXPECT_EQ(c.Get("/health")->status, 200);  // still serving
}

// Without max_tokens a generation runs until its sequence's context is full: finish_reason
// "length", and the prompt and the completion fill the context.
TEST(ApiRoutes, WithoutMaxTokensAGenerationEndsWhenTheContextIsFull) {
  TestServer t;
  t.start({{"qwen", "qwen2-tiny.gguf"}});  // a training context of 256 tokens
  auto c = t.client();
  nlohmann::json body = {{"model", "qwen"},
                         {"messages", {{{"role", "user"}, {"content", "Go on forever."}}}},
                         {"seed", 5},
                         {"logit_bias", {{"151643", -100}, {"151645", -100}}}};
  for (const bool stream : {false, true}) {
    body["stream"] = stream;
    if (stream) body["stream_options"] = {{"include_usage", true}};
    auto r = c.Post("/v1/chat/completions", body.dump(), "application/json");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
    nlohmann::json usage, finish;
    if (!stream) {
      const auto j = nlohmann::json::parse(r->body);
      usage = j["usage"];
      finish = j["choices"][0]["finish_reason"];
    } else {
      for (size_t p = 0; (p = r->body.find("data: {", p)) != std::string::npos; ++p) {
        const auto j =
            nlohmann::json::parse(r->body.substr(p + 6, r->body.find("\n\n", p) - p - 6));
        if (!j["usage"].is_null()) usage = j["usage"];
        if (!j["choices"].empty() && !j["choices"][0]["finish_reason"].is_null()) {
          finish = j["choices"][0]["finish_reason"];
        }
      }
    }
    EXPECT_EQ(finish, "length") << stream;
    EXPECT_EQ(usage["prompt_tokens"].get<int>() + usage["completion_tokens"].get<int>(), 256)
        << usage << " stream " << stream;
  }
}

// Every request, whatever its outcome, is one log line and one count by route and status; a
// generation's line has its tokens, how it finished and the time in the engine.
TEST(ApiRoutes, EveryRequestIsLoggedAndCounted) {
  TestServer t;
  ServerOptions o;
  o.keys.add("k");
  t.start({{"qwen", "qwen2-tiny.gguf"}}, o);
  auto c = t.client();
  c.set_bearer_token_auth("k");
  auto r = c.Post("/v1/chat/completions", chat_body("Hi", 1, false), "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  r = c.Post("/v1/chat/completions", chat_body("Hi", 2, true), "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  nlohmann::json unknown = nlohmann::json::parse(chat_body("Hi", 1, false));
  unknown["model"] = "nope";
  r = c.Post("/v1/chat/completions", unknown.dump(), "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  r = c.Post("/v1/chat/completions", "{not json", "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  r = c.Get("/v1/made/up");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  auto keyless = t.client();
  r = keyless.Get("/v1/models");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));

  std::vector<nlohmann::json> lines;
  {
    std::lock_guard<std::mutex> lock(t.log_mu);
    for (const auto& l : t.log) {
      auto j = nlohmann::json::parse(l, nullptr, false);
      if (!j.is_discarded() && j.contains("route")) lines.push_back(j);
    }
  }
  ASSERT_EQ(lines.size(), 6u);
  // Lines are written as responses end, from each connection's thread: in request order by id.
  std::sort(lines.begin(), lines.end(), [](const nlohmann::json& a, const nlohmann::json& b) {
    return std::stoi(a["id"].get<std::string>()) < std::stoi(b["id"].get<std::string>());
  });
  for (size_t i : {0, 1}) {
    const nlohmann::json& j = lines[i];
    EXPECT_EQ(j["model"], "qwen") << j;
    EXPECT_EQ(j["completion_tokens"], 12) << j;
    EXPECT_GT(j["prompt_tokens"].get<int>(), 0) << j;
    EXPECT_EQ(j["finish"], "length") << j;
    EXPECT_GT(j["engine_ms"].get<double>(), 0) << j;
    EXPECT_GE(j["latency_ms"].get<double>(), j["engine_ms"].get<double>()) << j;
  }
  EXPECT_EQ(lines[2]["status"], 404);
  EXPECT_FALSE(lines[2].contains("model")) << "an unknown name is not a model label";
  EXPECT_EQ(lines[5]["status"], 401);

  auto m = c.Get("/metrics");
  ASSERT_TRUE(m);
  const auto count = [&](const std::string& labels) {
    const std::string key = "tessera_http_requests_total{" + labels + "} ";
    const size_t p = m->body.find(key);
    return p == std::string::npos ? -1.0 : std::stod(m->body.substr(p + key.size()));
  };
  const std::string chat = "route=\"/v1/chat/completions\",status=";
  // Without X-Tessera-App a request's app is its key's id.
  const std::string app = "app=\"" + ApiKeys::id_of("k") + "\"";
  EXPECT_EQ(count(chat + "\"200\",model=\"qwen\"," + app), 2) << m->body;
  EXPECT_EQ(lines[0]["app"], ApiKeys::id_of("k"));
  EXPECT_EQ(count(chat + "\"404\",model=\"\"," + app), 1) << m->body;
  EXPECT_EQ(count(chat + "\"400\",model=\"\"," + app), 1) << m->body;
  EXPECT_EQ(count("route=\"other\",status=\"404\",model=\"\"," + app), 1) << m->body;
  EXPECT_EQ(count("route=\"/v1/models\",status=\"401\",model=\"\",app=\"\""), 1) << m->body;
}

// Files given with --model are served beside the store's models, before a namesake of theirs.
TEST(ApiRoutes, ModelFilesServedBesideTheStore) {
  TestServer t;
  ServerOptions o;
  o.extra_models = {{"chat", std::string(TESSERA_TESTDATA_DIR) + "/models/qwen2-tiny.gguf"},
                    {"emb", std::string(TESSERA_TESTDATA_DIR) + "/models/bert-tiny.gguf"}};
  t.start({{"emb", "bert-rerank-tiny.gguf"}, {"spm", "llama-spm-tiny.gguf"}}, o);
  auto c = t.client();
  auto list = c.Get("/v1/models");
  ASSERT_TRUE(list);
  std::vector<std::string> ids;
  const nlohmann::json listed = nlohmann::json::parse(list->body);
  for (const auto& m : listed["data"]) ids.push_back(m["id"]);
  EXPECT_EQ(ids, (std::vector<std::string>{"chat", "emb", "spm"})) << list->body;
  auto r = c.Post("/v1/chat/completions", chat_body("Hi", 1, false), "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404) << r->body;  // "qwen" is in neither
  nlohmann::json body = nlohmann::json::parse(chat_body("Hi", 1, false));
  body["model"] = "chat";
  r = c.Post("/v1/chat/completions", body.dump(), "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  // "emb" is the file given, an embedder, not the store's reranker of the same name.
  r = c.Post("/v1/embeddings", R"({"model":"emb","input":"hello"})", "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
}

TEST(ApiRoutes, SixteenConcurrentStreamsAreBatchedAndALeavingClientDisturbsNoOne) {
  TestServer t;
  ServerOptions o;
  o.threads = 24;
  t.start({{"qwen", "qwen2-tiny.gguf"}}, o);
  // Each request alone first: its reference text.
  std::vector<std::string> expected(16);
  {
    auto c = t.client();
    for (int i = 0; i < 16; ++i) {
      auto r = c.Post("/v1/chat/completions", chat_body("Story " + std::to_string(i), i, false),
                      "application/json");
      ASSERT_TRUE(r);
      expected[static_cast<size_t>(i)] =
          nlohmann::json::parse(r->body)["choices"][0]["message"]["content"];
    }
  }
  // The server's model has one slot by default: give it 16 via a fresh server.
  TestServer wide;
  wide.parallel = 16;
  wide.start({{"qwen", "qwen2-tiny.gguf"}}, o);
  std::atomic<int> mismatches{0}, failures{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 16; ++i) {
    threads.emplace_back([&, i] {
      httplib::Client c("127.0.0.1", wide.server->port());
      c.set_read_timeout(60, 0);
      if (i == 5) {  // this client leaves after the first bytes of a long stream
        const std::string body = chat_body("Story 5", 5, true, 200);
        std::string req =
            "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
            "Content-Type: application/json\r\nContent-Length: ";
        req.append(std::to_string(body.size())).append("\r\n\r\n").append(body);
        const int fd = socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(static_cast<uint16_t>(wide.server->port()));
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
            write(fd, req.data(), req.size()) > 0) {
          char buf[256];
          if (read(fd, buf, sizeof buf) <= 0) ++failures;
        }
        close(fd);
        return;
      }
      auto r = c.Post("/v1/chat/completions", chat_body("Story " + std::to_string(i), i, true),
                      "application/json");
      if (!r || r->status != 200) {
        ++failures;
        return;
      }
      auto [text, done] = stream_text(r->body);
      if (!done || text != expected[static_cast<size_t>(i)]) {
        ++mismatches;
        ADD_FAILURE() << "stream " << i << (done ? "" : " (no [DONE])") << ": got \"" << text
                      << "\", alone it gave \"" << expected[static_cast<size_t>(i)] << "\"";
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(mismatches.load(), 0);
  // The batch-size histogram saw batches of more than one sequence.
  auto metrics = wide.client().Get("/metrics");
  ASSERT_TRUE(metrics);
  const std::string& m = metrics->body;
  const auto count_at = [&](const std::string& le) {
    const std::string key = "tessera_batch_size_bucket{model=\"qwen\",le=\"" + le + "\"} ";
    const size_t p = m.find(key);
    return p == std::string::npos ? -1.0 : std::stod(m.substr(p + key.size()));
  };
  EXPECT_LT(count_at("1"), count_at("+Inf")) << m.substr(0, 2000);
}

}  // namespace
}  // namespace tessera::server
