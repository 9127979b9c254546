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

// SentencePiece-style BPE (tokenizer model "llama"): starting from single characters, the
// adjacent pair whose concatenation is the highest-scoring token is merged (ties: leftmost)
// until no pair is a token; pieces that are not tokens fall back to byte tokens <0xNN>
// (or unk). `escaped` is the fragment with spaces already replaced by "▁" (and the prefix
// added when due).
void spm_encode(const Vocab& vocab, std::string_view escaped, std::vector<TokenId>& out);

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

// Byte-level BPE (tokenizer model "gpt2"): the pre-tokenizer's regexes cut the text into
// words; each word's bytes, spelled in GPT-2's byte alphabet, are merged by rank (lowest
// first, ties: leftmost).
class BpeEncoder {
 public:
  // `vocab` (kind bpe, with a pre-tokenizer) must outlive the encoder. Errors: a regex of the
  // pre-tokenizer that PCRE2 refuses.
  static Result<std::unique_ptr<BpeEncoder>> create(const Vocab& vocab);

  void encode(std::string_view text, std::vector<TokenId>& out) const;

 private:
  explicit BpeEncoder(const Vocab& vocab) : vocab_(&vocab) {}
  void encode_word(std::string_view word, std::vector<TokenId>& out) const;
  void push_unmergeable(TokenId id, std::vector<TokenId>& out) const;

  const Vocab* vocab_;
  std::unique_ptr<RegexSplitter> splitter_;
};

}  // namespace tessera::engine
