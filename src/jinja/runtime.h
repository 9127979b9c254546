// What filters, tests, methods and global functions may ask of the render that runs them:
// the limits of Options (work, output size) and calls back into the evaluator.
//
// Builtins report failures as plain messages (no position); the evaluator prefixes
// "NAME:LINE:COL: " with the position of the expression that called them.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "jinja/object.h"
#include "jinja/template.h"
#include "jinja/value.h"
#include "util/result.h"

namespace tessera::jinja {

class Runtime {
 public:
  virtual ~Runtime() = default;
  virtual const Options& options() const = 0;
  // Counts evaluation work; out_of_range once Options::max_steps is spent.
  virtual Status charge(uint64_t steps) = 0;
  // Call before building a string of `bytes` bytes: out_of_range past max_output_bytes;
  // otherwise charges work in proportion, so that copying cannot run unbounded.
  Status reserve_string(uint64_t bytes);
  // Call before building a list or dict of `count` elements (same idea).
  Status reserve_items(uint64_t count);
  // The clock of strftime_now().
  virtual std::chrono::system_clock::time_point now() const = 0;
  // Registers a namespace() so that the render can break reference cycles when it ends.
  virtual void track(std::shared_ptr<const Namespace> ns) = 0;
  // Runs a macro (the evaluator owns the template code).
  virtual Result<Value> call_macro(const class Macro& macro, CallArgs& args) = 0;
};

// Failures of builtins: Python's TypeError / ValueError and friends, and spent limits.
inline Error type_error(std::string message) {
  return Error{ErrorCode::invalid_argument, std::move(message)};
}
inline Error limit_error(std::string message) {
  return Error{ErrorCode::out_of_range, std::move(message)};
}
// The error raised when an undefined value is used (its hint, or a generic message).
Error undefined_error(const Value& undefined);

}  // namespace tessera::jinja
