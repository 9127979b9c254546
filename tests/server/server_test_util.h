// A tessera server on a loopback port for tests: a data directory with tiny test models, a
// CPU-only scheduler, and an HTTP client for it.
#pragma once

#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <string>

#include "runtime/places.h"
#include "runtime/scheduler.h"
#include "server/http_server.h"
#include "server/server_metrics.h"

namespace tessera::server::testing {

struct TestServer {
  std::string dir;
  std::unique_ptr<Server> server;
  std::vector<std::string> log;
  std::mutex log_mu;
  int64_t parallel = 1;  // sequence slots per model

  // `models`: store name -> file in ../shared/testdata/models.
  void start(const std::vector<std::pair<std::string, std::string>>& models, ServerOptions o = {}) {
    static std::atomic<int> n{0};
    dir = ::testing::TempDir() + "server_test_" + std::to_string(::getpid()) + "_" +
          std::to_string(n++);
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir + "/models");
    for (const auto& [name, file] : models) {
      std::filesystem::copy_file(std::string(TESSERA_TESTDATA_DIR) + "/models/" + file,
                                 dir + "/models/" + name + ".gguf");
    }
    o.host = "127.0.0.1";
    o.port = 0;
    o.data.root = dir;
    o.log = [this](const std::string& line) {
      std::lock_guard<std::mutex> lock(log_mu);
      log.push_back(line);
    };
    runtime::SchedulerConfig config;
    config.cpu_memory = uint64_t{4} << 30;
    config.parallel = parallel;
    o.metrics = std::shared_ptr<ServerMetrics>(ServerMetrics::make().value());
    runtime::SchedulerOptions so;
    so.on_batch_step = [m = o.metrics](const std::string& model, const runtime::BatcherStep& st) {
      m->observe_batch(model, st.sequences);
      m->set_kv_cache_usage(model, st.kv_cells_used, st.kv_cells);
    };
    so.config = config;
    so.places = runtime::build_places(gpu::Inventory{}, config, 0).value();
    so.resolve = runtime::store_resolver(o.data.models(), o.extra_models);
    so.log = o.log;
    so.n_threads = 2;
    auto sched = runtime::Scheduler::create(std::move(so));
    ASSERT_TRUE(sched.ok());
    server = std::make_unique<Server>(o, std::move(*sched), BackendReport{"cpu", "test"});
    ASSERT_TRUE(server->start().ok());
  }

  httplib::Client client() const {
    httplib::Client c("127.0.0.1", server->port());
    c.set_read_timeout(30, 0);
    return c;
  }

  ~TestServer() {
    server.reset();
    std::filesystem::remove_all(dir);
  }
};

}  // namespace tessera::server::testing
