// Tokenizer: building from a GGUF file, encoding, and the accessors.
#include "engine/tokenizer/tokenizer.h"

#include <algorithm>

#include "engine/tokenizer/tokenizer_impl.h"
#include "gguf/reader.h"
#include "util/utf8.h"

namespace tessera::engine {

namespace {

constexpr std::string_view kSpaceMark = "\xE2\x96\x81";  // "▁" U+2581

// SentencePiece's view of a fragment: spaces as "▁", with a leading "▁" when asked.
void escape_spm(std::string_view text, bool prefix, std::string& out) {
  out.clear();
  out.reserve(text.size() + text.size() / 4 + 3);
  if (prefix) out.append(kSpaceMark);
  for (const char c : text) {
    if (c == ' ') {
      out.append(kSpaceMark);
    } else {
      out.push_back(c);
    }
  }
}

}  // namespace

Tokenizer::Tokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;
Tokenizer::~Tokenizer() = default;

Result<Tokenizer> Tokenizer::from_gguf(const gguf::GgufFile& file) {
  auto impl = std::make_unique<Impl>();
  TESSERA_TRY(load_vocab(file, impl->vocab));
  const Vocab& v = impl->vocab;
  impl->splitter = std::make_unique<SpecialTokenSplitter>(v);
  if (v.kind == TokenizerKind::bpe) {
    auto bpe = BpeEncoder::create(v);
    if (!bpe.ok()) return make_error(bpe.error().code, file.name() + ": " + bpe.error().message);
    impl->bpe = std::move(*bpe);
  } else if (v.kind == TokenizerKind::wpm) {
    impl->wordpiece_lookup = [&v](std::string_view piece) { return v.find(piece); };
  }
  impl->build_pieces();
  return Tokenizer(std::move(impl));
}

std::vector<TokenId> Tokenizer::encode(std::string_view text, EncodeOptions options) const {
  const Impl& im = *impl_;
  const Vocab& v = im.vocab;
  std::string repaired;
  if (!utf8::is_valid(text)) {
    repaired = utf8::sanitize(text);
    text = repaired;
  }
  thread_local std::vector<Fragment> fragments;
  im.splitter->split(text, options.parse_special, fragments);

  std::vector<TokenId> out;
  out.reserve(text.size() / 3 + 4);
  switch (v.kind) {
    case TokenizerKind::spm: {
      if (options.add_special && v.add_bos) out.push_back(v.ids.bos);
      thread_local std::string escaped;
      bool prev_special = true;  // the text starts as if after a special token
      for (const Fragment& f : fragments) {
        if (f.token != kNoToken) {
          out.push_back(f.token);
          prev_special = true;
          continue;
        }
        escape_spm(text.substr(f.offset, f.length), v.add_space_prefix && prev_special, escaped);
        spm_encode(v, escaped, out);
        prev_special = false;
      }
      if (options.add_special && v.add_eos) out.push_back(v.ids.eos);
      break;
    }
    case TokenizerKind::bpe: {
      if (options.add_special && v.add_bos) out.push_back(v.ids.bos);
      for (const Fragment& f : fragments) {
        if (f.token != kNoToken) {
          out.push_back(f.token);
        } else {
          im.bpe->encode(text.substr(f.offset, f.length), out);
        }
      }
      if (options.add_special && v.add_eos) out.push_back(v.ids.eos);
      break;
    }
    case TokenizerKind::wpm: {
      // BERT always frames its input: [CLS] ... [SEP] (the reference ignores add_bos here).
      if (options.add_special && v.ids.bos != kNoToken) out.push_back(v.ids.bos);
      for (const Fragment& f : fragments) {
        if (f.token != kNoToken) {
          out.push_back(f.token);
          continue;
        }
        const std::vector<TokenId> words =
            wordpiece_encode(text.substr(f.offset, f.length), im.wordpiece_lookup, v.ids.unk);
        out.insert(out.end(), words.begin(), words.end());
      }
      if (options.add_special && v.ids.sep != kNoToken) out.push_back(v.ids.sep);
      break;
    }
  }
  return out;
}

TokenizerKind Tokenizer::kind() const {
  return impl_->vocab.kind;
}
std::string_view Tokenizer::model_name() const {
  return impl_->vocab.model_name;
}
std::string_view Tokenizer::pre_name() const {
  return impl_->vocab.pre_name;
}
size_t Tokenizer::vocab_size() const {
  return impl_->vocab.size();
}

std::string_view Tokenizer::token_text(TokenId id) const {
  return valid(id) ? impl_->vocab.texts[static_cast<size_t>(id)] : std::string_view();
}

TokenType Tokenizer::token_type(TokenId id) const {
  if (!valid(id)) return TokenType::undefined;
  const uint32_t a = impl_->vocab.attrs[static_cast<size_t>(id)];
  if (a & kAttrControl) return TokenType::control;
  if (a & kAttrUserDefined) return TokenType::user_defined;
  if (a & kAttrUnknown) return TokenType::unknown;
  if (a & kAttrByte) return TokenType::byte;
  if (a & kAttrUnused) return TokenType::unused;
  if (a & kAttrNormal) return TokenType::normal;
  return TokenType::undefined;
}

TokenId Tokenizer::bos() const {
  return impl_->vocab.ids.bos;
}
TokenId Tokenizer::eos() const {
  return impl_->vocab.ids.eos;
}
TokenId Tokenizer::eot() const {
  return impl_->vocab.ids.eot;
}
TokenId Tokenizer::unk() const {
  return impl_->vocab.ids.unk;
}
TokenId Tokenizer::sep() const {
  return impl_->vocab.ids.sep;
}
TokenId Tokenizer::pad() const {
  return impl_->vocab.ids.pad;
}
bool Tokenizer::add_bos() const {
  return impl_->vocab.add_bos;
}
bool Tokenizer::add_eos() const {
  return impl_->vocab.add_eos;
}
bool Tokenizer::add_sep() const {
  return impl_->vocab.add_sep;
}
bool Tokenizer::clean_spaces() const {
  return impl_->vocab.clean_spaces;
}

bool Tokenizer::strips_leading_space() const {
  const Vocab& v = impl_->vocab;
  return (v.kind == TokenizerKind::spm && v.add_space_prefix) || v.kind == TokenizerKind::wpm;
}

bool Tokenizer::is_end_of_generation(TokenId id) const {
  const std::vector<TokenId>& eog = impl_->vocab.end_of_generation;
  return std::binary_search(eog.begin(), eog.end(), id);
}

}  // namespace tessera::engine
