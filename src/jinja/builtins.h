// The builtin library: filters (x|f), tests (x is t), methods of str/list/dict and global
// functions, found by name. Each table is declared once, in the .cpp that implements it.
#pragma once

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "jinja/object.h"
#include "jinja/runtime.h"
#include "jinja/value.h"
#include "util/result.h"

namespace tessera::jinja {

using FilterFn = Result<Value> (*)(Runtime& rt, const Value& input, CallArgs& args);
using TestFn = Result<bool> (*)(Runtime& rt, const Value& input, CallArgs& args);

// nullptr when there is no such filter / test.
FilterFn find_filter(std::string_view name);
TestFn find_test(std::string_view name);

// The method `name` of a str, list or dict, bound to self; nullopt when there is none.
// Methods that would modify a list or dict are refused like Jinja2's immutable sandbox does:
// the result is an undefined value that fails when called.
std::optional<Value> find_method(const Value& self, std::string_view name);

// Global functions: range, dict, namespace, cycler, joiner, raise_exception, strftime_now.
const std::vector<std::pair<std::string, Value>>& global_functions();

// Matches arguments to a Python-like signature: positional ones in order, then keywords by
// name. The result holds one pointer per parameter (nullptr: not given). TypeError for
// unknown keywords, too many arguments, or fewer than `required`.
Result<std::vector<const Value*>> bind_args(std::string_view function, const CallArgs& args,
                                            std::initializer_list<std::string_view> params,
                                            size_t required = 0);

// In a builtin taking (..., CallArgs& args): binds the arguments of `fn` (a name and the
// parameter list of bind_args) into `const std::vector<const Value*>& a`, or returns the error.
#define JINJA_BIND_ARGS(fn, ...)                  \
  auto bound_ = bind_args(fn, args, __VA_ARGS__); \
  if (!bound_.ok()) return bound_.error();        \
  const std::vector<const Value*>& a = bound_.value()

// Argument conversions with Python-like TypeErrors naming the function.
Result<int64_t> int_arg(std::string_view function, const Value* v, int64_t fallback);
Result<bool> bool_arg(const Value* v, bool fallback);
Result<std::string> str_arg(std::string_view function, const Value* v, std::string fallback);

}  // namespace tessera::jinja
