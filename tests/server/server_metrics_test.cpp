#include "server/server_metrics.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

namespace tessera::server {
namespace {

runtime::SchedulerStatus two_models() {
  runtime::SchedulerStatus s;
  runtime::PlaceStatus mig;
  mig.place.id = "gpu0/mig3";
  mig.place.kind = runtime::PlaceKind::mig;
  mig.place.capacity = 19ull << 30;
  mig.used = 6ull << 30;
  runtime::PlaceStatus cpu;
  cpu.place.id = "cpu";
  cpu.place.kind = runtime::PlaceKind::cpu;
  cpu.place.capacity = 64ull << 30;
  cpu.used = 1ull << 30;
  s.places = {mig, cpu};

  runtime::LoadedModelStatus qwen;
  qwen.name = "qwen2.5-7b";
  qwen.kind = "decoder";
  qwen.state = "ready";
  qwen.places = {{"gpu0/mig3", 6ull << 30}};
  qwen.parallel = 4;
  qwen.in_flight = 3;
  qwen.kv_type = "f16";
  qwen.load_seconds = 2.75;
  qwen.pinned = true;
  runtime::LoadedModelStatus bge;
  bge.name = "bge-m3";
  bge.kind = "encoder";
  bge.state = "loading";
  bge.places = {{"cpu", 1ull << 30}};
  bge.parallel = 1;
  s.models = {qwen, bge};
  s.waiting = 5;
  s.max_loaded = 3;
  s.counters.loads = 7;
  s.counters.unloads = 5;
  s.counters.evictions = 2;
  s.counters.expirations = 3;
  s.counters.refused_busy = 1;
  s.counters.runtime_oom = 1;
  return s;
}

gpu::Inventory mig_gpu() {
  gpu::Inventory inv;
  inv.nvml_loaded = true;
  inv.driver_version = "550.54.15";
  gpu::GpuInfo h100;
  h100.index = 0;
  h100.name = "NVIDIA H100 80GB HBM3";
  h100.uuid = "GPU-5e1f7c2a-0000-1111-2222-333344445555";
  h100.pci_bus_id = "00000000:17:00.0";
  h100.memory_total = 80ull << 30;
  h100.memory_used = 7ull << 30;
  h100.utilization_pct = 37;
  h100.temperature_c = 54;
  h100.power_w = 212.5;
  h100.mig_enabled = true;
  gpu::MigInstance a;
  a.parent = 0;
  a.gpu_instance_id = 3;
  a.profile = "2g.20gb";
  a.uuid = "MIG-aaaaaaaa-0000-1111-2222-333344445555";
  a.memory_total = 19ull << 30;
  a.memory_used = 6ull << 30;
  gpu::MigInstance b = a;
  b.gpu_instance_id = 5;
  b.profile = "1g.10gb";
  b.uuid = "MIG-bbbbbbbb-0000-1111-2222-333344445555";
  b.memory_total = 9ull << 30;
  b.memory_used = 0;
  h100.mig = {a, b};
  inv.gpus = {h100};
  return inv;
}

std::unique_ptr<ServerMetrics> populated() {
  auto made = ServerMetrics::make();
  EXPECT_TRUE(made.ok()) << (made.ok() ? "" : made.error().message);
  std::unique_ptr<ServerMetrics> m = std::move(made).value();
  m->on_request("/v1/chat/completions", 200, "qwen2.5-7b", "support-bot", 1.8);
  m->on_request("/v1/chat/completions", 503, "qwen2.5-7b", "batch", 0.002);
  m->on_request("/v1/embeddings", 200, "bge-m3", "", 0.04);
  m->on_request("/health", 200, "", "", 0.0001);
  m->on_queued("qwen2.5-7b", "support-bot", 0.3);
  const RequestSeries s = m->request_series("qwen2.5-7b", "support-bot");
  m->on_first_token(s, 0.42);
  for (int i = 0; i < 20; ++i) m->on_token(s, 0.031);
  m->on_tokens(s, 812, 21);
  m->on_tokens("bge-m3", "", 64, 0);
  m->observe_batch("qwen2.5-7b", 3);
  m->set_kv_cache_usage("qwen2.5-7b", 1024, 16384);
  m->set_kv_cache_usage("gone-model", 5, 10);  // not loaded at scrape: dropped
  return m;
}

gpu::BackendChoice cpu_fallback() {
  gpu::BackendChoice c;
  c.backend = "cpu";
  c.reason = "driver 470.x supports CUDA 11.4; this build needs \"12.0\"\nsee tessera doctor";
  return c;
}

struct CheckResult {
  int exit_code = -1;
  std::string output;
};

// Pipes `text` to `promtool check metrics`, returning its exit code and what it printed.
CheckResult promtool_check(const std::string& text) {
  const std::filesystem::path file = std::filesystem::temp_directory_path() /
                                     ("tessera_metrics_" + std::to_string(::getpid()) + ".txt");
  {
    std::ofstream out(file, std::ios::binary);
    out << text;
  }
  CheckResult r;
  std::string cmd = "promtool check metrics < '";
  cmd.append(file.string()).append("' 2>&1");
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return r;
  char buf[4096];
  size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.output.append(buf, n);
  const int status = ::pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::filesystem::remove(file);
  return r;
}

TEST(ServerMetrics, PromtoolAcceptsAFullScrape) {
  ASSERT_EQ(std::system("command -v promtool > /dev/null 2>&1"), 0)
      << "promtool is missing: install the Debian package `prometheus` "
         "(scripts/install-deps.sh does)";
  auto m = populated();
  const std::string text = m->scrape(two_models(), mig_gpu(), cpu_fallback());
  const CheckResult r = promtool_check(text);
  EXPECT_EQ(r.exit_code, 0) << r.output << "\n--- the text checked:\n" << text;
  EXPECT_EQ(r.output, "") << text;
}

TEST(ServerMetrics, ScrapeCarriesTheSourcesFacts) {
  auto m = populated();
  const std::string text = m->scrape(two_models(), mig_gpu(), cpu_fallback());
  const auto has = [&](const std::string& line) {
    return text.find(line + "\n") != std::string::npos;
  };
  EXPECT_TRUE(has("tessera_num_requests_waiting 5"));
  EXPECT_TRUE(has("tessera_num_requests_running{model=\"qwen2.5-7b\"} 3"));
  EXPECT_TRUE(has("tessera_model_evictions_total 2"));
  EXPECT_TRUE(has("tessera_requests_refused_total{reason=\"busy\"} 1"));
  EXPECT_TRUE(has("tessera_model_load_duration_seconds{model=\"qwen2.5-7b\"} 2.75"));
  EXPECT_TRUE(
      has("tessera_model_memory_bytes{model=\"qwen2.5-7b\",place=\"gpu0/mig3\"} 6442450944"));
  EXPECT_TRUE(has("tessera_kv_cache_usage_perc{model=\"qwen2.5-7b\"} 0.0625"));
  EXPECT_EQ(text.find("gone-model"), std::string::npos);
  EXPECT_TRUE(has(
      "tessera_gpu_memory_used_bytes{gpu=\"0\",uuid=\"MIG-aaaaaaaa-0000-1111-2222-333344445555\","
      "mig_profile=\"2g.20gb\",mig_instance=\"3\"} 6442450944"));
  EXPECT_TRUE(has(
      "tessera_gpu_utilization_ratio{gpu=\"0\",uuid=\"GPU-5e1f7c2a-0000-1111-2222-333344445555\","
      "mig_profile=\"\",mig_instance=\"\"} 0.37"));
  EXPECT_TRUE(
      has("tessera_backend_info{backend=\"cpu\",reason=\"driver 470.x supports CUDA 11.4; "
          "this build needs \\\"12.0\\\"\\nsee tessera doctor\"} 1"));
  EXPECT_TRUE(
      has("tessera_time_to_first_token_seconds_count{model=\"qwen2.5-7b\","
          "app=\"support-bot\"} 1"));
  EXPECT_TRUE(
      has("tessera_inter_token_latency_seconds_count{model=\"qwen2.5-7b\","
          "app=\"support-bot\"} 20"));
  EXPECT_TRUE(has("tessera_prompt_tokens_total{model=\"qwen2.5-7b\",app=\"support-bot\"} 812"));
  EXPECT_TRUE(
      has("tessera_http_requests_total{route=\"/v1/chat/completions\",status=\"503\","
          "model=\"qwen2.5-7b\",app=\"batch\"} 1"));
  // Only the successful request naming a model counts as end-to-end latency.
  EXPECT_TRUE(
      has("tessera_e2e_request_latency_seconds_count{model=\"qwen2.5-7b\","
          "app=\"support-bot\"} 1"));
  EXPECT_EQ(
      text.find("tessera_e2e_request_latency_seconds_count{model=\"qwen2.5-7b\",app=\"batch\""),
      std::string::npos);
}

TEST(ServerMetrics, SeriesOfUnloadedModelsAndRemovedGpusGoAway) {
  auto m = populated();
  (void)m->scrape(two_models(), mig_gpu(), cpu_fallback());
  const std::string empty = m->scrape(runtime::SchedulerStatus{}, gpu::Inventory{}, cpu_fallback());
  EXPECT_EQ(empty.find("tessera_num_requests_running{"), std::string::npos);
  EXPECT_EQ(empty.find("tessera_gpu_memory_used_bytes{"), std::string::npos);
  EXPECT_EQ(empty.find("tessera_kv_cache_usage_perc{"), std::string::npos);
  // Request-path counters are cumulative and stay.
  EXPECT_NE(empty.find("tessera_prompt_tokens_total{model=\"qwen2.5-7b\""), std::string::npos);
  const CheckResult r = promtool_check(empty);
  EXPECT_EQ(r.exit_code, 0) << r.output;
}

}  // namespace
}  // namespace tessera::server
