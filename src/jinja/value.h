// Values of the template language, with Python's semantics (Jinja2 evaluates templates as
// Python): undefined, None, bool, int, float, str, list/tuple, dict (insertion ordered) and
// objects (macros, functions, namespace(), loop, ...).
//
// Strings, lists and dicts are immutable once built and shared by pointer, so copying a
// Value is cheap and a value may be read from several threads at once. Objects may carry
// mutable state (namespace attributes); they belong to a single render.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "util/result.h"

namespace tessera::jinja {

class Object;
class Value;

// Deepest nesting that printing, comparing and serializing follow before giving up.
inline constexpr int kMaxValueDepth = 512;

// What a sequence of Value prints and behaves like: Python has several sequence types whose
// str() differ, and generators (the result of map/select/...) are true even when empty.
enum class ListFlavor : uint8_t { list, tuple, generator, dict_items, dict_keys, dict_values };

class Value {
 public:
  enum class Kind : uint8_t {
    undefined,
    none,
    boolean,
    integer,
    floating,
    string,
    list,
    dict,
    object
  };

  Value() : i_(0) {}  // undefined without a hint
  // An undefined value; hint is the message of the error raised when it is used
  // ("'x' is undefined", "'dict object' has no attribute 'y'").
  static Value undefined(std::string hint);
  static Value none();
  static Value boolean(bool b);
  static Value integer(int64_t i);
  static Value floating(double d);
  static Value string(std::string s);
  static Value string(std::shared_ptr<const std::string> s);
  static Value list(std::vector<Value> items, ListFlavor flavor = ListFlavor::list);
  static Value dict(std::shared_ptr<const class Dict> d);
  static Value object(std::shared_ptr<const Object> o);

  Kind kind() const { return kind_; }
  bool is_undefined() const { return kind_ == Kind::undefined; }
  bool is_none() const { return kind_ == Kind::none; }
  bool is_bool() const { return kind_ == Kind::boolean; }
  bool is_int() const { return kind_ == Kind::integer; }
  bool is_float() const { return kind_ == Kind::floating; }
  bool is_number() const { return is_bool() || is_int() || is_float(); }
  bool is_integral() const { return is_bool() || is_int(); }  // usable as a Python int
  bool is_string() const { return kind_ == Kind::string; }
  bool is_list() const { return kind_ == Kind::list; }
  bool is_dict() const { return kind_ == Kind::dict; }
  bool is_object() const { return kind_ == Kind::object; }

  bool bool_value() const { return b_; }
  int64_t int_value() const { return is_bool() ? (b_ ? 1 : 0) : i_; }  // bool or int
  double number_value() const;                                         // bool, int or float
  const std::string& str() const { return *static_cast<const std::string*>(ptr_.get()); }
  const std::shared_ptr<const void>& shared() const { return ptr_; }
  const struct List& list() const;
  const std::vector<Value>& items() const;
  ListFlavor flavor() const;
  const class Dict& dict() const;
  const Object& object() const { return *static_cast<const Object*>(ptr_.get()); }
  std::shared_ptr<const Object> object_ptr() const;
  std::string undefined_hint() const;

  // Identity, as Python's `is`, for lists, dicts and objects.
  const void* identity() const { return ptr_.get(); }

 private:
  Kind kind_ = Kind::undefined;
  union {
    bool b_;
    int64_t i_;
    double d_;
  };
  std::shared_ptr<const void> ptr_;
};

struct List {
  List(std::vector<Value> v, ListFlavor f) : items(std::move(v)), flavor(f) {}
  List(const List&) = delete;
  List& operator=(const List&) = delete;
  ~List();
  std::vector<Value> items;
  ListFlavor flavor;
};

// A Python dict: keys are hashable values (str, int, float, bool, None, tuples); keys that
// compare equal in Python (1, 1.0, True) are the same key. Built once, then read only.
class Dict {
 public:
  Dict() = default;
  Dict(const Dict&) = delete;
  Dict& operator=(const Dict&) = delete;
  ~Dict();

  const std::vector<std::pair<Value, Value>>& entries() const { return entries_; }
  size_t size() const { return entries_.size(); }
  const Value* find(const Value& key) const;
  const Value* find(std::string_view key) const;
  // Adds key (at the end) or replaces the value of an equal key (keeping its position).
  void set(Value key, Value value);

 private:
  std::vector<std::pair<Value, Value>> entries_;
  std::unordered_map<std::string_view, size_t> index_;  // string keys, once the dict is large
};

// Python truth value (undefined and empty containers are false; generators are true).
bool truthy(const Value& v);
// Python ==. Undefined equals only undefined; objects compare by identity.
bool equal(const Value& a, const Value& b, int depth = 0);
// Whether v can be a dict key (str, number, None, tuple of those).
bool hashable(const Value& v);

// Python's type name: 'str', 'int', 'NoneType', 'list', 'dict', ...
std::string type_name(const Value& v);
// How Jinja names the object in "... has no attribute" messages: 'dict object', 'None'.
std::string object_description(const Value& v);

// Releases values without recursing into nested containers on the C++ stack, so that freeing
// a deeply nested value cannot overflow it. Containers and objects holding values call this
// from their destructors.
void release_values(std::vector<Value>& values);

}  // namespace tessera::jinja
