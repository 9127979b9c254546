// A Jinja2 template engine: renders the chat templates LLMs ship (and any other Jinja2 text)
// with the semantics of Python's Jinja2 3.1 in a sandbox. See src/jinja/README.md for what is
// supported. Own code: lexer -> parser -> AST -> evaluator over Python-like values.
//
// Errors are values, never exceptions or aborts (short of running out of memory), whatever
// the template or the variables:
//   malformed     the template does not parse (syntax, unknown tag / filter / test);
//   unsupported   a well-formed construct this engine does not implement (include, extends...);
//   invalid_argument  a runtime error of the template: raise_exception(msg), using an
//                 undefined value, type errors (the message says what and where);
//   out_of_range  a limit of Options was reached (output size, work, nesting).
// Errors of the template start with "NAME:LINE:COL: " (1-based; the column counts code
// points); errors of the variables (not a JSON object, nested too deeply) with "NAME: ".
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "util/result.h"

namespace tessera::jinja {

struct Options {
  bool trim_blocks = false;    // Jinja2 Environment(trim_blocks=...)
  bool lstrip_blocks = false;  // Jinja2 Environment(lstrip_blocks=...)
  // Longest output, and longest single string a render may build: more -> out_of_range.
  size_t max_output_bytes = size_t{64} << 20;
  // Evaluation work bound (loop iterations, calls, bytes and items built) -> out_of_range.
  uint64_t max_steps = 50'000'000;
  // Nesting of macro calls, and of expressions / blocks in the source -> out_of_range.
  size_t max_depth = 256;
  // Clock for the global strftime_now(format); default: the system clock, local time.
  std::function<std::chrono::system_clock::time_point()> now;
};

class Template {
 public:
  // Parses source. Syntax errors and unknown filters/tests (like Jinja2, detected at parse
  // time) -> ErrorCode::malformed, message "NAME:LINE:COL: what is wrong" (the position of
  // the offending token).
  static Result<Template> parse(std::string_view source, Options options = {},
                                std::string name = "template");

  // Renders with the given variables (a JSON object; its keys become the template's
  // variables; null means none). Runtime errors -> Error with "NAME:LINE:COL: ..." too.
  // Thread-safe: a parsed Template is immutable and may render from many threads at once.
  Result<std::string> render(const nlohmann::ordered_json& variables) const;
  // The same with the clock strftime_now() reads for this render only (instead of
  // Options::now), e.g. a time fixed by the caller.
  Result<std::string> render(const nlohmann::ordered_json& variables,
                             std::chrono::system_clock::time_point now) const;

  const std::string& name() const;

  struct Impl;

 private:
  explicit Template(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<const Impl> impl_;  // shared: copies of a Template are cheap
};

}  // namespace tessera::jinja
