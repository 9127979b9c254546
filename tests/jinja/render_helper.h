// Helpers of the template engine's unit tests: render a source string in one call.
#pragma once

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "jinja/template.h"

namespace tessera::jinja::test {

using nlohmann::ordered_json;

// Rendered text, or "ERROR: <message>" when parsing or rendering fails.
inline std::string render(std::string_view source,
                          const ordered_json& vars = ordered_json::object(), Options options = {}) {
  auto t = Template::parse(source, std::move(options), "t");
  if (!t.ok()) return "ERROR: " + t.error().message;
  auto out = t->render(vars);
  if (!out.ok()) return "ERROR: " + out.error().message;
  return *out;
}

// The error of parsing, or else of rendering; a default Error (empty message) when both work.
inline Error render_error(std::string_view source,
                          const ordered_json& vars = ordered_json::object(), Options options = {}) {
  auto t = Template::parse(source, std::move(options), "t");
  if (!t.ok()) return t.error();
  auto out = t->render(vars);
  if (!out.ok()) return out.error();
  return Error{ErrorCode::invalid_argument, ""};
}

inline Options chat_options() {
  Options o;
  o.trim_blocks = true;
  o.lstrip_blocks = true;
  return o;
}

}  // namespace tessera::jinja::test
