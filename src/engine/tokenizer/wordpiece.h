// WordPiece (BERT) tokenization of plain text: BERT's basic normalization (lower-casing,
// accent stripping, control-character removal, whitespace split, punctuation and CJK
// characters split into words of their own) followed by greedy longest-match-first
// sub-word lookup. Matches Hugging Face's BertTokenizer(Fast) with do_lower_case.
//
// In GGUF files written by llama.cpp's converter a word-initial piece is stored with a
// leading "\u2581" (e.g. "▁hello") and a continuation piece without the "##" prefix
// (e.g. "ing"); lookup receives pieces in that stored spelling.
#pragma once

#include <functional>
#include <string_view>
#include <vector>

#include "engine/tokenizer/tokenizer.h"

namespace tessera::engine {

// Returns the id of a stored piece, or kNoToken.
using PieceLookup = std::function<TokenId(std::string_view piece)>;

// Tokenizes text that holds no special tokens (valid UTF-8 expected; the caller replaces
// invalid bytes first). A word with no complete WordPiece cover becomes `unk`; words longer
// than max_word_chars code points too, as in the reference. With unk == kNoToken such a word
// gives no token at all. Always lower-cases and strips accents (uncased BERT): cased
// WordPiece vocabularies are not supported yet.
std::vector<TokenId> wordpiece_encode(std::string_view text, const PieceLookup& lookup, TokenId unk,
                                      size_t max_word_chars = 100);

}  // namespace tessera::engine
