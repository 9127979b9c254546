// A small metrics registry rendered in Prometheus' text exposition format (version 0.0.4), for
// the server's GET /metrics.
//
//   - A family is one metric name with its HELP text, TYPE and label names; its children are
//     the series, one per set of label values, created at zero on first use. A family without
//     labels has its one child from the start, so it renders 0 before anything happens.
//   - Counters only go up (inc); a SourcedCounter is a counter whose running total is kept
//     elsewhere (the scheduler's counters) and copied in at scrape time with set(). Both render
//     as TYPE counter. Gauges go up and down. Histograms have fixed bucket upper bounds;
//     they render cumulative _bucket{le=...} series, +Inf last and equal to _count, then _sum
//     and _count.
//   - Names are checked when a family is added (errors as values, nothing is added): metric
//     names are lower-case snake_case ([a-z_][a-z0-9_]*, no colons: those are for recording
//     rules), counters end in _total and other types do not, no type ends in _bucket, _count
//     or _sum (histograms add those); label names are lower-case snake_case, not starting with
//     "__", unique, and "le" is not allowed on histograms. A name used twice is refused.
//   - Label values are any text: rendered with \\, \" and \n escaped, and ill-formed UTF-8
//     replaced by U+FFFD. HELP text has \\ and \n escaped.
//   - Output is deterministic: families in the order they were added, children ordered by
//     their label values.
//
// Threads: everything is thread-safe. The hot path is a child handle that the caller keeps
// (labels() returns a reference that stays valid until remove()/clear() of that child) and
// updates with atomics; labels() itself takes the family's mutex for a map lookup. The
// registry owns its families; the pointers add_*() return live as long as the registry.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace tessera::server::metrics {

enum class MetricType { counter, gauge, histogram };
const char* metric_type_name(MetricType type);  // "counter", "gauge", "histogram"

using LabelValues = std::vector<std::string>;

// The checks of the header comment; invalid_argument errors naming the name and the rule.
Status check_metric_name(std::string_view name, MetricType type);
Status check_label_names(const std::vector<std::string>& names, MetricType type);
// Bucket upper bounds: at least one, finite, strictly increasing (+Inf is implied).
Status check_bucket_bounds(const std::vector<double>& bounds);

// Text-format pieces, exposed for tests.
std::string escape_label_value(std::string_view value);
std::string escape_help(std::string_view help);
// Shortest text that reads back as the same double: "0", "1024", "0.005", "1e+20", "+Inf",
// "-Inf", "NaN".
std::string format_value(double value);

class Counter {
 public:
  // Adds `by`; a negative or NaN amount is ignored (a counter never goes down).
  void inc(double by = 1);
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// A counter whose total is counted by someone else and copied in (at scrape time).
class SourcedCounter {
 public:
  void set(double total) { value_.store(total, std::memory_order_relaxed); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

class Gauge {
 public:
  void set(double v) { value_.store(v, std::memory_order_relaxed); }
  void add(double by) { value_.fetch_add(by, std::memory_order_relaxed); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

class Histogram {
 public:
  // `bounds`: checked by the family (check_bucket_bounds); shared by its children.
  explicit Histogram(std::shared_ptr<const std::vector<double>> bounds);
  // Counts v in the first bucket whose bound is >= v (+Inf past the last); NaN is ignored.
  void observe(double v);
  // Cumulative counts, one per bound and the +Inf one last (== count()).
  std::vector<uint64_t> cumulative_counts() const;
  uint64_t count() const;
  double sum() const { return sum_.load(std::memory_order_relaxed); }
  const std::vector<double>& bounds() const { return *bounds_; }

 private:
  std::shared_ptr<const std::vector<double>> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;  // per bucket, not cumulative; +Inf last
  std::atomic<double> sum_{0};
};

// What every family has; renders its HELP and TYPE lines, then its children's samples.
class FamilyBase {
 public:
  FamilyBase(std::string name, std::string help, MetricType type,
             std::vector<std::string> label_names);
  virtual ~FamilyBase() = default;
  FamilyBase(const FamilyBase&) = delete;
  FamilyBase& operator=(const FamilyBase&) = delete;

  const std::string& name() const { return name_; }
  const std::string& help() const { return help_; }
  MetricType type() const { return type_; }
  const std::vector<std::string>& label_names() const { return label_names_; }

  void render(std::string& out) const;

 protected:
  virtual void render_children(std::string& out) const = 0;
  // `a="x",b="y"` for these values (no braces; "" without labels).
  std::string format_labels(const LabelValues& values) const;

 private:
  std::string name_, help_;
  MetricType type_;
  std::vector<std::string> label_names_;
};

// A family of Child series keyed by label values. Passing as many values as the family has
// label names is the caller's contract (asserted); in release builds missing values are
// taken as "" and extra ones dropped.
template <class Child>
class Family : public FamilyBase {
 public:
  using FamilyBase::FamilyBase;

  // The child of these label values, created at zero on first use.
  Child& labels(LabelValues values) {
    fit_to_label_names(values);
    std::lock_guard<std::mutex> lock(mu_);
    auto it = children_.find(values);
    if (it == children_.end()) it = children_.emplace(std::move(values), make_child()).first;
    return *it->second;
  }
  // Drops a series (for scrape-time families whose subjects went away). A handle to it must
  // not be used after.
  void remove(LabelValues values) {
    fit_to_label_names(values);
    std::lock_guard<std::mutex> lock(mu_);
    children_.erase(values);
  }
  // Drops every series (a family without labels keeps its one, reset to zero).
  void clear() {
    std::lock_guard<std::mutex> lock(mu_);
    children_.clear();
    if (label_names().empty()) children_.emplace(LabelValues{}, make_child());
  }
  std::vector<LabelValues> label_sets() const {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<LabelValues> sets;
    for (const auto& [values, child] : children_) sets.push_back(values);
    return sets;
  }

 protected:
  virtual std::unique_ptr<Child> make_child() const = 0;
  // Subclasses call this at the end of their constructor (make_child is virtual).
  void add_unlabelled_child() {
    if (label_names().empty()) children_.emplace(LabelValues{}, make_child());
  }
  void render_children(std::string& out) const override {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [values, child] : children_) render_child(out, format_labels(values), *child);
  }
  virtual void render_child(std::string& out, const std::string& labels,
                            const Child& child) const = 0;

 private:
  void fit_to_label_names(LabelValues& values) const;

  mutable std::mutex mu_;
  std::map<LabelValues, std::unique_ptr<Child>> children_;
};

class CounterFamily final : public Family<Counter> {
 public:
  CounterFamily(std::string name, std::string help, std::vector<std::string> label_names);

 private:
  std::unique_ptr<Counter> make_child() const override { return std::make_unique<Counter>(); }
  void render_child(std::string& out, const std::string& labels, const Counter& c) const override;
};

class SourcedCounterFamily final : public Family<SourcedCounter> {
 public:
  SourcedCounterFamily(std::string name, std::string help, std::vector<std::string> label_names);

 private:
  std::unique_ptr<SourcedCounter> make_child() const override {
    return std::make_unique<SourcedCounter>();
  }
  void render_child(std::string& out, const std::string& labels,
                    const SourcedCounter& c) const override;
};

class GaugeFamily final : public Family<Gauge> {
 public:
  GaugeFamily(std::string name, std::string help, std::vector<std::string> label_names);

 private:
  std::unique_ptr<Gauge> make_child() const override { return std::make_unique<Gauge>(); }
  void render_child(std::string& out, const std::string& labels, const Gauge& g) const override;
};

class HistogramFamily final : public Family<Histogram> {
 public:
  HistogramFamily(std::string name, std::string help, std::vector<std::string> label_names,
                  std::vector<double> bounds);
  const std::vector<double>& bounds() const { return *bounds_; }

 private:
  std::unique_ptr<Histogram> make_child() const override {
    return std::make_unique<Histogram>(bounds_);
  }
  void render_child(std::string& out, const std::string& labels, const Histogram& h) const override;

  std::shared_ptr<const std::vector<double>> bounds_;
};

class Registry {
 public:
  // Each checks the names (and bounds) and refuses a name already in the registry.
  Result<CounterFamily*> add_counter(std::string name, std::string help,
                                     std::vector<std::string> label_names = {});
  Result<SourcedCounterFamily*> add_sourced_counter(std::string name, std::string help,
                                                    std::vector<std::string> label_names = {});
  Result<GaugeFamily*> add_gauge(std::string name, std::string help,
                                 std::vector<std::string> label_names = {});
  Result<HistogramFamily*> add_histogram(std::string name, std::string help,
                                         std::vector<std::string> label_names,
                                         std::vector<double> bounds);

  // Every family in the text exposition format 0.0.4 (Content-Type
  // "text/plain; version=0.0.4; charset=utf-8").
  std::string render() const;

 private:
  Status check_new(const std::string& name, MetricType type,
                   const std::vector<std::string>& label_names) const;

  mutable std::mutex mu_;
  std::vector<std::unique_ptr<FamilyBase>> families_;
};

template <class Child>
void Family<Child>::fit_to_label_names(LabelValues& values) const {
  assert(values.size() == label_names().size());
  values.resize(label_names().size());
}

}  // namespace tessera::server::metrics
