#include "server/metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <thread>

namespace tessera::server::metrics {
namespace {

TEST(Metrics, RendersASmallRegistryExactly) {
  Registry r;
  CounterFamily* requests = *r.add_counter("t_requests_total", "Requests.", {"route", "status"});
  GaugeFamily* waiting = *r.add_gauge("t_waiting", "Queued requests.");
  HistogramFamily* latency = *r.add_histogram("t_latency_seconds", "Latency.", {"model"}, {0.5, 1});
  requests->labels({"/v1/chat/completions", "200"}).inc();
  requests->labels({"/v1/chat/completions", "200"}).inc(2);
  requests->labels({"/health", "200"}).inc();
  waiting->labels({}).set(3);
  Histogram& h = latency->labels({"qwen"});
  h.observe(0.25);
  h.observe(0.5);  // le is inclusive
  h.observe(0.75);
  h.observe(7);
  EXPECT_EQ(r.render(),
            "# HELP t_requests_total Requests.\n"
            "# TYPE t_requests_total counter\n"
            "t_requests_total{route=\"/health\",status=\"200\"} 1\n"
            "t_requests_total{route=\"/v1/chat/completions\",status=\"200\"} 3\n"
            "# HELP t_waiting Queued requests.\n"
            "# TYPE t_waiting gauge\n"
            "t_waiting 3\n"
            "# HELP t_latency_seconds Latency.\n"
            "# TYPE t_latency_seconds histogram\n"
            "t_latency_seconds_bucket{model=\"qwen\",le=\"0.5\"} 2\n"
            "t_latency_seconds_bucket{model=\"qwen\",le=\"1\"} 3\n"
            "t_latency_seconds_bucket{model=\"qwen\",le=\"+Inf\"} 4\n"
            "t_latency_seconds_sum{model=\"qwen\"} 8.5\n"
            "t_latency_seconds_count{model=\"qwen\"} 4\n");
}

TEST(Metrics, UnlabelledFamiliesRenderZeroBeforeAnyUse) {
  Registry r;
  ASSERT_TRUE(r.add_counter("t_loads_total", "Loads.").ok());
  ASSERT_TRUE(r.add_histogram("t_batch", "Batch.", {}, {1, 2}).ok());
  EXPECT_EQ(r.render(),
            "# HELP t_loads_total Loads.\n# TYPE t_loads_total counter\nt_loads_total 0\n"
            "# HELP t_batch Batch.\n# TYPE t_batch histogram\n"
            "t_batch_bucket{le=\"1\"} 0\nt_batch_bucket{le=\"2\"} 0\n"
            "t_batch_bucket{le=\"+Inf\"} 0\nt_batch_sum 0\nt_batch_count 0\n");
}

TEST(Metrics, EscapesLabelValuesAndHelp) {
  EXPECT_EQ(escape_label_value("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
  EXPECT_EQ(escape_label_value("caf\xc3\xa9"), "caf\xc3\xa9");
  EXPECT_EQ(escape_label_value("bad\xff"), "bad\xef\xbf\xbd");  // U+FFFD
  EXPECT_EQ(escape_help("line\\one\ntwo \"q\""), "line\\\\one\\ntwo \"q\"");

  Registry r;
  GaugeFamily* g = *r.add_gauge("t_backend_info", "Back\\end\nchoice.", {"reason"});
  g->labels({"driver \"535\" too old\nsee doctor"}).set(1);
  EXPECT_EQ(r.render(),
            "# HELP t_backend_info Back\\\\end\\nchoice.\n"
            "# TYPE t_backend_info gauge\n"
            "t_backend_info{reason=\"driver \\\"535\\\" too old\\nsee doctor\"} 1\n");
}

TEST(Metrics, HistogramBucketsAreCumulativeAndInfEqualsCount) {
  Registry r;
  HistogramFamily* f = *r.add_histogram("t_size", "Size.", {}, {1, 2, 4, 8});
  Histogram& h = f->labels({});
  for (double v : {0.5, 1.0, 3.0, 3.0, 5.0, 100.0, 1e9}) h.observe(v);
  h.observe(std::nan(""));  // ignored
  const std::vector<uint64_t> c = h.cumulative_counts();
  EXPECT_EQ(c, (std::vector<uint64_t>{2, 2, 4, 5, 7}));
  EXPECT_EQ(c.back(), h.count());
  EXPECT_EQ(h.count(), 7u);
  EXPECT_NE(r.render().find("t_size_bucket{le=\"+Inf\"} 7\nt_size_sum 1000000112.5\n"
                            "t_size_count 7\n"),
            std::string::npos);
}

TEST(Metrics, CountersNeverGoDownAndSourcedCountersCopyATotal) {
  Registry r;
  CounterFamily* c = *r.add_counter("t_tokens_total", "Tokens.");
  c->labels({}).inc(5);
  c->labels({}).inc(-3);
  c->labels({}).inc(std::nan(""));
  EXPECT_EQ(c->labels({}).value(), 5);
  SourcedCounterFamily* s = *r.add_sourced_counter("t_evictions_total", "Evictions.");
  s->labels({}).set(42);
  EXPECT_NE(r.render().find("# TYPE t_evictions_total counter\nt_evictions_total 42\n"),
            std::string::npos);
}

TEST(Metrics, RefusesNamesThatBreakTheRules) {
  Registry r;
  EXPECT_FALSE(r.add_gauge("", "x").ok());
  EXPECT_FALSE(r.add_gauge("9lives", "x").ok());
  EXPECT_FALSE(r.add_gauge("tessera:recorded", "x").ok());  // colons: recording rules
  EXPECT_FALSE(r.add_gauge("tesseraQueue", "x").ok());
  EXPECT_FALSE(r.add_gauge("t-dash", "x").ok());
  EXPECT_FALSE(r.add_counter("t_requests", "x").ok());      // counters end in _total
  EXPECT_FALSE(r.add_gauge("t_requests_total", "x").ok());  // only counters do
  EXPECT_FALSE(r.add_gauge("t_items_count", "x").ok());
  EXPECT_FALSE(r.add_histogram("t_latency_bucket", "x", {}, {1}).ok());
  EXPECT_FALSE(r.add_gauge("t_ok", "x", {"__reserved"}).ok());
  EXPECT_FALSE(r.add_gauge("t_ok", "x", {"Model"}).ok());
  EXPECT_FALSE(r.add_gauge("t_ok", "x", {"model", "model"}).ok());
  EXPECT_FALSE(r.add_histogram("t_ok", "x", {"le"}, {1}).ok());
  EXPECT_FALSE(r.add_histogram("t_ok", "x", {}, {}).ok());
  EXPECT_FALSE(r.add_histogram("t_ok", "x", {}, {2, 1}).ok());
  EXPECT_FALSE(r.add_histogram("t_ok", "x", {}, {1, 1}).ok());
  EXPECT_FALSE(r.add_histogram("t_ok", "x", {}, {1, INFINITY}).ok());
  EXPECT_EQ(r.render(), "");  // nothing was added

  const Status bad = check_metric_name("t_requests", MetricType::counter);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("t_requests"), std::string::npos);
  EXPECT_NE(bad.error().message.find("_total"), std::string::npos);

  ASSERT_TRUE(r.add_gauge("t_ok", "x", {"model"}).ok());
  EXPECT_FALSE(r.add_gauge("t_ok", "again").ok());  // a name is registered once
}

TEST(Metrics, FormatsValuesAsPrometheusReadsThem) {
  EXPECT_EQ(format_value(0), "0");
  EXPECT_EQ(format_value(1024), "1024");
  EXPECT_EQ(format_value(0.005), "0.005");
  EXPECT_EQ(format_value(-2.5), "-2.5");
  EXPECT_EQ(format_value(INFINITY), "+Inf");
  EXPECT_EQ(format_value(-INFINITY), "-Inf");
  EXPECT_EQ(format_value(std::nan("")), "NaN");
  EXPECT_EQ(format_value(81920.0 * 1024 * 1024), "85899345920");
}

TEST(Metrics, RemovedSeriesAreGoneAndOthersStay) {
  Registry r;
  GaugeFamily* g = *r.add_gauge("t_running", "Running.", {"model"});
  g->labels({"a"}).set(1);
  g->labels({"b"}).set(2);
  g->remove({"a"});
  EXPECT_EQ(g->label_sets(), (std::vector<LabelValues>{{"b"}}));
  g->clear();
  EXPECT_TRUE(g->label_sets().empty());
}

TEST(Metrics, ConcurrentUpdatesAreAllCounted) {
  Registry r;
  CounterFamily* c = *r.add_counter("t_hits_total", "Hits.", {"model"});
  HistogramFamily* h = *r.add_histogram("t_itl_seconds", "ITL.", {"model"}, {0.01, 0.1});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([=] {
      Histogram& series = h->labels({"m"});
      for (int i = 0; i < 10000; ++i) {
        c->labels({"m"}).inc();
        series.observe(0.05);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(c->labels({"m"}).value(), 40000);
  EXPECT_EQ(h->labels({"m"}).count(), 40000u);
  EXPECT_EQ(h->labels({"m"}).cumulative_counts()[0], 0u);
}

}  // namespace
}  // namespace tessera::server::metrics
