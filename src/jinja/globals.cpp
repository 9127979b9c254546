// Global functions: range, dict, namespace, cycler, joiner (Jinja2's), raise_exception and
// strftime_now (Hugging Face's chat template additions).
#include <ctime>

#include "jinja/builtins.h"
#include "jinja/format.h"
#include "jinja/ops.h"

namespace tessera::jinja {
namespace {

using FunctionFn = Result<Value> (*)(Runtime& rt, CallArgs& args);

class Function final : public Object {
 public:
  Function(std::string_view name, FunctionFn fn) : name_(name), fn_(fn) {}
  std::string_view type_name() const override { return "builtin_function_or_method"; }
  Status append_repr(std::string& out, size_t, int) const override {
    out += std::string("<built-in function ") + std::string(name_) + ">";
    return {};
  }
  bool callable() const override { return true; }
  Result<Value> call(Runtime& rt, CallArgs& args) const override { return fn_(rt, args); }

 private:
  std::string_view name_;
  FunctionFn fn_;
};

// Jinja2's sandbox refuses bigger ranges (MAX_RANGE).
constexpr int64_t kMaxRange = 100000;

Result<Value> fn_range(Runtime& rt, CallArgs& args) {
  if (!args.keywords.empty()) return type_error("range() takes no keyword arguments");
  const auto& p = args.positional;
  if (p.empty() || p.size() > 3) {
    return type_error(std::string("range expected 1 to 3 arguments, got ") +
                      std::to_string(p.size()));
  }
  for (const Value& v : p) {
    if (!v.is_integral()) {
      return type_error(std::string("'") + type_name(v) +
                        "' object cannot be interpreted as an integer");
    }
  }
  const int64_t start = p.size() == 1 ? 0 : p[0].int_value();
  const int64_t stop = p.size() == 1 ? p[0].int_value() : p[1].int_value();
  const int64_t step = p.size() == 3 ? p[2].int_value() : 1;
  if (step == 0) return type_error("range() arg 3 must not be zero");
  uint64_t count = 0;
  if (step > 0 && start < stop) {
    count = (static_cast<uint64_t>(stop) - static_cast<uint64_t>(start) - 1) /
                static_cast<uint64_t>(step) +
            1;
  } else if (step < 0 && start > stop) {
    count = (static_cast<uint64_t>(start) - static_cast<uint64_t>(stop) - 1) /
                (0 - static_cast<uint64_t>(step)) +
            1;
  }
  if (count > static_cast<uint64_t>(kMaxRange)) {
    return limit_error("range too big: the sandbox allows at most " + std::to_string(kMaxRange) +
                       " items");
  }
  TESSERA_TRY(rt.reserve_items(count));
  std::vector<Value> items;
  items.reserve(count);
  for (uint64_t i = 0; i < count; ++i) {
    items.push_back(Value::integer(start + static_cast<int64_t>(i) * step));
  }
  return Value::list(std::move(items));
}

// dict(mapping_or_pairs, **kwargs) into d.
Status fill_dict(Runtime& rt, const char* fn, CallArgs& args, Dict& d) {
  if (args.positional.size() > 1) {
    return type_error(std::string(fn) + " expected at most 1 positional argument, got " +
                      std::to_string(args.positional.size()));
  }
  if (!args.positional.empty()) {
    const Value& src = args.positional[0];
    if (src.is_dict()) {
      for (const auto& [k, v] : src.dict().entries()) d.set(k, v);
    } else {
      auto items = iterate(rt, src);
      if (!items.ok()) return items.error();
      for (const Value& pair : *items) {
        if (!pair.is_list() || pair.items().size() != 2) {
          return type_error(std::string(fn) + ": sequence elements must be key/value pairs");
        }
        if (!hashable(pair.items()[0])) {
          return type_error(std::string("unhashable type: '") + type_name(pair.items()[0]) + "'");
        }
        d.set(pair.items()[0], pair.items()[1]);
      }
    }
  }
  for (auto& [k, v] : args.keywords) d.set(Value::string(k), v);
  return rt.reserve_items(d.size());
}

Result<Value> fn_dict(Runtime& rt, CallArgs& args) {
  auto d = std::make_shared<Dict>();
  TESSERA_TRY(fill_dict(rt, "dict", args, *d));
  return Value::dict(std::move(d));
}

Result<Value> fn_namespace(Runtime& rt, CallArgs& args) {
  Dict d;
  TESSERA_TRY(fill_dict(rt, "namespace", args, d));
  std::vector<std::pair<std::string, Value>> attrs;
  for (const auto& [k, v] : d.entries()) {
    if (!k.is_string()) return type_error("namespace() keywords must be strings");
    attrs.emplace_back(k.str(), v);
  }
  auto ns = std::make_shared<const Namespace>(std::move(attrs));
  rt.track(ns);
  return Value::object(std::move(ns));
}

class Cycler final : public Object {
 public:
  explicit Cycler(std::vector<Value> items) : items_(std::move(items)) {}
  ~Cycler() override { release_values(items_); }
  std::string_view type_name() const override { return "Cycler"; }
  Value get_attr(std::string_view name) const override {
    if (name == "current") return items_[pos_];
    if (name == "next" || name == "reset") {
      return Value::object(std::make_shared<CyclerMethod>(this, name == "next"));
    }
    return Object::get_attr(name);
  }

 private:
  class CyclerMethod final : public Object {
   public:
    CyclerMethod(const Cycler* c, bool next) : cycler_(c), next_(next) {}
    std::string_view type_name() const override { return "builtin_function_or_method"; }
    bool callable() const override { return true; }
    Result<Value> call(Runtime&, CallArgs&) const override {
      if (!next_) {
        cycler_->pos_ = 0;
        return Value::none();
      }
      Value v = cycler_->items_[cycler_->pos_];
      cycler_->pos_ = (cycler_->pos_ + 1) % cycler_->items_.size();
      return v;
    }

   private:
    const Cycler* cycler_;  // methods are looked up and called while the cycler lives
    bool next_;
  };

  mutable std::vector<Value> items_;
  mutable size_t pos_ = 0;
};

Result<Value> fn_cycler(Runtime&, CallArgs& args) {
  if (args.positional.empty()) return type_error("at least one item has to be provided");
  return Value::object(std::make_shared<const Cycler>(args.positional));
}

class Joiner final : public Object {
 public:
  explicit Joiner(std::string sep) : sep_(std::move(sep)) {}
  std::string_view type_name() const override { return "Joiner"; }
  bool callable() const override { return true; }
  Result<Value> call(Runtime&, CallArgs&) const override {
    if (!used_) {
      used_ = true;
      return Value::string("");
    }
    return Value::string(sep_);
  }

 private:
  std::string sep_;
  mutable bool used_ = false;
};

Result<Value> fn_joiner(Runtime& rt, CallArgs& args) {
  auto a = bind_args("joiner", args, {"sep"});
  if (!a.ok()) return a.error();
  std::string sep = ", ";
  if ((*a)[0]) {
    auto s = to_str(rt, *(*a)[0]);
    if (!s.ok()) return s.error();
    sep = std::move(*s);
  }
  return Value::object(std::make_shared<const Joiner>(std::move(sep)));
}

Result<Value> fn_raise_exception(Runtime& rt, CallArgs& args) {
  auto a = bind_args("raise_exception", args, {"message"});
  if (!a.ok()) return a.error();
  std::string message = "raise_exception() called";
  if ((*a)[0]) {
    auto s = to_str(rt, *(*a)[0]);
    if (!s.ok()) return s.error();
    message = std::move(*s);
  }
  return Error{ErrorCode::invalid_argument, std::move(message)};
}

Result<Value> fn_strftime_now(Runtime& rt, CallArgs& args) {
  auto a = bind_args("strftime_now", args, {"format"}, 1);
  if (!a.ok()) return a.error();
  if (!(*a)[0]->is_string()) return type_error("strftime_now(): the format must be a string");
  const std::string& format = (*a)[0]->str();
  if (format.empty()) return Value::string("");
  if (format.size() > 4096) return type_error("strftime_now(): format too long");
  const std::time_t t = std::chrono::system_clock::to_time_t(rt.now());
  std::tm tm{};
  if (!localtime_r(&t, &tm)) return type_error("strftime_now(): the time cannot be represented");
  std::string buf(256 + format.size() * 16, '\0');
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
  const size_t n = std::strftime(buf.data(), buf.size(), format.c_str(), &tm);
#pragma GCC diagnostic pop
  buf.resize(n);
  return Value::string(std::move(buf));
}

const std::vector<std::pair<std::string, Value>>& make_globals() {
  static const auto* globals = [] {
    auto* g = new std::vector<std::pair<std::string, Value>>();
    auto add = [&](std::string_view name, FunctionFn fn) {
      g->emplace_back(std::string(name), Value::object(std::make_shared<const Function>(name, fn)));
    };
    add("cycler", fn_cycler);
    add("dict", fn_dict);
    add("joiner", fn_joiner);
    add("namespace", fn_namespace);
    add("raise_exception", fn_raise_exception);
    add("range", fn_range);
    add("strftime_now", fn_strftime_now);
    return g;
  }();
  return *globals;
}

}  // namespace

const std::vector<std::pair<std::string, Value>>& global_functions() {
  return make_globals();
}

}  // namespace tessera::jinja
