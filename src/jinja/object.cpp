#include "jinja/object.h"

#include <algorithm>

#include "jinja/format.h"
#include "jinja/runtime.h"

namespace tessera::jinja {

Status Object::append_repr(std::string& out, size_t /*limit*/, int /*depth*/) const {
  out += "<";
  out += type_name();
  out += " object>";
  return {};
}

Result<Value> Object::call(Runtime& /*rt*/, CallArgs& /*args*/) const {
  return type_error(std::string("'") + std::string(type_name()) + "' object is not callable");
}

Value Object::get_attr(std::string_view name) const {
  return Value::undefined(std::string("'") + std::string(type_name()) +
                          " object' has no attribute '" + std::string(name) + "'");
}

Status Object::set_attr(std::string_view /*name*/, Value /*value*/) const {
  return type_error("cannot assign attribute on non-namespace object");
}

Namespace::~Namespace() {
  clear();
}

void Namespace::clear() const {
  std::vector<Value> values;
  values.reserve(attrs_.size());
  for (auto& [name, v] : attrs_) values.push_back(std::move(v));
  attrs_.clear();
  release_values(values);
}

Status Namespace::append_repr(std::string& out, size_t limit, int depth) const {
  out += "<Namespace {";
  bool first = true;
  for (const auto& [name, v] : attrs_) {
    if (!first) out += ", ";
    first = false;
    append_string_repr(out, name);
    out += ": ";
    TESSERA_TRY(jinja::append_repr(out, v, limit, depth + 1));
  }
  out += "}>";
  return {};
}

Value Namespace::get_attr(std::string_view name) const {
  for (const auto& [k, v] : attrs_) {
    if (k == name) return v;
  }
  return Object::get_attr(name);
}

Status Namespace::set_attr(std::string_view name, Value value) const {
  for (auto& [k, v] : attrs_) {
    if (k == name) {
      v = std::move(value);
      return {};
    }
  }
  attrs_.emplace_back(std::string(name), std::move(value));
  return {};
}

Error undefined_error(const Value& undefined) {
  std::string hint = undefined.undefined_hint();
  if (hint.empty()) hint = "undefined value";
  return Error{ErrorCode::invalid_argument, std::move(hint)};
}

Status Runtime::reserve_string(uint64_t bytes) {
  if (bytes > options().max_output_bytes) {
    return limit_error(std::string("a string of ") + std::to_string(bytes) +
                       " bytes is over the limit of " + std::to_string(options().max_output_bytes) +
                       " bytes");
  }
  return charge(bytes / 8);
}

Status Runtime::reserve_items(uint64_t count) {
  const uint64_t max_items = std::max<uint64_t>(1024, options().max_output_bytes / 16);
  if (count > max_items) {
    return limit_error(std::string("a sequence of ") + std::to_string(count) +
                       " items is over the limit of " + std::to_string(max_items) + " items");
  }
  return charge(count);
}

}  // namespace tessera::jinja
