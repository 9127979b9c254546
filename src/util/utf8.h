// UTF-8 helpers (tokenizers, templates, command output): validation with replacement, code
// point decoding and encoding. Invalid input is replaced the way the Unicode standard recommends
// ("maximal subparts", as Python's errors="replace" does): each maximal prefix of a well-formed
// sequence that cannot be completed, or each single stray byte, becomes one U+FFFD.
// Pure functions; safe from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace tessera::utf8 {

inline constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// What starts at a position of a byte string.
struct Sequence {
  enum class Kind { valid, incomplete, invalid } kind;
  // valid: the sequence's length (1-4); incomplete: the bytes present, all a valid prefix
  // that the end of the input cut short; invalid: the maximal subpart to replace (>= 1).
  size_t length;
};

// Classifies the sequence starting at s[0] (n >= 1 bytes available).
Sequence classify(const char* s, size_t n);

// Length of the UTF-8 sequence a lead byte announces (1 for continuation or invalid bytes),
// for walking text already known to be valid.
inline size_t sequence_length(unsigned char lead) {
  if (lead < 0x80) return 1;
  if (lead >= 0xF0) return 4;
  if (lead >= 0xE0) return 3;
  if (lead >= 0xC0) return 2;
  return 1;
}

// True when `s` is well-formed UTF-8.
bool is_valid(std::string_view s);

// `s` with every ill-formed part replaced by U+FFFD (incomplete tail included).
std::string sanitize(std::string_view s);

// The longest prefix of `s` that can be emitted now: complete characters and invalid parts
// (which `sanitize` replaces), but not a valid sequence that the end of `s` cuts short.
size_t complete_prefix_length(std::string_view s);

// Decodes the valid sequence at s[0] (text known to be valid); sets *len to its length.
uint32_t decode(const char* s, size_t* len);

// Decodes the code point at s[i] (i < s.size()) and advances i past it. An ill-formed part
// yields U+FFFD and is consumed as `sanitize` replaces it (its maximal subpart, >= 1 byte).
char32_t decode_next(std::string_view s, size_t& i);

// Appends the UTF-8 encoding of code point cp (< 0x110000, not a surrogate).
void append(std::string& out, uint32_t cp);

}  // namespace tessera::utf8
