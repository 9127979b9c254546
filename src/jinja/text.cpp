#include "jinja/text.h"

#include <utf8proc.h>

#include <algorithm>

#include "util/utf8.h"

namespace tessera::jinja::text {
namespace {

constexpr char32_t kEscapedByteBase = 0xDC00;

utf8proc_category_t category(char32_t cp) {
  if (cp > 0x10FFFF) return UTF8PROC_CATEGORY_CN;
  return utf8proc_category(static_cast<utf8proc_int32_t>(cp));
}

template <class F>
std::string map_code_points(std::string_view s, F f) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) append_utf8(out, f(decode(s, i)));
  return out;
}

bool in_set(char32_t cp, const std::string& chars) {
  for (size_t i = 0; i < chars.size();) {
    if (decode(chars, i) == cp) return true;
  }
  return false;
}

}  // namespace

char32_t decode(std::string_view s, size_t& i) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  if (b0 < 0x80) {
    ++i;
    return b0;
  }
  const utf8::Sequence q = utf8::classify(s.data() + i, s.size() - i);
  if (q.kind != utf8::Sequence::Kind::valid) {  // one byte at a time, kept as it is
    ++i;
    return kEscapedByteBase + b0;
  }
  size_t len = 0;
  const char32_t cp = utf8::decode(s.data() + i, &len);
  i += len;
  return cp;
}

void append_utf8(std::string& out, char32_t cp) {
  if (cp >= kEscapedByteBase + 0x80 && cp <= kEscapedByteBase + 0xFF) {
    out += static_cast<char>(cp - kEscapedByteBase);
  } else {
    utf8::append(out, cp);
  }
}

bool is_ascii(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

size_t count_code_points(std::string_view s) {
  if (is_ascii(s)) return s.size();
  size_t n = 0;
  for (size_t i = 0; i < s.size(); ++n) decode(s, i);
  return n;
}

std::vector<size_t> code_point_offsets(std::string_view s) {
  std::vector<size_t> offsets;
  offsets.reserve(s.size() + 1);
  for (size_t i = 0; i < s.size();) {
    offsets.push_back(i);
    decode(s, i);
  }
  offsets.push_back(s.size());
  return offsets;
}

bool is_space(char32_t cp) {
  switch (cp) {
    case ' ':
    case '\t':
    case '\n':
    case '\v':
    case '\f':
    case '\r':
    case 0x1C:
    case 0x1D:
    case 0x1E:
    case 0x1F:
    case 0x85:
    case 0xA0:
    case 0x1680:
    case 0x2028:
    case 0x2029:
    case 0x202F:
    case 0x205F:
    case 0x3000:
      return true;
    default:
      return cp >= 0x2000 && cp <= 0x200A;
  }
}

bool is_line_break(char32_t cp) {
  switch (cp) {
    case '\n':
    case '\r':
    case '\v':
    case '\f':
    case 0x1C:
    case 0x1D:
    case 0x1E:
    case 0x85:
    case 0x2028:
    case 0x2029:
      return true;
    default:
      return false;
  }
}

bool is_alpha(char32_t cp) {
  switch (category(cp)) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO:
      return true;
    default:
      return false;
  }
}

bool is_decimal(char32_t cp) {
  return category(cp) == UTF8PROC_CATEGORY_ND;
}

bool is_numeric(char32_t cp) {
  const auto c = category(cp);
  return c == UTF8PROC_CATEGORY_ND || c == UTF8PROC_CATEGORY_NL || c == UTF8PROC_CATEGORY_NO;
}

bool is_lower(char32_t cp) {
  return category(cp) == UTF8PROC_CATEGORY_LL;
}
bool is_upper(char32_t cp) {
  return category(cp) == UTF8PROC_CATEGORY_LU;
}

bool is_cased(char32_t cp) {
  const auto c = category(cp);
  return c == UTF8PROC_CATEGORY_LU || c == UTF8PROC_CATEGORY_LL || c == UTF8PROC_CATEGORY_LT;
}

bool is_printable(char32_t cp) {
  if (cp == ' ') return true;
  switch (category(cp)) {
    case UTF8PROC_CATEGORY_CC:
    case UTF8PROC_CATEGORY_CF:
    case UTF8PROC_CATEGORY_CS:
    case UTF8PROC_CATEGORY_CO:
    case UTF8PROC_CATEGORY_CN:
    case UTF8PROC_CATEGORY_ZL:
    case UTF8PROC_CATEGORY_ZP:
    case UTF8PROC_CATEGORY_ZS:
      return false;
    default:
      return true;
  }
}

bool is_word(char32_t cp) {
  return cp == '_' || is_alpha(cp) || is_numeric(cp);
}

char32_t to_upper(char32_t cp) {
  if (cp < 0x80) return (cp >= 'a' && cp <= 'z') ? cp - 32 : cp;
  if (cp > 0x10FFFF) return cp;
  return static_cast<char32_t>(utf8proc_toupper(static_cast<utf8proc_int32_t>(cp)));
}

char32_t to_lower(char32_t cp) {
  if (cp < 0x80) return (cp >= 'A' && cp <= 'Z') ? cp + 32 : cp;
  if (cp > 0x10FFFF) return cp;
  return static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(cp)));
}

char32_t to_title(char32_t cp) {
  if (cp < 0x80) return to_upper(cp);
  if (cp > 0x10FFFF) return cp;
  return static_cast<char32_t>(utf8proc_totitle(static_cast<utf8proc_int32_t>(cp)));
}

std::string upper(std::string_view s) {
  return map_code_points(s, to_upper);
}
std::string lower(std::string_view s) {
  return map_code_points(s, to_lower);
}

std::string swapcase(std::string_view s) {
  return map_code_points(s, [](char32_t cp) {
    if (is_upper(cp)) return to_lower(cp);
    if (is_lower(cp)) return to_upper(cp);
    return cp;
  });
}

std::string capitalize(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  bool first = true;
  for (size_t i = 0; i < s.size();) {
    const char32_t cp = decode(s, i);
    append_utf8(out, first ? to_title(cp) : to_lower(cp));
    first = false;
  }
  return out;
}

std::string python_title(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  bool previous_cased = false;
  for (size_t i = 0; i < s.size();) {
    const char32_t cp = decode(s, i);
    if (is_cased(cp)) {
      append_utf8(out, previous_cased ? to_lower(cp) : to_title(cp));
      previous_cased = true;
    } else {
      append_utf8(out, cp);
      previous_cased = false;
    }
  }
  return out;
}

std::string title_words(std::string_view s) {
  // Jinja splits on runs of [-\s({\[<] and upper-cases the first character of every piece
  // (separators included), lower-casing the rest.
  std::string out;
  out.reserve(s.size());
  bool piece_start = true;
  bool in_separator = false;
  for (size_t i = 0; i < s.size();) {
    const char32_t cp = decode(s, i);
    const bool sep = cp == '-' || cp == '(' || cp == '{' || cp == '[' || cp == '<' || is_space(cp);
    if (sep != in_separator) piece_start = true;
    in_separator = sep;
    append_utf8(out, piece_start ? to_upper(cp) : to_lower(cp));
    piece_start = false;
  }
  return out;
}

std::string_view strip(std::string_view s, const std::string* chars, bool left, bool right) {
  auto strippable = [&](char32_t cp) { return chars ? in_set(cp, *chars) : is_space(cp); };
  size_t begin = 0;
  size_t end = s.size();
  if (left) {
    while (begin < end) {
      size_t i = begin;
      if (!strippable(decode(s, i))) break;
      begin = i;
    }
  }
  if (right) {
    size_t keep = begin;
    for (size_t i = begin; i < end;) {
      if (!strippable(decode(s, i))) keep = i;
    }
    end = keep;
  }
  return s.substr(begin, end - begin);
}

bool split(std::string_view s, const std::string* sep, long long maxsplit, size_t max_parts,
           std::vector<std::string>& parts) {
  parts.clear();
  if (sep && sep->empty()) return false;
  auto add = [&](std::string_view part) {
    if (parts.size() >= max_parts) return false;
    parts.emplace_back(part);
    return true;
  };
  if (sep) {
    size_t pos = 0;
    while (maxsplit < 0 || static_cast<long long>(parts.size()) < maxsplit) {
      const size_t hit = s.find(*sep, pos);
      if (hit == std::string_view::npos) break;
      if (!add(s.substr(pos, hit - pos))) return false;
      pos = hit + sep->size();
    }
    return add(s.substr(pos));
  }
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size()) {  // skip whitespace
      size_t k = i;
      if (!is_space(decode(s, k))) break;
      i = k;
    }
    if (i >= s.size()) break;
    if (maxsplit >= 0 && static_cast<long long>(parts.size()) >= maxsplit) {
      return add(s.substr(i));
    }
    size_t end = i;
    while (end < s.size()) {
      size_t k = end;
      if (is_space(decode(s, k))) break;
      end = k;
    }
    if (!add(s.substr(i, end - i))) return false;
    i = end;
  }
  return true;
}

bool rsplit(std::string_view s, const std::string* sep, long long maxsplit, size_t max_parts,
            std::vector<std::string>& parts) {
  if (maxsplit < 0) return split(s, sep, maxsplit, max_parts, parts);
  parts.clear();
  if (sep && sep->empty()) return false;
  if (sep) {
    size_t end = s.size();
    while (static_cast<long long>(parts.size()) < maxsplit && end >= sep->size()) {
      const size_t hit = s.substr(0, end).rfind(*sep);
      if (hit == std::string_view::npos) break;
      if (parts.size() >= max_parts) return false;
      parts.emplace_back(s.substr(hit + sep->size(), end - hit - sep->size()));
      end = hit;
    }
    if (parts.size() >= max_parts) return false;
    parts.emplace_back(s.substr(0, end));
  } else {
    const std::string_view r = strip(s, nullptr, false, true);
    const std::vector<size_t> off = code_point_offsets(r);
    auto space_at = [&](size_t k) {
      size_t i = off[k];
      return is_space(decode(r, i));
    };
    size_t k = off.size() - 1;
    while (k > 0) {
      while (k > 0 && space_at(k - 1)) --k;
      if (k == 0) break;
      if (parts.size() >= max_parts) return false;
      if (static_cast<long long>(parts.size()) >= maxsplit) {
        parts.emplace_back(r.substr(0, off[k]));
        break;
      }
      size_t j = k;
      while (j > 0 && !space_at(j - 1)) --j;
      parts.emplace_back(r.substr(off[j], off[k] - off[j]));
      k = j;
    }
  }
  std::reverse(parts.begin(), parts.end());
  return true;
}

bool splitlines(std::string_view s, bool keepends, size_t max_parts,
                std::vector<std::string>& lines) {
  lines.clear();
  size_t start = 0;
  for (size_t i = 0; i < s.size();) {
    const size_t at = i;
    const char32_t cp = decode(s, i);
    if (!is_line_break(cp)) continue;
    if (cp == '\r' && i < s.size() && s[i] == '\n') ++i;
    if (lines.size() >= max_parts) return false;
    lines.emplace_back(s.substr(start, (keepends ? i : at) - start));
    start = i;
  }
  if (start < s.size()) {
    if (lines.size() >= max_parts) return false;
    lines.emplace_back(s.substr(start));
  }
  return true;
}

bool string_is(std::string_view s, StringClass c) {
  if (s.empty()) return false;
  bool any_cased = false;
  bool previous_cased = false;
  for (size_t i = 0; i < s.size();) {
    const char32_t cp = decode(s, i);
    switch (c) {
      case StringClass::alpha:
        if (!is_alpha(cp)) return false;
        break;
      case StringClass::alnum:
        if (!is_alpha(cp) && !is_numeric(cp)) return false;
        break;
      case StringClass::digit:
      case StringClass::decimal:
        if (!is_decimal(cp)) return false;
        break;
      case StringClass::numeric:
        if (!is_numeric(cp)) return false;
        break;
      case StringClass::space:
        if (!is_space(cp)) return false;
        break;
      case StringClass::lower:
        if (is_upper(cp) || category(cp) == UTF8PROC_CATEGORY_LT) return false;
        any_cased = any_cased || is_lower(cp);
        break;
      case StringClass::upper:
        if (is_lower(cp) || category(cp) == UTF8PROC_CATEGORY_LT) return false;
        any_cased = any_cased || is_upper(cp);
        break;
      case StringClass::title:
        if (is_upper(cp) || category(cp) == UTF8PROC_CATEGORY_LT) {
          if (previous_cased) return false;
          previous_cased = any_cased = true;
        } else if (is_lower(cp)) {
          if (!previous_cased) return false;
        } else {
          previous_cased = false;
        }
        break;
    }
  }
  if (c == StringClass::lower || c == StringClass::upper || c == StringClass::title) {
    return any_cased;
  }
  return true;
}

}  // namespace tessera::jinja::text
