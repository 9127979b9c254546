// Summary of a file's tokenizer.* keys for `model info`.
#include <array>
#include <utility>

#include "engine/model_info.h"

namespace tessera::engine {
namespace {

// tokenizer.ggml.model values (as llama.cpp's converters write them) -> what they are.
constexpr std::array<std::pair<std::string_view, std::string_view>, 8> kTokenizerKinds = {{
    {"llama", "SentencePiece"},
    {"gpt2", "byte-level BPE"},
    {"bert", "WordPiece"},
    {"t5", "Unigram (T5)"},
    {"rwkv", "RWKV"},
    {"plamo2", "PLaMo-2"},
    {"no_vocab", "none"},
    {"none", "none"},
}};

Result<int64_t> special_id(const gguf::GgufFile& f, std::string_view key) {
  if (f.find(key) == nullptr) return int64_t{-1};
  auto v = f.get_uint(key);
  if (!v.ok()) return v.error();
  return static_cast<int64_t>(*v);
}

}  // namespace

Result<TokenizerInfo> read_tokenizer_info(const gguf::GgufFile& f) {
  TokenizerInfo t;
  auto model = f.get_string_or("tokenizer.ggml.model", "");
  if (!model.ok()) return model.error();
  t.model = std::string(*model);
  t.kind = t.model.empty() ? "none" : "unknown (" + t.model + ")";
  for (const auto& [name, kind] : kTokenizerKinds) {
    if (name == t.model) t.kind = std::string(kind);
  }
  auto pre = f.get_string_or("tokenizer.ggml.pre", "");
  if (!pre.ok()) return pre.error();
  t.pre = std::string(*pre);
  if (f.find("tokenizer.ggml.tokens") != nullptr) {
    auto tokens = f.get_array("tokenizer.ggml.tokens");
    if (!tokens.ok()) return tokens.error();
    t.n_tokens = (*tokens)->array_size();
  }
  if (f.find("tokenizer.ggml.merges") != nullptr) {
    auto merges = f.get_array("tokenizer.ggml.merges");
    if (!merges.ok()) return merges.error();
    t.n_merges = (*merges)->array_size();
  }
  auto bos = special_id(f, "tokenizer.ggml.bos_token_id");
  if (!bos.ok()) return bos.error();
  auto eos = special_id(f, "tokenizer.ggml.eos_token_id");
  if (!eos.ok()) return eos.error();
  t.bos = *bos;
  t.eos = *eos;
  t.has_chat_template = f.find("tokenizer.chat_template") != nullptr;
  return t;
}

}  // namespace tessera::engine
