// The table of tokenizer models: one row per TokenizerKind.
#include "engine/tokenizer/models.h"

#include <array>

namespace tessera::engine {
namespace {

struct ModelRow {
  TokenizerKind kind;
  Result<std::unique_ptr<TokenizerModel>> (*make)(const Vocab&);
};

constexpr std::array<ModelRow, 3> kModels = {{
    {TokenizerKind::spm, make_spm_model},
    {TokenizerKind::bpe, make_bpe_model},
    {TokenizerKind::wpm, make_wpm_model},
}};

}  // namespace

Result<std::unique_ptr<TokenizerModel>> make_tokenizer_model(const Vocab& vocab) {
  for (const ModelRow& row : kModels) {
    if (row.kind == vocab.kind) return row.make(vocab);
  }
  return make_error(ErrorCode::unsupported, "no tokenizer model for this vocabulary kind");
}

void append_unescaped(std::string_view text, std::string& out) {
  size_t pos = 0;
  for (size_t hit; (hit = text.find(kSpaceMark, pos)) != std::string_view::npos;) {
    out.append(text.substr(pos, hit - pos));
    out.push_back(' ');
    pos = hit + kSpaceMark.size();
  }
  out.append(text.substr(pos));
}

}  // namespace tessera::engine
