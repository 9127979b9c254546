#include "util/utf8.h"

namespace tessera::utf8 {

namespace {

bool is_continuation(unsigned char c) {
  return (c & 0xC0) == 0x80;
}

}  // namespace

Sequence classify(const char* s, size_t n) {
  const auto* u = reinterpret_cast<const unsigned char*>(s);
  const unsigned char lead = u[0];
  if (lead < 0x80) return {Sequence::Kind::valid, 1};
  size_t need;
  unsigned char lo = 0x80;  // allowed range of the second byte (Unicode Table 3-7)
  unsigned char hi = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    need = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    need = 3;
    if (lead == 0xE0) lo = 0xA0;  // no overlong forms
    if (lead == 0xED) hi = 0x9F;  // no surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    need = 4;
    if (lead == 0xF0) lo = 0x90;  // no overlong forms
    if (lead == 0xF4) hi = 0x8F;  // nothing past U+10FFFF
  } else {
    return {Sequence::Kind::invalid, 1};
  }
  for (size_t i = 1; i < need; ++i) {
    if (i >= n) return {Sequence::Kind::incomplete, i};
    const unsigned char c = u[i];
    const bool ok = i == 1 ? (c >= lo && c <= hi) : is_continuation(c);
    if (!ok) return {Sequence::Kind::invalid, i};
  }
  return {Sequence::Kind::valid, need};
}

bool is_valid(std::string_view s) {
  size_t i = 0;
  const size_t n = s.size();
  while (i < n) {
    if (static_cast<unsigned char>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    const Sequence q = classify(s.data() + i, n - i);
    if (q.kind != Sequence::Kind::valid) return false;
    i += q.length;
  }
  return true;
}

std::string sanitize(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 8);
  size_t i = 0;
  const size_t n = s.size();
  while (i < n) {
    if (static_cast<unsigned char>(s[i]) < 0x80) {
      out.push_back(s[i++]);
      continue;
    }
    const Sequence q = classify(s.data() + i, n - i);
    if (q.kind == Sequence::Kind::valid) {
      out.append(s.data() + i, q.length);
    } else {
      out.append(kReplacement);
    }
    i += q.length;
  }
  return out;
}

size_t complete_prefix_length(std::string_view s) {
  size_t i = 0;
  const size_t n = s.size();
  while (i < n) {
    if (static_cast<unsigned char>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    const Sequence q = classify(s.data() + i, n - i);
    if (q.kind == Sequence::Kind::incomplete) return i;
    i += q.length;
  }
  return n;
}

uint32_t decode(const char* s, size_t* len) {
  const auto* u = reinterpret_cast<const unsigned char*>(s);
  const unsigned char lead = u[0];
  if (lead < 0x80) {
    *len = 1;
    return lead;
  }
  if (lead < 0xE0) {
    *len = 2;
    return (uint32_t{lead & 0x1Fu} << 6) | (u[1] & 0x3Fu);
  }
  if (lead < 0xF0) {
    *len = 3;
    return (uint32_t{lead & 0x0Fu} << 12) | (uint32_t{u[1] & 0x3Fu} << 6) | (u[2] & 0x3Fu);
  }
  *len = 4;
  return (uint32_t{lead & 0x07u} << 18) | (uint32_t{u[1] & 0x3Fu} << 12) |
         (uint32_t{u[2] & 0x3Fu} << 6) | (u[3] & 0x3Fu);
}

char32_t decode_next(std::string_view s, size_t& i) {
  const Sequence q = classify(s.data() + i, s.size() - i);
  if (q.kind != Sequence::Kind::valid) {
    i += q.length;
    return 0xFFFD;
  }
  size_t len = 0;
  const uint32_t cp = decode(s.data() + i, &len);
  i += len;
  return cp;
}

void append(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

}  // namespace tessera::utf8
