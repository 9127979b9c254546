// Splitting input text into raw-text fragments and whole special tokens, before the
// tokenizer model sees it. User-defined tokens are always split out; control and unknown
// tokens only with parse_special.
//
// The result equals the reference engine's (llama.cpp tokenizer_st_partition): special tokens
// are taken in order of decreasing length, each one at every place it occurs inside what is
// still raw text, left to right, without overlap; a token with the lstrip / rstrip attribute
// also swallows the whitespace before / after it. It is computed in one scan of the text (a
// hash lookup at positions whose byte can start a special token) instead of one search per
// special token.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/tokenizer/vocab.h"

namespace tessera::engine {

struct Fragment {
  TokenId token;  // the special token, or kNoToken for raw text
  size_t offset;  // raw text: bytes [offset, offset + length) of the input
  size_t length;
};

class SpecialTokenSplitter {
 public:
  // `vocab` must outlive the splitter.
  explicit SpecialTokenSplitter(const Vocab& vocab);

  // Replaces `out` with the fragments of `text`, in order. Control/unknown tokens that
  // overlap one of `plain_ranges` ([begin, end) byte ranges) are left as raw text. Thread-safe.
  void split(std::string_view text, bool parse_special, std::vector<Fragment>& out,
             std::span<const std::pair<size_t, size_t>> plain_ranges = {}) const;

 private:
  bool active(TokenId id, bool parse_special) const;

  const Vocab* vocab_;
  std::vector<int32_t> priority_;  // by id: index in vocab.special_tokens, or -1
  // [parse_special][first byte]: the distinct lengths (longest first) of the special tokens
  // that are split out in that mode and start with that byte.
  std::array<std::array<std::vector<uint32_t>, 256>, 2> lengths_;
};

}  // namespace tessera::engine
