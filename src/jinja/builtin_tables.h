// The tables of builtins, one per file that implements them; builtins.h finds by name.
#pragma once

#include <span>
#include <string_view>

#include "jinja/builtins.h"

namespace tessera::jinja {

struct FilterEntry {
  std::string_view name;
  FilterFn fn;
};

struct TestEntry {
  std::string_view name;
  TestFn fn;
};

std::span<const FilterEntry> text_filters();      // filters_text.cpp
std::span<const FilterEntry> sequence_filters();  // filters_seq.cpp
std::span<const TestEntry> all_tests();           // tests.cpp

// Helpers shared by the filter files.
// str(v) of Jinja's soft_str (undefined -> "").
Result<std::string> soft_str(Runtime& rt, const Value& v);
// Jinja's make_attrgetter: "a.b.0" looked up item by item; default_value replaces undefined.
Result<Value> get_attribute_path(const Value& item, const Value& attribute,
                                 const Value* default_value);
// Lower-cases strings (others unchanged), for the case-insensitive sorts of Jinja.
Value ignore_case(const Value& v);

}  // namespace tessera::jinja
