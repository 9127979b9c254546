// The server's plumbing: probes, model list, auth, errors for unknown routes, huge and
// malformed requests, slow clients, many connections, graceful stop.
#include "server/http_server.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>
#include <tuple>

#include "server/server_test_util.h"

namespace tessera::server {
namespace {

using testing::TestServer;

TEST(HttpServer, ProbesAndTheModelList) {
  TestServer t;
  t.start({{"qwen", "qwen2-tiny.gguf"}, {"bert", "bert-tiny.gguf"}});
  auto c = t.client();
  auto health = c.Get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  auto h = nlohmann::json::parse(health->body);
  EXPECT_EQ(h["status"], "ok");
  EXPECT_EQ(h["backend"], "cpu");
  EXPECT_EQ(h["fallback"], true);
  EXPECT_FALSE(health->get_header_value("X-Request-Id").empty());
  auto ready = c.Get("/ready");
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->status, 200);
  auto r = nlohmann::json::parse(ready->body);
  EXPECT_EQ(r["ready"], true);
  EXPECT_EQ(r["places"][0]["id"], "cpu");
  EXPECT_EQ(r["queue_depth"], 0);
  auto models = c.Get("/v1/models");
  ASSERT_TRUE(models);
  auto m = nlohmann::json::parse(models->body);
  EXPECT_EQ(m["object"], "list");
  ASSERT_EQ(m["data"].size(), 2u);
  EXPECT_EQ(m["data"][0]["id"], "bert");
  EXPECT_EQ(m["data"][1]["id"], "qwen");
  EXPECT_EQ(m["data"][1]["object"], "model");
}

TEST(HttpServer, KeysAreRequiredWhenConfigured) {
  TestServer t;
  ServerOptions o;
  o.keys.add("sekret");
  t.start({{"qwen", "qwen2-tiny.gguf"}}, o);
  auto c = t.client();
  auto none = c.Get("/v1/models");
  ASSERT_TRUE(none);
  EXPECT_EQ(none->status, 401);
  auto e = nlohmann::json::parse(none->body);
  EXPECT_EQ(e["error"]["type"], "authentication_error");
  EXPECT_EQ(c.Get("/v1/models", {{"Authorization", "Bearer wrong"}})->status, 401);
  EXPECT_EQ(c.Get("/v1/models", {{"Authorization", "Bearer sekret"}})->status, 200);
  EXPECT_EQ(c.Get("/v1/models", {{"X-API-Key", "sekret"}})->status, 200);
  EXPECT_EQ(c.Get("/health")->status, 200);  // probes need no key
}

TEST(ApiKeys, IdsTellKeysApartWithoutShowingThem) {
  const std::string a = ApiKeys::id_of("sekret"), b = ApiKeys::id_of("sekret2");
  EXPECT_EQ(a.size(), 12u);
  EXPECT_EQ(a.rfind("key-", 0), 0u);
  EXPECT_NE(a, b);
  EXPECT_EQ(a, ApiKeys::id_of("sekret"));
  EXPECT_EQ(a.find("sekret"), std::string::npos);
  EXPECT_EQ(a, "key-bb757689");  // sha256("sekret") begins bb757689
}

TEST(HttpServer, UnknownRoutesAndHugeBodiesGetJsonErrors) {
  TestServer t;
  ServerOptions o;
  o.max_body_bytes = 1024;
  t.start({}, o);
  auto c = t.client();
  auto nf = c.Get("/v1/nothing");
  ASSERT_TRUE(nf);
  EXPECT_EQ(nf->status, 404);
  EXPECT_EQ(nlohmann::json::parse(nf->body)["error"]["type"], "not_found_error");
  auto big = c.Post("/v1/chat/completions", std::string(1 << 20, 'x'), "application/json");
  ASSERT_TRUE(big);
  EXPECT_EQ(big->status, 413);
  EXPECT_EQ(nlohmann::json::parse(big->body)["error"]["type"], "invalid_request_error");
  EXPECT_EQ(c.Get("/health")->status, 200);  // and it keeps serving
}

int connect_to(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

TEST(HttpServer, SlowClientsTimeOutAndManyConnectionsDoNotStopIt) {
  TestServer t;
  ServerOptions o;
  o.read_timeout_seconds = 1;
  o.threads = 4;
  t.start({}, o);
  // A slowloris client: half a request line, then nothing.
  const int slow = connect_to(t.server->port());
  ASSERT_GE(slow, 0);
  ASSERT_GT(write(slow, "GET /hea", 8), 0);
  // 1000 rapid connections that close at once.
  for (int i = 0; i < 1000; ++i) {
    const int fd = connect_to(t.server->port());
    if (fd >= 0) close(fd);
  }
  auto c = t.client();
  auto h = c.Get("/health");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->status, 200);
  // The slow client was dropped after the read timeout.
  char buf[16];
  timeval tv{3, 0};
  setsockopt(slow, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  EXPECT_LE(read(slow, buf, sizeof buf), 0);
  close(slow);
}

TEST(HttpServer, StopRefusesNewRequestsAndIsIdempotent) {
  TestServer t;
  t.start({});
  t.server->stop();
  t.server->stop();
  t.server->wait();
  EXPECT_TRUE(t.server->draining());
  auto c = t.client();
  EXPECT_FALSE(c.Get("/health"));  // no longer listening
}

TEST(HttpServer, OneLogLinePerRequest) {
  TestServer t;
  t.start({});
  auto c = t.client();
  ASSERT_TRUE(c.Get("/health"));
  ASSERT_TRUE(c.Get("/v1/none"));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  std::lock_guard<std::mutex> lock(t.log_mu);
  int lines = 0;
  for (const auto& l : t.log) {
    auto j = nlohmann::json::parse(l, nullptr, false);
    if (j.is_discarded() || !j.contains("route")) continue;
    ++lines;
    EXPECT_TRUE(j.contains("id"));
    EXPECT_TRUE(j.contains("status"));
  }
  EXPECT_EQ(lines, 2);
}

}  // namespace
}  // namespace tessera::server

namespace tessera::server {
namespace {

// `tessera serve`'s refusals before it listens: exit code and message.
std::pair<int, std::string> serve_fails(const std::string& args) {
  const std::string cmd = std::string(TESSERA_BIN) + " serve --data " + ::testing::TempDir() +
                          "serve_cli " + args + " 2>&1";
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

TEST(ServeCommand, RefusesAnOpenAddressWithoutAKeyAndABadConfig) {
  auto [code, out] = serve_fails("--host 0.0.0.0 --port 0");
  EXPECT_EQ(code, 2) << out;
  EXPECT_NE(out.find("without an API key"), std::string::npos) << out;
  const std::string bad = ::testing::TempDir() + "serve_bad.yaml";
  std::ofstream(bad) << "keep_alive: -3h\n";
  std::tie(code, out) = serve_fails("--port 0 --config " + bad);
  EXPECT_EQ(code, 5) << out;
  EXPECT_NE(out.find("serve_bad.yaml:1:13: keep_alive:"), std::string::npos) << out;
  std::tie(code, out) = serve_fails("--port 99999");
  EXPECT_EQ(code, 2) << out;
}

TEST(ServeCommand, RefusesModelFilesThatCannotBeServed) {
  const std::string models = std::string(TESSERA_TESTDATA_DIR) + "/models/";
  auto [code, out] = serve_fails("--port 0 --model /nonexistent/x.gguf");
  EXPECT_EQ(code, 3) << out;
  EXPECT_NE(out.find("no such file /nonexistent/x.gguf"), std::string::npos) << out;
  const std::string junk = ::testing::TempDir() + "serve_junk.gguf";
  std::ofstream(junk) << "not a model";
  std::tie(code, out) = serve_fails("--port 0 --model " + junk);
  EXPECT_EQ(code, 2) << out;
  EXPECT_NE(out.find("broken"), std::string::npos) << out;
  EXPECT_NE(out.find("GGUF magic"), std::string::npos) << out;
  std::tie(code, out) = serve_fails("--port 0 --model ../up=" + models + "qwen2-tiny.gguf");
  EXPECT_EQ(code, 2) << out;
  EXPECT_NE(out.find("NAME=FILE"), std::string::npos) << out;
  std::tie(code, out) = serve_fails("--port 0 --model a=" + models +
                                    "qwen2-tiny.gguf --model a=" + models + "bert-tiny.gguf");
  EXPECT_EQ(code, 2) << out;
  EXPECT_NE(out.find("the name a is given twice"), std::string::npos) << out;
}

}  // namespace
}  // namespace tessera::server
