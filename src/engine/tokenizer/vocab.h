// The vocabulary a Tokenizer is built on: token texts, scores and attributes, the special ids
// and the flags that steer encoding, copied out of a GGUF file's tokenizer.ggml.* metadata.
// Loading follows the reference engine (llama.cpp's llama-vocab.cpp) rule for rule: the
// defaults per tokenizer model, the end-of-turn / FIM tokens recognised by their text (and
// made control tokens), the end-of-generation set and the per-model strip attributes.
//
// Immutable after load_vocab(); neither copyable nor movable (the index holds views into the
// vocabulary's own storage).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/tokenizer/hash_tables.h"
#include "engine/tokenizer/pre_tokenizer.h"
#include "engine/tokenizer/tokenizer.h"
#include "util/result.h"

namespace tessera::gguf {
class GgufFile;
}

namespace tessera::engine {

// Token attributes as the reference keeps them: a bit set, because its load-time rules add
// bits (an end-of-turn token that the file calls user-defined also becomes control) rather
// than replace the file's type.
enum TokenAttr : uint32_t {
  kAttrUndefined = 0,
  kAttrUnknown = 1u << 0,
  kAttrUnused = 1u << 1,
  kAttrNormal = 1u << 2,
  kAttrControl = 1u << 3,
  kAttrUserDefined = 1u << 4,
  kAttrByte = 1u << 5,
  kAttrLstrip = 1u << 6,  // whitespace before the token is dropped when it is split out
  kAttrRstrip = 1u << 7,  // whitespace after it is dropped
};

struct SpecialIds {
  TokenId bos = kNoToken;
  TokenId eos = kNoToken;
  TokenId eot = kNoToken;
  TokenId eom = kNoToken;
  TokenId unk = kNoToken;
  TokenId sep = kNoToken;
  TokenId pad = kNoToken;
  TokenId mask = kNoToken;
  TokenId fim_pre = kNoToken;
  TokenId fim_suf = kNoToken;
  TokenId fim_mid = kNoToken;
  TokenId fim_pad = kNoToken;
  TokenId fim_rep = kNoToken;
  TokenId fim_sep = kNoToken;
};

struct Vocab {
  Vocab() = default;
  Vocab(const Vocab&) = delete;
  Vocab& operator=(const Vocab&) = delete;

  TokenizerKind kind = TokenizerKind::spm;
  std::string model_name;                 // tokenizer.ggml.model
  std::string pre_name;                   // tokenizer.ggml.pre, "default" when absent
  const PreTokenizerSpec* pre = nullptr;  // BPE only

  std::string arena;                    // all token texts, back to back
  std::vector<std::string_view> texts;  // views into arena, by id
  std::vector<float> scores;
  std::vector<uint32_t> attrs;  // TokenAttr bits
  TokenIndex index;             // text -> id over `texts`

  SpecialIds ids;
  bool add_bos = false;
  bool add_eos = false;
  bool add_sep = false;
  bool add_space_prefix = false;  // SPM: a "▁" before the text and after special tokens
  bool clean_spaces = false;      // decode: Hugging Face's clean_up_tokenization_spaces
  bool ignore_merges = false;     // BPE: a word that is a token is taken whole
  // SPM: no token has a "▁" right after another character, so text can be cut before
  // each run of "▁" and the parts merged separately (same result, much faster).
  bool spm_split_at_spaces = false;
  std::vector<TokenId> end_of_generation;  // sorted

  // Tokens split out of the input whole (control, user-defined, unknown), in the order the
  // reference tries them: longer texts first.
  std::vector<TokenId> special_tokens;

  // SPM / byte fallback: the token of each byte (<0xNN>, else the one-byte token), or kNoToken.
  std::array<TokenId, 256> byte_tokens{};

  // BPE only: merge ranks and the token of each byte's byte-level spelling.
  MergeTable merges;
  std::array<TokenId, 256> byte_level_tokens{};

  // Identifies this vocabulary's per-thread word caches (word_cache.h).
  uint64_t cache_owner = 0;

  size_t size() const { return texts.size(); }
  TokenId find(std::string_view text) const { return index.find(text); }
  bool has_attr(TokenId id, uint32_t attr) const {
    return (attrs[static_cast<size_t>(id)] & attr) != 0;
  }
};

// Reads the tokenizer.ggml.* keys of `file` into `vocab` (a fresh Vocab). Errors: not_found
// (no tokenizer metadata), unsupported (tokenizer model or pre-tokenizer we do not know,
// naming it and the supported ones), malformed (arrays of the wrong type or size, duplicate
// tokens, add_bos/add_eos asked for with no such token). Messages start with the file name.
Status load_vocab(const gguf::GgufFile& file, Vocab& vocab);

// Part of load_vocab: the rules that look at token texts (special ids found by their text,
// the end-of-generation set, attributes set by model name) and the special-token list.
void apply_token_text_rules(Vocab& vocab, std::string_view general_name,
                            std::string_view general_arch);

}  // namespace tessera::engine
