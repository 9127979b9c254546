// GGUF metadata values: the thirteen value types of the format, held as non-owning views.
//
// A MetaValue points into memory it does not own: the mapped file it was read from
// (gguf::GgufFile), or the arena of the gguf::Writer that made it. It is valid while that
// owner lives. Read-only, so safe to share between threads.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tessera::gguf {

// Value type ids as stored in the file (gguf_type).
enum class MetaType : uint32_t {
  u8 = 0,
  i8 = 1,
  u16 = 2,
  i16 = 3,
  u32 = 4,
  i32 = 5,
  f32 = 6,
  boolean = 7,
  string = 8,
  array = 9,
  u64 = 10,
  i64 = 11,
  f64 = 12,
};

// "u32", "string", "array" ...; nullptr for ids outside the format.
const char* meta_type_name(MetaType t);
// Bytes of one value of a fixed-size type (u8 .. f64, bool); 0 for string and array.
uint32_t meta_scalar_size(MetaType t);
bool meta_type_valid(uint32_t id);

class MetaValue {
 public:
  // Constructors for owners (reader, writer). `raw` points to little-endian bytes.
  static MetaValue scalar(MetaType type, const uint8_t* raw);
  static MetaValue string(std::string_view s);
  static MetaValue scalar_array(MetaType elem, const uint8_t* raw, uint64_t count);
  static MetaValue string_array(std::vector<std::string_view> items);
  static MetaValue nested_array(MetaType elem, std::vector<MetaValue> items);

  MetaType type() const { return type_; }
  bool is_array() const { return type_ == MetaType::array; }
  bool is_string() const { return type_ == MetaType::string; }
  bool is_integer() const;  // u8 .. i64 (not bool, not float)
  bool is_float() const { return type_ == MetaType::f32 || type_ == MetaType::f64; }

  // Scalar reads; nullopt when the type does not convert (a string asked as an integer, a
  // negative value asked as unsigned, a fractional or non-finite float asked as integer).
  std::optional<uint64_t> as_uint() const;
  std::optional<int64_t> as_int() const;
  std::optional<double> as_double() const;  // integers and floats
  std::optional<bool> as_bool() const;      // bool only
  std::optional<std::string_view> as_string() const;

  // Arrays. Element i must be < array_size(); element accessors follow the scalar rules.
  MetaType array_type() const { return elem_; }
  uint64_t array_size() const { return count_; }
  MetaValue array_item(uint64_t i) const;  // any element type, as a MetaValue
  const std::vector<std::string_view>& strings() const { return strings_; }  // string arrays
  const uint8_t* raw() const { return raw_; }  // scalar and scalar-array payload

  // Short human-readable rendering: scalars in full, strings quoted and cut to `max_chars`,
  // arrays as "[u32 x 3: 1, 2, 3]" with at most `max_items` items.
  std::string to_display(size_t max_items = 8, size_t max_chars = 80) const;

 private:
  MetaType type_ = MetaType::u8;
  MetaType elem_ = MetaType::u8;           // arrays: element type
  uint64_t count_ = 0;                     // arrays: element count
  const uint8_t* raw_ = nullptr;           // scalars and scalar arrays
  std::string_view str_;                   // strings
  std::vector<std::string_view> strings_;  // string arrays
  std::vector<MetaValue> items_;           // arrays of arrays
};

struct MetaEntry {
  std::string_view key;
  MetaValue value;
};

}  // namespace tessera::gguf
