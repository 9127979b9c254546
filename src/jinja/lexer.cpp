#include "jinja/lexer.h"

#include <charconv>
#include <cmath>
#include <limits>

#include "jinja/text.h"

namespace tessera::jinja {
namespace {

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

bool is_name_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
         static_cast<unsigned char>(c) >= 0x80;
}

bool is_name_char(char c) {
  return is_name_start(c) || is_digit(c);
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

class Lexer {
 public:
  Lexer(std::string_view src, const Options& options, const std::string& name)
      : src_(src), options_(options), name_(name) {}

  Result<std::vector<Token>> run() {
    while (pos_ < src_.size()) {
      const size_t tag = find_tag(pos_);
      if (tag == std::string_view::npos) {
        push(TokenType::text, pos_, std::string(src_.substr(pos_)));
        break;
      }
      const char kind = src_[tag + 1];
      size_t p = tag + 2;
      char sign = 0;
      if (p < src_.size() && (src_[p] == '-' || src_[p] == '+')) sign = src_[p++];
      const size_t raw_body = kind == '%' ? match_raw_open(p) : std::string_view::npos;
      std::string_view text = strip_before_tag(src_.substr(pos_, tag - pos_), sign, kind != '{');
      if (!text.empty()) push(TokenType::text, pos_, std::string(text));
      if (raw_body != std::string_view::npos) {
        line_starting_ = src_[raw_body - 1] == '\n';
        TESSERA_TRY(lex_raw(tag, raw_body));
      } else if (kind == '#') {
        TESSERA_TRY(lex_comment(tag, p));
      } else {
        TESSERA_TRY(lex_tag(tag, kind, p));
      }
    }
    push(TokenType::eof, static_cast<uint32_t>(src_.size()), "");
    return std::move(tokens_);
  }

 private:
  Error fail(size_t pos, const std::string& message) const {
    return Error{ErrorCode::malformed, source_position(name_, src_, pos) + message};
  }

  void push(TokenType type, size_t pos, std::string text) {
    Token t;
    t.type = type;
    t.pos = static_cast<uint32_t>(pos);
    t.text = std::move(text);
    tokens_.push_back(std::move(t));
  }

  bool starts(size_t p, std::string_view s) const { return src_.substr(p, s.size()) == s; }

  size_t find_tag(size_t from) const {
    for (size_t p = src_.find('{', from); p != std::string_view::npos; p = src_.find('{', p + 1)) {
      if (p + 1 < src_.size() && (src_[p + 1] == '{' || src_[p + 1] == '%' || src_[p + 1] == '#')) {
        return p;
      }
    }
    return std::string_view::npos;
  }

  // Position after whitespace (Python's \s, Unicode aware) starting at p.
  size_t skip_space(size_t p) const {
    while (p < src_.size()) {
      size_t next = p;
      if (!text::is_space(text::decode(src_, next))) break;
      p = next;
    }
    return p;
  }

  bool all_space(std::string_view s) const {
    for (size_t i = 0; i < s.size();) {
      if (!text::is_space(text::decode(s, i))) return false;
    }
    return true;
  }

  // The text before a tag, after the tag's whitespace control and lstrip_blocks.
  std::string_view strip_before_tag(std::string_view text, char sign, bool lstrip_applies) const {
    if (sign == '-') return text::strip(text, nullptr, false, true);
    if (sign != '+' && options_.lstrip_blocks && lstrip_applies) {
      const size_t nl = text.rfind('\n');
      const size_t line_start = nl == std::string_view::npos ? 0 : nl + 1;
      if ((line_start > 0 || line_starting_) && text.size() > line_start &&
          all_space(text.substr(line_start))) {
        return text.substr(0, line_start);
      }
    }
    return text;
  }

  // Where the end of a block tag starting at p ends (after its whitespace control), or npos.
  size_t match_block_end(size_t p) const {
    if (starts(p, "+%}")) return p + 3;
    if (starts(p, "-%}")) return skip_space(p + 3);
    if (starts(p, "%}")) {
      p += 2;
      if (options_.trim_blocks && p < src_.size() && src_[p] == '\n') ++p;
      return p;
    }
    return std::string_view::npos;
  }

  size_t match_raw_open(size_t p) const {
    p = skip_space(p);
    if (!starts(p, "raw")) return std::string_view::npos;
    p = skip_space(p + 3);
    if (starts(p, "-%}")) return skip_space(p + 3);
    if (starts(p, "%}")) return p + 2;
    return std::string_view::npos;
  }

  Status lex_raw(size_t tag, size_t body) {
    for (size_t t = src_.find("{%", body); t != std::string_view::npos;
         t = src_.find("{%", t + 1)) {
      size_t p = t + 2;
      char sign = 0;
      if (p < src_.size() && (src_[p] == '-' || src_[p] == '+')) sign = src_[p++];
      p = skip_space(p);
      if (!starts(p, "endraw")) continue;
      const size_t end = match_block_end(skip_space(p + 6));
      if (end == std::string_view::npos) continue;
      const std::string_view data = strip_before_tag(src_.substr(body, t - body), sign, true);
      if (!data.empty()) push(TokenType::text, body, std::string(data));
      line_starting_ = src_[end - 1] == '\n';
      pos_ = end;
      return {};
    }
    return fail(tag, "missing end of raw directive ({% endraw %})");
  }

  Status lex_comment(size_t tag, size_t body) {
    const size_t e = src_.find("#}", body);
    if (e == std::string_view::npos) return fail(tag, "missing end of comment tag (#})");
    const char sign = (e > body && (src_[e - 1] == '-' || src_[e - 1] == '+')) ? src_[e - 1] : 0;
    size_t end = e + 2;
    if (sign == '-') {
      end = skip_space(end);
    } else if (sign != '+' && options_.trim_blocks && end < src_.size() && src_[end] == '\n') {
      ++end;
    }
    line_starting_ = src_[end - 1] == '\n';
    pos_ = end;
    return {};
  }

  Status lex_tag(size_t tag, char kind, size_t p) {
    const bool block = kind == '%';
    push(block ? TokenType::block_begin : TokenType::var_begin, tag, "");
    std::string balance;  // expected closing brackets
    while (true) {
      if (p >= src_.size()) {
        return fail(tag, block ? "unexpected end of template: the block tag opened here is not "
                                 "closed with %}"
                               : "unexpected end of template: the expression opened here is "
                                 "not closed with }}");
      }
      if (balance.empty()) {
        size_t end = std::string_view::npos;
        if (block) {
          end = match_block_end(p);
        } else if (starts(p, "-}}")) {
          end = skip_space(p + 3);
        } else if (starts(p, "}}")) {
          end = p + 2;
        }
        if (end != std::string_view::npos) {
          push(block ? TokenType::block_end : TokenType::var_end, p, "");
          line_starting_ = src_[end - 1] == '\n';
          pos_ = end;
          return {};
        }
      }
      const char c = src_[p];
      size_t next = p;
      if (text::is_space(text::decode(src_, next))) {
        p = next;
      } else if (is_digit(c)) {
        TESSERA_TRY(lex_number(p));
      } else if (is_name_start(c)) {
        const size_t start = p;
        while (p < src_.size() && is_name_char(src_[p])) ++p;
        push(TokenType::name, start, std::string(src_.substr(start, p - start)));
      } else if (c == '\'' || c == '"') {
        TESSERA_TRY(lex_string(p));
      } else {
        TESSERA_TRY(lex_operator(p, balance));
      }
    }
  }

  Status lex_operator(size_t& p, std::string& balance) {
    static constexpr std::string_view kTwo[] = {"//", "**", "==", "!=", "<=", ">="};
    for (std::string_view op : kTwo) {
      if (starts(p, op)) {
        push(TokenType::op, p, std::string(op));
        p += 2;
        return {};
      }
    }
    const char c = src_[p];
    if (std::string_view("+-*/%~[](){}<>=.:|,;").find(c) == std::string_view::npos) {
      size_t end = p;
      text::decode(src_, end);
      return fail(
          p, std::string("unexpected character '") + std::string(src_.substr(p, end - p)) + "'");
    }
    if (c == '(') balance += ')';
    if (c == '[') balance += ']';
    if (c == '{') balance += '}';
    if (c == ')' || c == ']' || c == '}') {
      if (balance.empty()) return fail(p, std::string("unexpected '") + c + "'");
      if (balance.back() != c) {
        return fail(p, std::string("unexpected '") + c + "', expected '" + balance.back() + "'");
      }
      balance.pop_back();
    }
    push(TokenType::op, p, std::string(1, c));
    ++p;
    return {};
  }

  // Digits with optional single underscores between them, as Python literals allow.
  size_t scan_digits(size_t p, int base) const {
    auto ok = [&](char c) { return hex_value(c) >= 0 && hex_value(c) < base; };
    if (p >= src_.size() || !ok(src_[p])) return p;
    ++p;
    while (p < src_.size()) {
      if (ok(src_[p])) {
        ++p;
      } else if (src_[p] == '_' && p + 1 < src_.size() && ok(src_[p + 1])) {
        p += 2;
      } else {
        break;
      }
    }
    return p;
  }

  Status lex_number(size_t& p) {
    const size_t start = p;
    const bool after_dot = start > 0 && src_[start - 1] == '.';
    size_t end = scan_digits(p, 10);
    bool is_float = false;
    if (!after_dot) {
      size_t q = end;
      if (q < src_.size() && src_[q] == '.' && q + 1 < src_.size() && is_digit(src_[q + 1])) {
        q = scan_digits(q + 1, 10);
        is_float = true;
      }
      if (q < src_.size() && (src_[q] == 'e' || src_[q] == 'E')) {
        size_t r = q + 1;
        if (r < src_.size() && (src_[r] == '+' || src_[r] == '-')) ++r;
        if (r < src_.size() && is_digit(src_[r])) {
          q = scan_digits(r, 10);
          is_float = true;
        }
      }
      if (is_float) end = q;
    }
    if (is_float) {
      std::string digits;
      for (char c : src_.substr(start, end - start)) {
        if (c != '_') digits += c;
      }
      double d = 0;
      const auto res = std::from_chars(digits.data(), digits.data() + digits.size(), d);
      if (res.ec == std::errc::result_out_of_range) {
        const size_t e = digits.find_first_of("eE");
        const bool tiny = e != std::string::npos && digits[e + 1] == '-';
        d = tiny ? 0.0 : std::numeric_limits<double>::infinity();
      }
      push(TokenType::floating, start, std::string(src_.substr(start, end - start)));
      tokens_.back().float_value = d;
      p = end;
      return {};
    }
    int base = 10;
    size_t digits_start = start;
    if (src_[start] == '0' && start + 1 < src_.size()) {
      const char x = src_[start + 1];
      base = (x == 'x' || x == 'X')   ? 16
             : (x == 'o' || x == 'O') ? 8
             : (x == 'b' || x == 'B') ? 2
                                      : 10;
      if (base != 10) {
        digits_start = start + 2;
        if (digits_start < src_.size() && src_[digits_start] == '_') ++digits_start;
        end = scan_digits(digits_start, base);
        if (end == digits_start) return fail(start, "invalid integer literal");
      } else {
        end = start + 1;  // a leading 0 stands alone ("0_0" aside)
        while (end + 1 < src_.size() && src_[end] == '_' && src_[end + 1] == '0') end += 2;
      }
    }
    uint64_t value = 0;
    for (char c : src_.substr(digits_start, end - digits_start)) {
      if (c == '_') continue;
      const auto digit = static_cast<uint64_t>(hex_value(c));
      if (value > (static_cast<uint64_t>(INT64_MAX) - digit) / static_cast<uint64_t>(base)) {
        return fail(start, "integer literal too large");
      }
      value = value * static_cast<uint64_t>(base) + digit;
    }
    push(TokenType::integer, start, std::string(src_.substr(start, end - start)));
    tokens_.back().int_value = static_cast<int64_t>(value);
    p = end;
    return {};
  }

  Status lex_string(size_t& p) {
    const char quote = src_[p];
    const size_t start = p;
    std::string value;
    size_t i = p + 1;
    while (true) {
      if (i >= src_.size()) return fail(start, "unterminated string literal");
      const char c = src_[i];
      if (c == quote) break;
      if (c != '\\') {
        value += c;
        ++i;
        continue;
      }
      if (i + 1 >= src_.size()) return fail(start, "unterminated string literal");
      TESSERA_TRY(decode_escape(i, value));
    }
    push(TokenType::string, start, std::move(value));
    p = i + 1;
    return {};
  }

  // Python's unicode-escape rules, for the backslash at src_[i]; advances i past the escape.
  Status decode_escape(size_t& i, std::string& out) {
    const size_t at = i;
    const char e = src_[i + 1];
    i += 2;
    switch (e) {
      case '\n':
        return {};
      case '\\':
        out += '\\';
        return {};
      case '\'':
        out += '\'';
        return {};
      case '"':
        out += '"';
        return {};
      case 'a':
        out += '\a';
        return {};
      case 'b':
        out += '\b';
        return {};
      case 'f':
        out += '\f';
        return {};
      case 'n':
        out += '\n';
        return {};
      case 'r':
        out += '\r';
        return {};
      case 't':
        out += '\t';
        return {};
      case 'v':
        out += '\v';
        return {};
      default:
        break;
    }
    if (e >= '0' && e <= '7') {
      char32_t cp = static_cast<char32_t>(e - '0');
      for (int k = 0; k < 2 && i < src_.size() && src_[i] >= '0' && src_[i] <= '7'; ++k, ++i) {
        cp = cp * 8 + static_cast<char32_t>(src_[i] - '0');
      }
      text::append_utf8(out, cp);
      return {};
    }
    const int width = e == 'x' ? 2 : e == 'u' ? 4 : e == 'U' ? 8 : 0;
    if (width == 0) {  // unknown escapes stay as written
      out += '\\';
      i = at + 1;
      return {};
    }
    char32_t cp = 0;
    for (int k = 0; k < width; ++k, ++i) {
      const int h = i < src_.size() ? hex_value(src_[i]) : -1;
      if (h < 0) return fail(at, std::string("truncated \\") + e + " escape in string literal");
      cp = cp * 16 + static_cast<char32_t>(h);
    }
    if (cp > 0x10FFFF) return fail(at, "escape \\U out of the Unicode range");
    if (cp >= 0xD800 && cp <= 0xDBFF && starts(i, "\\u")) {  // a surrogate pair
      char32_t low = 0;
      bool ok = true;
      for (size_t k = 0; k < 4; ++k) {
        const int h = i + 2 + k < src_.size() ? hex_value(src_[i + 2 + k]) : -1;
        ok = ok && h >= 0;
        low = low * 16 + static_cast<char32_t>(h < 0 ? 0 : h);
      }
      if (ok && low >= 0xDC00 && low <= 0xDFFF) {
        cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
        i += 6;
      }
    }
    text::append_utf8(out, cp);
    return {};
  }

  std::string_view src_;
  const Options& options_;
  const std::string& name_;
  std::vector<Token> tokens_;
  size_t pos_ = 0;
  bool line_starting_ = true;
};

}  // namespace

std::string normalize_source(std::string_view source) {
  std::string out;
  out.reserve(source.size());
  for (size_t i = 0; i < source.size(); ++i) {
    if (source[i] == '\r') {
      out += '\n';
      if (i + 1 < source.size() && source[i + 1] == '\n') ++i;
    } else {
      out += source[i];
    }
  }
  if (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

Result<std::vector<Token>> tokenize(std::string_view source, const Options& options,
                                    const std::string& name) {
  if (source.size() >= std::numeric_limits<uint32_t>::max()) {
    return Error{ErrorCode::out_of_range, name + ": template source larger than 4 GiB"};
  }
  return Lexer(source, options, name).run();
}

std::string source_position(std::string_view name, std::string_view source, size_t pos) {
  pos = std::min(pos, source.size());
  size_t line = 1;
  size_t line_start = 0;
  for (size_t i = 0; i < pos; ++i) {
    if (source[i] == '\n') {
      ++line;
      line_start = i + 1;
    }
  }
  const size_t column = text::count_code_points(source.substr(line_start, pos - line_start)) + 1;
  return std::string(name) + ":" + std::to_string(line) + ":" + std::to_string(column) + ": ";
}

}  // namespace tessera::jinja
