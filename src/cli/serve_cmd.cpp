// `tessera serve`: the HTTP server over the models of the data directory (server/).
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "cli/commands.h"
#include "gpu/backend_choice.h"
#include "gpu/doctor.h"
#include "gpu/inventory.h"
#include "runtime/data_dir.h"
#include "runtime/model_name.h"
#include "runtime/model_store.h"
#include "runtime/places.h"
#include "runtime/scheduler.h"
#include "runtime/status_file.h"
#include "server/http_server.h"
#include "server/server_metrics.h"

namespace tessera::cli {
namespace {

struct ServeArgs {
  std::string host = "127.0.0.1";
  int port = 8080;
  std::optional<std::string> data_dir;
  std::optional<std::string> config;
  std::vector<std::string> api_keys;
  std::vector<std::string> models;  // [NAME=]FILE
  bool no_auth = false;
  int threads = 0;
  int max_body_mib = 8;
  int grace_seconds = 10;
};

// --model [NAME=]FILE: a GGUF file served as NAME (default: the file's name without .gguf).
// Errors: a bad name (the store's rule), a file that is missing or not a model this build
// runs, a name given twice.
Result<std::vector<runtime::ResolvedModel>> extra_models(const std::vector<std::string>& args,
                                                         const runtime::DataDir& data) {
  std::vector<runtime::ResolvedModel> out;
  const runtime::ModelStore store(data.models());
  for (const std::string& arg : args) {
    const size_t eq = arg.find('=');
    const std::filesystem::path file = eq == std::string::npos ? arg : arg.substr(eq + 1);
    std::string name = eq == std::string::npos ? file.stem().string() : arg.substr(0, eq);
    if (Status ok = runtime::validate_model_name(name); !ok.ok()) {
      return make_error(ErrorCode::invalid_argument, "--model " + arg + ": " + ok.error().message +
                                                         "; give a name first: --model NAME=FILE");
    }
    std::error_code ec;
    if (!std::filesystem::is_regular_file(file, ec)) {
      return make_error(ErrorCode::not_found, "--model " + arg + ": no such file " + file.string());
    }
    const runtime::ModelEntry e = store.describe(name, file);
    if (e.status != runtime::ModelStatus::ok) {
      return make_error(
          ErrorCode::invalid_argument,
          "--model " + arg + ": " + runtime::model_status_name(e.status) + ": " + e.reason);
    }
    for (const auto& m : out) {
      if (m.name == name) {
        return make_error(ErrorCode::invalid_argument,
                          "--model " + arg + ": the name " + name +
                              " is given twice; name them apart with --model NAME=FILE");
      }
    }
    out.push_back({name, std::filesystem::absolute(file, ec).string()});
  }
  return out;
}

bool loopback(const std::string& host) {
  return host == "127.0.0.1" || host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

Status serve(const ServeArgs& a) {
  // SIGINT / SIGTERM stop the server gracefully. They are blocked before any thread starts
  // (threads inherit the mask), so only the waiter below receives them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto data = runtime::resolve_data_dir(a.data_dir);
  if (!data.ok()) return data.error();
  TESSERA_TRY(runtime::ensure_directory(data->models()));
  TESSERA_TRY(runtime::ensure_directory(data->run()));
  auto extra = extra_models(a.models, *data);
  if (!extra.ok()) return extra.error();

  runtime::SchedulerConfig config;
  if (a.config) {
    auto c = runtime::load_scheduler_config(*a.config);
    if (!c.ok()) return c.error();
    config = std::move(*c);
  }
  server::ServerOptions o;
  o.host = a.host;
  o.port = a.port;
  o.data = *data;
  o.extra_models = *extra;
  o.threads = a.threads;
  o.max_body_bytes = static_cast<size_t>(a.max_body_mib) << 20;
  o.grace = std::chrono::seconds(a.grace_seconds);
  for (const std::string& k : a.api_keys) o.keys.add(k);
  if (const char* env = std::getenv("TESSERA_API_KEY"); env != nullptr) o.keys.add(env);
  if (o.keys.empty() && !a.no_auth && !loopback(a.host)) {
    return make_error(ErrorCode::invalid_argument,
                      "serving on " + a.host +
                          " without an API key would let anyone on the network use it: set "
                          "TESSERA_API_KEY or --api-key, or pass --no-auth to allow it");
  }

  // The backend truth: GPUs only when the doctor's checks pass; otherwise the CPU, said loudly.
  const gpu::BackendChoice& choice = gpu::choose_backend();
  gpu::Inventory inv;
  if (choice.backend == "cuda") {
    inv = gpu::read_inventory(gpu::doctor_input_from_environment().cuda_visible_devices);
  }
  auto places = runtime::build_places(inv, config, runtime::host_available_memory());
  if (!places.ok()) return places.error();
  auto metrics = server::ServerMetrics::make();
  if (!metrics.ok()) return metrics.error();
  o.metrics = std::shared_ptr<server::ServerMetrics>(std::move(*metrics));
  runtime::SchedulerOptions so;
  so.on_batch_step = [m = o.metrics](const std::string& model, const runtime::BatcherStep& st) {
    m->observe_batch(model, st.sequences);
    m->set_kv_cache_usage(model, st.kv_cells_used, st.kv_cells);
  };
  so.config = config;
  so.places = std::move(*places);
  so.resolve = runtime::store_resolver(data->models(), *extra);
  so.status_file = runtime::status_file_path(data->run(), static_cast<int>(getpid()));
  auto scheduler = runtime::Scheduler::create(std::move(so));
  if (!scheduler.ok()) return scheduler.error();

  server::Server srv(o, std::move(*scheduler), {choice.backend, choice.reason});
  TESSERA_TRY(srv.start());
  std::string also;
  for (const auto& m : *extra) also.append(also.empty() ? " and " : ", ").append(m.name);
  std::fprintf(stderr, "tessera: serving on http://%s:%d (models in %s%s; %s: %s%s)\n",
               a.host.c_str(), srv.port(), data->models().c_str(), also.c_str(),
               choice.backend.c_str(), choice.reason.c_str(),
               o.keys.empty() ? "; no API key needed" : "");
  std::fflush(stderr);
  std::thread waiter([&srv, signals] {
    int sig = 0;
    sigwait(&signals, &sig);
    std::fprintf(stderr, "tessera: %s: finishing requests in flight, then stopping\n",
                 sig == SIGTERM ? "SIGTERM" : "SIGINT");
    srv.stop();
  });
  waiter.detach();
  srv.wait();
  return {};
}

}  // namespace

Runner add_serve_command(CLI::App& app) {
  auto a = std::make_shared<ServeArgs>();
  CLI::App* s = app.add_subcommand("serve",
                                   "Serve the models of the data directory over HTTP "
                                   "(OpenAI-compatible API, health, metrics)");
  s->add_option("--host", a->host, "Address to listen on (default 127.0.0.1)");
  s->add_option("--port", a->port, "Port (default 8080; 0: any free port, printed)")
      ->check(CLI::Range(0, 65535));
  s->add_option("--data", a->data_dir, "The data directory (default: TESSERA_DATA_DIR, ...)");
  s->add_option("--config", a->config, "The scheduler config (docs/scheduler.md)");
  s->add_option("--api-key", a->api_keys,
                "An API key clients must send (repeatable; also "
                "TESSERA_API_KEY)");
  s->add_option("--model", a->models,
                "[NAME=]FILE: also serve this GGUF file, as NAME (default: its file name "
                "without .gguf); repeatable");
  s->add_flag("--no-auth", a->no_auth, "Allow keyless use on a non-loopback address");
  s->add_option("--threads", a->threads, "HTTP worker threads (default max(8, 4 x cores))")
      ->check(CLI::Range(0, 4096));
  s->add_option("--max-body-mib", a->max_body_mib, "Largest request body (default 8 MiB)")
      ->check(CLI::Range(1, 1024));
  s->add_option("--grace", a->grace_seconds,
                "Seconds requests in flight get to finish at stop (default 10)")
      ->check(CLI::Range(0, 3600));
  return [a] { return serve(*a); };
}

}  // namespace tessera::cli
