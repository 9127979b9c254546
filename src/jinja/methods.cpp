// Methods of Python's str, list and dict that templates call ('a,b'.split(','), d.items(),
// d.get('k')). Like Jinja2's ImmutableSandboxedEnvironment, methods that would modify a list
// or dict are refused.
#include <algorithm>

#include "jinja/builtins.h"
#include "jinja/format.h"
#include "jinja/ops.h"
#include "jinja/text.h"

namespace tessera::jinja {
namespace {

using MethodFn = Result<Value> (*)(Runtime& rt, const Value& self, CallArgs& args);

class BoundMethod final : public Object {
 public:
  BoundMethod(Value self, std::string_view name, MethodFn fn)
      : self_(std::move(self)), name_(name), fn_(fn) {}
  std::string_view type_name() const override { return "builtin_function_or_method"; }
  Status append_repr(std::string& out, size_t, int) const override {
    out += std::string("<built-in method ") + std::string(name_) + " of " +
           jinja::type_name(self_) + " object>";
    return {};
  }
  bool callable() const override { return true; }
  Result<Value> call(Runtime& rt, CallArgs& args) const override { return fn_(rt, self_, args); }
  uint64_t work() const override { return work_of(self_); }

 private:
  Value self_;
  std::string_view name_;
  MethodFn fn_;
};

// s[start:end] of Python's str methods, in bytes; valid is false when start > end.
struct Span {
  size_t begin = 0;
  size_t end = 0;
  bool valid = true;
};

Result<Span> span_args(const std::string& s, const Value* start, const Value* end) {
  const bool ascii = text::is_ascii(s);
  const std::vector<size_t> offsets = ascii ? std::vector<size_t>() : text::code_point_offsets(s);
  const auto n = static_cast<int64_t>(ascii ? s.size() : offsets.size() - 1);
  auto norm = [&](const Value* v, int64_t fallback) -> Result<int64_t> {
    if (!v || v->is_none()) return fallback;
    if (!v->is_integral()) return type_error("slice indices must be integers or None");
    int64_t i = v->int_value();
    if (i < 0) i = std::max<int64_t>(0, i + n);
    return std::min(i, n);
  };
  auto b = norm(start, 0);
  if (!b.ok()) return b.error();
  auto e = norm(end, n);
  if (!e.ok()) return e.error();
  Span span;
  span.valid = *b <= *e;
  auto to_byte = [&](int64_t i) {
    return ascii ? static_cast<size_t>(i) : offsets[static_cast<size_t>(i)];
  };
  span.begin = to_byte(*b);
  span.end = to_byte(std::max(*b, *e));
  return span;
}

int64_t cp_index(const std::string& s, size_t byte) {
  return static_cast<int64_t>(text::count_code_points(std::string_view(s).substr(0, byte)));
}

Result<std::string> sub_arg(std::string_view fn, const Value* v) {
  if (!v || !v->is_string()) {
    return type_error(std::string(fn) + "() argument must be str, not " +
                      (v ? type_name(*v) : std::string("nothing")));
  }
  return v->str();
}

Result<Value> str_find_impl(const Value& self, CallArgs& args, std::string_view fn, bool reverse,
                            bool raise) {
  JINJA_BIND_ARGS(fn, {"sub", "start", "end"}, 1);
  auto sub = sub_arg(fn, a[0]);
  if (!sub.ok()) return sub.error();
  const std::string& s = self.str();
  auto span = span_args(s, a[1], a[2]);
  if (!span.ok()) return span.error();
  size_t hit = std::string::npos;
  if (span->valid && span->end - span->begin >= sub->size()) {
    const std::string_view window =
        std::string_view(s).substr(span->begin, span->end - span->begin);
    hit = reverse ? window.rfind(*sub) : window.find(*sub);
  }
  if (hit == std::string::npos) {
    if (raise) return type_error("substring not found");
    return Value::integer(-1);
  }
  return Value::integer(cp_index(s, span->begin + hit));
}

Result<Value> str_find(Runtime&, const Value& self, CallArgs& args) {
  return str_find_impl(self, args, "find", false, false);
}
Result<Value> str_rfind(Runtime&, const Value& self, CallArgs& args) {
  return str_find_impl(self, args, "rfind", true, false);
}
Result<Value> str_index(Runtime&, const Value& self, CallArgs& args) {
  return str_find_impl(self, args, "index", false, true);
}
Result<Value> str_rindex(Runtime&, const Value& self, CallArgs& args) {
  return str_find_impl(self, args, "rindex", true, true);
}

Result<Value> str_count(Runtime&, const Value& self, CallArgs& args) {
  JINJA_BIND_ARGS("count", {"sub", "start", "end"}, 1);
  auto sub = sub_arg("count", a[0]);
  if (!sub.ok()) return sub.error();
  auto span = span_args(self.str(), a[1], a[2]);
  if (!span.ok()) return span.error();
  if (!span->valid) return Value::integer(0);
  const std::string_view window =
      std::string_view(self.str()).substr(span->begin, span->end - span->begin);
  if (sub->empty()) {
    return Value::integer(static_cast<int64_t>(text::count_code_points(window)) + 1);
  }
  int64_t n = 0;
  for (size_t p = window.find(*sub); p != std::string_view::npos;
       p = window.find(*sub, p + sub->size())) {
    ++n;
  }
  return Value::integer(n);
}

Result<Value> affix_impl(const Value& self, CallArgs& args, std::string_view fn, bool start) {
  JINJA_BIND_ARGS(fn, {"prefix", "start", "end"}, 1);
  std::vector<Value> candidates;
  if (a[0]->is_list() && a[0]->flavor() == ListFlavor::tuple) {
    candidates = a[0]->items();
  } else {
    candidates.push_back(*a[0]);
  }
  auto span = span_args(self.str(), a[1], a[2]);
  if (!span.ok()) return span.error();
  const std::string_view window =
      std::string_view(self.str()).substr(span->begin, span->end - span->begin);
  for (const Value& c : candidates) {
    if (!c.is_string()) {
      return type_error(std::string(fn) + " first arg must be str or a tuple of str, not " +
                        type_name(c));
    }
    if (!span->valid || c.str().size() > window.size()) continue;
    if (start ? window.substr(0, c.str().size()) == c.str()
              : window.substr(window.size() - c.str().size()) == c.str()) {
      return Value::boolean(true);
    }
  }
  return Value::boolean(false);
}

Result<Value> str_startswith(Runtime&, const Value& self, CallArgs& args) {
  return affix_impl(self, args, "startswith", true);
}
Result<Value> str_endswith(Runtime&, const Value& self, CallArgs& args) {
  return affix_impl(self, args, "endswith", false);
}

Result<Value> strings_list(Runtime& rt, std::vector<std::string> parts, bool ok) {
  if (!ok) return limit_error("splitting made too many parts");
  TESSERA_TRY(rt.reserve_items(parts.size()));
  std::vector<Value> items;
  items.reserve(parts.size());
  for (auto& p : parts) items.push_back(Value::string(std::move(p)));
  return Value::list(std::move(items));
}

size_t max_parts(Runtime& rt) {
  return std::max<size_t>(1024, rt.options().max_output_bytes / 16);
}

Result<Value> split_impl(Runtime& rt, const Value& self, CallArgs& args, bool reverse) {
  const char* fn = reverse ? "rsplit" : "split";
  JINJA_BIND_ARGS(fn, {"sep", "maxsplit"});
  std::string sep;
  const bool has_sep = a[0] && !a[0]->is_none();
  if (has_sep) {
    auto s = sub_arg(fn, a[0]);
    if (!s.ok()) return s.error();
    sep = std::move(*s);
    if (sep.empty()) return type_error("empty separator");
  }
  auto maxsplit = int_arg(fn, a[1], -1);
  if (!maxsplit.ok()) return maxsplit.error();
  std::vector<std::string> parts;
  const std::string* sep_ptr = has_sep ? &sep : nullptr;
  const bool ok = reverse ? text::rsplit(self.str(), sep_ptr, *maxsplit, max_parts(rt), parts)
                          : text::split(self.str(), sep_ptr, *maxsplit, max_parts(rt), parts);
  return strings_list(rt, std::move(parts), ok);
}

Result<Value> str_split(Runtime& rt, const Value& self, CallArgs& args) {
  return split_impl(rt, self, args, false);
}
Result<Value> str_rsplit(Runtime& rt, const Value& self, CallArgs& args) {
  return split_impl(rt, self, args, true);
}

Result<Value> str_splitlines(Runtime& rt, const Value& self, CallArgs& args) {
  JINJA_BIND_ARGS("splitlines", {"keepends"});
  std::vector<std::string> parts;
  const bool ok = text::splitlines(self.str(), a[0] && truthy(*a[0]), max_parts(rt), parts);
  return strings_list(rt, std::move(parts), ok);
}

Result<Value> strip_impl(const Value& self, CallArgs& args, const char* fn, bool left, bool right) {
  JINJA_BIND_ARGS(fn, {"chars"});
  if (a[0] && !a[0]->is_none() && !a[0]->is_string()) {
    return type_error(std::string(fn) + " arg must be None or str");
  }
  const std::string* chars = (a[0] && a[0]->is_string()) ? &a[0]->str() : nullptr;
  return Value::string(std::string(text::strip(self.str(), chars, left, right)));
}

Result<Value> str_strip(Runtime&, const Value& self, CallArgs& args) {
  return strip_impl(self, args, "strip", true, true);
}
Result<Value> str_lstrip(Runtime&, const Value& self, CallArgs& args) {
  return strip_impl(self, args, "lstrip", true, false);
}
Result<Value> str_rstrip(Runtime&, const Value& self, CallArgs& args) {
  return strip_impl(self, args, "rstrip", false, true);
}

template <std::string (*F)(std::string_view)>
Result<Value> str_map(Runtime&, const Value& self, CallArgs& args) {
  JINJA_BIND_ARGS("str method", {});
  (void)a;
  return Value::string(F(self.str()));
}

template <text::StringClass C>
Result<Value> str_is(Runtime&, const Value& self, CallArgs& args) {
  JINJA_BIND_ARGS("str method", {});
  (void)a;
  return Value::boolean(text::string_is(self.str(), C));
}

Result<Value> str_isascii(Runtime&, const Value& self, CallArgs& args) {
  JINJA_BIND_ARGS("isascii", {});
  (void)a;
  return Value::boolean(text::is_ascii(self.str()));
}

Result<Value> str_replace(Runtime& rt, const Value& self, CallArgs& args) {
  JINJA_BIND_ARGS("replace", {"old", "new", "count"}, 2);
  auto old_s = sub_arg("replace", a[0]);
  if (!old_s.ok()) return old_s.error();
  auto new_s = sub_arg("replace", a[1]);
  if (!new_s.ok()) return new_s.error();
  auto count = int_arg("replace", a[2], -1);
  if (!count.ok()) return count.error();
  const std::string& s = self.str();
  const auto limit = static_cast<uint64_t>(*count < 0 ? INT64_MAX : *count);
  std::vector<size_t> hits;  // byte offsets where `new` goes
  if (old_s->empty()) {
    for (size_t i = 0; hits.size() < limit;) {
      hits.push_back(i);
      if (i >= s.size()) break;
      text::decode(s, i);
    }
  } else {
    for (size_t p = s.find(*old_s); p != std::string::npos && hits.size() < limit;
         p = s.find(*old_s, p + old_s->size())) {
      hits.push_back(p);
    }
  }
  const uint64_t size = s.size() + hits.size() * new_s->size() - hits.size() * old_s->size();
  TESSERA_TRY(rt.reserve_string(size));
  std::string out;
  out.reserve(size);
  size_t pos = 0;
  for (size_t h : hits) {
    out.append(s, pos, h - pos);
    out += *new_s;
    pos = h + old_s->size();
  }
  out.append(s, std::min(pos, s.size()));
  return Value::string(std::move(out));
}

Result<Value> str_join(Runtime& rt, const Value& self, CallArgs& args) {
  JINJA_BIND_ARGS("join", {"iterable"}, 1);
  auto items = iterate(rt, *a[0]);
  if (!items.ok()) return items.error();
  uint64_t size = 0;
  for (size_t i = 0; i < items->size(); ++i) {
    const Value& v = (*items)[i];
    if (!v.is_string()) {
      return type_error(std::string("sequence item ") + std::to_string(i) +
                        ": expected str instance, " + type_name(v) + " found");
    }
    size += v.str().size() + (i ? self.str().size() : 0);
  }
  TESSERA_TRY(rt.reserve_string(size));
  std::string out;
  out.reserve(size);
  for (size_t i = 0; i < items->size(); ++i) {
    if (i) out += self.str();
    out += (*items)[i].str();
  }
  return Value::string(std::move(out));
}

Result<Value> pad_impl(Runtime& rt, const Value& self, CallArgs& args, const char* fn, char mode) {
  JINJA_BIND_ARGS(fn, {"width", "fillchar"}, 1);
  auto width = int_arg(fn, a[0], 0);
  if (!width.ok()) return width.error();
  std::string fill = " ";
  if (a[1]) {
    if (!a[1]->is_string() || text::count_code_points(a[1]->str()) != 1) {
      return type_error("The fill character must be exactly one character long");
    }
    fill = a[1]->str();
  }
  const std::string& s = self.str();
  const auto len = static_cast<int64_t>(text::count_code_points(s));
  if (*width <= len) return self;
  const auto marg = static_cast<uint64_t>(*width - len);
  TESSERA_TRY(rt.reserve_string(s.size() + marg * fill.size()));
  uint64_t left = 0;
  if (mode == 'c') left = marg / 2 + (marg & static_cast<uint64_t>(*width) & 1);
  if (mode == 'r') left = marg;
  std::string out;
  for (uint64_t i = 0; i < left; ++i) out += fill;
  out += s;
  for (uint64_t i = left; i < marg; ++i) out += fill;
  return Value::string(std::move(out));
}

Result<Value> str_center(Runtime& rt, const Value& self, CallArgs& args) {
  return pad_impl(rt, self, args, "center", 'c');
}
Result<Value> str_ljust(Runtime& rt, const Value& self, CallArgs& args) {
  return pad_impl(rt, self, args, "ljust", 'l');
}
Result<Value> str_rjust(Runtime& rt, const Value& self, CallArgs& args) {
  return pad_impl(rt, self, args, "rjust", 'r');
}

Result<Value> str_zfill(Runtime& rt, const Value& self, CallArgs& args) {
  JINJA_BIND_ARGS("zfill", {"width"}, 1);
  auto width = int_arg("zfill", a[0], 0);
  if (!width.ok()) return width.error();
  const std::string& s = self.str();
  const auto len = static_cast<int64_t>(text::count_code_points(s));
  if (*width <= len) return self;
  TESSERA_TRY(rt.reserve_string(static_cast<uint64_t>(*width)));
  const size_t sign = (!s.empty() && (s[0] == '+' || s[0] == '-')) ? 1 : 0;
  return Value::string(s.substr(0, sign) + std::string(static_cast<size_t>(*width - len), '0') +
                       s.substr(sign));
}

Result<Value> partition_impl(const Value& self, CallArgs& args, bool reverse) {
  const char* fn = reverse ? "rpartition" : "partition";
  JINJA_BIND_ARGS(fn, {"sep"}, 1);
  auto sep = sub_arg(fn, a[0]);
  if (!sep.ok()) return sep.error();
  if (sep->empty()) return type_error("empty separator");
  const std::string& s = self.str();
  const size_t hit = reverse ? s.rfind(*sep) : s.find(*sep);
  std::vector<Value> parts;
  if (hit == std::string::npos) {
    parts = reverse ? std::vector<Value>{Value::string(""), Value::string(""), self}
                    : std::vector<Value>{self, Value::string(""), Value::string("")};
  } else {
    parts = {Value::string(s.substr(0, hit)), Value::string(*sep),
             Value::string(s.substr(hit + sep->size()))};
  }
  return Value::list(std::move(parts), ListFlavor::tuple);
}

Result<Value> str_partition(Runtime&, const Value& self, CallArgs& args) {
  return partition_impl(self, args, false);
}
Result<Value> str_rpartition(Runtime&, const Value& self, CallArgs& args) {
  return partition_impl(self, args, true);
}

Result<Value> affix_remove(const Value& self, CallArgs& args, bool prefix) {
  const char* fn = prefix ? "removeprefix" : "removesuffix";
  JINJA_BIND_ARGS(fn, {"affix"}, 1);
  auto affix = sub_arg(fn, a[0]);
  if (!affix.ok()) return affix.error();
  const std::string& s = self.str();
  if (affix->empty() || affix->size() > s.size()) return self;
  if (prefix && s.compare(0, affix->size(), *affix) == 0) {
    return Value::string(s.substr(affix->size()));
  }
  if (!prefix && s.compare(s.size() - affix->size(), affix->size(), *affix) == 0) {
    return Value::string(s.substr(0, s.size() - affix->size()));
  }
  return self;
}

Result<Value> str_removeprefix(Runtime&, const Value& self, CallArgs& args) {
  return affix_remove(self, args, true);
}
Result<Value> str_removesuffix(Runtime&, const Value& self, CallArgs& args) {
  return affix_remove(self, args, false);
}

Result<Value> str_format(Runtime& rt, const Value& self, CallArgs& args) {
  return brace_format(rt, self.str(), args);
}

Result<Value> list_count(Runtime&, const Value& self, CallArgs& args) {
  JINJA_BIND_ARGS("count", {"value"}, 1);
  int64_t n = 0;
  for (const Value& v : self.items()) n += equal(v, *a[0]) ? 1 : 0;
  return Value::integer(n);
}

Result<Value> list_index(Runtime&, const Value& self, CallArgs& args) {
  JINJA_BIND_ARGS("index", {"value", "start", "stop"}, 1);
  const auto& items = self.items();
  const auto n = static_cast<int64_t>(items.size());
  auto norm = [&](const Value* v, int64_t fallback) -> Result<int64_t> {
    auto i = int_arg("index", v, fallback);
    if (!i.ok()) return i.error();
    int64_t k = *i;
    if (k < 0) k = std::max<int64_t>(0, k + n);
    return std::min(k, n);
  };
  auto start = norm(a[1], 0);
  if (!start.ok()) return start.error();
  auto stop = norm(a[2], n);
  if (!stop.ok()) return stop.error();
  for (int64_t i = *start; i < *stop; ++i) {
    if (equal(items[static_cast<size_t>(i)], *a[0])) return Value::integer(i);
  }
  return type_error(scalar_str(*a[0]) + " is not in list");
}

Result<Value> copy_self(Runtime&, const Value& self, CallArgs& args) {
  JINJA_BIND_ARGS("copy", {});
  (void)a;
  return self;
}

Result<Value> dict_get(Runtime&, const Value& self, CallArgs& args) {
  JINJA_BIND_ARGS("get", {"key", "default"}, 1);
  if (hashable(*a[0])) {
    if (const Value* v = self.dict().find(*a[0])) return *v;
  }
  return a[1] ? *a[1] : Value::none();
}

template <ListFlavor F>
Result<Value> dict_view(Runtime& rt, const Value& self, CallArgs& args) {
  JINJA_BIND_ARGS("dict view", {});
  (void)a;
  const auto& entries = self.dict().entries();
  TESSERA_TRY(rt.reserve_items(entries.size()));
  std::vector<Value> items;
  items.reserve(entries.size());
  for (const auto& [k, v] : entries) {
    if (F == ListFlavor::dict_items) items.push_back(Value::list({k, v}, ListFlavor::tuple));
    if (F == ListFlavor::dict_keys) items.push_back(k);
    if (F == ListFlavor::dict_values) items.push_back(v);
  }
  return Value::list(std::move(items), F);
}

struct MethodEntry {
  std::string_view name;
  MethodFn fn;
};

constexpr MethodEntry kStrMethods[] = {
    {"capitalize", str_map<text::capitalize>},
    {"casefold", str_map<text::lower>},
    {"center", str_center},
    {"count", str_count},
    {"endswith", str_endswith},
    {"find", str_find},
    {"format", str_format},
    {"index", str_index},
    {"isalnum", str_is<text::StringClass::alnum>},
    {"isalpha", str_is<text::StringClass::alpha>},
    {"isascii", str_isascii},
    {"isdecimal", str_is<text::StringClass::decimal>},
    {"isdigit", str_is<text::StringClass::digit>},
    {"islower", str_is<text::StringClass::lower>},
    {"isnumeric", str_is<text::StringClass::numeric>},
    {"isspace", str_is<text::StringClass::space>},
    {"istitle", str_is<text::StringClass::title>},
    {"isupper", str_is<text::StringClass::upper>},
    {"join", str_join},
    {"ljust", str_ljust},
    {"lower", str_map<text::lower>},
    {"lstrip", str_lstrip},
    {"partition", str_partition},
    {"removeprefix", str_removeprefix},
    {"removesuffix", str_removesuffix},
    {"replace", str_replace},
    {"rfind", str_rfind},
    {"rindex", str_rindex},
    {"rjust", str_rjust},
    {"rpartition", str_rpartition},
    {"rsplit", str_rsplit},
    {"rstrip", str_rstrip},
    {"split", str_split},
    {"splitlines", str_splitlines},
    {"startswith", str_startswith},
    {"strip", str_strip},
    {"swapcase", str_map<text::swapcase>},
    {"title", str_map<text::python_title>},
    {"upper", str_map<text::upper>},
    {"zfill", str_zfill},
};

constexpr MethodEntry kListMethods[] = {
    {"copy", copy_self},
    {"count", list_count},
    {"index", list_index},
};

constexpr MethodEntry kDictMethods[] = {
    {"copy", copy_self},
    {"get", dict_get},
    {"items", dict_view<ListFlavor::dict_items>},
    {"keys", dict_view<ListFlavor::dict_keys>},
    {"values", dict_view<ListFlavor::dict_values>},
};

constexpr std::string_view kUnsafeListMethods[] = {"append", "clear",  "extend",  "insert",
                                                   "pop",    "remove", "reverse", "sort"};
constexpr std::string_view kUnsafeDictMethods[] = {"clear", "pop", "popitem", "setdefault",
                                                   "update"};

template <size_t N>
std::optional<Value> lookup(const MethodEntry (&table)[N], const Value& self,
                            std::string_view name) {
  for (const MethodEntry& m : table) {
    if (m.name == name) return Value::object(std::make_shared<BoundMethod>(self, m.name, m.fn));
  }
  return std::nullopt;
}

template <size_t N>
std::optional<Value> refuse(const std::string_view (&names)[N], const Value& self,
                            std::string_view name) {
  for (std::string_view n : names) {
    if (n == name) {
      return Value::undefined(std::string("access to attribute '") + std::string(name) + "' of '" +
                              type_name(self) + "' object is unsafe.");
    }
  }
  return std::nullopt;
}

}  // namespace

std::optional<Value> find_method(const Value& self, std::string_view name) {
  switch (self.kind()) {
    case Value::Kind::string:
      return lookup(kStrMethods, self, name);
    case Value::Kind::list:
      if (self.flavor() != ListFlavor::list && self.flavor() != ListFlavor::tuple) break;
      if (auto m = lookup(kListMethods, self, name)) return m;
      if (self.flavor() == ListFlavor::list) return refuse(kUnsafeListMethods, self, name);
      break;
    case Value::Kind::dict:
      if (auto m = lookup(kDictMethods, self, name)) return m;
      return refuse(kUnsafeDictMethods, self, name);
    default:
      break;
  }
  return std::nullopt;
}

}  // namespace tessera::jinja
