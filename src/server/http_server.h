// `tessera serve`'s HTTP server: cpp-httplib with a bounded thread pool, API-key auth, body
// size and read timeouts (a slow client cannot hold a worker forever), one JSON log line per
// request, OpenAI-shaped errors, and a graceful stop: new requests are refused (503), requests
// in flight get a grace period, then their generations are cancelled.
//
// Routes: GET /health (liveness), GET /ready (readiness: backends, fallback reason, loaded
// models, queue), GET /v1/models, plus the generation and embedding routes (api_routes.h).
// /health and /ready need no key (probes); everything else does when keys are configured.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "gpu/backend_choice.h"
#include "runtime/data_dir.h"
#include "runtime/scheduler.h"
#include "server/auth.h"
#include "util/result.h"

namespace httplib {
class Server;
class Request;
class Response;
}  // namespace httplib

namespace tessera::server {

class ServerMetrics;

// What a route tells its request's log line and the request metrics (Server::note()). The
// server makes one per request before routing and reads it when the response is written (a
// stream's last byte included): one JSON line and one count by route and status per request,
// whatever the outcome.
struct RequestNote {
  std::chrono::steady_clock::time_point start;
  std::string model;  // "" until a route names it
  std::string app;    // X-Tessera-App, else the id of the request's API key (ApiKeys::id_of)
  int32_t prompt_tokens = -1;      // -1: not known / not a generation
  int32_t completion_tokens = -1;  // tokens sampled so far (a stream cut short: those sent)
  std::string finish;              // generations: stop, length, cancelled, error
  double engine_ms = -1;           // time in the model (generate / encode); -1: none
};

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8080;  // 0: any free port (port() tells which)
  runtime::DataDir data;
  // Models served from outside the store (tessera serve --model NAME=FILE), listed first; a
  // store model of the same name is hidden. The scheduler's resolver must find them too.
  std::vector<runtime::ResolvedModel> extra_models;
  ApiKeys keys;  // empty: no key needed (the CLI allows that only on loopback)
  size_t max_body_bytes = size_t{8} << 20;  // larger bodies get 413 before they are read
  int read_timeout_seconds = 30;            // per read of a request (slow clients time out)
  int write_timeout_seconds = 60;
  int threads = 0;                              // worker threads; 0: max(8, 4 x cores)
  std::chrono::milliseconds grace{10000};       // for requests in flight at stop()
  std::function<void(const std::string&)> log;  // null: stderr
  // The metrics (server_metrics.h); null: the server makes its own. Shared so the scheduler's
  // batch-step hook can feed the same one.
  std::shared_ptr<ServerMetrics> metrics;
};

// What the server reports about the process's backends (gpu::choose_backend()).
struct BackendReport {
  std::string backend;  // "cuda" or "cpu"
  std::string reason;   // why (the doctor's verdict, or why CUDA failed)
};

class Server {
 public:
  // Errors: none yet (the socket is bound by start()).
  Server(ServerOptions options, std::unique_ptr<runtime::Scheduler> scheduler,
         BackendReport backend);
  ~Server();

  // Binds the socket and serves on a thread of its own. Errors: io_error (address in use, no
  // permission: the message names host and port).
  Status start();
  int port() const { return port_; }
  // Refuses new requests, waits up to the grace period for those in flight, cancels what is
  // left, stops listening. Idempotent.
  void stop();
  // Blocks until stop() ends the server.
  void wait();

  runtime::Scheduler& scheduler() { return *scheduler_; }
  ServerMetrics& metrics() { return *o_.metrics; }
  const ServerOptions& options() const { return o_; }
  const BackendReport& backend() const { return backend_; }
  void log(const std::string& line) const;
  // The note of a request being served (made before routing; never null while the request
  // runs). A route may keep it past its handler, e.g. in a stream's content provider.
  std::shared_ptr<RequestNote> note(const httplib::Request& req);

  // A cancel token registered for the duration of a request: stop() cancels it after the
  // grace period. Routes take one per generation.
  class Inflight {
   public:
    Inflight(Server& s);
    ~Inflight();
    const runtime::CancelToken& token() const { return token_; }

   private:
    Server& s_;
    runtime::CancelToken token_;
  };
  bool draining() const { return draining_.load(); }

 private:
  void routes();
  // Whether the request may go on (else the 401 is written); `client` gets its key's id.
  bool authorized(const httplib::Request& req, httplib::Response& res, std::string& client) const;
  // The request's note, removed from the table (the logger's, when the response has ended).
  std::shared_ptr<RequestNote> take_note(const httplib::Request& req);

  ServerOptions o_;
  std::unique_ptr<runtime::Scheduler> scheduler_;
  BackendReport backend_;
  std::unique_ptr<httplib::Server> http_;
  std::thread thread_;
  int port_ = 0;
  int listen_fd_ = -1;  // the listening socket (set when it is made)
  std::atomic<bool> draining_{false};
  std::atomic<uint64_t> next_id_{1};
  mutable std::mutex mu_;
  std::set<const Inflight*> inflight_;
  std::mutex notes_mu_;
  std::unordered_map<const httplib::Request*, std::shared_ptr<RequestNote>> notes_;
  std::once_flag stopped_;
};

// Writes an error response (status, OpenAI error JSON, Retry-After when set).
struct ApiError;
void send_error(httplib::Response& res, const ApiError& e);
// Writes a JSON response.
void send_json(httplib::Response& res, int status, const std::string& body);

}  // namespace tessera::server
