// GPT-2's byte-level alphabet: every byte is spelled as one printable code point in byte-level
// BPE vocabularies (printable Latin-1 bytes as themselves, the other 68 bytes as U+0100 ...
// U+0143 in byte order; a space is "Ġ" U+0120). Tables built once; safe from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace tessera::engine::byte_level {

// The UTF-8 spelling (1 or 2 bytes) of byte b in the byte-level alphabet.
std::string_view encode_byte(uint8_t b);

// Appends the byte-level spelling of every byte of `raw`.
void encode(std::string_view raw, std::string& out);

// The byte a code point of the alphabet stands for, or -1 when cp is not in it.
int decode_code_point(uint32_t cp);

// Appends the bytes a byte-level spelled string stands for; code points outside the alphabet
// are copied through as UTF-8 (vocabularies sometimes hold raw text in "normal" tokens).
void decode(std::string_view spelled, std::string& out);

}  // namespace tessera::engine::byte_level
