// Objects: values with behaviour (macros, global functions, bound methods, namespace(), the
// loop variable, cycler/joiner). They live within one render.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "jinja/value.h"
#include "util/result.h"

namespace tessera::jinja {

class Runtime;

// Arguments of a call, filter or test, as Python receives them.
struct CallArgs {
  std::vector<Value> positional;
  std::vector<std::pair<std::string, Value>> keywords;
};

class Object {
 public:
  Object() = default;
  Object(const Object&) = delete;
  Object& operator=(const Object&) = delete;
  virtual ~Object() = default;

  // Python's type name, for messages ("Namespace", "function", "Macro").
  virtual std::string_view type_name() const = 0;
  // Appends repr(self); depth is the nesting level of the value being printed.
  virtual Status append_repr(std::string& out, size_t limit, int depth) const;
  virtual bool callable() const { return false; }
  virtual Result<Value> call(Runtime& rt, CallArgs& args) const;
  // Attribute lookup (obj.name); an undefined value when there is none.
  virtual Value get_attr(std::string_view name) const;
  // Only namespace() objects accept attribute assignment ({% set ns.x = ... %}).
  virtual Status set_attr(std::string_view name, Value value) const;
  // Work a call of this object costs beyond a step (bound methods: the size of self).
  virtual uint64_t work() const { return 0; }
};

// namespace(...): the one mutable object, so that loops can carry state out of their scope.
class Namespace final : public Object {
 public:
  explicit Namespace(std::vector<std::pair<std::string, Value>> attrs) : attrs_(std::move(attrs)) {}
  ~Namespace() override;
  std::string_view type_name() const override { return "Namespace"; }
  Status append_repr(std::string& out, size_t limit, int depth) const override;
  Value get_attr(std::string_view name) const override;
  Status set_attr(std::string_view name, Value value) const override;
  // Drops all attributes (breaks reference cycles at the end of a render).
  void clear() const;

 private:
  mutable std::vector<std::pair<std::string, Value>> attrs_;
};

}  // namespace tessera::jinja
