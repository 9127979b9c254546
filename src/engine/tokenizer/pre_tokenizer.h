// Pre-tokenizers of byte-level BPE vocabularies (tokenizer.ggml.pre): the table of supported
// names and, for each, the regular expressions that cut text into words before merging, and
// the PCRE2 splitter that applies them.
//
// The regexes are applied in sequence like Hugging Face's Sequence of Split(behavior=Isolated)
// pre-tokenizers: each one runs over every piece the previous ones produced (a piece is the
// whole subject, so "$" and look-ahead stop at its end), and both its matches and the text
// between them become pieces.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

struct pcre2_real_code_8;  // pcre2.h's pcre2_code (8-bit)

namespace tessera::engine {

struct PreTokenizerSpec {
  std::vector<std::string_view> names;    // tokenizer.ggml.pre values that select it
  std::vector<std::string_view> regexes;  // applied in sequence
  // Flags the reference sets with the pre-tokenizer:
  bool ignore_merges = false;  // a word that is itself a token is not merged
  bool clean_spaces = true;    // decode: clean_up_tokenization_spaces
  bool add_bos = false;        // BOS by default (the file's add_bos_token still overrides)
  bool add_sep = false;        // SEP between the texts of a pair (rerank)
  bool no_bos = false;         // the vocabulary has no BOS token
};

// All supported pre-tokenizers, one entry per regex set.
const std::vector<PreTokenizerSpec>& pre_tokenizer_table();
// The entry that lists `name`, or nullptr.
const PreTokenizerSpec* find_pre_tokenizer(std::string_view name);
// "default, llama3, llama-bpe, ...": every supported name, for error messages.
std::string supported_pre_tokenizer_names();

// A word of the input: bytes [offset, offset + length) of the text given to split().
struct Span {
  size_t offset;
  size_t length;
};

// The compiled regexes of one PreTokenizerSpec (PCRE2, UTF + UCP, JIT-compiled when the
// platform allows). Immutable; split() may be called from many threads at once (match data
// and JIT stacks are per thread).
class RegexSplitter {
 public:
  // Errors: unsupported, with PCRE2's message and the offending regex.
  static Result<std::unique_ptr<RegexSplitter>> compile(const PreTokenizerSpec& spec);
  ~RegexSplitter();
  RegexSplitter(const RegexSplitter&) = delete;
  RegexSplitter& operator=(const RegexSplitter&) = delete;

  // Cuts `text` (valid UTF-8) into consecutive, non-empty words covering all of it; `words`
  // is cleared first. `scratch` is the caller's buffer, reused between calls.
  void split(std::string_view text, std::vector<Span>& words, std::vector<Span>& scratch) const;

 private:
  struct Regex {
    pcre2_real_code_8* code;
    bool jit;
  };
  RegexSplitter() = default;
  void apply(const Regex& re, std::string_view text, const std::vector<Span>& in,
             std::vector<Span>& out) const;
  std::vector<Regex> regexes_;
};

}  // namespace tessera::engine
