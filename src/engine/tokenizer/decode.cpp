// Detokenization: token_to_piece and decode.
#include <cstdlib>

#include "engine/tokenizer/tokenizer_impl.h"
#include "util/utf8.h"

namespace tessera::engine {

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// The byte of a "<0xNN>" token, or -1.
int byte_token_value(std::string_view text) {
  if (text.size() != 6 || text.substr(0, 3) != "<0x" || text[5] != '>') return -1;
  const int hi = hex_value(text[3]);
  const int lo = hex_value(text[4]);
  return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

// Hugging Face's clean_up_tokenization_spaces, as the reference applies it: drops the space
// before ? ! . , and before 's 'm 're 've, and around a lone apostrophe.
std::string apply_clean_up_spaces(const std::string& s) {
  std::string a;
  a.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    const char x = s[i];
    if (i > 0 && s[i - 1] == ' ' && (x == '?' || x == '!' || x == '.' || x == ',')) a.pop_back();
    a.push_back(x);
  }
  std::string b;
  b.reserve(a.size());
  for (size_t i = 0; i < a.size(); ++i) {
    const char x = a[i];
    if (i > 0 && x == '\'' && i + 1 < a.size() && a[i - 1] == ' ' && a[i + 1] == ' ') {
      b.pop_back();
      b.push_back(x);
      a[++i] = '\0';  // the space after it is dropped (and no longer counts as a space)
      continue;
    }
    b.push_back(x);
  }
  std::string c;
  c.reserve(b.size());
  for (size_t i = 0; i < b.size(); ++i) {
    const char x = b[i];
    if (i > 0 && b[i - 1] == ' ' && x == '\'' && i + 1 < b.size()) {
      const char x1 = b[i + 1];
      const char x2 = i + 2 < b.size() ? b[i + 2] : '\0';
      if (x1 == 's' || x1 == 'm' || (x1 == 'r' && x2 == 'e') || (x1 == 'v' && x2 == 'e')) {
        c.pop_back();
      }
    }
    c.push_back(x);
  }
  return c;
}

}  // namespace

void Tokenizer::Impl::build_pieces() {
  const size_t n = vocab.size();
  std::vector<size_t> offsets(n + 1);
  for (size_t id = 0; id < n; ++id) {
    offsets[id] = piece_arena.size();
    const uint32_t attr = vocab.attrs[id];
    const std::string_view text = vocab.texts[id];
    if (attr & (kAttrUnknown | kAttrControl | kAttrUserDefined)) {
      piece_arena.append(text);
    } else if (attr & kAttrNormal) {
      model->append_piece(text, piece_arena);
    } else if (attr & kAttrByte) {
      const int b = byte_token_value(text);
      if (b >= 0) {
        piece_arena.push_back(static_cast<char>(b));
      } else {
        piece_arena.append(text);
      }
    }
    // unused and undefined tokens render as nothing
  }
  offsets[n] = piece_arena.size();
  pieces.resize(n);
  for (size_t id = 0; id < n; ++id) {
    pieces[id] = std::string_view(piece_arena).substr(offsets[id], offsets[id + 1] - offsets[id]);
  }
}

std::string_view Tokenizer::Impl::piece(TokenId id, bool render_special) const {
  if (id < 0 || static_cast<size_t>(id) >= pieces.size()) return {};
  if (!render_special && vocab.has_attr(id, kAttrUnknown | kAttrControl)) return {};
  return pieces[static_cast<size_t>(id)];
}

std::string Tokenizer::token_to_piece(TokenId id, bool render_special) const {
  return std::string(impl_->piece(id, render_special));
}

std::string Tokenizer::decode(std::span<const TokenId> ids, bool render_special,
                              bool remove_leading_space, bool clean_up_spaces) const {
  std::string out;
  bool strip = remove_leading_space && strips_leading_space();
  for (const TokenId id : ids) {
    std::string_view p = impl_->piece(id, render_special);
    if (p.empty()) continue;
    if (strip && p.front() == ' ') p.remove_prefix(1);
    strip = false;
    out.append(p);
  }
  if (clean_up_spaces) out = apply_clean_up_spaces(out);
  return utf8::is_valid(out) ? out : utf8::sanitize(out);
}

}  // namespace tessera::engine
