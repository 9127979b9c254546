// Tokenizer: building from a GGUF file, encoding, and the accessors.
#include "engine/tokenizer/tokenizer.h"

#include <algorithm>

#include "engine/tokenizer/tokenizer_impl.h"
#include "gguf/reader.h"
#include "util/utf8.h"

namespace tessera::engine {

Tokenizer::Tokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;
Tokenizer::~Tokenizer() = default;

Result<Tokenizer> Tokenizer::from_gguf(const gguf::GgufFile& file) {
  auto impl = std::make_unique<Impl>();
  TESSERA_TRY(load_vocab(file, impl->vocab));
  const Vocab& v = impl->vocab;
  impl->splitter = std::make_unique<SpecialTokenSplitter>(v);
  auto model = make_tokenizer_model(v);
  if (!model.ok())
    return make_error(model.error().code, file.name() + ": " + model.error().message);
  impl->model = std::move(model).value();
  impl->build_pieces();
  return Tokenizer(std::move(impl));
}

std::vector<TokenId> Tokenizer::encode(std::string_view text, EncodeOptions options) const {
  const Impl& im = *impl_;
  std::string repaired;
  if (!utf8::is_valid(text)) {
    repaired = utf8::sanitize(text);
    text = repaired;
  }
  thread_local std::vector<Fragment> fragments;
  im.splitter->split(text, options.parse_special, fragments, options.plain_ranges);

  std::vector<TokenId> out;
  out.reserve(text.size() / 3 + 4);
  if (options.add_special) im.model->add_prefix(out);
  bool after_special = true;  // the text starts as if after a special token
  for (const Fragment& f : fragments) {
    if (f.token != kNoToken) {
      out.push_back(f.token);
      after_special = true;
    } else {
      im.model->encode_fragment(text.substr(f.offset, f.length), after_special, out);
      after_special = false;
    }
  }
  if (options.add_special) im.model->add_suffix(out);
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
  return impl_->model->adds_leading_space();
}

bool Tokenizer::is_end_of_generation(TokenId id) const {
  const std::vector<TokenId>& eog = impl_->vocab.end_of_generation;
  return std::binary_search(eog.begin(), eog.end(), id);
}

}  // namespace tessera::engine
