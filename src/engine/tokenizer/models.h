// The tokenizer models proper, applied to one raw-text fragment (special tokens already split
// out, text valid UTF-8). All are stateless apart from per-thread scratch buffers, so they may
// run on many threads at once.
#pragma once

#include <memory>
#include <string_view>
#include <vector>

#include "engine/tokenizer/pre_tokenizer.h"
#include "engine/tokenizer/vocab.h"
#include "util/result.h"

namespace tessera::engine {

// The merge loops index symbols with 32-bit integers: a single piece longer than this (a
// gigabyte without a space) is merged in slices of this size, cut at character boundaries.
inline constexpr size_t kMaxMergeBytes = size_t{1} << 30;

// Calls fn on consecutive slices of `text` of at most kMaxMergeBytes, cut at UTF-8 character
// boundaries (text is valid UTF-8).
template <class Fn>
void for_each_merge_slice(std::string_view text, Fn&& fn) {
  while (text.size() > kMaxMergeBytes) {
    size_t cut = kMaxMergeBytes;
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
    fn(text.substr(0, cut));
    text.remove_prefix(cut);
  }
  fn(text);
}

// What one tokenizer.ggml.model value does to text: one class per model in its own file
// (spm.cpp, bpe.cpp, wpm.cpp), created through the table in models.cpp.
class TokenizerModel {
 public:
  virtual ~TokenizerModel() = default;

  // Appends the tokens of one raw-text fragment (valid UTF-8, special tokens already split
  // out). after_special: the fragment starts the text or follows a special token.
  virtual void encode_fragment(std::string_view text, bool after_special,
                               std::vector<TokenId>& out) const = 0;
  // The tokens around the text when special tokens are added (BOS/EOS, [CLS]/[SEP]).
  virtual void add_prefix(std::vector<TokenId>& out) const = 0;
  virtual void add_suffix(std::vector<TokenId>& out) const = 0;
  // The bytes a normal token's stored text stands for (the "▁" or byte-alphabet spelling
  // undone).
  virtual void append_piece(std::string_view text, std::string& out) const = 0;
  // Whether the model puts a space before the first word that decode should drop.
  virtual bool adds_leading_space() const = 0;
};

// The model for vocab.kind; `vocab` must outlive it. Errors: a pre-tokenizer regex that PCRE2
// refuses.
Result<std::unique_ptr<TokenizerModel>> make_tokenizer_model(const Vocab& vocab);

// One factory per model (models.cpp lists them).
Result<std::unique_ptr<TokenizerModel>> make_spm_model(const Vocab& vocab);
Result<std::unique_ptr<TokenizerModel>> make_bpe_model(const Vocab& vocab);
Result<std::unique_ptr<TokenizerModel>> make_wpm_model(const Vocab& vocab);

// "▁" (U+2581): how SentencePiece (and llama.cpp's WordPiece files) spell a space.
inline constexpr std::string_view kSpaceMark = "\xE2\x96\x81";

// Appends text with every "▁" turned back into a space.
void append_unescaped(std::string_view text, std::string& out);

}  // namespace tessera::engine
