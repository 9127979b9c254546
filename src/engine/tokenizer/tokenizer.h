// Tokenizers built from a GGUF file's tokenizer.ggml.* metadata: SentencePiece-style BPE
// (`llama`), byte-level BPE (`gpt2`, with the pre-tokenizer named by tokenizer.ggml.pre) and
// WordPiece (`bert`). Results match the Hugging Face tokenizer the file was converted from.
//
// A Tokenizer is immutable after from_gguf() and safe to use from many threads at once; it
// copies what it needs, so the GgufFile may be closed afterwards. encode() never fails: bytes
// that are not valid UTF-8 are replaced by U+FFFD before tokenizing.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/result.h"

namespace tessera::gguf {
class GgufFile;
}

namespace tessera::engine {

using TokenId = int32_t;
constexpr TokenId kNoToken = -1;

enum class TokenizerKind { spm, bpe, wpm };

// tokenizer.ggml.token_type values.
enum class TokenType : uint8_t {
  undefined = 0,
  normal = 1,
  unknown = 2,
  control = 3,
  user_defined = 4,
  unused = 5,
  byte = 6,
};

struct EncodeOptions {
  // Add BOS/EOS (SPM, BPE: as tokenizer.ggml.add_bos_token / add_eos_token say) or
  // [CLS] ... [SEP] (WordPiece).
  bool add_special = true;
  // Match the text of control tokens whole in the input (e.g. "<|im_start|>" -> its id).
  // User-defined tokens are always matched whole, as Hugging Face's added tokens are.
  bool parse_special = false;
  // With parse_special: byte ranges [begin, end) of the text (after invalid UTF-8 is
  // replaced; for valid input, of the text as given) where control tokens are NOT matched,
  // e.g. the message contents inside a rendered chat prompt, so that user text cannot
  // inject control tokens while the template's markup still becomes special tokens.
  // Sorted or not; may overlap. A control token overlapping a range stays plain text.
  std::span<const std::pair<size_t, size_t>> plain_ranges = {};
};

class Tokenizer {
 public:
  // Fails (malformed / unsupported / not_found) on a file without tokenizer metadata, an
  // unknown tokenizer.ggml.model or tokenizer.ggml.pre (naming the value and the supported
  // ones), inconsistent arrays, duplicate tokens, or add_bos/add_eos/add_sep set with no
  // such token. A special id outside the vocabulary is ignored (the model's default stays),
  // as the reference engine does.
  static Result<Tokenizer> from_gguf(const gguf::GgufFile& file);

  std::vector<TokenId> encode(std::string_view text, EncodeOptions options = {}) const;

  // The bytes a token stands for when detokenized (SPM "▁" -> space, byte tokens <0xNN> ->
  // the byte, byte-level BPE characters -> their bytes). May be an incomplete UTF-8
  // sequence. Control tokens give their text when render_special, else "".
  std::string token_to_piece(TokenId id, bool render_special = true) const;

  // Concatenated pieces; invalid UTF-8 in the result is replaced by U+FFFD. With
  // remove_leading_space, the space an SPM tokenizer adds before the first word is dropped
  // (so decode(encode(x)) == x; also the space before a WordPiece text's first word). With
  // clean_up_spaces, Hugging Face's clean_up_tokenization_spaces is applied (" ," -> ",",
  // " 's" -> "'s", ...; breaks the round trip; clean_spaces() says whether the model wants it).
  std::string decode(std::span<const TokenId> ids, bool render_special = true,
                     bool remove_leading_space = true, bool clean_up_spaces = false) const;

  TokenizerKind kind() const;
  std::string_view model_name() const;  // tokenizer.ggml.model
  std::string_view pre_name() const;    // tokenizer.ggml.pre ("default" when absent)
  size_t vocab_size() const;
  std::string_view token_text(TokenId id) const;  // the vocabulary entry as stored
  // The type as the tokenizer treats it: the file's tokenizer.ggml.token_type, except that
  // end-of-turn, end-of-generation and FIM tokens recognised by their text are control
  // tokens (as in the reference engine).
  TokenType token_type(TokenId id) const;
  bool valid(TokenId id) const { return id >= 0 && static_cast<size_t>(id) < vocab_size(); }

  TokenId bos() const;  // kNoToken when the file has none
  TokenId eos() const;
  TokenId eot() const;
  TokenId unk() const;
  TokenId sep() const;
  TokenId pad() const;
  bool add_bos() const;
  bool add_eos() const;
  bool add_sep() const;       // a SEP between the two texts of a pair (rerankers)
  bool clean_spaces() const;  // the model's clean_up_tokenization_spaces
  // decode(remove_leading_space = true) drops one leading space (SPM with a space prefix,
  // WordPiece); StreamDecoder does the same for the first text it emits.
  bool strips_leading_space() const;
  // End of generation: EOS, EOT and the other end tokens the vocabulary marks.
  bool is_end_of_generation(TokenId id) const;

  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;
  ~Tokenizer();

 private:
  struct Impl;
  explicit Tokenizer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Turns a stream of generated tokens into text without ever emitting a broken UTF-8
// sequence: bytes of a character split across tokens are held back until it is complete;
// a sequence that can never complete is emitted as U+FFFD. The concatenated output equals
// decode(ids, render_special). One per sequence (not thread-safe); the Tokenizer must
// outlive it.
class StreamDecoder {
 public:
  // at_text_start: the tokens begin a text, so the space an SPM/WordPiece tokenizer puts
  // before the first word is dropped (as decode does); false for tokens generated after a
  // prompt, whose leading space is part of the continuation.
  explicit StreamDecoder(const Tokenizer& tokenizer, bool render_special = true,
                         bool at_text_start = true);
  std::string push(TokenId id);  // text that is now complete (possibly empty)
  std::string flush();           // whatever is held back, invalid bytes replaced

 private:
  const Tokenizer* tokenizer_;
  bool render_special_;
  bool first_ = true;
  std::string pending_;
};

}  // namespace tessera::engine
