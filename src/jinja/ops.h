// Python's operators over values, as Jinja2 applies them: arithmetic, comparison, `in`,
// attribute and item access, slicing, calls, iteration. Errors are plain messages (no
// position); the evaluator adds where.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "jinja/object.h"
#include "jinja/runtime.h"
#include "jinja/value.h"
#include "util/result.h"

namespace tessera::jinja {

enum class BinaryOp : uint8_t { add, sub, mul, div, floordiv, mod, pow, concat };
enum class CompareOp : uint8_t { eq, ne, lt, le, gt, ge, in, not_in };

Result<Value> binary_op(Runtime& rt, BinaryOp op, const Value& a, const Value& b);
Result<Value> negate(const Value& v);
Result<bool> compare(CompareOp op, const Value& a, const Value& b);
Result<bool> contains(const Value& container, const Value& item);  // item in container

// Sorting order (Python's <, made total so that sorting is always well defined): values of
// types Python cannot order still get a stable place, and *type_mismatch is set.
int sort_compare(const Value& a, const Value& b, bool* type_mismatch, int depth = 0);

// obj.name: an attribute (methods of str/list/dict, object attributes) or else a dict key;
// undefined when there is none. Fails for an undefined obj (UndefinedError).
Result<Value> get_attr(const Value& obj, std::string_view name);
// obj[key]: an item (dict key, list/str index) or else an attribute. Fails for undefined obj.
Result<Value> get_item(const Value& obj, const Value& key);
// obj[start:stop:step] with Python's rules; omitted parts are nullopt.
Result<Value> slice(Runtime& rt, const Value& obj, std::optional<int64_t> start,
                    std::optional<int64_t> stop, std::optional<int64_t> step);

// Calls a callable value (macro, function, method).
Result<Value> call_value(Runtime& rt, const Value& callee, CallArgs& args);

// The items of an iterable (list(value) in Python): list items, dict keys, string
// characters; none for undefined. TypeError for values that are not iterable.
Result<std::vector<Value>> iterate(Runtime& rt, const Value& v);

// The work of handling v, in steps: a step per 64 bytes of a string, per 4 items of a list
// or dict (shallow), what an object says. Builtins are charged this for their inputs.
uint64_t work_of(const Value& v);

// str(v) within the output limit.
Result<std::string> to_str(Runtime& rt, const Value& v);

// printf-style formatting: fmt % args (a tuple gives several arguments, a dict named ones).
Result<Value> percent_format(Runtime& rt, std::string_view fmt, const Value& args);
// str.format(*args, **kwargs).
Result<Value> brace_format(Runtime& rt, std::string_view fmt, const CallArgs& args);

}  // namespace tessera::jinja
