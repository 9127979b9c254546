// WordPiece as Hugging Face's BertTokenizerFast runs it (tokenizers' BertNormalizer with
// lowercase and strip_accents, BertPreTokenizer, WordPiece model), step for step:
//
//   1. clean text: drop U+0000, U+FFFD and "control" characters (Cc, Cf and, through a quirk
//      of the reference's category tables, only the first and last code point of each
//      private-use range); map whitespace (\t \n \r and White_Space) to ' '
//   2. pad CJK ideographs with spaces
//   3. NFD, then drop Mn (non-spacing marks)
//   4. lower-case (simple mapping: the one full mapping, U+0130, cannot survive step 3)
//   5. split at whitespace; every punctuation character (ASCII symbols and Unicode P*) is a
//      word of its own
//   6. greedy longest-match-first WordPiece per word; a word of more than max_word_chars
//      code points, or with no complete cover, becomes unk.
//
// Unicode properties come from utf8proc (Unicode 15); the reference's category tables are
// Unicode 8, so characters assigned since then (new non-spacing marks, punctuation, format
// characters) may be treated differently.
#include "engine/tokenizer/wordpiece.h"

#include <utf8proc.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

#include "util/utf8.h"

namespace tessera::engine {
namespace {

constexpr char32_t kReplacementChar = 0xFFFD;
// U+2581, which llama.cpp's converter puts before every word-initial piece.
constexpr std::string_view kWordStart = "\xE2\x96\x81";

const utf8proc_property_t* property(char32_t c) {
  return utf8proc_get_property(static_cast<utf8proc_int32_t>(c));
}

// Rust's char::is_whitespace (the White_Space property), which the reference uses.
bool is_whitespace(char32_t c) {
  if (c <= 0x20) return c == 0x20 || (c >= 0x09 && c <= 0x0D);
  switch (c) {
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
      return c >= 0x2000 && c <= 0x200A;
  }
}

// The reference's "control" test for a non-ASCII character: Cc or Cf, plus the endpoints of
// the private-use ranges (its tables list a range only by its first and last entry).
bool is_control_non_ascii(char32_t c) {
  const auto cat = property(c)->category;
  if (cat == UTF8PROC_CATEGORY_CC || cat == UTF8PROC_CATEGORY_CF) return true;
  switch (c) {
    case 0xE000:
    case 0xF8FF:
    case 0xF0000:
    case 0xFFFFD:
    case 0x100000:
    case 0x10FFFD:
      return true;
    default:
      return false;
  }
}

// CJK ideograph blocks that BERT splits into one-character words (the reference's ranges;
// note 0x2B920, not 0x2B820).
bool is_cjk_ideograph(char32_t c) {
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
         (c >= 0x20000 && c <= 0x2A6DF) || (c >= 0x2A700 && c <= 0x2B73F) ||
         (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

bool is_ascii_punctuation(char32_t c) {
  return (c >= 0x21 && c <= 0x2F) || (c >= 0x3A && c <= 0x40) || (c >= 0x5B && c <= 0x60) ||
         (c >= 0x7B && c <= 0x7E);
}

bool is_punctuation_category(utf8proc_propval_t cat) {
  return cat >= UTF8PROC_CATEGORY_PC && cat <= UTF8PROC_CATEGORY_PO;
}

// Steps 1-3 (clean, CJK padding, NFD in canonical order). Non-spacing marks are kept here
// (they take part in canonical ordering) and dropped by the splitter.
void normalize(std::string_view text, std::u32string& out) {
  out.clear();
  out.reserve(text.size() + 8);
  std::array<utf8proc_int32_t, 16> decomposed{};
  size_t i = 0;
  while (i < text.size()) {
    char32_t c = utf8::decode_next(text, i);
    if (c < 0x80) {
      if (c == '\t' || c == '\n' || c == '\r') {
        out.push_back(U' ');
      } else if (c >= 0x20 && c != 0x7F) {
        out.push_back(c);
      }  // other ASCII controls (NUL, VT, FF, ...) are dropped
      continue;
    }
    if (c == kReplacementChar || is_control_non_ascii(c)) continue;
    if (is_whitespace(c)) {
      out.push_back(U' ');
      continue;
    }
    const bool cjk = is_cjk_ideograph(c);
    if (cjk) out.push_back(U' ');
    int boundclass = 0;
    const utf8proc_ssize_t n =
        utf8proc_decompose_char(static_cast<utf8proc_int32_t>(c), decomposed.data(),
                                decomposed.size(), UTF8PROC_DECOMPOSE, &boundclass);
    const bool ok = n > 0 && static_cast<size_t>(n) <= decomposed.size();
    for (utf8proc_ssize_t k = 0; k < (ok ? n : 1); ++k) {
      const char32_t d = ok ? static_cast<char32_t>(decomposed[static_cast<size_t>(k)]) : c;
      const auto ccc = property(d)->combining_class;
      // Canonical ordering: a mark moves before the marks of higher class right before it.
      size_t pos = out.size();
      if (ccc != 0) {
        while (pos > 0 && out[pos - 1] >= 0x80 && property(out[pos - 1])->combining_class > ccc)
          --pos;
      }
      out.insert(out.begin() + static_cast<std::ptrdiff_t>(pos), d);
    }
    if (cjk) out.push_back(U' ');
  }
}

// Step 6 over the words of one text. A word is accumulated, UTF-8 encoded, after the
// word-start prefix, so that every candidate piece is a view into one buffer.
class WordEncoder {
 public:
  WordEncoder(const PieceLookup& lookup, TokenId unk, size_t max_word_chars,
              std::vector<TokenId>& out)
      : lookup_(lookup), unk_(unk), max_word_chars_(max_word_chars), out_(out) {
    word_.assign(kWordStart);
  }

  void add_char(char32_t c) {
    char_ends_.push_back(static_cast<uint32_t>(word_.size()));
    utf8::append(word_, c);
  }

  void finish_word() {
    if (char_ends_.empty()) return;
    char_ends_.push_back(static_cast<uint32_t>(word_.size()));
    encode();
    word_.resize(kWordStart.size());
    char_ends_.clear();
  }

 private:
  // char_ends_ holds the byte offset in word_ of each character's start, then the end.
  void encode() {
    const size_t n_chars = char_ends_.size() - 1;
    const size_t first = out_.size();
    if (n_chars > max_word_chars_) {
      push_unk();
      return;
    }
    const std::string_view word(word_);
    size_t start = 0;
    while (start < n_chars) {
      TokenId id = kNoToken;
      size_t end = n_chars;
      for (; end > start; --end) {
        std::string_view piece;
        if (start == 0) {
          piece = word.substr(0, char_ends_[end]);
        } else {
          piece = word.substr(char_ends_[start], char_ends_[end] - char_ends_[start]);
          // In the stored spelling a piece that starts with U+2581 is word-initial; the
          // reference would look up "##\u2581...", which no BERT vocabulary holds.
          if (piece.starts_with(kWordStart)) continue;
        }
        id = lookup_(piece);
        if (id >= 0) break;
      }
      if (id < 0) {
        out_.resize(first);
        push_unk();
        return;
      }
      out_.push_back(id);
      start = end;
    }
  }

  void push_unk() {
    if (unk_ >= 0) out_.push_back(unk_);
  }

  const PieceLookup& lookup_;
  TokenId unk_;
  size_t max_word_chars_;
  std::vector<TokenId>& out_;
  std::string word_;
  std::vector<uint32_t> char_ends_;
};

}  // namespace

std::vector<TokenId> wordpiece_encode(std::string_view text, const PieceLookup& lookup, TokenId unk,
                                      size_t max_word_chars) {
  std::vector<TokenId> out;
  std::u32string normalized;
  normalize(text, normalized);

  WordEncoder words(lookup, unk, max_word_chars, out);
  for (char32_t c : normalized) {
    bool punctuation = false;
    if (c < 0x80) {
      if (c == U' ') {
        words.finish_word();
        continue;
      }
      if (c >= 'A' && c <= 'Z') c += 'a' - 'A';
      punctuation = is_ascii_punctuation(c);
    } else {
      if (property(c)->category == UTF8PROC_CATEGORY_MN) continue;
      c = static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(c)));
      if (is_whitespace(c)) {
        words.finish_word();
        continue;
      }
      punctuation = is_punctuation_category(property(c)->category);
    }
    if (punctuation) {
      words.finish_word();
      words.add_char(c);
      words.finish_word();
    } else {
      words.add_char(c);
    }
  }
  words.finish_word();
  return out;
}

}  // namespace tessera::engine
