// Error values: the one way Tessera reports an expected failure (bad file, bad request,
// does not fit). A failure carries a code (for mapping to exit codes / HTTP statuses at the
// boundary) and a message a user can act on: what was wrong, where, what to do.
//
// Result<T> holds either a T or an Error; Status is Result<void>. Accessing value() of a
// failed Result is a programming error (asserted), never reachable from outside input when
// callers check ok() first.
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace tessera {

enum class ErrorCode {
  invalid_argument,  // the caller asked for something that makes no sense
  not_found,         // a file, key or name that does not exist
  io_error,          // the OS refused (open, read, write, mmap)
  malformed,         // input data breaks its format
  unsupported,       // well-formed, but a feature we do not handle (yet)
  out_of_range,      // a size or count past what we can represent or allow
  unavailable,       // busy right now (a full queue, a model loading): try again later
  cancelled,         // the caller gave up on it (a cancelled request)
};

// Stable lower-case name of a code, for JSON and logs.
const char* error_code_name(ErrorCode code);

struct Error {
  ErrorCode code;
  std::string message;
};

inline Error make_error(ErrorCode code, std::string message) {
  return Error{code, std::move(message)};
}

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}      // NOLINT: implicit by design
  Result(Error error) : v_(std::move(error)) {}  // NOLINT: implicit by design

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & {
    assert(ok());
    return std::get<0>(v_);
  }
  const T& value() const& {
    assert(ok());
    return std::get<0>(v_);
  }
  T&& value() && {
    assert(ok());
    return std::get<0>(std::move(v_));
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const {
    assert(!ok());
    return std::get<1>(v_);
  }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT: implicit by design

  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const {
    assert(!ok_);
    return error_;
  }

 private:
  Error error_{};
  bool ok_ = true;
};

using Status = Result<void>;

}  // namespace tessera

// Returns the error of a failed Status/Result from the enclosing function.
#define TESSERA_TRY(expr) TESSERA_TRY_IMPL_(expr, TESSERA_CONCAT_(tessera_try_, __COUNTER__))
#define TESSERA_CONCAT_(a, b) TESSERA_CONCAT2_(a, b)
#define TESSERA_CONCAT2_(a, b) a##b
#define TESSERA_TRY_IMPL_(expr, var)   \
  do {                                 \
    auto var = (expr);                 \
    if (!var.ok()) return var.error(); \
  } while (0)

// Declares `var` holding the value of a Result expression, or returns its error from the
// enclosing function.
#define TESSERA_TRY_ASSIGN(var, expr) \
  TESSERA_TRY_ASSIGN_IMPL_(var, expr, TESSERA_CONCAT_(tessera_try_, __COUNTER__))
#define TESSERA_TRY_ASSIGN_IMPL_(var, expr, tmp) \
  auto tmp = (expr);                             \
  if (!tmp.ok()) return tmp.error();             \
  auto var = std::move(tmp).value()
