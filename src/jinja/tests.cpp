// Tests (`x is defined`, `x is divisibleby 3`, ...), and finding builtins by name.
#include <cmath>

#include "jinja/builtin_tables.h"
#include "jinja/ops.h"
#include "jinja/text.h"

namespace tessera::jinja {
namespace {

template <bool (*P)(const Value&)>
Result<bool> simple(Runtime&, const Value& v, CallArgs& args) {
  JINJA_BIND_ARGS("test", {});
  (void)a;
  return P(v);
}

bool is_defined(const Value& v) {
  return !v.is_undefined();
}
bool is_undefined(const Value& v) {
  return v.is_undefined();
}
bool is_none(const Value& v) {
  return v.is_none();
}
bool is_boolean(const Value& v) {
  return v.is_bool();
}
bool is_false(const Value& v) {
  return v.is_bool() && !v.bool_value();
}
bool is_true(const Value& v) {
  return v.is_bool() && v.bool_value();
}
bool is_integer(const Value& v) {
  return v.is_int();
}
bool is_float(const Value& v) {
  return v.is_float();
}
bool is_number(const Value& v) {
  return v.is_number();
}
bool is_string(const Value& v) {
  return v.is_string();
}
bool is_mapping(const Value& v) {
  return v.is_dict();
}
bool is_escaped(const Value&) {
  return false;
}

bool is_iterable(const Value& v) {
  return v.is_undefined() || v.is_string() || v.is_list() || v.is_dict();
}

bool is_sequence(const Value& v) {
  if (v.is_list()) return v.flavor() == ListFlavor::list || v.flavor() == ListFlavor::tuple;
  return v.is_string() || v.is_dict();
}

bool is_callable(const Value& v) {
  return v.is_object() && v.object().callable();
}

// str(value).islower() / .isupper(), as Jinja2 (so {'k': 1} is lower).
template <text::StringClass C>
Result<bool> t_case(Runtime& rt, const Value& v, CallArgs& args) {
  JINJA_BIND_ARGS("lower", {});
  (void)a;
  auto s = to_str(rt, v);
  if (!s.ok()) return s.error();
  return text::string_is(*s, C);
}

Result<bool> parity(const Value& v, int64_t want) {
  if (v.is_integral()) return ((v.int_value() % 2) + 2) % 2 == want;
  if (v.is_float()) return std::fmod(std::fabs(v.number_value()), 2.0) == static_cast<double>(want);
  if (v.is_undefined()) return undefined_error(v);
  return type_error("not all arguments converted during string formatting");
}

Result<bool> t_odd(Runtime&, const Value& v, CallArgs& args) {
  JINJA_BIND_ARGS("odd", {});
  (void)a;
  return parity(v, 1);
}
Result<bool> t_even(Runtime&, const Value& v, CallArgs& args) {
  JINJA_BIND_ARGS("even", {});
  (void)a;
  return parity(v, 0);
}

Result<bool> t_divisibleby(Runtime& rt, const Value& v, CallArgs& args) {
  JINJA_BIND_ARGS("divisibleby", {"num"}, 1);
  auto r = binary_op(rt, BinaryOp::mod, v, *a[0]);
  if (!r.ok()) return r.error();
  return equal(*r, Value::integer(0));
}

template <CompareOp Op>
Result<bool> t_compare(Runtime&, const Value& v, CallArgs& args) {
  JINJA_BIND_ARGS("test", {"other"}, 1);
  return compare(Op, v, *a[0]);
}

Result<bool> t_in(Runtime&, const Value& v, CallArgs& args) {
  JINJA_BIND_ARGS("in", {"seq"}, 1);
  return contains(*a[0], v);
}

Result<bool> t_sameas(Runtime&, const Value& v, CallArgs& args) {
  JINJA_BIND_ARGS("sameas", {"other"}, 1);
  const Value& o = *a[0];
  if (v.kind() != o.kind()) return false;
  switch (v.kind()) {
    case Value::Kind::undefined:
    case Value::Kind::none:
      return true;
    case Value::Kind::boolean:
    case Value::Kind::integer:
    case Value::Kind::floating:
      return equal(v, o);
    default:
      return v.identity() == o.identity();
  }
}

Result<bool> t_filter(Runtime&, const Value& v, CallArgs& args) {
  JINJA_BIND_ARGS("filter", {});
  (void)a;
  return v.is_string() && find_filter(v.str()) != nullptr;
}

Result<bool> t_test(Runtime&, const Value& v, CallArgs& args) {
  JINJA_BIND_ARGS("test", {});
  (void)a;
  return v.is_string() && find_test(v.str()) != nullptr;
}

constexpr TestEntry kTests[] = {
    {"!=", t_compare<CompareOp::ne>},
    {"<", t_compare<CompareOp::lt>},
    {"<=", t_compare<CompareOp::le>},
    {"==", t_compare<CompareOp::eq>},
    {">", t_compare<CompareOp::gt>},
    {">=", t_compare<CompareOp::ge>},
    {"boolean", simple<is_boolean>},
    {"callable", simple<is_callable>},
    {"defined", simple<is_defined>},
    {"divisibleby", t_divisibleby},
    {"eq", t_compare<CompareOp::eq>},
    {"equalto", t_compare<CompareOp::eq>},
    {"escaped", simple<is_escaped>},
    {"even", t_even},
    {"false", simple<is_false>},
    {"filter", t_filter},
    {"float", simple<is_float>},
    {"ge", t_compare<CompareOp::ge>},
    {"greaterthan", t_compare<CompareOp::gt>},
    {"gt", t_compare<CompareOp::gt>},
    {"in", t_in},
    {"integer", simple<is_integer>},
    {"iterable", simple<is_iterable>},
    {"le", t_compare<CompareOp::le>},
    {"lessthan", t_compare<CompareOp::lt>},
    {"lower", t_case<text::StringClass::lower>},
    {"lt", t_compare<CompareOp::lt>},
    {"mapping", simple<is_mapping>},
    {"ne", t_compare<CompareOp::ne>},
    {"none", simple<is_none>},
    {"number", simple<is_number>},
    {"odd", t_odd},
    {"sameas", t_sameas},
    {"sequence", simple<is_sequence>},
    {"string", simple<is_string>},
    {"test", t_test},
    {"true", simple<is_true>},
    {"undefined", simple<is_undefined>},
    {"upper", t_case<text::StringClass::upper>},
};

}  // namespace

std::span<const TestEntry> all_tests() {
  return kTests;
}

FilterFn find_filter(std::string_view name) {
  for (const auto& table : {text_filters(), sequence_filters()}) {
    for (const FilterEntry& e : table) {
      if (e.name == name) return e.fn;
    }
  }
  return nullptr;
}

TestFn find_test(std::string_view name) {
  for (const TestEntry& e : kTests) {
    if (e.name == name) return e.fn;
  }
  return nullptr;
}

}  // namespace tessera::jinja
