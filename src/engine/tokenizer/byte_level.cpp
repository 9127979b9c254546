#include "engine/tokenizer/byte_level.h"

#include <array>

#include "util/utf8.h"

namespace tessera::engine::byte_level {

namespace {

struct Tables {
  std::array<uint32_t, 256> byte_to_cp{};
  std::array<char, 256 * 2> spelled{};  // UTF-8 of byte_to_cp, 2 bytes per entry
  std::array<uint8_t, 256> spelled_len{};
  std::array<int16_t, 512> cp_to_byte{};  // every alphabet code point is < 0x144

  Tables() {
    cp_to_byte.fill(-1);
    uint32_t next_extra = 256;
    for (uint32_t b = 0; b < 256; ++b) {
      const bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
      const uint32_t cp = printable ? b : next_extra++;
      byte_to_cp[b] = cp;
      cp_to_byte[cp] = static_cast<int16_t>(b);
      std::string s;
      utf8::append(s, cp);
      spelled_len[b] = static_cast<uint8_t>(s.size());
      for (size_t i = 0; i < s.size(); ++i) spelled[b * 2 + i] = s[i];
    }
  }
};

const Tables& tables() {
  static const Tables t;
  return t;
}

}  // namespace

std::string_view encode_byte(uint8_t b) {
  const Tables& t = tables();
  return {t.spelled.data() + size_t{b} * 2, t.spelled_len[b]};
}

void encode(std::string_view raw, std::string& out) {
  const Tables& t = tables();
  for (const char c : raw) {
    const auto b = static_cast<uint8_t>(c);
    out.append(t.spelled.data() + size_t{b} * 2, t.spelled_len[b]);
  }
}

int decode_code_point(uint32_t cp) {
  return cp < 512 ? tables().cp_to_byte[cp] : -1;
}

void decode(std::string_view spelled, std::string& out) {
  size_t i = 0;
  while (i < spelled.size()) {
    const utf8::Sequence q = utf8::classify(spelled.data() + i, spelled.size() - i);
    if (q.kind != utf8::Sequence::Kind::valid) {  // not UTF-8: copy the bytes through
      out.append(spelled.data() + i, q.length);
      i += q.length;
      continue;
    }
    size_t len = 0;
    const uint32_t cp = utf8::decode(spelled.data() + i, &len);
    const int b = decode_code_point(cp);
    if (b >= 0) {
      out.push_back(static_cast<char>(b));
    } else {
      out.append(spelled.data() + i, len);
    }
    i += len;
  }
}

}  // namespace tessera::engine::byte_level
