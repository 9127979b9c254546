// Turning values into text the way Python does: str(), repr(), json.dumps(), and reading the
// render variables from JSON.
#pragma once

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "jinja/value.h"
#include "util/result.h"

namespace tessera::jinja {

std::string format_int(int64_t i);
std::string format_float(double d);  // Python repr(float): 1.0, 0.1, 1e-05, 1e+16, inf, nan

// Python str(v) / repr(v) appended to out (undefined prints as ""). out_of_range once out
// grows past limit bytes or the value nests deeper than kMaxValueDepth.
Status append_str(std::string& out, const Value& v, size_t limit, int depth = 0);
Status append_repr(std::string& out, const Value& v, size_t limit, int depth = 0);
void append_string_repr(std::string& out, std::string_view s);  // 'text' with Python escapes
// str(v) of a value that is cheap to print (no containers): numbers, strings, None.
std::string scalar_str(const Value& v);

// json.dumps options (Python defaults: no indent, separators ", " and ": ").
struct JsonStyle {
  bool pretty = false;  // indent given (even 0): one item per line
  std::string indent;   // the text of one indent level
  std::string item_separator = ", ";
  std::string key_separator = ": ";
  bool ensure_ascii = false;
  bool sort_keys = false;
};
// json.dumps(v) appended to out. invalid_argument for values JSON cannot hold (undefined,
// objects, unsortable keys); out_of_range past limit bytes or kMaxValueDepth.
Status append_json(std::string& out, const Value& v, const JsonStyle& style, size_t limit,
                   int depth = 0);

// The render variables: JSON null/bool/number/string/array/object -> None/bool/int or
// float/str/list/dict (key order kept). out_of_range past kMaxValueDepth.
Result<Value> value_from_json(const nlohmann::ordered_json& j, int depth = 0);

}  // namespace tessera::jinja
