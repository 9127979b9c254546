#include "jinja/ops.h"

#include <cmath>

#include "jinja/builtins.h"
#include "jinja/format.h"
#include "jinja/stack_limit.h"
#include "jinja/text.h"

namespace tessera::jinja {
namespace {

const char* op_symbol(BinaryOp op) {
  switch (op) {
    case BinaryOp::add:
      return "+";
    case BinaryOp::sub:
      return "-";
    case BinaryOp::mul:
      return "*";
    case BinaryOp::div:
      return "/";
    case BinaryOp::floordiv:
      return "//";
    case BinaryOp::mod:
      return "%";
    case BinaryOp::pow:
      return "** or pow()";
    case BinaryOp::concat:
      return "~";
  }
  return "?";
}

const char* op_symbol(CompareOp op) {
  switch (op) {
    case CompareOp::lt:
      return "<";
    case CompareOp::le:
      return "<=";
    case CompareOp::gt:
      return ">";
    case CompareOp::ge:
      return ">=";
    default:
      return "==";
  }
}

Error unsupported_operands(BinaryOp op, const Value& a, const Value& b) {
  return type_error(std::string("unsupported operand type(s) for ") + op_symbol(op) + ": '" +
                    type_name(a) + "' and '" + type_name(b) + "'");
}

Error overflow() {
  return limit_error("integer result out of the 64-bit range");
}

Result<Value> int_pow(int64_t base, int64_t exp) {
  int64_t result = 1;
  while (exp > 0) {
    if (exp & 1) {
      if (__builtin_mul_overflow(result, base, &result)) return overflow();
    }
    exp >>= 1;
    if (exp > 0 && __builtin_mul_overflow(base, base, &base)) return overflow();
  }
  return Value::integer(result);
}

Result<Value> float_op(BinaryOp op, double x, double y) {
  switch (op) {
    case BinaryOp::add:
      return Value::floating(x + y);
    case BinaryOp::sub:
      return Value::floating(x - y);
    case BinaryOp::mul:
      return Value::floating(x * y);
    case BinaryOp::div:
      if (y == 0) return type_error("float division by zero");
      return Value::floating(x / y);
    case BinaryOp::floordiv:
    case BinaryOp::mod: {
      if (y == 0) return type_error("float modulo by zero");
      double mod = std::fmod(x, y);
      double div = (x - mod) / y;
      if (mod != 0) {
        if ((y < 0) != (mod < 0)) {
          mod += y;
          div -= 1.0;
        }
      } else {
        mod = std::copysign(0.0, y);
      }
      if (op == BinaryOp::mod) return Value::floating(mod);
      double floordiv = std::copysign(0.0, x / y);
      if (div != 0) {
        floordiv = std::floor(div);
        if (div - floordiv > 0.5) floordiv += 1.0;
      }
      return Value::floating(floordiv);
    }
    case BinaryOp::pow:
      if (x == 0 && y < 0) return type_error("0.0 cannot be raised to a negative power");
      if (x < 0 && y != std::floor(y)) {
        return type_error("a negative number to a fractional power has no real result");
      }
      return Value::floating(std::pow(x, y));
    case BinaryOp::concat:
      break;
  }
  return Value::none();
}

Result<Value> int_op(BinaryOp op, int64_t x, int64_t y) {
  int64_t r = 0;
  switch (op) {
    case BinaryOp::add:
      if (__builtin_add_overflow(x, y, &r)) return overflow();
      return Value::integer(r);
    case BinaryOp::sub:
      if (__builtin_sub_overflow(x, y, &r)) return overflow();
      return Value::integer(r);
    case BinaryOp::mul:
      if (__builtin_mul_overflow(x, y, &r)) return overflow();
      return Value::integer(r);
    case BinaryOp::div:
      if (y == 0) return type_error("division by zero");
      return Value::floating(static_cast<double>(x) / static_cast<double>(y));
    case BinaryOp::floordiv:
    case BinaryOp::mod: {
      if (y == 0) return type_error("integer division or modulo by zero");
      if (y == -1) {
        if (op == BinaryOp::mod) return Value::integer(0);
        if (x == INT64_MIN) return overflow();
        return Value::integer(-x);
      }
      int64_t q = x / y;
      int64_t m = x % y;
      if (m != 0 && ((m < 0) != (y < 0))) {
        m += y;
        --q;
      }
      return Value::integer(op == BinaryOp::mod ? m : q);
    }
    case BinaryOp::pow:
      if (y < 0) return float_op(op, static_cast<double>(x), static_cast<double>(y));
      return int_pow(x, y);
    case BinaryOp::concat:
      break;
  }
  return Value::none();
}

// seq * n for str and list.
Result<Value> repeat(Runtime& rt, const Value& seq, int64_t n) {
  if (seq.is_string()) {
    if (n <= 0 || seq.str().empty()) return Value::string("");
    uint64_t size = 0;
    if (__builtin_mul_overflow(static_cast<uint64_t>(seq.str().size()), static_cast<uint64_t>(n),
                               &size)) {
      size = UINT64_MAX;
    }
    TESSERA_TRY(rt.reserve_string(size));
    std::string out;
    out.reserve(size);
    for (int64_t i = 0; i < n; ++i) out += seq.str();
    return Value::string(std::move(out));
  }
  const auto& items = seq.items();
  if (n <= 0 || items.empty()) return Value::list({}, seq.flavor());
  uint64_t count = 0;
  if (__builtin_mul_overflow(static_cast<uint64_t>(items.size()), static_cast<uint64_t>(n),
                             &count)) {
    count = UINT64_MAX;
  }
  TESSERA_TRY(rt.reserve_items(count));
  std::vector<Value> out;
  out.reserve(count);
  for (int64_t i = 0; i < n; ++i) out.insert(out.end(), items.begin(), items.end());
  return Value::list(std::move(out), seq.flavor());
}

bool is_plain_sequence(const Value& v) {
  return v.is_list() && (v.flavor() == ListFlavor::list || v.flavor() == ListFlavor::tuple);
}

Result<bool> compare_numbers(CompareOp op, const Value& a, const Value& b) {
  const long double x = a.is_float() ? a.number_value() : static_cast<long double>(a.int_value());
  const long double y = b.is_float() ? b.number_value() : static_cast<long double>(b.int_value());
  switch (op) {
    case CompareOp::lt:
      return x < y;
    case CompareOp::le:
      return x <= y;
    case CompareOp::gt:
      return x > y;
    default:
      return x >= y;
  }
}

Result<bool> order(CompareOp op, const Value& a, const Value& b, int depth) {
  if (a.is_undefined()) return undefined_error(a);
  if (b.is_undefined()) return undefined_error(b);
  if (a.is_number() && b.is_number()) return compare_numbers(op, a, b);
  if (a.is_string() && b.is_string()) {
    const int c = a.str().compare(b.str());
    switch (op) {
      case CompareOp::lt:
        return c < 0;
      case CompareOp::le:
        return c <= 0;
      case CompareOp::gt:
        return c > 0;
      default:
        return c >= 0;
    }
  }
  if (is_plain_sequence(a) && is_plain_sequence(b) && a.flavor() == b.flavor() &&
      depth < kMaxValueDepth && !stack_nearly_exhausted()) {
    const auto& x = a.items();
    const auto& y = b.items();
    for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
      if (!equal(x[i], y[i])) return order(op, x[i], y[i], depth + 1);
    }
    return compare_numbers(op, Value::integer(static_cast<int64_t>(x.size())),
                           Value::integer(static_cast<int64_t>(y.size())));
  }
  return type_error(std::string("'") + op_symbol(op) + "' not supported between instances of '" +
                    type_name(a) + "' and '" + type_name(b) + "'");
}

int kind_rank(const Value& v) {
  if (v.is_number()) return 0;
  if (v.is_string()) return 1;
  if (v.is_list()) return 2;
  return 3;
}

Value no_attribute(const Value& obj, std::string_view name) {
  return Value::undefined(std::string("'") + object_description(obj) + "' has no attribute '" +
                          std::string(name) + "'");
}

Value no_element(const Value& obj, const Value& key) {
  std::string key_repr;
  (void)append_repr(key_repr, key, 4096);
  return Value::undefined(object_description(obj) + " has no element " + key_repr);
}

// Python's slice index normalization (PySlice_AdjustIndices).
void adjust_slice(int64_t len, std::optional<int64_t> start, std::optional<int64_t> stop,
                  int64_t step, int64_t& first, int64_t& last) {
  auto clamp = [&](std::optional<int64_t> v, int64_t dflt) {
    if (!v) return dflt;
    int64_t i = *v;
    if (i < 0) {
      i += len;
      if (i < 0) i = step < 0 ? -1 : 0;
    } else if (i >= len) {
      i = step < 0 ? len - 1 : len;
    }
    return i;
  };
  first = clamp(start, step < 0 ? len - 1 : 0);
  last = clamp(stop, step < 0 ? -1 : len);
}

}  // namespace

Result<Value> binary_op(Runtime& rt, BinaryOp op, const Value& a, const Value& b) {
  if (op == BinaryOp::concat) {
    auto x = to_str(rt, a);
    if (!x.ok()) return x.error();
    auto y = to_str(rt, b);
    if (!y.ok()) return y.error();
    TESSERA_TRY(rt.reserve_string(x->size() + y->size()));
    return Value::string(std::move(*x) + *y);
  }
  if (a.is_undefined()) return undefined_error(a);
  if (b.is_undefined()) return undefined_error(b);
  if (a.is_number() && b.is_number()) {
    if (a.is_float() || b.is_float() || (op == BinaryOp::div)) {
      if (op == BinaryOp::div && !a.is_float() && !b.is_float()) {
        return int_op(op, a.int_value(), b.int_value());
      }
      return float_op(op, a.number_value(), b.number_value());
    }
    return int_op(op, a.int_value(), b.int_value());
  }
  switch (op) {
    case BinaryOp::add:
      if (a.is_string()) {
        if (!b.is_string()) {
          return type_error(std::string("can only concatenate str (not \"") + type_name(b) +
                            "\") to str");
        }
        TESSERA_TRY(rt.reserve_string(a.str().size() + b.str().size()));
        return Value::string(a.str() + b.str());
      }
      if (is_plain_sequence(a)) {
        if (!is_plain_sequence(b) || a.flavor() != b.flavor()) {
          return type_error(std::string("can only concatenate ") + type_name(a) + " (not \"" +
                            type_name(b) + "\") to " + type_name(a));
        }
        TESSERA_TRY(rt.reserve_items(a.items().size() + b.items().size()));
        std::vector<Value> items = a.items();
        items.insert(items.end(), b.items().begin(), b.items().end());
        return Value::list(std::move(items), a.flavor());
      }
      break;
    case BinaryOp::mul:
      if ((a.is_string() || is_plain_sequence(a)) && b.is_integral()) {
        return repeat(rt, a, b.int_value());
      }
      if ((b.is_string() || is_plain_sequence(b)) && a.is_integral()) {
        return repeat(rt, b, a.int_value());
      }
      if (a.is_string() || is_plain_sequence(a)) {
        return type_error(std::string("can't multiply sequence by non-int of type '") +
                          type_name(b) + "'");
      }
      break;
    case BinaryOp::mod:
      if (a.is_string()) return percent_format(rt, a.str(), b);
      break;
    default:
      break;
  }
  return unsupported_operands(op, a, b);
}

Result<Value> negate(const Value& v) {
  if (v.is_undefined()) return undefined_error(v);
  if (v.is_float()) return Value::floating(-v.number_value());
  if (v.is_integral()) {
    if (v.int_value() == INT64_MIN) return overflow();
    return Value::integer(-v.int_value());
  }
  return type_error(std::string("bad operand type for unary -: '") + type_name(v) + "'");
}

Result<bool> compare(CompareOp op, const Value& a, const Value& b) {
  switch (op) {
    case CompareOp::eq:
      return equal(a, b);
    case CompareOp::ne:
      return !equal(a, b);
    case CompareOp::in:
      return contains(b, a);
    case CompareOp::not_in: {
      auto r = contains(b, a);
      if (!r.ok()) return r.error();
      return !*r;
    }
    default:
      return order(op, a, b, 0);
  }
}

Result<bool> contains(const Value& container, const Value& item) {
  switch (container.kind()) {
    case Value::Kind::undefined:
      return false;
    case Value::Kind::string:
      if (!item.is_string()) {
        return type_error(std::string("'in <string>' requires string as left operand, not ") +
                          type_name(item));
      }
      return container.str().find(item.str()) != std::string::npos;
    case Value::Kind::list:
      for (const Value& v : container.items()) {
        if (equal(v, item)) return true;
      }
      return false;
    case Value::Kind::dict:
      if (!hashable(item)) {
        return type_error(std::string("unhashable type: '") + type_name(item) + "'");
      }
      return container.dict().find(item) != nullptr;
    default:
      return type_error(std::string("argument of type '") + type_name(container) +
                        "' is not iterable");
  }
}

int sort_compare(const Value& a, const Value& b, bool* type_mismatch, int depth) {
  if (a.is_number() && b.is_number()) {
    const long double x = a.is_float() ? a.number_value() : static_cast<long double>(a.int_value());
    const long double y = b.is_float() ? b.number_value() : static_cast<long double>(b.int_value());
    const bool xn = std::isnan(x);
    const bool yn = std::isnan(y);
    if (xn || yn) return xn == yn ? 0 : (xn ? 1 : -1);
    return x < y ? -1 : (y < x ? 1 : 0);
  }
  const int ra = kind_rank(a);
  const int rb = kind_rank(b);
  if (ra != rb) {
    *type_mismatch = true;
    return ra < rb ? -1 : 1;
  }
  if (a.is_string()) {
    const int c = a.str().compare(b.str());
    return c < 0 ? -1 : (c > 0 ? 1 : 0);
  }
  if (a.is_list() && depth < kMaxValueDepth && !stack_nearly_exhausted()) {
    if (a.flavor() != b.flavor()) *type_mismatch = true;
    const auto& x = a.items();
    const auto& y = b.items();
    for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
      const int c = sort_compare(x[i], y[i], type_mismatch, depth + 1);
      if (c != 0) return c;
    }
    return x.size() < y.size() ? -1 : (x.size() > y.size() ? 1 : 0);
  }
  *type_mismatch = true;
  return 0;
}

Result<Value> get_attr(const Value& obj, std::string_view name) {
  switch (obj.kind()) {
    case Value::Kind::undefined:
      return undefined_error(obj);
    case Value::Kind::object:
      return obj.object().get_attr(name);
    case Value::Kind::dict: {
      if (auto m = find_method(obj, name)) return *m;
      if (const Value* v = obj.dict().find(name)) return *v;
      return no_attribute(obj, name);
    }
    default:
      if (auto m = find_method(obj, name)) return *m;
      return no_attribute(obj, name);
  }
}

Result<Value> get_item(const Value& obj, const Value& key) {
  switch (obj.kind()) {
    case Value::Kind::undefined:
      return undefined_error(obj);
    case Value::Kind::dict:
      if (hashable(key)) {
        if (const Value* v = obj.dict().find(key)) return *v;
      }
      break;
    case Value::Kind::list: {
      const ListFlavor f = obj.flavor();
      if (!key.is_integral() || (f != ListFlavor::list && f != ListFlavor::tuple)) break;
      const auto& items = obj.items();
      int64_t i = key.int_value();
      if (i < 0) i += static_cast<int64_t>(items.size());
      if (i >= 0 && i < static_cast<int64_t>(items.size())) return items[static_cast<size_t>(i)];
      return no_element(obj, key);
    }
    case Value::Kind::string: {
      if (!key.is_integral()) break;
      const std::string& s = obj.str();
      int64_t i = key.int_value();
      if (text::is_ascii(s)) {
        if (i < 0) i += static_cast<int64_t>(s.size());
        if (i >= 0 && i < static_cast<int64_t>(s.size())) {
          return Value::string(std::string(1, s[static_cast<size_t>(i)]));
        }
        return no_element(obj, key);
      }
      const std::vector<size_t> offsets = text::code_point_offsets(s);
      const auto n = static_cast<int64_t>(offsets.size() - 1);
      if (i < 0) i += n;
      if (i < 0 || i >= n) return no_element(obj, key);
      const size_t at = offsets[static_cast<size_t>(i)];
      return Value::string(s.substr(at, offsets[static_cast<size_t>(i) + 1] - at));
    }
    case Value::Kind::object:
      if (key.is_string()) return obj.object().get_attr(key.str());
      return no_element(obj, key);
    default:
      break;
  }
  if (key.is_string()) {
    if (auto m = find_method(obj, key.str())) return *m;
    return no_attribute(obj, key.str());
  }
  return no_element(obj, key);
}

Result<Value> slice(Runtime& rt, const Value& obj, std::optional<int64_t> start,
                    std::optional<int64_t> stop, std::optional<int64_t> step_arg) {
  if (obj.is_undefined()) return undefined_error(obj);
  const int64_t step = step_arg.value_or(1);
  if (step == 0) return type_error("slice step cannot be zero");
  if (obj.is_list() && is_plain_sequence(obj)) {
    const auto& items = obj.items();
    int64_t first = 0;
    int64_t last = 0;
    adjust_slice(static_cast<int64_t>(items.size()), start, stop, step, first, last);
    std::vector<Value> out;
    for (int64_t i = first; step > 0 ? i < last : i > last; i += step) {
      out.push_back(items[static_cast<size_t>(i)]);
    }
    TESSERA_TRY(rt.charge(out.size()));
    return Value::list(std::move(out), obj.flavor());
  }
  if (obj.is_string()) {
    const std::string& s = obj.str();
    const bool ascii = text::is_ascii(s);
    const std::vector<size_t> offsets = ascii ? std::vector<size_t>() : text::code_point_offsets(s);
    const auto n = static_cast<int64_t>(ascii ? s.size() : offsets.size() - 1);
    int64_t first = 0;
    int64_t last = 0;
    adjust_slice(n, start, stop, step, first, last);
    std::string out;
    if (step == 1 && first < last) {
      const size_t a = ascii ? static_cast<size_t>(first) : offsets[static_cast<size_t>(first)];
      const size_t b = ascii ? static_cast<size_t>(last) : offsets[static_cast<size_t>(last)];
      return Value::string(s.substr(a, b - a));
    }
    for (int64_t i = first; step > 0 ? i < last : i > last; i += step) {
      const auto k = static_cast<size_t>(i);
      if (ascii) {
        out += s[k];
      } else {
        out.append(s, offsets[k], offsets[k + 1] - offsets[k]);
      }
    }
    TESSERA_TRY(rt.charge(out.size() / 8));
    return Value::string(std::move(out));
  }
  return no_element(obj, Value::string("slice"));
}

Result<Value> call_value(Runtime& rt, const Value& callee, CallArgs& args) {
  if (callee.is_undefined()) return undefined_error(callee);
  if (callee.is_object() && callee.object().callable()) {
    TESSERA_TRY(rt.charge(1));
    return callee.object().call(rt, args);
  }
  return type_error(std::string("'") + type_name(callee) + "' object is not callable");
}

Result<std::vector<Value>> iterate(Runtime& rt, const Value& v) {
  switch (v.kind()) {
    case Value::Kind::undefined:
      return std::vector<Value>();
    case Value::Kind::list:
      return v.items();
    case Value::Kind::dict: {
      std::vector<Value> keys;
      keys.reserve(v.dict().size());
      for (const auto& [k, item] : v.dict().entries()) keys.push_back(k);
      return keys;
    }
    case Value::Kind::string: {
      const std::string& s = v.str();
      TESSERA_TRY(rt.reserve_items(s.size()));
      std::vector<Value> chars;
      for (size_t i = 0; i < s.size();) {
        const size_t start = i;
        text::decode(s, i);
        chars.push_back(Value::string(s.substr(start, i - start)));
      }
      return chars;
    }
    default:
      return type_error(std::string("'") + type_name(v) + "' object is not iterable");
  }
}

uint64_t work_of(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::string:
      return v.str().size() / 64;
    case Value::Kind::list:
      return v.items().size() / 4;
    case Value::Kind::dict:
      return v.dict().size() / 4;
    case Value::Kind::object:
      return v.object().work();
    default:
      return 0;
  }
}

Result<std::string> to_str(Runtime& rt, const Value& v) {
  if (v.is_string()) return v.str();
  std::string out;
  TESSERA_TRY(append_str(out, v, rt.options().max_output_bytes));
  TESSERA_TRY(rt.reserve_string(out.size()));
  return out;
}

}  // namespace tessera::jinja
