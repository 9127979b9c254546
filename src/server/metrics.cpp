#include "server/metrics.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <set>

#include "util/utf8.h"

namespace tessera::server::metrics {
namespace {

bool is_snake_case(std::string_view s) {
  if (s.empty() || (s[0] >= '0' && s[0] <= '9')) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

Error invalid(std::string_view what, std::string_view name, std::string_view rule) {
  std::string m(what);
  m.append(" \"").append(name).append("\": ").append(rule);
  return make_error(ErrorCode::invalid_argument, std::move(m));
}

void append_sample(std::string& out, std::string_view name, std::string_view labels, double value) {
  out.append(name);
  if (!labels.empty()) out.append("{").append(labels).append("}");
  out.append(" ").append(format_value(value)).append("\n");
}

}  // namespace

const char* metric_type_name(MetricType type) {
  switch (type) {
    case MetricType::counter:
      return "counter";
    case MetricType::gauge:
      return "gauge";
    case MetricType::histogram:
      return "histogram";
  }
  return "untyped";
}

Status check_metric_name(std::string_view name, MetricType type) {
  if (!is_snake_case(name)) {
    return invalid("metric name", name,
                   "use lower-case snake_case: [a-z_][a-z0-9_]* (no colons, no upper case)");
  }
  for (std::string_view reserved : {"_bucket", "_count", "_sum"}) {
    if (name.ends_with(reserved)) {
      return invalid("metric name", name,
                     "the suffixes _bucket, _count and _sum belong to histograms' series");
    }
  }
  const bool total = name.ends_with("_total");
  if (type == MetricType::counter && !total) {
    return invalid("metric name", name, "a counter's name ends in _total");
  }
  if (type != MetricType::counter && total) {
    return invalid("metric name", name, "only a counter's name ends in _total");
  }
  return {};
}

Status check_label_names(const std::vector<std::string>& names, MetricType type) {
  std::set<std::string_view> seen;
  for (const std::string& n : names) {
    if (!is_snake_case(n)) return invalid("label name", n, "use lower-case snake_case");
    if (n.starts_with("__")) return invalid("label name", n, "names starting with __ are reserved");
    if (type == MetricType::histogram && n == "le") {
      return invalid("label name", n, "a histogram's buckets use le");
    }
    if (!seen.insert(n).second) return invalid("label name", n, "given twice");
  }
  return {};
}

Status check_bucket_bounds(const std::vector<double>& bounds) {
  if (bounds.empty()) return make_error(ErrorCode::invalid_argument, "a histogram needs buckets");
  for (size_t i = 0; i < bounds.size(); ++i) {
    if (!std::isfinite(bounds[i])) {
      return make_error(ErrorCode::invalid_argument,
                        "bucket bounds must be finite (+Inf is always the last bucket)");
    }
    if (i > 0 && !(bounds[i] > bounds[i - 1])) {
      return make_error(ErrorCode::invalid_argument, "bucket bounds must be strictly increasing");
    }
  }
  return {};
}

std::string escape_label_value(std::string_view value) {
  const std::string valid = utf8::is_valid(value) ? std::string(value) : utf8::sanitize(value);
  std::string out;
  out.reserve(valid.size());
  for (char c : valid) {
    if (c == '\\') {
      out.append("\\\\");
    } else if (c == '"') {
      out.append("\\\"");
    } else if (c == '\n') {
      out.append("\\n");
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string escape_help(std::string_view help) {
  std::string out;
  out.reserve(help.size());
  for (char c : help) {
    if (c == '\\') {
      out.append("\\\\");
    } else if (c == '\n') {
      out.append("\\n");
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string format_value(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  char buf[64];
  const auto res = std::to_chars(buf, buf + sizeof buf, value);
  return std::string(buf, res.ptr);
}

void Counter::inc(double by) {
  if (by > 0) value_.fetch_add(by, std::memory_order_relaxed);  // false for NaN too
}

Histogram::Histogram(std::shared_ptr<const std::vector<double>> bounds)
    : bounds_(std::move(bounds)),
      counts_(std::make_unique<std::atomic<uint64_t>[]>(bounds_->size() + 1)) {}

void Histogram::observe(double v) {
  if (std::isnan(v)) return;
  const auto it = std::lower_bound(bounds_->begin(), bounds_->end(), v);
  counts_[static_cast<size_t>(it - bounds_->begin())].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
}

std::vector<uint64_t> Histogram::cumulative_counts() const {
  std::vector<uint64_t> out(bounds_->size() + 1);
  uint64_t running = 0;
  for (size_t i = 0; i < out.size(); ++i) {
    running += counts_[i].load(std::memory_order_relaxed);
    out[i] = running;
  }
  return out;
}

uint64_t Histogram::count() const {
  return cumulative_counts().back();
}

FamilyBase::FamilyBase(std::string name, std::string help, MetricType type,
                       std::vector<std::string> label_names)
    : name_(std::move(name)),
      help_(std::move(help)),
      type_(type),
      label_names_(std::move(label_names)) {}

void FamilyBase::render(std::string& out) const {
  out.append("# HELP ").append(name_).append(" ").append(escape_help(help_)).append("\n");
  out.append("# TYPE ").append(name_).append(" ").append(metric_type_name(type_)).append("\n");
  render_children(out);
}

std::string FamilyBase::format_labels(const LabelValues& values) const {
  std::string out;
  for (size_t i = 0; i < label_names_.size() && i < values.size(); ++i) {
    if (i > 0) out.push_back(',');
    out.append(label_names_[i]).append("=\"").append(escape_label_value(values[i])).append("\"");
  }
  return out;
}

CounterFamily::CounterFamily(std::string name, std::string help,
                             std::vector<std::string> label_names)
    : Family(std::move(name), std::move(help), MetricType::counter, std::move(label_names)) {
  add_unlabelled_child();
}

void CounterFamily::render_child(std::string& out, const std::string& labels,
                                 const Counter& c) const {
  append_sample(out, name(), labels, c.value());
}

SourcedCounterFamily::SourcedCounterFamily(std::string name, std::string help,
                                           std::vector<std::string> label_names)
    : Family(std::move(name), std::move(help), MetricType::counter, std::move(label_names)) {
  add_unlabelled_child();
}

void SourcedCounterFamily::render_child(std::string& out, const std::string& labels,
                                        const SourcedCounter& c) const {
  append_sample(out, name(), labels, c.value());
}

GaugeFamily::GaugeFamily(std::string name, std::string help, std::vector<std::string> label_names)
    : Family(std::move(name), std::move(help), MetricType::gauge, std::move(label_names)) {
  add_unlabelled_child();
}

void GaugeFamily::render_child(std::string& out, const std::string& labels, const Gauge& g) const {
  append_sample(out, name(), labels, g.value());
}

HistogramFamily::HistogramFamily(std::string name, std::string help,
                                 std::vector<std::string> label_names, std::vector<double> bounds)
    : Family(std::move(name), std::move(help), MetricType::histogram, std::move(label_names)),
      bounds_(std::make_shared<const std::vector<double>>(std::move(bounds))) {
  add_unlabelled_child();
}

void HistogramFamily::render_child(std::string& out, const std::string& labels,
                                   const Histogram& h) const {
  const std::vector<uint64_t> cumulative = h.cumulative_counts();
  const std::string bucket = std::string(name()).append("_bucket");
  std::string prefix = labels;
  if (!prefix.empty()) prefix.push_back(',');
  for (size_t i = 0; i < cumulative.size(); ++i) {
    std::string le = prefix;
    le.append("le=\"");
    le.append(i < bounds_->size() ? format_value((*bounds_)[i]) : "+Inf");
    le.append("\"");
    append_sample(out, bucket, le, static_cast<double>(cumulative[i]));
  }
  append_sample(out, std::string(name()).append("_sum"), labels, h.sum());
  append_sample(out, std::string(name()).append("_count"), labels,
                static_cast<double>(cumulative.back()));
}

Status Registry::check_new(const std::string& name, MetricType type,
                           const std::vector<std::string>& label_names) const {
  TESSERA_TRY(check_metric_name(name, type));
  TESSERA_TRY(check_label_names(label_names, type));
  for (const auto& f : families_) {
    if (f->name() == name) return invalid("metric name", name, "already registered");
  }
  return {};
}

Result<CounterFamily*> Registry::add_counter(std::string name, std::string help,
                                             std::vector<std::string> label_names) {
  std::lock_guard<std::mutex> lock(mu_);
  TESSERA_TRY(check_new(name, MetricType::counter, label_names));
  auto f =
      std::make_unique<CounterFamily>(std::move(name), std::move(help), std::move(label_names));
  CounterFamily* p = f.get();
  families_.push_back(std::move(f));
  return p;
}

Result<SourcedCounterFamily*> Registry::add_sourced_counter(std::string name, std::string help,
                                                            std::vector<std::string> label_names) {
  std::lock_guard<std::mutex> lock(mu_);
  TESSERA_TRY(check_new(name, MetricType::counter, label_names));
  auto f = std::make_unique<SourcedCounterFamily>(std::move(name), std::move(help),
                                                  std::move(label_names));
  SourcedCounterFamily* p = f.get();
  families_.push_back(std::move(f));
  return p;
}

Result<GaugeFamily*> Registry::add_gauge(std::string name, std::string help,
                                         std::vector<std::string> label_names) {
  std::lock_guard<std::mutex> lock(mu_);
  TESSERA_TRY(check_new(name, MetricType::gauge, label_names));
  auto f = std::make_unique<GaugeFamily>(std::move(name), std::move(help), std::move(label_names));
  GaugeFamily* p = f.get();
  families_.push_back(std::move(f));
  return p;
}

Result<HistogramFamily*> Registry::add_histogram(std::string name, std::string help,
                                                 std::vector<std::string> label_names,
                                                 std::vector<double> bounds) {
  std::lock_guard<std::mutex> lock(mu_);
  TESSERA_TRY(check_new(name, MetricType::histogram, label_names));
  TESSERA_TRY(check_bucket_bounds(bounds));
  auto f = std::make_unique<HistogramFamily>(std::move(name), std::move(help),
                                             std::move(label_names), std::move(bounds));
  HistogramFamily* p = f.get();
  families_.push_back(std::move(f));
  return p;
}

std::string Registry::render() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::string out;
  for (const auto& f : families_) f->render(out);
  return out;
}

}  // namespace tessera::server::metrics
