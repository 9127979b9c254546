#include "server/http_server.h"

#include <httplib.h>
#include <sys/socket.h>

#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string_view>

#include "server/api_error.h"
#include "server/api_routes.h"
#include "server/health_routes.h"
#include "server/server_metrics.h"

namespace tessera::server {
namespace {

std::string header(const httplib::Request& req, const char* name) {
  return req.has_header(name) ? req.get_header_value(name) : std::string();
}

// The route label of the request metrics: the routes served, else "other" (a client's
// made-up paths must not each make a series).
std::string_view route_label(const std::string& path) {
  for (std::string_view r : {"/health", "/ready", "/metrics", "/v1/models", "/v1/chat/completions",
                             "/v1/completions", "/v1/embeddings", "/v1/rerank"}) {
    if (path == r) return r;
  }
  return "other";
}

}  // namespace

void send_json(httplib::Response& res, int status, const std::string& body) {
  res.status = status;
  res.set_content(body, "application/json");
}

void send_error(httplib::Response& res, const ApiError& e) {
  if (e.retry_after) res.set_header("Retry-After", std::to_string(*e.retry_after));
  send_json(res, e.status, error_body(e).dump());
}

Server::Inflight::Inflight(Server& s) : s_(s) {
  std::lock_guard<std::mutex> lock(s_.mu_);
  s_.inflight_.insert(this);
}

Server::Inflight::~Inflight() {
  std::lock_guard<std::mutex> lock(s_.mu_);
  s_.inflight_.erase(this);
}

Server::Server(ServerOptions options, std::unique_ptr<runtime::Scheduler> scheduler,
               BackendReport backend)
    : o_(std::move(options)),
      scheduler_(std::move(scheduler)),
      backend_(std::move(backend)),
      http_(std::make_unique<httplib::Server>()) {
  if (!o_.metrics) o_.metrics = std::shared_ptr<ServerMetrics>(ServerMetrics::make().value());
  routes();
}

Server::~Server() {
  stop();
  if (thread_.joinable()) thread_.join();
}

void Server::log(const std::string& line) const {
  if (o_.log) {
    o_.log(line);
  } else {
    std::fprintf(stderr, "%s\n", line.c_str());
    std::fflush(stderr);
  }
}

std::shared_ptr<RequestNote> Server::note(const httplib::Request& req) {
  std::lock_guard<std::mutex> lock(notes_mu_);
  std::shared_ptr<RequestNote>& n = notes_[&req];
  if (!n) {  // a request the pre-routing handler did not see (httplib answered it itself)
    n = std::make_shared<RequestNote>();
    n->start = std::chrono::steady_clock::now();
  }
  return n;
}

std::shared_ptr<RequestNote> Server::take_note(const httplib::Request& req) {
  std::lock_guard<std::mutex> lock(notes_mu_);
  const auto it = notes_.find(&req);
  if (it == notes_.end()) {  // httplib answered before routing (a malformed request)
    auto n = std::make_shared<RequestNote>();
    n->start = std::chrono::steady_clock::now();
    return n;
  }
  std::shared_ptr<RequestNote> n = std::move(it->second);
  notes_.erase(it);
  return n;
}

bool Server::authorized(const httplib::Request& req, httplib::Response& res,
                        std::string& client) const {
  if (o_.keys.empty()) return true;
  const auto key = request_key(header(req, "Authorization"), header(req, "X-API-Key"));
  if (key && o_.keys.accepts(*key)) {
    client = ApiKeys::id_of(*key);
    return true;
  }
  send_error(res, api_error(401, "authentication_error",
                            key ? "invalid API key"
                                : "no API key: send it as \"Authorization: Bearer KEY\"",
                            "", "invalid_api_key"));
  return false;
}

void Server::routes() {
  httplib::Server& h = *http_;
  const int threads = o_.threads > 0
                          ? o_.threads
                          : std::max(8, 4 * static_cast<int>(std::thread::hardware_concurrency()));
  h.new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
  h.set_payload_max_length(o_.max_body_bytes);
  h.set_read_timeout(o_.read_timeout_seconds, 0);
  h.set_write_timeout(o_.write_timeout_seconds, 0);
  h.set_keep_alive_timeout(5);
  // httplib listens with a backlog of 5: a burst of connections would wait for SYN retries.
  // Keep the listening socket to raise it after bind (listen() again updates the backlog).
  h.set_socket_options([this](socket_t sock) {
    httplib::default_socket_options(sock);
    listen_fd_ = static_cast<int>(sock);
  });

  h.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    res.set_header("X-Request-Id", std::to_string(next_id_.fetch_add(1)));
    auto n = std::make_shared<RequestNote>();
    n->start = std::chrono::steady_clock::now();
    n->app = header(req, "X-Tessera-App");
    {
      std::lock_guard<std::mutex> lock(notes_mu_);
      notes_[&req] = n;  // a reused Request address replaces a stale note
    }
    const bool probe = req.path == "/health" || req.path == "/ready" || req.path == "/metrics";
    if (draining_.load() && !probe) {
      ApiError e =
          api_error(503, "server_busy_error", "the server is shutting down", "", "shutting_down");
      e.retry_after = 5;
      send_error(res, e);
      return httplib::Server::HandlerResponse::Handled;
    }
    std::string client;
    if (!probe && !authorized(req, res, client)) return httplib::Server::HandlerResponse::Handled;
    if (n->app.empty()) n->app = client;  // fair shares and labels per key by default
    return httplib::Server::HandlerResponse::Unhandled;
  });
  h.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;  // a route already wrote its error
    if (res.status == 413) {
      send_error(res, api_error(413, "invalid_request_error",
                                "request body too large (the limit is set by the server's "
                                "max body size)"));
    } else if (res.status == 404) {
      send_error(res, api_error(404, "not_found_error",
                                "no route " + req.method + " " + req.path +
                                    " (the API is under /v1: models, chat/completions, "
                                    "completions, embeddings, rerank)"));
    } else if (res.status == 400) {
      send_error(res, api_error(400, "invalid_request_error", "malformed HTTP request"));
    }
  });
  h.set_exception_handler(
      [this](const httplib::Request& req, httplib::Response& res, std::exception_ptr ep) {
        std::string what = "unknown error";
        try {
          if (ep) std::rethrow_exception(ep);
        } catch (const std::exception& e) {
          what = e.what();
        } catch (...) {
        }
        log("tessera: internal error on " + req.path + ": " + what);
        send_error(res, api_error(500, "server_error", "internal error: " + what));
      });
  h.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
    const std::shared_ptr<RequestNote> n = take_note(req);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - n->start).count();
    nlohmann::ordered_json line = {{"id", res.get_header_value("X-Request-Id")},
                                   {"method", req.method},
                                   {"route", req.path},
                                   {"status", res.status}};
    if (!n->model.empty()) line["model"] = n->model;
    if (!n->app.empty()) line["app"] = n->app;
    if (n->prompt_tokens >= 0) line["prompt_tokens"] = n->prompt_tokens;
    if (n->completion_tokens >= 0) line["completion_tokens"] = n->completion_tokens;
    if (!n->finish.empty()) line["finish"] = n->finish;
    line["latency_ms"] = std::round(seconds * 1e5) / 100;
    if (n->engine_ms >= 0) line["engine_ms"] = std::round(n->engine_ms * 100) / 100;
    log(line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    metrics().on_request(route_label(req.path), res.status, n->model, n->app, seconds);
  });
  add_health_routes(*this, h);
  add_api_routes(*this, h);
}

Status Server::start() {
  if (o_.port == 0) {
    port_ = http_->bind_to_any_port(o_.host);
  } else {
    port_ = http_->bind_to_port(o_.host, o_.port) ? o_.port : -1;
  }
  if (port_ > 0 && listen_fd_ >= 0) ::listen(listen_fd_, 1024);
  if (port_ <= 0) {
    return make_error(ErrorCode::io_error,
                      "cannot listen on " + o_.host + ":" + std::to_string(o_.port) +
                          " (address in use, or not an address of this host?)");
  }
  thread_ = std::thread([this] { http_->listen_after_bind(); });
  // Until the accept loop runs, httplib's stop() would do nothing: wait for it.
  while (!http_->is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  return {};
}

void Server::stop() {
  std::call_once(stopped_, [this] {
    draining_.store(true);
    const auto deadline = std::chrono::steady_clock::now() + o_.grace;
    for (;;) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (inflight_.empty()) break;
        if (std::chrono::steady_clock::now() >= deadline) {
          for (const Inflight* f : inflight_) f->token().cancel();
          break;
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    http_->stop();
  });
}

void Server::wait() {
  if (thread_.joinable()) thread_.join();
}

}  // namespace tessera::server
