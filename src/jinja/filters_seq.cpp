// Filters over sequences and mappings: length, join, map, select, sort, dictsort, ...
// Filters that Jinja2 implements as generators (map, select, reject, selectattr,
// rejectattr, unique, batch) return lists of the generator flavor: true even when empty.
#include <algorithm>

#include "jinja/builtin_tables.h"
#include "jinja/format.h"
#include "jinja/ops.h"
#include "jinja/text.h"

namespace tessera::jinja {
namespace {

Result<Value> f_length(Runtime&, const Value& input, CallArgs& args) {
  JINJA_BIND_ARGS("length", {});
  (void)a;
  switch (input.kind()) {
    case Value::Kind::undefined:
      return Value::integer(0);
    case Value::Kind::string:
      return Value::integer(static_cast<int64_t>(text::count_code_points(input.str())));
    case Value::Kind::list:
      return Value::integer(static_cast<int64_t>(input.items().size()));
    case Value::Kind::dict:
      return Value::integer(static_cast<int64_t>(input.dict().size()));
    default:
      return type_error(std::string("object of type '") + type_name(input) + "' has no len()");
  }
}

Result<Value> f_list(Runtime& rt, const Value& input, CallArgs& args) {
  JINJA_BIND_ARGS("list", {});
  (void)a;
  TESSERA_TRY_ASSIGN(items, iterate(rt, input));
  return Value::list(std::move(items));
}

Result<Value> f_first(Runtime& rt, const Value& input, CallArgs& args) {
  JINJA_BIND_ARGS("first", {});
  (void)a;
  if (input.is_string() && !input.str().empty()) {
    size_t i = 0;
    text::decode(input.str(), i);
    return Value::string(input.str().substr(0, i));
  }
  TESSERA_TRY_ASSIGN(items, iterate(rt, input));
  if (items.empty()) return Value::undefined("No first item, sequence was empty.");
  return items.front();
}

Result<Value> f_last(Runtime& rt, const Value& input, CallArgs& args) {
  JINJA_BIND_ARGS("last", {});
  (void)a;
  TESSERA_TRY_ASSIGN(items, iterate(rt, input));
  if (items.empty()) return Value::undefined("No last item, sequence was empty.");
  return items.back();
}

Result<Value> f_join(Runtime& rt, const Value& input, CallArgs& args) {
  JINJA_BIND_ARGS("join", {"d", "attribute"});
  TESSERA_TRY_ASSIGN(items, iterate(rt, input));
  TESSERA_TRY_ASSIGN(sep, soft_str(rt, a[0] ? *a[0] : Value::string("")));
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    Value item = items[i];
    if (a[1] && !a[1]->is_none()) {
      TESSERA_TRY_ASSIGN(attr, get_attribute_path(item, *a[1], nullptr));
      item = std::move(attr);
    }
    TESSERA_TRY_ASSIGN(s, soft_str(rt, item));
    TESSERA_TRY(rt.reserve_string(out.size() + s.size() + sep.size()));
    if (i) out += sep;
    out += s;
  }
  return Value::string(std::move(out));
}

Result<Value> f_items(Runtime& rt, const Value& input, CallArgs& args) {
  JINJA_BIND_ARGS("items", {});
  (void)a;
  if (input.is_undefined()) return Value::list({}, ListFlavor::dict_items);
  if (!input.is_dict()) return type_error("Can only get item pairs from a mapping.");
  TESSERA_TRY(rt.reserve_items(input.dict().size()));
  std::vector<Value> items;
  for (const auto& [k, v] : input.dict().entries()) {
    items.push_back(Value::list({k, v}, ListFlavor::tuple));
  }
  return Value::list(std::move(items), ListFlavor::dict_items);
}

// Sorts values by keys (parallel vector) with Python's stable sort; TypeError when Python
// could not order the keys.
Status sort_by_keys(Runtime& rt, std::vector<Value>& values, std::vector<Value>& keys,
                    bool reverse) {
  uint64_t log2 = 1;
  while ((uint64_t{1} << log2) < values.size()) ++log2;
  TESSERA_TRY(rt.charge(values.size() * log2));
  std::vector<size_t> order(values.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  bool mismatch = false;
  std::stable_sort(order.begin(), order.end(), [&](size_t x, size_t y) {
    const int c = sort_compare(keys[x], keys[y], &mismatch);
    return reverse ? c > 0 : c < 0;
  });
  if (mismatch) return type_error("'<' not supported between the sorted values (mixed types)");
  std::vector<Value> sorted;
  sorted.reserve(values.size());
  for (size_t i : order) sorted.push_back(std::move(values[i]));
  values = std::move(sorted);
  return {};
}

Result<Value> f_dictsort(Runtime& rt, const Value& input, CallArgs& args) {
  JINJA_BIND_ARGS("dictsort", {"case_sensitive", "by", "reverse"});
  if (input.is_undefined()) return undefined_error(input);
  if (!input.is_dict()) {
    return type_error(std::string("dictsort: a mapping is required, not ") + type_name(input));
  }
  const bool case_sensitive = a[0] && truthy(*a[0]);
  TESSERA_TRY_ASSIGN(by, str_arg("dictsort", a[1], "key"));
  if (by != "key" && by != "value") {
    return type_error("You can only sort by either 'key' or 'value'");
  }
  TESSERA_TRY(rt.reserve_items(input.dict().size()));
  std::vector<Value> pairs;
  std::vector<Value> keys;
  for (const auto& [k, v] : input.dict().entries()) {
    pairs.push_back(Value::list({k, v}, ListFlavor::tuple));
    const Value& key = by == "key" ? k : v;
    keys.push_back(case_sensitive ? key : ignore_case(key));
  }
  TESSERA_TRY(sort_by_keys(rt, pairs, keys, a[2] && truthy(*a[2])));
  return Value::list(std::move(pairs));
}

// The key values for sort/unique/min/max: an attribute path, case folded.
Result<std::vector<Value>> sort_keys(const std::vector<Value>& items, const Value* attribute,
                                     bool case_sensitive) {
  std::vector<Value> keys;
  keys.reserve(items.size());
  // "a,b" sorts by several attributes (Jinja's make_multi_attrgetter).
  std::vector<Value> paths;
  if (attribute && attribute->is_string() && attribute->str().find(',') != std::string::npos) {
    std::vector<std::string> parts;
    const std::string comma = ",";
    text::split(attribute->str(), &comma, -1, 64, parts);
    for (auto& p : parts) paths.push_back(Value::string(std::move(p)));
  } else if (attribute && !attribute->is_none()) {
    paths.push_back(*attribute);
  }
  for (const Value& item : items) {
    std::vector<Value> parts;
    for (const Value& path : paths) {
      auto k = get_attribute_path(item, path, nullptr);
      if (!k.ok()) return k.error();
      parts.push_back(case_sensitive ? std::move(k).value() : ignore_case(*k));
    }
    if (paths.empty()) {
      keys.push_back(case_sensitive ? item : ignore_case(item));
    } else if (paths.size() == 1) {
      keys.push_back(std::move(parts[0]));
    } else {
      keys.push_back(Value::list(std::move(parts), ListFlavor::tuple));
    }
  }
  return keys;
}

Result<Value> f_sort(Runtime& rt, const Value& input, CallArgs& args) {
  JINJA_BIND_ARGS("sort", {"reverse", "case_sensitive", "attribute"});
  TESSERA_TRY_ASSIGN(items, iterate(rt, input));
  TESSERA_TRY_ASSIGN(keys, sort_keys(items, a[2], a[1] && truthy(*a[1])));
  TESSERA_TRY(sort_by_keys(rt, items, keys, a[0] && truthy(*a[0])));
  return Value::list(std::move(items));
}

Result<Value> f_reverse(Runtime& rt, const Value& input, CallArgs& args) {
  JINJA_BIND_ARGS("reverse", {});
  (void)a;
  if (input.is_string()) {
    const auto offsets = text::code_point_offsets(input.str());
    std::string out;
    out.reserve(input.str().size());
    for (size_t k = offsets.size() - 1; k > 0; --k) {
      out.append(input.str(), offsets[k - 1], offsets[k] - offsets[k - 1]);
    }
    return Value::string(std::move(out));
  }
  TESSERA_TRY_ASSIGN(items, iterate(rt, input));
  std::reverse(items.begin(), items.end());
  return Value::list(std::move(items));
}

Result<Value> f_unique(Runtime& rt, const Value& input, CallArgs& args) {
  JINJA_BIND_ARGS("unique", {"case_sensitive", "attribute"});
  TESSERA_TRY_ASSIGN(items, iterate(rt, input));
  TESSERA_TRY_ASSIGN(keys, sort_keys(items, a[1], a[0] && truthy(*a[0])));
  std::vector<Value> out;
  std::vector<const Value*> seen;
  for (size_t i = 0; i < items.size(); ++i) {
    TESSERA_TRY(rt.charge(1 + seen.size()));
    bool dup = false;
    for (const Value* s : seen) dup = dup || equal(*s, keys[i]);
    if (dup) continue;
    seen.push_back(&keys[i]);
    out.push_back(items[i]);
  }
  return Value::list(std::move(out), ListFlavor::generator);
}

Result<Value> min_max(Runtime& rt, const Value& input, CallArgs& args, bool want_max) {
  JINJA_BIND_ARGS(want_max ? "max" : "min", {"case_sensitive", "attribute"});
  TESSERA_TRY_ASSIGN(items, iterate(rt, input));
  if (items.empty()) return Value::undefined("No aggregated item, sequence was empty.");
  TESSERA_TRY_ASSIGN(keys, sort_keys(items, a[1], a[0] && truthy(*a[0])));
  bool mismatch = false;
  size_t best = 0;
  for (size_t i = 1; i < items.size(); ++i) {
    const int c = sort_compare(keys[i], keys[best], &mismatch);
    if (want_max ? c > 0 : c < 0) best = i;
  }
  if (mismatch) return type_error("'<' not supported between the compared values (mixed types)");
  return items[best];
}

Result<Value> f_min(Runtime& rt, const Value& input, CallArgs& args) {
  return min_max(rt, input, args, false);
}
Result<Value> f_max(Runtime& rt, const Value& input, CallArgs& args) {
  return min_max(rt, input, args, true);
}

Result<Value> f_sum(Runtime& rt, const Value& input, CallArgs& args) {
  JINJA_BIND_ARGS("sum", {"attribute", "start"});
  TESSERA_TRY_ASSIGN(items, iterate(rt, input));
  Value total = a[1] ? *a[1] : Value::integer(0);
  for (const Value& item : items) {
    Value v = item;
    if (a[0] && !a[0]->is_none()) {
      TESSERA_TRY_ASSIGN(attr, get_attribute_path(item, *a[0], nullptr));
      v = std::move(attr);
    }
    if (total.is_string() || v.is_string()) {
      return type_error(std::string("unsupported operand type(s) for +: '") + type_name(total) +
                        "' and '" + type_name(v) + "'");
    }
    TESSERA_TRY_ASSIGN(next, binary_op(rt, BinaryOp::add, total, v));
    total = std::move(next);
  }
  return total;
}

// Applies the test named by args[first] (or truthiness) for select/reject & co.
Result<bool> run_test(Runtime& rt, const Value& v, const CallArgs& args, size_t first) {
  if (args.positional.size() <= first) return truthy(v);
  const Value& name = args.positional[first];
  if (!name.is_string()) return type_error("the test name must be a string");
  const TestFn test = find_test(name.str());
  if (!test) return type_error(std::string("No test named '") + name.str() + "'.");
  CallArgs test_args;
  test_args.positional.assign(args.positional.begin() + static_cast<std::ptrdiff_t>(first) + 1,
                              args.positional.end());
  test_args.keywords = args.keywords;
  return test(rt, v, test_args);
}

Result<Value> select_impl(Runtime& rt, const Value& input, CallArgs& args, bool attr, bool keep) {
  TESSERA_TRY_ASSIGN(items, iterate(rt, input));
  if (attr && args.positional.empty()) return type_error("Missing parameter for attribute name");
  std::vector<Value> out;
  for (const Value& item : items) {
    TESSERA_TRY(rt.charge(1));
    Value subject = item;
    if (attr) {
      TESSERA_TRY_ASSIGN(v, get_attribute_path(item, args.positional[0], nullptr));
      subject = std::move(v);
    }
    TESSERA_TRY_ASSIGN(pass, run_test(rt, subject, args, attr ? 1 : 0));
    if (pass == keep) out.push_back(item);
  }
  return Value::list(std::move(out), ListFlavor::generator);
}

Result<Value> f_select(Runtime& rt, const Value& input, CallArgs& args) {
  return select_impl(rt, input, args, false, true);
}
Result<Value> f_reject(Runtime& rt, const Value& input, CallArgs& args) {
  return select_impl(rt, input, args, false, false);
}
Result<Value> f_selectattr(Runtime& rt, const Value& input, CallArgs& args) {
  return select_impl(rt, input, args, true, true);
}
Result<Value> f_rejectattr(Runtime& rt, const Value& input, CallArgs& args) {
  return select_impl(rt, input, args, true, false);
}

Result<Value> f_map(Runtime& rt, const Value& input, CallArgs& args) {
  TESSERA_TRY_ASSIGN(items, iterate(rt, input));
  std::vector<Value> out;
  out.reserve(items.size());
  if (args.positional.empty()) {
    const Value* attribute = nullptr;
    const Value* fallback = nullptr;
    for (const auto& [k, v] : args.keywords) {
      if (k == "attribute") {
        attribute = &v;
      } else if (k == "default") {
        fallback = &v;
      } else {
        return type_error(std::string("map(): unexpected keyword argument '") + k + "'");
      }
    }
    if (!attribute) return type_error("map requires a filter argument");
    for (const Value& item : items) {
      TESSERA_TRY(rt.charge(1));
      TESSERA_TRY_ASSIGN(v, get_attribute_path(item, *attribute, fallback));
      out.push_back(std::move(v));
    }
    return Value::list(std::move(out), ListFlavor::generator);
  }
  const Value& name = args.positional[0];
  if (!name.is_string()) return type_error("map(): the filter name must be a string");
  const FilterFn filter = find_filter(name.str());
  if (!filter) return type_error(std::string("No filter named '") + name.str() + "'.");
  for (const Value& item : items) {
    TESSERA_TRY(rt.charge(1));
    CallArgs filter_args;
    filter_args.positional.assign(args.positional.begin() + 1, args.positional.end());
    filter_args.keywords = args.keywords;
    TESSERA_TRY_ASSIGN(v, filter(rt, item, filter_args));
    out.push_back(std::move(v));
  }
  return Value::list(std::move(out), ListFlavor::generator);
}

Result<Value> f_batch(Runtime& rt, const Value& input, CallArgs& args) {
  JINJA_BIND_ARGS("batch", {"linecount", "fill_with"}, 1);
  TESSERA_TRY_ASSIGN(count, int_arg("batch", a[0], 1));
  if (count <= 0) return type_error("batch(): linecount must be positive");
  TESSERA_TRY_ASSIGN(items, iterate(rt, input));
  std::vector<Value> out;
  std::vector<Value> row;
  for (const Value& item : items) {
    row.push_back(item);
    if (static_cast<int64_t>(row.size()) == count) {
      out.push_back(Value::list(std::move(row))), row = {};
    }
  }
  if (!row.empty()) {
    if (a[1] && !a[1]->is_none()) {
      TESSERA_TRY(rt.reserve_items(static_cast<uint64_t>(count)));
      while (static_cast<int64_t>(row.size()) < count) row.push_back(*a[1]);
    }
    out.push_back(Value::list(std::move(row)));
  }
  return Value::list(std::move(out), ListFlavor::generator);
}

Result<Value> f_slice(Runtime& rt, const Value& input, CallArgs& args) {
  JINJA_BIND_ARGS("slice", {"slices", "fill_with"}, 1);
  TESSERA_TRY_ASSIGN(slices, int_arg("slice", a[0], 1));
  if (slices <= 0) return type_error("slice(): slices must be positive");
  TESSERA_TRY_ASSIGN(seq, iterate(rt, input));
  TESSERA_TRY(rt.reserve_items(static_cast<uint64_t>(slices)));
  const auto length = static_cast<int64_t>(seq.size());
  const int64_t per_slice = length / slices;
  const int64_t with_extra = length % slices;
  int64_t offset = 0;
  std::vector<Value> out;
  for (int64_t n = 0; n < slices; ++n) {
    const int64_t start = offset + n * per_slice;
    if (n < with_extra) ++offset;
    const int64_t end = offset + (n + 1) * per_slice;
    std::vector<Value> part(seq.begin() + start, seq.begin() + end);
    if (a[1] && !a[1]->is_none() && n >= with_extra) part.push_back(*a[1]);
    out.push_back(Value::list(std::move(part)));
  }
  return Value::list(std::move(out), ListFlavor::generator);
}

constexpr FilterEntry kSequenceFilters[] = {
    {"batch", f_batch},
    {"count", f_length},
    {"dictsort", f_dictsort},
    {"first", f_first},
    {"items", f_items},
    {"join", f_join},
    {"last", f_last},
    {"length", f_length},
    {"list", f_list},
    {"map", f_map},
    {"max", f_max},
    {"min", f_min},
    {"reject", f_reject},
    {"rejectattr", f_rejectattr},
    {"reverse", f_reverse},
    {"select", f_select},
    {"selectattr", f_selectattr},
    {"slice", f_slice},
    {"sort", f_sort},
    {"sum", f_sum},
    {"unique", f_unique},
};

}  // namespace

std::span<const FilterEntry> sequence_filters() {
  return kSequenceFilters;
}

Result<Value> get_attribute_path(const Value& item, const Value& attribute,
                                 const Value* default_value) {
  Value v = item;
  if (attribute.is_integral()) {
    auto r = get_item(v, attribute);
    if (!r.ok()) return r.error();
    v = std::move(r).value();
  } else {
    if (!attribute.is_string()) return type_error("attribute must be a string or an integer");
    const std::string& path = attribute.str();
    size_t start = 0;
    while (true) {
      const size_t dot = path.find('.', start);
      const std::string part =
          path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
      const bool digits = !part.empty() && part.size() < 18 &&
                          part.find_first_not_of("0123456789") == std::string::npos;
      auto r = get_item(v, digits ? Value::integer(std::stoll(part)) : Value::string(part));
      if (!r.ok()) return r.error();
      v = std::move(r).value();
      if (dot == std::string::npos) break;
      start = dot + 1;
    }
  }
  if (default_value && v.is_undefined()) return *default_value;
  return v;
}

Value ignore_case(const Value& v) {
  if (v.is_string()) return Value::string(text::lower(v.str()));
  return v;
}

}  // namespace tessera::jinja
