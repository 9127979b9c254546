#include "gguf/metadata.h"

#include <cmath>
#include <cstring>
#include <limits>

namespace tessera::gguf {
namespace {

template <class T>
T load(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

std::string quote(std::string_view s, size_t max_chars) {
  std::string out = "\"";
  size_t n = 0;
  for (char c : s) {
    if (n++ == max_chars) {
      out += "...";
      break;
    }
    switch (c) {
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += "\\x";
          out += "0123456789abcdef"[(c >> 4) & 0xf];
          out += "0123456789abcdef"[c & 0xf];
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

std::string number_text(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

}  // namespace

const char* meta_type_name(MetaType t) {
  switch (t) {
    case MetaType::u8:
      return "u8";
    case MetaType::i8:
      return "i8";
    case MetaType::u16:
      return "u16";
    case MetaType::i16:
      return "i16";
    case MetaType::u32:
      return "u32";
    case MetaType::i32:
      return "i32";
    case MetaType::f32:
      return "f32";
    case MetaType::boolean:
      return "bool";
    case MetaType::string:
      return "string";
    case MetaType::array:
      return "array";
    case MetaType::u64:
      return "u64";
    case MetaType::i64:
      return "i64";
    case MetaType::f64:
      return "f64";
  }
  return nullptr;
}

uint32_t meta_scalar_size(MetaType t) {
  switch (t) {
    case MetaType::u8:
    case MetaType::i8:
    case MetaType::boolean:
      return 1;
    case MetaType::u16:
    case MetaType::i16:
      return 2;
    case MetaType::u32:
    case MetaType::i32:
    case MetaType::f32:
      return 4;
    case MetaType::u64:
    case MetaType::i64:
    case MetaType::f64:
      return 8;
    case MetaType::string:
    case MetaType::array:
      return 0;
  }
  return 0;
}

bool meta_type_valid(uint32_t id) {
  return id <= static_cast<uint32_t>(MetaType::f64);
}

MetaValue MetaValue::scalar(MetaType type, const uint8_t* raw) {
  MetaValue v;
  v.type_ = type;
  v.raw_ = raw;
  return v;
}

MetaValue MetaValue::string(std::string_view s) {
  MetaValue v;
  v.type_ = MetaType::string;
  v.str_ = s;
  return v;
}

MetaValue MetaValue::scalar_array(MetaType elem, const uint8_t* raw, uint64_t count) {
  MetaValue v;
  v.type_ = MetaType::array;
  v.elem_ = elem;
  v.raw_ = raw;
  v.count_ = count;
  return v;
}

MetaValue MetaValue::string_array(std::vector<std::string_view> items) {
  MetaValue v;
  v.type_ = MetaType::array;
  v.elem_ = MetaType::string;
  v.count_ = items.size();
  v.strings_ = std::move(items);
  return v;
}

MetaValue MetaValue::nested_array(MetaType elem, std::vector<MetaValue> items) {
  MetaValue v;
  v.type_ = MetaType::array;
  v.elem_ = elem;
  v.count_ = items.size();
  v.items_ = std::move(items);
  return v;
}

bool MetaValue::is_integer() const {
  switch (type_) {
    case MetaType::u8:
    case MetaType::i8:
    case MetaType::u16:
    case MetaType::i16:
    case MetaType::u32:
    case MetaType::i32:
    case MetaType::u64:
    case MetaType::i64:
      return true;
    default:
      return false;
  }
}

std::optional<int64_t> MetaValue::as_int() const {
  switch (type_) {
    case MetaType::u8:
      return load<uint8_t>(raw_);
    case MetaType::i8:
      return load<int8_t>(raw_);
    case MetaType::u16:
      return load<uint16_t>(raw_);
    case MetaType::i16:
      return load<int16_t>(raw_);
    case MetaType::u32:
      return load<uint32_t>(raw_);
    case MetaType::i32:
      return load<int32_t>(raw_);
    case MetaType::i64:
      return load<int64_t>(raw_);
    case MetaType::u64: {
      const uint64_t u = load<uint64_t>(raw_);
      if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return std::nullopt;
      return static_cast<int64_t>(u);
    }
    case MetaType::f32:
    case MetaType::f64: {
      const double d = *as_double();
      // Some converters store integral hyperparameters as floats; accept exact integers.
      if (!std::isfinite(d) || d != std::floor(d) || std::fabs(d) > 9.0e15) return std::nullopt;
      return static_cast<int64_t>(d);
    }
    default:
      return std::nullopt;
  }
}

std::optional<uint64_t> MetaValue::as_uint() const {
  if (type_ == MetaType::u64) return load<uint64_t>(raw_);
  const auto i = as_int();
  if (!i || *i < 0) return std::nullopt;
  return static_cast<uint64_t>(*i);
}

std::optional<double> MetaValue::as_double() const {
  if (type_ == MetaType::f32) return load<float>(raw_);
  if (type_ == MetaType::f64) return load<double>(raw_);
  if (type_ == MetaType::u64) return static_cast<double>(load<uint64_t>(raw_));
  if (is_integer()) return static_cast<double>(*as_int());
  return std::nullopt;
}

std::optional<bool> MetaValue::as_bool() const {
  if (type_ != MetaType::boolean) return std::nullopt;
  return load<uint8_t>(raw_) != 0;
}

std::optional<std::string_view> MetaValue::as_string() const {
  if (type_ != MetaType::string) return std::nullopt;
  return str_;
}

MetaValue MetaValue::array_item(uint64_t i) const {
  if (elem_ == MetaType::string) return string(strings_[i]);
  if (elem_ == MetaType::array) return items_[i];
  return scalar(elem_, raw_ + i * meta_scalar_size(elem_));
}

std::string MetaValue::to_display(size_t max_items, size_t max_chars) const {
  switch (type_) {
    case MetaType::string:
      return quote(str_, max_chars);
    case MetaType::boolean:
      return *as_bool() ? "true" : "false";
    case MetaType::f32:
    case MetaType::f64:
      return number_text(*as_double());
    case MetaType::u64:
      return std::to_string(load<uint64_t>(raw_));
    case MetaType::array: {
      std::string out = std::string("[") + meta_type_name(elem_) + " x " + std::to_string(count_);
      for (uint64_t i = 0; i < count_ && i < max_items; ++i) {
        out += i == 0 ? ": " : ", ";
        out += array_item(i).to_display(max_items, max_chars);
      }
      if (count_ > max_items) out += ", ...";
      return out + "]";
    }
    default:
      return std::to_string(*as_int());
  }
}

}  // namespace tessera::gguf
