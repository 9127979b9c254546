#include "jinja/format.h"

#include <algorithm>
#include <charconv>
#include <cmath>

#include "jinja/object.h"
#include "jinja/runtime.h"
#include "jinja/stack_limit.h"
#include "jinja/text.h"

namespace tessera::jinja {
namespace {

Status check_size(const std::string& out, size_t limit) {
  if (out.size() > limit) {
    return limit_error(std::string("text larger than the limit of ") + std::to_string(limit) +
                       " bytes");
  }
  return {};
}

Status check_depth(int depth) {
  if (depth > kMaxValueDepth || stack_nearly_exhausted()) {
    return limit_error(std::string("value nested deeper than ") + std::to_string(kMaxValueDepth) +
                       " levels");
  }
  return {};
}

void append_hex(std::string& out, uint32_t v, int digits) {
  static const char* kHex = "0123456789abcdef";
  for (int i = digits - 1; i >= 0; --i) out += kHex[(v >> (4 * i)) & 0xF];
}

Status append_sequence_repr(std::string& out, const Value& v, size_t limit, int depth) {
  const auto& items = v.items();
  const ListFlavor flavor = v.flavor();
  if (flavor == ListFlavor::generator) {
    out += "<generator object>";
    return {};
  }
  const bool tuple = flavor == ListFlavor::tuple;
  if (flavor == ListFlavor::dict_items) out += "dict_items(";
  if (flavor == ListFlavor::dict_keys) out += "dict_keys(";
  if (flavor == ListFlavor::dict_values) out += "dict_values(";
  out += tuple ? '(' : '[';
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out += ", ";
    TESSERA_TRY(append_repr(out, items[i], limit, depth + 1));
    TESSERA_TRY(check_size(out, limit));
  }
  if (tuple && items.size() == 1) out += ',';
  out += tuple ? ')' : ']';
  if (flavor != ListFlavor::list && flavor != ListFlavor::tuple) out += ')';
  return {};
}

void append_json_string(std::string& out, std::string_view s, bool ensure_ascii) {
  out += '"';
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      switch (c) {
        case '"':
          out += "\\\"";
          break;
        case '\\':
          out += "\\\\";
          break;
        case '\n':
          out += "\\n";
          break;
        case '\r':
          out += "\\r";
          break;
        case '\t':
          out += "\\t";
          break;
        case '\b':
          out += "\\b";
          break;
        case '\f':
          out += "\\f";
          break;
        default:
          if (c < 0x20 || (ensure_ascii && c == 0x7F)) {
            out += "\\u";
            append_hex(out, c, 4);
          } else {
            out += static_cast<char>(c);
          }
      }
      continue;
    }
    const size_t start = i;
    char32_t cp = text::decode(s, i);
    if (!ensure_ascii) {
      out.append(s.substr(start, i - start));
    } else if (cp >= 0x10000) {
      cp -= 0x10000;
      out += "\\u";
      append_hex(out, 0xD800 + (cp >> 10), 4);
      out += "\\u";
      append_hex(out, 0xDC00 + (cp & 0x3FF), 4);
    } else {
      out += "\\u";
      append_hex(out, cp, 4);
    }
  }
  out += '"';
}

std::string json_float(double d) {
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
  return format_float(d);
}

Result<std::string> json_key(const Value& k) {
  switch (k.kind()) {
    case Value::Kind::string:
      return k.str();
    case Value::Kind::integer:
      return format_int(k.int_value());
    case Value::Kind::floating:
      return json_float(k.number_value());
    case Value::Kind::boolean:
      return std::string(k.bool_value() ? "true" : "false");
    case Value::Kind::none:
      return std::string("null");
    default:
      return type_error(std::string("keys must be str, int, float, bool or None, not ") +
                        type_name(k));
  }
}

void append_newline_indent(std::string& out, const JsonStyle& style, int level) {
  out += '\n';
  for (int i = 0; i < level; ++i) out += style.indent;
}

}  // namespace

std::string format_int(int64_t i) {
  return std::to_string(i);
}

std::string format_float(double d) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
  char buf[64];
  const auto res = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
  std::string_view sci(buf, static_cast<size_t>(res.ptr - buf));  // "-1.2345e+02"
  std::string out;
  if (sci[0] == '-') {
    out += '-';
    sci.remove_prefix(1);
  }
  const size_t e = sci.find('e');
  std::string digits;
  for (char c : sci.substr(0, e)) {
    if (c != '.') digits += c;
  }
  std::string_view exp_text = sci.substr(e + 1);
  if (!exp_text.empty() && exp_text[0] == '+') exp_text.remove_prefix(1);
  int exp = 0;
  std::from_chars(exp_text.data(), exp_text.data() + exp_text.size(), exp);
  if (exp < -4 || exp >= 16) {
    out += digits[0];
    if (digits.size() > 1) {
      out += '.';
      out += digits.substr(1);
    }
    out += exp < 0 ? "e-" : "e+";
    const int a = std::abs(exp);
    if (a < 10) out += '0';
    out += std::to_string(a);
  } else if (exp >= 0) {
    const auto int_len = static_cast<size_t>(exp) + 1;
    if (digits.size() <= int_len) {
      out += digits;
      out.append(int_len - digits.size(), '0');
      out += ".0";
    } else {
      out += digits.substr(0, int_len);
      out += '.';
      out += digits.substr(int_len);
    }
  } else {
    out += "0.";
    out.append(static_cast<size_t>(-exp - 1), '0');
    out += digits;
  }
  return out;
}

void append_string_repr(std::string& out, std::string_view s) {
  const bool has_single = s.find('\'') != std::string_view::npos;
  const bool has_double = s.find('"') != std::string_view::npos;
  const char quote = (has_single && !has_double) ? '"' : '\'';
  out += quote;
  for (size_t i = 0; i < s.size();) {
    const size_t start = i;
    const char32_t cp = text::decode(s, i);
    if (cp == static_cast<char32_t>(quote) || cp == '\\') {
      out += '\\';
      out += static_cast<char>(cp);
    } else if (cp == '\n') {
      out += "\\n";
    } else if (cp == '\r') {
      out += "\\r";
    } else if (cp == '\t') {
      out += "\\t";
    } else if (cp >= 0xDC80 && cp <= 0xDCFF) {
      out += "\\udc";
      append_hex(out, cp & 0xFF, 2);
    } else if (text::is_printable(cp)) {
      out.append(s.substr(start, i - start));
    } else if (cp < 0x100) {
      out += "\\x";
      append_hex(out, cp, 2);
    } else if (cp < 0x10000) {
      out += "\\u";
      append_hex(out, cp, 4);
    } else {
      out += "\\U";
      append_hex(out, cp, 8);
    }
  }
  out += quote;
}

std::string scalar_str(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::undefined:
      return "";
    case Value::Kind::none:
      return "None";
    case Value::Kind::boolean:
      return v.bool_value() ? "True" : "False";
    case Value::Kind::integer:
      return format_int(v.int_value());
    case Value::Kind::floating:
      return format_float(v.number_value());
    case Value::Kind::string:
      return v.str();
    default: {
      std::string out;
      (void)append_str(out, v, size_t{1} << 20);
      return out;
    }
  }
}

Status append_str(std::string& out, const Value& v, size_t limit, int depth) {
  switch (v.kind()) {
    case Value::Kind::undefined:
      return {};
    case Value::Kind::string:
      out += v.str();
      return check_size(out, limit);
    default:
      return append_repr(out, v, limit, depth);
  }
}

Status append_repr(std::string& out, const Value& v, size_t limit, int depth) {
  TESSERA_TRY(check_depth(depth));
  switch (v.kind()) {
    case Value::Kind::undefined:
      out += "Undefined";
      return {};
    case Value::Kind::string:
      append_string_repr(out, v.str());
      return check_size(out, limit);
    case Value::Kind::list:
      return append_sequence_repr(out, v, limit, depth);
    case Value::Kind::dict: {
      out += '{';
      bool first = true;
      for (const auto& [k, item] : v.dict().entries()) {
        if (!first) out += ", ";
        first = false;
        TESSERA_TRY(append_repr(out, k, limit, depth + 1));
        out += ": ";
        TESSERA_TRY(append_repr(out, item, limit, depth + 1));
        TESSERA_TRY(check_size(out, limit));
      }
      out += '}';
      return {};
    }
    case Value::Kind::object:
      return v.object().append_repr(out, limit, depth);
    default:
      out += scalar_str(v);
      return {};
  }
}

Status append_json(std::string& out, const Value& v, const JsonStyle& style, size_t limit,
                   int depth) {
  TESSERA_TRY(check_depth(depth));
  switch (v.kind()) {
    case Value::Kind::none:
      out += "null";
      return {};
    case Value::Kind::boolean:
      out += v.bool_value() ? "true" : "false";
      return {};
    case Value::Kind::integer:
      out += format_int(v.int_value());
      return {};
    case Value::Kind::floating:
      out += json_float(v.number_value());
      return {};
    case Value::Kind::string:
      append_json_string(out, v.str(), style.ensure_ascii);
      return check_size(out, limit);
    case Value::Kind::list: {
      const auto& items = v.items();
      if (items.empty()) {
        out += "[]";
        return {};
      }
      if (style.pretty && style.indent.size() * static_cast<size_t>(depth + 1) > limit) {
        return check_size(out, 0);
      }
      out += '[';
      for (size_t i = 0; i < items.size(); ++i) {
        if (i) out += style.item_separator;
        if (style.pretty) append_newline_indent(out, style, depth + 1);
        TESSERA_TRY(append_json(out, items[i], style, limit, depth + 1));
        TESSERA_TRY(check_size(out, limit));
      }
      if (style.pretty) append_newline_indent(out, style, depth);
      out += ']';
      return {};
    }
    case Value::Kind::dict: {
      const auto& entries = v.dict().entries();
      if (entries.empty()) {
        out += "{}";
        return {};
      }
      if (style.pretty && style.indent.size() * static_cast<size_t>(depth + 1) > limit) {
        return check_size(out, 0);
      }
      std::vector<const std::pair<Value, Value>*> order;
      order.reserve(entries.size());
      for (const auto& e : entries) order.push_back(&e);
      if (style.sort_keys) {
        const bool strings =
            std::all_of(order.begin(), order.end(), [](auto* e) { return e->first.is_string(); });
        const bool numbers =
            std::all_of(order.begin(), order.end(), [](auto* e) { return e->first.is_number(); });
        if (!strings && !numbers) {
          return type_error("'<' not supported between dict keys of different types");
        }
        std::stable_sort(order.begin(), order.end(), [strings](auto* a, auto* b) {
          return strings ? a->first.str() < b->first.str()
                         : a->first.number_value() < b->first.number_value();
        });
      }
      out += '{';
      bool first = true;
      for (const auto* e : order) {
        if (!first) out += style.item_separator;
        first = false;
        if (style.pretty) append_newline_indent(out, style, depth + 1);
        auto key = json_key(e->first);
        if (!key.ok()) return key.error();
        append_json_string(out, *key, style.ensure_ascii);
        out += style.key_separator;
        TESSERA_TRY(append_json(out, e->second, style, limit, depth + 1));
        TESSERA_TRY(check_size(out, limit));
      }
      if (style.pretty) append_newline_indent(out, style, depth);
      out += '}';
      return {};
    }
    default:
      return type_error(std::string("Object of type ") + type_name(v) +
                        " is not JSON serializable");
  }
}

Result<Value> value_from_json(const nlohmann::ordered_json& j, int depth) {
  using nlohmann::detail::value_t;
  if (depth > kMaxValueDepth || stack_nearly_exhausted()) {
    return limit_error(std::string("variables nested deeper than ") +
                       std::to_string(kMaxValueDepth) + " levels");
  }
  switch (j.type()) {
    case value_t::null:
      return Value::none();
    case value_t::boolean:
      return Value::boolean(j.get<bool>());
    case value_t::number_integer:
      return Value::integer(j.get<int64_t>());
    case value_t::number_unsigned: {
      const auto u = j.get<uint64_t>();
      if (u <= static_cast<uint64_t>(INT64_MAX)) return Value::integer(static_cast<int64_t>(u));
      return Value::floating(static_cast<double>(u));
    }
    case value_t::number_float:
      return Value::floating(j.get<double>());
    case value_t::string:
      return Value::string(j.get<std::string>());
    case value_t::array: {
      std::vector<Value> items;
      items.reserve(j.size());
      for (const auto& item : j) {
        auto v = value_from_json(item, depth + 1);
        if (!v.ok()) return v.error();
        items.push_back(std::move(v).value());
      }
      return Value::list(std::move(items));
    }
    case value_t::object: {
      auto d = std::make_shared<Dict>();
      for (const auto& [k, item] : j.items()) {
        auto v = value_from_json(item, depth + 1);
        if (!v.ok()) return v.error();
        d->set(Value::string(k), std::move(v).value());
      }
      return Value::dict(std::move(d));
    }
    default:
      return type_error(std::string("variables hold a JSON value of unsupported type ") +
                        std::string(j.type_name()));
  }
}

}  // namespace tessera::jinja
