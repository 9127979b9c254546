// Load for a running `tessera serve` (bench/serve_speed.sh runs it): streamed chat completions
// from C concurrent clients, the aggregate generation speed, and the time a non-streamed
// request spends outside the engine as the client sees it.
//
//   serve_load --port P --model NAME [--streams 1,4,16] [--requests-per-stream N]
//              [--max-tokens N] [--overhead-requests N]
//
// Each stream is a thread sending N streamed requests one after another (max_tokens fixed,
// end-of-text tokens banned with logit_bias, include_usage on); the aggregate speed is every
// completion token the usage chunks report over the wall time from the first request sent to
// the last stream's end. Then `--overhead-requests` non-streamed one-token requests, one at a
// time, give the client's round trip; the server's own time per request (its log's latency_ms
// minus engine_ms) is read from the server's log by serve_speed.sh.
#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Args {
  int port = 8080;
  std::string model;
  std::vector<int> streams{1, 4, 16};
  int requests_per_stream = 2;
  int max_tokens = 64;
  int overhead_requests = 50;
};

std::vector<int> parse_list(const std::string& s) {
  std::vector<int> out;
  size_t p = 0;
  while (p <= s.size()) {
    const size_t c = s.find(',', p);
    out.push_back(std::atoi(s.substr(p, c - p).c_str()));
    if (c == std::string::npos) break;
    p = c + 1;
  }
  return out;
}

std::string body(const Args& a, int stream_index, int request, bool stream, int max_tokens) {
  nlohmann::json j = {
      {"model", a.model},
      {"messages",
       {{{"role", "user"},
         {"content", "Write story number " + std::to_string(stream_index * 1000 + request) +
                         " about a lighthouse keeper and the sea."}}}},
      {"max_tokens", max_tokens},
      {"temperature", 0.8},
      {"seed", stream_index * 1000 + request},
      // the qwen2 vocabulary's end-of-text and end-of-turn tokens
      {"logit_bias", {{"151643", -100}, {"151645", -100}}},
      {"stream", stream}};
  if (stream) j["stream_options"] = {{"include_usage", true}};
  return j.dump();
}

// Completion tokens of a streamed answer: its usage chunk's.
long usage_tokens(const std::string& sse) {
  const std::string key = "\"completion_tokens\":";
  const size_t p = sse.rfind(key);
  return p == std::string::npos ? -1 : std::atol(sse.c_str() + p + key.size());
}

int run(const Args& a) {
  // One request first so the model is loaded before anything is timed.
  {
    httplib::Client c("127.0.0.1", a.port);
    c.set_read_timeout(600, 0);
    auto r = c.Post("/v1/chat/completions", body(a, 999, 0, false, 4), "application/json");
    if (!r || r->status != 200) {
      std::fprintf(stderr, "serve_load: warm-up request failed: %s\n",
                   r ? r->body.c_str() : httplib::to_string(r.error()).c_str());
      return 1;
    }
  }
  std::printf("| concurrent streams | requests | completion tokens | wall s | aggregate t/s |\n");
  std::printf("|---:|---:|---:|---:|---:|\n");
  for (const int n : a.streams) {
    std::atomic<long> tokens{0};
    std::atomic<int> failed{0};
    std::vector<std::thread> threads;
    const auto t0 = Clock::now();
    for (int i = 0; i < n; ++i) {
      threads.emplace_back([&, i] {
        httplib::Client c("127.0.0.1", a.port);
        c.set_read_timeout(600, 0);
        for (int k = 0; k < a.requests_per_stream; ++k) {
          auto r =
              c.Post("/v1/chat/completions", body(a, i, k, true, a.max_tokens), "application/json");
          const long t = r && r->status == 200 ? usage_tokens(r->body) : -1;
          if (t < 0) {
            ++failed;
            continue;
          }
          tokens += t;
        }
      });
    }
    for (auto& t : threads) t.join();
    const double wall = std::chrono::duration<double>(Clock::now() - t0).count();
    std::printf("| %d | %d | %ld | %.2f | %.2f |\n", n, n * a.requests_per_stream, tokens.load(),
                wall, static_cast<double>(tokens.load()) / wall);
    if (failed.load() > 0) {
      std::fprintf(stderr, "serve_load: %d requests failed\n", failed.load());
      return 1;
    }
  }
  std::fflush(stdout);

  // Round trips of one-token non-streamed requests, one at a time.
  std::vector<double> round_trip_ms;
  httplib::Client c("127.0.0.1", a.port);
  for (int k = 0; k < a.overhead_requests; ++k) {
    const auto t0 = Clock::now();
    auto r = c.Post("/v1/chat/completions", body(a, 500, k, false, 1), "application/json");
    if (!r || r->status != 200) return 1;
    round_trip_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  }
  std::sort(round_trip_ms.begin(), round_trip_ms.end());
  if (!round_trip_ms.empty()) {
    std::printf("\nnon-streamed one-token requests: %zu, client round trip median %.2f ms\n",
                round_trip_ms.size(), round_trip_ms[round_trip_ms.size() / 2]);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    const char* v = i + 1 < argc ? argv[i + 1] : nullptr;
    if (v == nullptr) {
      std::fprintf(stderr, "serve_load: %s needs a value\n", k.c_str());
      return 2;
    }
    if (k == "--port") {
      a.port = std::atoi(v);
    } else if (k == "--model") {
      a.model = v;
    } else if (k == "--streams") {
      a.streams = parse_list(v);
    } else if (k == "--requests-per-stream") {
      a.requests_per_stream = std::atoi(v);
    } else if (k == "--max-tokens") {
      a.max_tokens = std::atoi(v);
    } else if (k == "--overhead-requests") {
      a.overhead_requests = std::atoi(v);
    } else {
      std::fprintf(stderr, "serve_load: unknown option %s\n", k.c_str());
      return 2;
    }
    ++i;
  }
  if (a.model.empty()) {
    std::fprintf(stderr, "serve_load: --model NAME is required\n");
    return 2;
  }
  return run(a);
}
