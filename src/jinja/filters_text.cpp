// Filters over strings and numbers: trim, upper, replace, indent, tojson, int, round, ...
#include <cctype>
#include <cmath>
#include <cstdlib>

#include "jinja/builtin_tables.h"
#include "jinja/format.h"
#include "jinja/ops.h"
#include "jinja/text.h"

namespace tessera::jinja {
namespace {

template <std::string (*F)(std::string_view)>
Result<Value> text_map(Runtime& rt, const Value& input, CallArgs& args) {
  JINJA_BIND_ARGS("filter", {});
  (void)a;
  TESSERA_TRY_ASSIGN(s, soft_str(rt, input));
  return Value::string(F(s));
}

Result<Value> f_trim(Runtime& rt, const Value& input, CallArgs& args) {
  JINJA_BIND_ARGS("trim", {"chars"});
  TESSERA_TRY_ASSIGN(s, soft_str(rt, input));
  const std::string* chars = (a[0] && a[0]->is_string()) ? &a[0]->str() : nullptr;
  return Value::string(std::string(text::strip(s, chars, true, true)));
}

Result<Value> f_string(Runtime& rt, const Value& input, CallArgs& args) {
  JINJA_BIND_ARGS("string", {});
  (void)a;
  if (input.is_string()) return input;
  TESSERA_TRY_ASSIGN(s, soft_str(rt, input));
  return Value::string(std::move(s));
}

Result<Value> f_safe(Runtime&, const Value& input, CallArgs& args) {
  JINJA_BIND_ARGS("safe", {});
  (void)a;
  return input;
}

Result<Value> f_escape(Runtime& rt, const Value& input, CallArgs& args) {
  JINJA_BIND_ARGS("escape", {});
  (void)a;
  TESSERA_TRY_ASSIGN(s, soft_str(rt, input));
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&#34;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  TESSERA_TRY(rt.reserve_string(out.size()));
  return Value::string(std::move(out));
}

Result<Value> f_striptags(Runtime& rt, const Value& input, CallArgs& args) {
  JINJA_BIND_ARGS("striptags", {});
  (void)a;
  TESSERA_TRY_ASSIGN(s, soft_str(rt, input));
  std::string stripped;
  for (size_t i = 0; i < s.size();) {
    if (s.compare(i, 4, "<!--") == 0) {
      const size_t end = s.find("-->", i + 4);
      if (end != std::string::npos) {
        i = end + 3;
        continue;
      }
    }
    if (s[i] == '<') {
      const size_t end = s.find('>', i + 1);
      if (end != std::string::npos) {
        i = end + 1;
        continue;
      }
    }
    stripped += s[i++];
  }
  static constexpr std::pair<std::string_view, std::string_view> kEntities[] = {
      {"&amp;", "&"},  {"&lt;", "<"},  {"&gt;", ">"},  {"&quot;", "\""},
      {"&#34;", "\""}, {"&#39;", "'"}, {"&nbsp;", " "}};
  std::string unescaped;
  for (size_t i = 0; i < stripped.size();) {
    bool replaced = false;
    for (const auto& [entity, ch] : kEntities) {
      if (stripped.compare(i, entity.size(), entity) == 0) {
        unescaped += ch;
        i += entity.size();
        replaced = true;
        break;
      }
    }
    if (!replaced) unescaped += stripped[i++];
  }
  std::vector<std::string> words;
  text::split(unescaped, nullptr, -1, unescaped.size() + 1, words);
  std::string out;
  for (size_t i = 0; i < words.size(); ++i) out += (i ? " " : "") + words[i];
  return Value::string(std::move(out));
}

Result<Value> f_replace(Runtime& rt, const Value& input, CallArgs& args) {
  JINJA_BIND_ARGS("replace", {"old", "new", "count"}, 2);
  TESSERA_TRY_ASSIGN(s, soft_str(rt, input));
  TESSERA_TRY_ASSIGN(old_s, soft_str(rt, *a[0]));
  TESSERA_TRY_ASSIGN(new_s, soft_str(rt, *a[1]));
  CallArgs call;
  call.positional = {Value::string(std::move(old_s)), Value::string(std::move(new_s))};
  if (a[2] && !a[2]->is_none()) call.positional.push_back(*a[2]);
  auto method = find_method(Value::string(std::move(s)), "replace");
  return method->object().call(rt, call);
}

Result<Value> f_center(Runtime& rt, const Value& input, CallArgs& args) {
  JINJA_BIND_ARGS("center", {"width"});
  TESSERA_TRY_ASSIGN(s, soft_str(rt, input));
  CallArgs call;
  call.positional = {a[0] ? *a[0] : Value::integer(80)};
  auto method = find_method(Value::string(std::move(s)), "center");
  return method->object().call(rt, call);
}

Result<Value> f_indent(Runtime& rt, const Value& input, CallArgs& args) {
  JINJA_BIND_ARGS("indent", {"width", "first", "blank"});
  TESSERA_TRY_ASSIGN(s, soft_str(rt, input));
  std::string indentation;
  if (a[0] && a[0]->is_string()) {
    indentation = a[0]->str();
  } else {
    TESSERA_TRY_ASSIGN(width, int_arg("indent", a[0], 4));
    TESSERA_TRY(rt.reserve_string(static_cast<uint64_t>(std::max<int64_t>(width, 0))));
    indentation.assign(static_cast<size_t>(std::max<int64_t>(width, 0)), ' ');
  }
  const bool first = a[1] && truthy(*a[1]);
  const bool blank = a[2] && truthy(*a[2]);
  s += '\n';
  std::vector<std::string> lines;
  if (!text::splitlines(s, false, s.size() + 1, lines)) return limit_error("too many lines");
  TESSERA_TRY(rt.reserve_string(s.size() + lines.size() * (indentation.size() + 1)));
  std::string out;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (i > 0) {
      out += '\n';
      if (blank || !lines[i].empty()) out += indentation;
    }
    out += lines[i];
  }
  if (first) out = indentation + out;
  return Value::string(std::move(out));
}

Result<Value> f_truncate(Runtime& rt, const Value& input, CallArgs& args) {
  JINJA_BIND_ARGS("truncate", {"length", "killwords", "end", "leeway"});
  TESSERA_TRY_ASSIGN(s, soft_str(rt, input));
  TESSERA_TRY_ASSIGN(length, int_arg("truncate", a[0], 255));
  TESSERA_TRY_ASSIGN(end, str_arg("truncate", a[2], "..."));
  TESSERA_TRY_ASSIGN(leeway, int_arg("truncate", a[3], 5));
  const auto end_len = static_cast<int64_t>(text::count_code_points(end));
  if (length < end_len) {
    return type_error(std::string("expected length >= ") + std::to_string(end_len));
  }
  if (leeway < 0) return type_error("expected leeway >= 0");
  const auto offsets = text::code_point_offsets(s);
  const auto n = static_cast<int64_t>(offsets.size() - 1);
  if (n <= length + leeway) return Value::string(std::move(s));
  std::string head = s.substr(0, offsets[static_cast<size_t>(length - end_len)]);
  if (!(a[1] && truthy(*a[1]))) {
    const size_t space = head.rfind(' ');
    if (space != std::string::npos) head.resize(space);
  }
  return Value::string(head + end);
}

Result<Value> f_wordcount(Runtime& rt, const Value& input, CallArgs& args) {
  JINJA_BIND_ARGS("wordcount", {});
  (void)a;
  TESSERA_TRY_ASSIGN(s, soft_str(rt, input));
  int64_t words = 0;
  bool in_word = false;
  for (size_t i = 0; i < s.size();) {
    const bool w = text::is_word(text::decode(s, i));
    if (w && !in_word) ++words;
    in_word = w;
  }
  return Value::integer(words);
}

Result<Value> f_format(Runtime& rt, const Value& input, CallArgs& args) {
  TESSERA_TRY_ASSIGN(s, soft_str(rt, input));
  if (!args.keywords.empty()) {
    if (!args.positional.empty()) {
      return type_error("can't handle positional and keyword arguments at the same time");
    }
    auto d = std::make_shared<Dict>();
    for (auto& [k, v] : args.keywords) d->set(Value::string(k), v);
    return percent_format(rt, s, Value::dict(std::move(d)));
  }
  return percent_format(rt, s, Value::list(args.positional, ListFlavor::tuple));
}

Result<Value> f_tojson(Runtime& rt, const Value& input, CallArgs& args) {
  JINJA_BIND_ARGS("tojson", {"ensure_ascii", "indent", "separators", "sort_keys"});
  JsonStyle style;
  style.ensure_ascii = a[0] && truthy(*a[0]);
  style.sort_keys = a[3] && truthy(*a[3]);
  if (a[1] && !a[1]->is_none()) {
    style.pretty = true;
    style.item_separator = ",";
    if (a[1]->is_string()) {
      style.indent = a[1]->str();
    } else {
      TESSERA_TRY_ASSIGN(width, int_arg("tojson", a[1], 0));
      TESSERA_TRY(rt.reserve_string(static_cast<uint64_t>(std::max<int64_t>(width, 0))));
      style.indent.assign(static_cast<size_t>(std::max<int64_t>(width, 0)), ' ');
    }
  }
  if (a[2] && !a[2]->is_none()) {
    const Value& sep = *a[2];
    if (!sep.is_list() || sep.items().size() != 2 || !sep.items()[0].is_string() ||
        !sep.items()[1].is_string()) {
      return type_error("tojson(): separators must be a pair of strings");
    }
    style.item_separator = sep.items()[0].str();
    style.key_separator = sep.items()[1].str();
  }
  std::string out;
  TESSERA_TRY(append_json(out, input, style, rt.options().max_output_bytes));
  TESSERA_TRY(rt.reserve_string(out.size()));
  return Value::string(std::move(out));
}

// Python int(str, base) rules: optional sign, digits with single underscores, blanks around.
std::optional<int64_t> parse_int(std::string_view s, int base) {
  s = text::strip(s, nullptr, true, true);
  bool negative = false;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s.size() > 2 && s[0] == '0') {
    const char p = static_cast<char>(s[1] | 0x20);
    if ((p == 'x' && (base == 16 || base == 0)) || (p == 'o' && (base == 8 || base == 0)) ||
        (p == 'b' && (base == 2 || base == 0))) {
      base = p == 'x' ? 16 : p == 'o' ? 8 : 2;
      s.remove_prefix(2);
      if (!s.empty() && s[0] == '_') s.remove_prefix(1);
    }
  }
  if (base == 0) base = 10;
  if (s.empty() || s.front() == '_' || s.back() == '_') return std::nullopt;
  uint64_t value = 0;
  char previous = 0;
  for (char c : s) {
    if (c == '_') {
      if (previous == '_') return std::nullopt;
      previous = c;
      continue;
    }
    previous = c;
    const char lc = static_cast<char>(c | 0x20);
    const int d = (c >= '0' && c <= '9') ? c - '0' : (lc >= 'a' && lc <= 'z') ? lc - 'a' + 10 : 99;
    if (d >= base) return std::nullopt;
    if (value > (static_cast<uint64_t>(INT64_MAX) - static_cast<uint64_t>(d)) /
                    static_cast<uint64_t>(base)) {
      return std::nullopt;
    }
    value = value * static_cast<uint64_t>(base) + static_cast<uint64_t>(d);
  }
  return negative ? -static_cast<int64_t>(value) : static_cast<int64_t>(value);
}

std::optional<double> parse_float(std::string_view s) {
  const std::string t(text::strip(s, nullptr, true, true));
  std::string clean;
  for (size_t i = 0; i < t.size(); ++i) {
    if (t[i] == '_' && i > 0 && i + 1 < t.size() &&
        std::isdigit(static_cast<unsigned char>(t[i - 1])) &&
        std::isdigit(static_cast<unsigned char>(t[i + 1]))) {
      continue;
    }
    clean += t[i];
  }
  if (clean.empty() || clean.find_first_of(" \t\n") != std::string::npos) return std::nullopt;
  if (clean.size() > 1 && (clean[0] == '0') && (clean[1] == 'x' || clean[1] == 'X')) {
    return std::nullopt;
  }
  char* end = nullptr;
  const double d = std::strtod(clean.c_str(), &end);
  if (end != clean.c_str() + clean.size()) return std::nullopt;
  return d;
}

Result<Value> f_int(Runtime&, const Value& input, CallArgs& args) {
  JINJA_BIND_ARGS("int", {"default", "base"});
  const Value fallback = a[0] ? *a[0] : Value::integer(0);
  TESSERA_TRY_ASSIGN(base, int_arg("int", a[1], 10));
  if (input.is_undefined()) return undefined_error(input);  // int(Undefined) raises in Jinja2
  if (input.is_integral()) return Value::integer(input.int_value());
  if (input.is_float()) {
    const double d = input.number_value();
    if (!std::isfinite(d) || std::fabs(d) >= 9.2e18) return fallback;
    return Value::integer(static_cast<int64_t>(std::trunc(d)));
  }
  if (input.is_string()) {
    if (auto i = parse_int(input.str(), static_cast<int>(base))) return Value::integer(*i);
    if (auto d = parse_float(input.str()); d && std::isfinite(*d) && std::fabs(*d) < 9.2e18) {
      return Value::integer(static_cast<int64_t>(std::trunc(*d)));
    }
  }
  return fallback;
}

Result<Value> f_float(Runtime&, const Value& input, CallArgs& args) {
  JINJA_BIND_ARGS("float", {"default"});
  const Value fallback = a[0] ? *a[0] : Value::floating(0.0);
  if (input.is_undefined()) return undefined_error(input);
  if (input.is_number()) return Value::floating(input.number_value());
  if (input.is_string()) {
    if (auto d = parse_float(input.str())) return Value::floating(*d);
  }
  return fallback;
}

Result<Value> f_abs(Runtime&, const Value& input, CallArgs& args) {
  JINJA_BIND_ARGS("abs", {});
  (void)a;
  if (input.is_float()) return Value::floating(std::fabs(input.number_value()));
  if (input.is_integral()) {
    if (input.int_value() == INT64_MIN) {
      return limit_error("integer result out of the 64-bit range");
    }
    return Value::integer(std::abs(input.int_value()));
  }
  if (input.is_undefined()) return undefined_error(input);
  return type_error(std::string("bad operand type for abs(): '") + type_name(input) + "'");
}

Result<Value> f_round(Runtime& rt, const Value& input, CallArgs& args) {
  JINJA_BIND_ARGS("round", {"precision", "method"});
  TESSERA_TRY_ASSIGN(precision, int_arg("round", a[0], 0));
  TESSERA_TRY_ASSIGN(method, str_arg("round", a[1], "common"));
  if (method != "common" && method != "ceil" && method != "floor") {
    return type_error("method must be common, ceil or floor");
  }
  if (input.is_undefined()) return undefined_error(input);
  if (!input.is_number()) {
    return type_error(std::string("type ") + type_name(input) + " doesn't define __round__ method");
  }
  (void)rt;
  const double x = input.number_value();
  if (method == "common") {
    if (input.is_integral()) {
      if (precision >= 0) return Value::integer(input.int_value());
      if (precision < -18) return Value::integer(0);
      int64_t scale = 1;
      for (int64_t i = 0; i < -precision; ++i) scale *= 10;
      const int64_t v = input.int_value();
      int64_t q = v / scale;
      int64_t r = v % scale;
      if (r < 0) r += scale, --q;
      if (2 * r > scale || (2 * r == scale && (q % 2 != 0))) ++q;  // half to even
      int64_t result = 0;
      if (__builtin_mul_overflow(q, scale, &result)) {
        return limit_error("integer result out of the 64-bit range");
      }
      return Value::integer(result);
    }
    if (!std::isfinite(x)) return Value::floating(x);
    if (precision >= 0 && precision <= 300) {
      char buf[400];  // correctly rounded, half to even on the exact binary value (as Python)
      std::snprintf(buf, sizeof buf, "%.*f", static_cast<int>(precision), x);
      return Value::floating(std::strtod(buf, nullptr));
    }
    const double scale = std::pow(10.0, static_cast<double>(-std::max<int64_t>(precision, -300)));
    return Value::floating(std::nearbyint(x / scale) * scale);
  }
  const double scale =
      std::pow(10.0, static_cast<double>(std::clamp<int64_t>(precision, -300, 300)));
  const double y = method == "ceil" ? std::ceil(x * scale) : std::floor(x * scale);
  return Value::floating(y / scale);
}

Result<Value> f_pprint(Runtime& rt, const Value& input, CallArgs& args) {
  JINJA_BIND_ARGS("pprint", {});
  (void)a;
  std::string out;
  TESSERA_TRY(append_repr(out, input, rt.options().max_output_bytes));
  return Value::string(std::move(out));
}

Result<Value> f_default(Runtime&, const Value& input, CallArgs& args) {
  JINJA_BIND_ARGS("default", {"default_value", "boolean"});
  const bool boolean = a[1] && truthy(*a[1]);
  if (input.is_undefined() || (boolean && !truthy(input))) {
    return a[0] ? *a[0] : Value::string("");
  }
  return input;
}

Result<Value> f_attr(Runtime&, const Value& input, CallArgs& args) {
  JINJA_BIND_ARGS("attr", {"name"}, 1);
  if (input.is_undefined()) return undefined_error(input);
  if (!a[0]->is_string()) return Value::undefined("attribute name must be a string");
  const std::string& name = a[0]->str();
  if (input.is_object()) return input.object().get_attr(name);
  if (auto m = find_method(input, name)) return *m;
  return Value::undefined(std::string("'") + object_description(input) + "' has no attribute '" +
                          name + "'");
}

constexpr FilterEntry kTextFilters[] = {
    {"abs", f_abs},
    {"attr", f_attr},
    {"capitalize", text_map<text::capitalize>},
    {"center", f_center},
    {"d", f_default},
    {"default", f_default},
    {"e", f_escape},
    {"escape", f_escape},
    {"float", f_float},
    {"forceescape", f_escape},
    {"format", f_format},
    {"indent", f_indent},
    {"int", f_int},
    {"lower", text_map<text::lower>},
    {"pprint", f_pprint},
    {"replace", f_replace},
    {"round", f_round},
    {"safe", f_safe},
    {"string", f_string},
    {"striptags", f_striptags},
    {"title", text_map<text::title_words>},
    {"tojson", f_tojson},
    {"trim", f_trim},
    {"truncate", f_truncate},
    {"upper", text_map<text::upper>},
    {"wordcount", f_wordcount},
};

}  // namespace

std::span<const FilterEntry> text_filters() {
  return kTextFilters;
}

Result<std::string> soft_str(Runtime& rt, const Value& v) {
  if (v.is_undefined()) return std::string();
  return to_str(rt, v);
}

}  // namespace tessera::jinja
