// Python's two string formatting languages: "%s" % args and "{}".format(args).
#include <cmath>
#include <cstdio>

#include "jinja/format.h"
#include "jinja/ops.h"
#include "jinja/text.h"

namespace tessera::jinja {
namespace {

struct Spec {
  char fill = ' ';
  char align = 0;  // < > ^ =, 0: the type's default
  char sign = '-';
  bool alt = false;
  char grouping = 0;
  int64_t width = -1;
  int64_t precision = -1;
  char type = 0;
};

std::string pad(std::string body, const Spec& spec, char default_align) {
  const auto len = static_cast<int64_t>(text::count_code_points(body));
  if (spec.width <= len) return body;
  const auto fill_count = static_cast<size_t>(spec.width - len);
  const char align = spec.align ? spec.align : default_align;
  if (align == '<') return body + std::string(fill_count, spec.fill);
  if (align == '^') {
    const size_t left = fill_count / 2;
    return std::string(left, spec.fill) + body + std::string(fill_count - left, spec.fill);
  }
  if (align == '=') {  // padding after the sign / prefix
    size_t prefix = (!body.empty() && (body[0] == '-' || body[0] == '+' || body[0] == ' ')) ? 1 : 0;
    if (body.size() > prefix + 1 && body[prefix] == '0' &&
        std::string_view("xXob").find(body[prefix + 1]) != std::string_view::npos) {
      prefix += 2;
    }
    return body.substr(0, prefix) + std::string(fill_count, spec.fill) + body.substr(prefix);
  }
  return std::string(fill_count, spec.fill) + body;
}

void group_digits(std::string& digits, char sep) {
  const size_t end = digits.find_first_not_of("0123456789");
  const size_t int_len = end == std::string::npos ? digits.size() : end;
  std::string out;
  for (size_t i = 0; i < int_len; ++i) {
    if (i > 0 && (int_len - i) % 3 == 0) out += sep;
    out += digits[i];
  }
  digits = out + digits.substr(int_len);
}

std::string int_digits(uint64_t magnitude, char type) {
  if (magnitude == 0) return "0";
  const unsigned base = type == 'x' || type == 'X' ? 16 : type == 'o' ? 8 : type == 'b' ? 2 : 10;
  const char* digits = type == 'X' ? "0123456789ABCDEF" : "0123456789abcdef";
  std::string out;
  while (magnitude) {
    out.insert(out.begin(), digits[magnitude % base]);
    magnitude /= base;
  }
  return out;
}

// A number per spec (type one of d x X o b e E f F g G %, or 0 for the default).
Result<std::string> format_number(const Value& v, const Spec& spec, bool percent_style) {
  char type = spec.type;
  std::string body;
  bool negative = false;
  if (type == 0) type = v.is_float() ? 0 : 'd';
  if (std::string_view("dxXob").find(type) != std::string_view::npos && type != 0) {
    if (v.is_float() && !percent_style) {
      return type_error(std::string("Unknown format code '") + type +
                        "' for object of type 'float'");
    }
    if (v.is_float() && type != 'd' && percent_style) {
      return type_error(std::string("%") + type + " format: an integer is required, not float");
    }
    const int64_t i =
        v.is_float() ? static_cast<int64_t>(std::trunc(v.number_value())) : v.int_value();
    negative = i < 0;
    const uint64_t magnitude = negative ? 0 - static_cast<uint64_t>(i) : static_cast<uint64_t>(i);
    body = int_digits(magnitude, type);
    if (percent_style && spec.precision > static_cast<int64_t>(body.size())) {
      body.insert(0, static_cast<size_t>(spec.precision) - body.size(), '0');
    }
    if (spec.alt && type != 'd') body.insert(0, std::string("0") + (type == 'X' ? 'X' : type));
  } else {
    double d = v.number_value();
    negative = std::signbit(d) && !std::isnan(d);
    d = std::fabs(d);
    if (type == 0) {
      body = spec.precision < 0 ? format_float(d) : "";
      if (spec.precision >= 0) type = 'g';
    }
    if (type != 0) {
      const bool pct = type == '%';
      if (pct) d *= 100;
      const int prec =
          spec.precision < 0 ? 6 : static_cast<int>(std::min<int64_t>(spec.precision, 300));
      const char conv = pct ? 'f' : type;
      const std::string fmt =
          std::string("%") + (spec.alt ? "#" : "") + "." + std::to_string(prec) + conv;
      char buf[512];
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
      std::snprintf(buf, sizeof buf, fmt.c_str(), d);
#pragma GCC diagnostic pop
      body = buf;
      if (pct) body += '%';
    }
  }
  if (spec.grouping) group_digits(body, spec.grouping);
  if (negative) {
    body.insert(0, "-");
  } else if (spec.sign == '+' || spec.sign == ' ') {
    body.insert(0, 1, spec.sign);
  }
  return body;
}

Status check_width(Runtime& rt, const Spec& spec) {
  if (spec.width > 0) return rt.reserve_string(static_cast<uint64_t>(spec.width));
  return {};
}

// One "%..." conversion of percent_format.
Result<std::string> percent_one(Runtime& rt, const Spec& spec, const Value& v) {
  TESSERA_TRY(check_width(rt, spec));
  const char t = spec.type;
  if (t == 's' || t == 'r' || t == 'a') {
    std::string s;
    if (t == 's') {
      auto r = to_str(rt, v);
      if (!r.ok()) return r.error();
      s = std::move(*r);
    } else {
      TESSERA_TRY(append_repr(s, v, rt.options().max_output_bytes));
    }
    if (spec.precision >= 0 && text::count_code_points(s) > static_cast<size_t>(spec.precision)) {
      s = s.substr(0, text::code_point_offsets(s)[static_cast<size_t>(spec.precision)]);
    }
    return pad(std::move(s), spec, '>');
  }
  if (t == 'c') {
    std::string s;
    if (v.is_integral()) {
      text::append_utf8(s, static_cast<char32_t>(v.int_value() & 0x1FFFFF));
    } else if (v.is_string() && text::count_code_points(v.str()) == 1) {
      s = v.str();
    } else {
      return type_error(std::string("%c requires an int or a unicode character, not ") +
                        type_name(v));
    }
    return pad(std::move(s), spec, '>');
  }
  if (!v.is_number()) {
    return type_error(std::string("%") + t + " format: a real number is required, not " +
                      type_name(v));
  }
  Spec s = spec;
  if (t == 'i' || t == 'u') s.type = 'd';
  auto body = format_number(v, s, true);
  if (!body.ok()) return body.error();
  return pad(std::move(*body), s, '>');
}

// The format spec mini-language of str.format, parsed.
Result<Spec> parse_spec(std::string_view s) {
  Spec spec;
  size_t i = 0;
  auto is_align = [](char c) { return c == '<' || c == '>' || c == '^' || c == '='; };
  if (s.size() >= 2 && is_align(s[1])) {
    spec.fill = s[0];
    spec.align = s[1];
    i = 2;
  } else if (!s.empty() && is_align(s[0])) {
    spec.align = s[0];
    i = 1;
  }
  if (i < s.size() && (s[i] == '+' || s[i] == '-' || s[i] == ' ')) spec.sign = s[i++];
  if (i < s.size() && s[i] == '#') spec.alt = true, ++i;
  if (i < s.size() && s[i] == '0') {
    if (!spec.align) spec.fill = '0', spec.align = '=';
    ++i;
  }
  auto number = [&](int64_t& out) {
    out = 0;
    const size_t start = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9' && out < (int64_t{1} << 40)) {
      out = out * 10 + (s[i++] - '0');
    }
    if (i == start) out = -1;
  };
  number(spec.width);
  if (i < s.size() && (s[i] == ',' || s[i] == '_')) spec.grouping = s[i++];
  if (i < s.size() && s[i] == '.') {
    ++i;
    number(spec.precision);
    if (spec.precision < 0) return type_error("Format specifier missing precision");
  }
  if (i < s.size()) spec.type = s[i++];
  if (i != s.size()) {
    return type_error(std::string("Invalid format specifier '") + std::string(s) + "'");
  }
  return spec;
}

Result<std::string> format_field(Runtime& rt, const Value& v, std::string_view spec_text) {
  if (spec_text.empty()) return to_str(rt, v);
  auto spec = parse_spec(spec_text);
  if (!spec.ok()) return spec.error();
  TESSERA_TRY(check_width(rt, *spec));
  if (v.is_string()) {
    if (spec->type != 0 && spec->type != 's') {
      return type_error(std::string("Unknown format code '") + spec->type +
                        "' for object of type 'str'");
    }
    std::string s = v.str();
    if (spec->precision >= 0 && text::count_code_points(s) > static_cast<size_t>(spec->precision)) {
      s = s.substr(0, text::code_point_offsets(s)[static_cast<size_t>(spec->precision)]);
    }
    return pad(std::move(s), *spec, '<');
  }
  if (v.is_number()) {
    if (spec->type == 'c' && v.is_integral()) {
      std::string s;
      text::append_utf8(s, static_cast<char32_t>(v.int_value() & 0x1FFFFF));
      return pad(std::move(s), *spec, '<');
    }
    if (spec->type == 's') return type_error("Unknown format code 's' for a number");
    auto body = format_number(v, *spec, false);
    if (!body.ok()) return body.error();
    return pad(std::move(*body), *spec, '>');
  }
  return type_error(std::string("unsupported format string passed to ") + type_name(v) +
                    ".__format__");
}

// Resolves "0", "name", "0.attr", "name[key]" against the call arguments.
Result<Value> resolve_field(std::string_view name, const CallArgs& args, size_t& auto_index) {
  size_t i = 0;
  while (i < name.size() && name[i] != '.' && name[i] != '[') ++i;
  const std::string_view first = name.substr(0, i);
  Value v;
  if (first.empty() || first.find_first_not_of("0123456789") == std::string_view::npos) {
    size_t index = auto_index++;
    if (!first.empty()) index = static_cast<size_t>(std::stoull(std::string(first.substr(0, 9))));
    if (index >= args.positional.size()) {
      return type_error(std::string("Replacement index ") + std::to_string(index) +
                        " out of range for positional args tuple");
    }
    v = args.positional[index];
  } else {
    bool found = false;
    for (const auto& [k, kv] : args.keywords) {
      if (k == first) v = kv, found = true;
    }
    if (!found) return type_error(std::string("KeyError: '") + std::string(first) + "'");
  }
  while (i < name.size()) {
    if (name[i] == '.') {
      size_t j = ++i;
      while (j < name.size() && name[j] != '.' && name[j] != '[') ++j;
      auto r = get_attr(v, name.substr(i, j - i));
      if (!r.ok()) return r.error();
      v = std::move(*r);
      i = j;
    } else {
      const size_t close = name.find(']', i);
      if (close == std::string_view::npos) return type_error("Missing ']' in format string");
      const std::string_view key = name.substr(i + 1, close - i - 1);
      const bool numeric =
          !key.empty() && key.find_first_not_of("0123456789") == std::string_view::npos;
      auto r = get_item(v, numeric ? Value::integer(std::stoll(std::string(key.substr(0, 18))))
                                   : Value::string(std::string(key)));
      if (!r.ok()) return r.error();
      v = std::move(*r);
      i = close + 1;
    }
  }
  return v;
}

}  // namespace

Result<Value> percent_format(Runtime& rt, std::string_view fmt, const Value& args) {
  std::vector<Value> positional;
  const Dict* mapping = nullptr;
  if (args.is_list() && args.flavor() == ListFlavor::tuple) {
    positional = args.items();
  } else {
    if (args.is_dict()) mapping = &args.dict();
    positional.push_back(args);
  }
  size_t next = 0;
  std::string out;
  auto take = [&](const Value*& arg) -> Status {
    if (next >= positional.size()) return type_error("not enough arguments for format string");
    arg = &positional[next++];
    return {};
  };
  for (size_t i = 0; i < fmt.size(); ++i) {
    if (fmt[i] != '%') {
      out += fmt[i];
      continue;
    }
    if (++i >= fmt.size()) return type_error("incomplete format");
    if (fmt[i] == '%') {
      out += '%';
      continue;
    }
    const Value* arg = nullptr;
    if (fmt[i] == '(') {
      const size_t close = fmt.find(')', i);
      if (close == std::string_view::npos) return type_error("incomplete format key");
      if (!mapping) return type_error("format requires a mapping");
      arg = mapping->find(fmt.substr(i + 1, close - i - 1));
      if (!arg) {
        return type_error(std::string("KeyError: '") +
                          std::string(fmt.substr(i + 1, close - i - 1)) + "'");
      }
      i = close + 1;
    }
    Spec spec;
    spec.align = '>';
    for (; i < fmt.size() && std::string_view("-+ #0").find(fmt[i]) != std::string_view::npos;
         ++i) {
      if (fmt[i] == '-') spec.align = '<';
      if (fmt[i] == '+' || (fmt[i] == ' ' && spec.sign != '+')) spec.sign = fmt[i];
      if (fmt[i] == '#') spec.alt = true;
      if (fmt[i] == '0' && spec.align != '<') spec.fill = '0', spec.align = '=';
    }
    auto number = [&](int64_t& field) -> Status {
      if (i < fmt.size() && fmt[i] == '*') {
        ++i;
        const Value* w = nullptr;
        TESSERA_TRY(take(w));
        if (!w->is_integral()) return type_error("* wants int");
        field = w->int_value();
        return {};
      }
      const size_t start = i;
      field = 0;
      while (i < fmt.size() && fmt[i] >= '0' && fmt[i] <= '9' && field < (int64_t{1} << 40)) {
        field = field * 10 + (fmt[i++] - '0');
      }
      if (i == start) field = -1;
      return {};
    };
    TESSERA_TRY(number(spec.width));
    if (i < fmt.size() && fmt[i] == '.') {
      ++i;
      TESSERA_TRY(number(spec.precision));
      if (spec.precision < 0) spec.precision = 0;
    }
    while (i < fmt.size() && (fmt[i] == 'h' || fmt[i] == 'l' || fmt[i] == 'L')) ++i;
    if (i >= fmt.size()) return type_error("incomplete format");
    spec.type = fmt[i];
    if (std::string_view("srabcdiuoxXeEfFgG").find(spec.type) == std::string_view::npos) {
      return type_error(std::string("unsupported format character '") + spec.type + "'");
    }
    if (spec.fill == '0' && std::string_view("srac").find(spec.type) != std::string_view::npos) {
      spec.fill = ' ', spec.align = '>';
    }
    if (!arg) TESSERA_TRY(take(arg));
    auto piece = percent_one(rt, spec, *arg);
    if (!piece.ok()) return piece.error();
    TESSERA_TRY(rt.reserve_string(out.size() + piece->size()));
    out += *piece;
  }
  if (!mapping && next < positional.size()) {
    return type_error("not all arguments converted during string formatting");
  }
  return Value::string(std::move(out));
}

Result<Value> brace_format(Runtime& rt, std::string_view fmt, const CallArgs& args) {
  std::string out;
  size_t auto_index = 0;
  for (size_t i = 0; i < fmt.size(); ++i) {
    const char c = fmt[i];
    if (c == '}') {
      if (i + 1 < fmt.size() && fmt[i + 1] == '}') {
        out += '}';
        ++i;
        continue;
      }
      return type_error("Single '}' encountered in format string");
    }
    if (c != '{') {
      out += c;
      continue;
    }
    if (i + 1 < fmt.size() && fmt[i + 1] == '{') {
      out += '{';
      ++i;
      continue;
    }
    const size_t close = fmt.find('}', i);
    if (close == std::string_view::npos) {
      return type_error("Single '{' encountered in format string");
    }
    std::string_view field = fmt.substr(i + 1, close - i - 1);
    i = close;
    std::string_view spec;
    const size_t colon = field.find(':');
    if (colon != std::string_view::npos) {
      spec = field.substr(colon + 1);
      field = field.substr(0, colon);
    }
    char conversion = 0;
    const size_t bang = field.find('!');
    if (bang != std::string_view::npos) {
      conversion = bang + 1 < field.size() ? field[bang + 1] : '?';
      field = field.substr(0, bang);
      if (conversion != 'r' && conversion != 's' && conversion != 'a') {
        return type_error("Unknown conversion specifier in format string");
      }
    }
    auto v = resolve_field(field, args, auto_index);
    if (!v.ok()) return v.error();
    Value value = std::move(*v);
    if (conversion == 'r' || conversion == 'a') {
      std::string repr;
      TESSERA_TRY(append_repr(repr, value, rt.options().max_output_bytes));
      value = Value::string(std::move(repr));
    } else if (conversion == 's') {
      auto s = to_str(rt, value);
      if (!s.ok()) return s.error();
      value = Value::string(std::move(*s));
    }
    auto piece = format_field(rt, value, spec);
    if (!piece.ok()) return piece.error();
    TESSERA_TRY(rt.reserve_string(out.size() + piece->size()));
    out += *piece;
  }
  return Value::string(std::move(out));
}

}  // namespace tessera::jinja
