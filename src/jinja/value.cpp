#include "jinja/value.h"

#include <cmath>

#include "jinja/object.h"
#include "jinja/stack_limit.h"

namespace tessera::jinja {
namespace {

thread_local std::vector<Value>* g_release_queue = nullptr;

bool holds_values(const Value& v) {
  return v.is_list() || v.is_dict() || v.is_object();
}

// Python == between two numbers (bool, int, float), exact as Python's.
bool numbers_equal(const Value& a, const Value& b) {
  if (a.is_float() || b.is_float()) {
    if (a.is_float() && b.is_float()) return a.number_value() == b.number_value();
    const double d = a.is_float() ? a.number_value() : b.number_value();
    const int64_t i = a.is_float() ? b.int_value() : a.int_value();
    return static_cast<long double>(i) == static_cast<long double>(d);
  }
  return a.int_value() == b.int_value();
}

bool hashable_at(const Value& v, int depth) {
  switch (v.kind()) {
    case Value::Kind::list:
      if (v.flavor() != ListFlavor::tuple || depth > kMaxValueDepth || stack_nearly_exhausted()) {
        return false;
      }
      for (const Value& item : v.items()) {
        if (!hashable_at(item, depth + 1)) return false;
      }
      return true;
    case Value::Kind::dict:
      return false;
    default:
      return true;
  }
}

}  // namespace

void release_values(std::vector<Value>& values) {
  if (g_release_queue) {
    for (Value& v : values) {
      if (holds_values(v)) g_release_queue->push_back(std::move(v));
    }
    values.clear();
    return;
  }
  std::vector<Value> queue;
  g_release_queue = &queue;
  for (Value& v : values) {
    if (holds_values(v)) queue.push_back(std::move(v));
  }
  values.clear();
  while (!queue.empty()) {
    Value last = std::move(queue.back());
    queue.pop_back();
    // `last` is destroyed here; if it was the last reference its destructor queues its own
    // children instead of freeing them recursively.
  }
  g_release_queue = nullptr;
}

List::~List() {
  release_values(items);
}

Dict::~Dict() {
  std::vector<Value> values;
  values.reserve(entries_.size() * 2);
  for (auto& [k, v] : entries_) {
    values.push_back(std::move(k));
    values.push_back(std::move(v));
  }
  index_.clear();
  entries_.clear();
  release_values(values);
}

const Value* Dict::find(std::string_view key) const {
  if (!index_.empty()) {
    auto it = index_.find(key);
    return it == index_.end() ? nullptr : &entries_[it->second].second;
  }
  for (const auto& [k, v] : entries_) {
    if (k.is_string() && k.str() == key) return &v;
  }
  return nullptr;
}

const Value* Dict::find(const Value& key) const {
  if (key.is_string()) return find(std::string_view(key.str()));
  for (const auto& [k, v] : entries_) {
    if (!k.is_string() && equal(k, key)) return &v;
  }
  return nullptr;
}

void Dict::set(Value key, Value value) {
  if (key.is_string() && !index_.empty()) {
    auto it = index_.find(std::string_view(key.str()));
    if (it != index_.end()) {
      entries_[it->second].second = std::move(value);
      return;
    }
  } else {
    for (auto& entry : entries_) {
      if (equal(entry.first, key)) {
        entry.second = std::move(value);
        return;
      }
    }
  }
  entries_.emplace_back(std::move(key), std::move(value));
  constexpr size_t kIndexFrom = 8;
  if (entries_.size() == kIndexFrom) {
    for (size_t i = 0; i < entries_.size(); ++i) {
      const Value& k = entries_[i].first;
      if (k.is_string()) index_.emplace(std::string_view(k.str()), i);
    }
  } else if (entries_.size() > kIndexFrom && entries_.back().first.is_string()) {
    index_.emplace(std::string_view(entries_.back().first.str()), entries_.size() - 1);
  }
}

Value Value::undefined(std::string hint) {
  Value v;
  if (!hint.empty()) v.ptr_ = std::make_shared<const std::string>(std::move(hint));
  return v;
}

Value Value::none() {
  Value v;
  v.kind_ = Kind::none;
  return v;
}

Value Value::boolean(bool b) {
  Value v;
  v.kind_ = Kind::boolean;
  v.b_ = b;
  return v;
}

Value Value::integer(int64_t i) {
  Value v;
  v.kind_ = Kind::integer;
  v.i_ = i;
  return v;
}

Value Value::floating(double d) {
  Value v;
  v.kind_ = Kind::floating;
  v.d_ = d;
  return v;
}

Value Value::string(std::string s) {
  return string(std::make_shared<const std::string>(std::move(s)));
}

Value Value::string(std::shared_ptr<const std::string> s) {
  Value v;
  v.kind_ = Kind::string;
  v.ptr_ = std::move(s);
  return v;
}

Value Value::list(std::vector<Value> items, ListFlavor flavor) {
  Value v;
  v.kind_ = Kind::list;
  v.ptr_ = std::make_shared<const List>(std::move(items), flavor);
  return v;
}

Value Value::dict(std::shared_ptr<const Dict> d) {
  Value v;
  v.kind_ = Kind::dict;
  v.ptr_ = std::move(d);
  return v;
}

Value Value::object(std::shared_ptr<const Object> o) {
  Value v;
  v.kind_ = Kind::object;
  v.ptr_ = std::move(o);
  return v;
}

double Value::number_value() const {
  return is_float() ? d_ : static_cast<double>(int_value());
}
const List& Value::list() const {
  return *static_cast<const List*>(ptr_.get());
}
const std::vector<Value>& Value::items() const {
  return list().items;
}
ListFlavor Value::flavor() const {
  return list().flavor;
}
const Dict& Value::dict() const {
  return *static_cast<const Dict*>(ptr_.get());
}

std::shared_ptr<const Object> Value::object_ptr() const {
  return std::static_pointer_cast<const Object>(ptr_);
}

std::string Value::undefined_hint() const {
  return ptr_ ? *static_cast<const std::string*>(ptr_.get()) : std::string();
}

bool truthy(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::undefined:
    case Value::Kind::none:
      return false;
    case Value::Kind::boolean:
      return v.bool_value();
    case Value::Kind::integer:
      return v.int_value() != 0;
    case Value::Kind::floating:
      return v.number_value() != 0.0;
    case Value::Kind::string:
      return !v.str().empty();
    case Value::Kind::list:
      return v.flavor() == ListFlavor::generator || !v.items().empty();
    case Value::Kind::dict:
      return v.dict().size() != 0;
    case Value::Kind::object:
      return true;
  }
  return false;
}

bool equal(const Value& a, const Value& b, int depth) {
  if (a.is_number() && b.is_number()) return numbers_equal(a, b);
  if (a.kind() != b.kind()) return false;
  if (depth > kMaxValueDepth || stack_nearly_exhausted()) return false;
  switch (a.kind()) {
    case Value::Kind::undefined:
    case Value::Kind::none:
      return true;
    case Value::Kind::string:
      return a.identity() == b.identity() || a.str() == b.str();
    case Value::Kind::list: {
      if (a.identity() == b.identity()) return true;
      if (a.flavor() == ListFlavor::generator || b.flavor() == ListFlavor::generator) return false;
      if (a.flavor() != b.flavor()) return false;
      const auto& x = a.items();
      const auto& y = b.items();
      if (x.size() != y.size()) return false;
      for (size_t i = 0; i < x.size(); ++i) {
        if (!equal(x[i], y[i], depth + 1)) return false;
      }
      return true;
    }
    case Value::Kind::dict: {
      if (a.identity() == b.identity()) return true;
      if (a.dict().size() != b.dict().size()) return false;
      for (const auto& [k, v] : a.dict().entries()) {
        const Value* other = b.dict().find(k);
        if (!other || !equal(v, *other, depth + 1)) return false;
      }
      return true;
    }
    default:
      return a.identity() == b.identity();
  }
}

bool hashable(const Value& v) {
  return hashable_at(v, 0);
}

std::string type_name(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::undefined:
      return "Undefined";
    case Value::Kind::none:
      return "NoneType";
    case Value::Kind::boolean:
      return "bool";
    case Value::Kind::integer:
      return "int";
    case Value::Kind::floating:
      return "float";
    case Value::Kind::string:
      return "str";
    case Value::Kind::list:
      switch (v.flavor()) {
        case ListFlavor::list:
          return "list";
        case ListFlavor::tuple:
          return "tuple";
        case ListFlavor::generator:
          return "generator";
        case ListFlavor::dict_items:
          return "dict_items";
        case ListFlavor::dict_keys:
          return "dict_keys";
        case ListFlavor::dict_values:
          return "dict_values";
      }
      return "list";
    case Value::Kind::dict:
      return "dict";
    case Value::Kind::object:
      return std::string(v.object().type_name());
  }
  return "object";
}

std::string object_description(const Value& v) {
  if (v.is_none()) return "None";
  return type_name(v) + " object";
}

}  // namespace tessera::jinja
