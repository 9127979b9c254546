// load_vocab: tokenizer.ggml.* metadata -> Vocab.
#include <cmath>
#include <cstring>
#include <limits>
#include <optional>
#include <type_traits>

#include "engine/tokenizer/byte_level.h"
#include "engine/tokenizer/vocab.h"
#include "engine/tokenizer/word_cache.h"
#include "gguf/reader.h"

namespace tessera::engine {

namespace {

using gguf::GgufFile;
using gguf::MetaType;
using gguf::MetaValue;

Error vocab_error(const GgufFile& f, ErrorCode code, const std::string& what) {
  return make_error(code, f.name() + ": " + what);
}

// A string array, or nullptr when the key is absent.
Result<const MetaValue*> find_string_array(const GgufFile& f, std::string_view key) {
  const MetaValue* v = f.find(key);
  if (v == nullptr) return static_cast<const MetaValue*>(nullptr);
  if (!v->is_array() || v->array_type() != MetaType::string) {
    return vocab_error(
        f, ErrorCode::malformed,
        std::string(key) + " must be an array of strings, not " + v->to_display(2, 20));
  }
  return v;
}

// Numeric array `key` as n values of T (i32 or f32 arrays read directly, other numeric types
// converted); empty when the key is absent.
template <class T>
Result<std::vector<T>> read_numeric_array(const GgufFile& f, std::string_view key, size_t n) {
  std::vector<T> out;
  const MetaValue* v = f.find(key);
  if (v == nullptr) return out;
  if (!v->is_array()) {
    return vocab_error(f, ErrorCode::malformed, std::string(key) + " must be an array");
  }
  if (v->array_size() < n) {
    return vocab_error(f, ErrorCode::malformed,
                       std::string(key) + " has " + std::to_string(v->array_size()) +
                           " entries for " + std::to_string(n) + " tokens");
  }
  out.resize(n);
  const MetaType t = v->array_type();
  if (t == MetaType::f32 && std::is_same_v<T, float>) {
    std::memcpy(out.data(), v->raw(), n * sizeof(float));
    return out;
  }
  if (t == MetaType::i32 && std::is_same_v<T, int32_t>) {
    std::memcpy(out.data(), v->raw(), n * sizeof(int32_t));
    return out;
  }
  for (size_t i = 0; i < n; ++i) {
    const std::optional<double> d = v->array_item(i).as_double();
    if (!d) {
      return vocab_error(f, ErrorCode::malformed,
                         std::string(key) + " must hold numbers, not " + v->to_display(2, 20));
    }
    // A value the element type cannot hold (NaN or out of range for an integer, finite but
    // beyond the float range for a score) is refused rather than converted.
    const double lo = static_cast<double>(std::numeric_limits<T>::lowest());
    const double hi = static_cast<double>(std::numeric_limits<T>::max());
    const bool fits = std::is_floating_point_v<T> ? (!std::isfinite(*d) || (*d >= lo && *d <= hi))
                                                  : (*d >= lo && *d <= hi);
    if (!fits) {
      return vocab_error(f, ErrorCode::malformed,
                         std::string(key) + " entry " + std::to_string(i) + " (" +
                             std::to_string(*d) + ") is out of range");
    }
    out[i] = static_cast<T>(*d);
  }
  return out;
}

uint32_t attr_of_type(int32_t type) {
  switch (type) {
    case 1:
      return kAttrNormal;
    case 2:
      return kAttrUnknown;
    case 3:
      return kAttrControl;
    case 4:
      return kAttrUserDefined;
    case 5:
      return kAttrUnused;
    case 6:
      return kAttrByte;
    default:
      return kAttrUndefined;
  }
}

// tokenizer.ggml.tokens / scores / token_type into the vocabulary's storage.
Status read_tokens(const GgufFile& f, const MetaValue& tokens, Vocab& v) {
  const size_t n = tokens.strings().size();
  if (n == 0) return vocab_error(f, ErrorCode::malformed, "tokenizer.ggml.tokens is empty");
  if (n > size_t{INT32_MAX}) {
    return vocab_error(f, ErrorCode::out_of_range, "tokenizer.ggml.tokens has too many entries");
  }
  auto scores = read_numeric_array<float>(f, "tokenizer.ggml.scores", n);
  if (!scores.ok()) return scores.error();
  auto types = read_numeric_array<int32_t>(f, "tokenizer.ggml.token_type", n);
  if (!types.ok()) return types.error();

  std::vector<std::string> empty_names;  // the reference renames empty tokens
  size_t total = 0;
  for (size_t i = 0; i < n; ++i) {
    if (tokens.strings()[i].empty()) {
      empty_names.push_back("[EMPTY_" + std::to_string(i) + "]");
      total += empty_names.back().size();
    }
    total += tokens.strings()[i].size();
  }
  v.arena.reserve(total);
  std::vector<size_t> offsets(n + 1);
  size_t next_empty = 0;
  for (size_t i = 0; i < n; ++i) {
    offsets[i] = v.arena.size();
    const std::string_view t = tokens.strings()[i];
    v.arena.append(t.empty() ? std::string_view(empty_names[next_empty++]) : t);
  }
  offsets[n] = v.arena.size();
  v.texts.resize(n);
  for (size_t i = 0; i < n; ++i) {
    v.texts[i] = std::string_view(v.arena).substr(offsets[i], offsets[i + 1] - offsets[i]);
  }
  const TokenId dup = v.index.build(&v.texts);
  if (dup != kNoToken) {
    return vocab_error(f, ErrorCode::malformed,
                       "duplicate token in vocabulary: '" +
                           std::string(v.texts[static_cast<size_t>(dup)]) + "' has ids " +
                           std::to_string(v.find(v.texts[static_cast<size_t>(dup)])) + " and " +
                           std::to_string(dup));
  }
  v.scores = scores->empty() ? std::vector<float>(n, 0.0f) : std::move(*scores);
  v.attrs.assign(n, kAttrNormal);
  if (!types->empty()) {
    for (size_t i = 0; i < n; ++i) v.attrs[i] = attr_of_type((*types)[i]);
  }
  return {};
}

Status read_merges(const GgufFile& f, Vocab& v) {
  auto merges = find_string_array(f, "tokenizer.ggml.merges");
  if (!merges.ok()) return merges.error();
  if (*merges == nullptr) {
    return vocab_error(f, ErrorCode::malformed,
                       "a gpt2 (byte-level BPE) tokenizer needs tokenizer.ggml.merges");
  }
  const std::vector<std::string_view>& list = (*merges)->strings();
  v.merges.reserve(list.size());
  std::string joined;
  for (size_t rank = 0; rank < list.size(); ++rank) {
    const std::string_view m = list[rank];
    const size_t space = m.find(' ', 1);
    if (space == std::string_view::npos) continue;
    const TokenId left = v.find(m.substr(0, space));
    const TokenId right = v.find(m.substr(space + 1));
    joined.assign(m.substr(0, space));
    joined.append(m.substr(space + 1));
    const TokenId result = v.find(joined);
    // Hugging Face refuses merges of or into unknown tokens; they can never apply.
    if (left == kNoToken || right == kNoToken || result == kNoToken) continue;
    v.merges.insert(left, right, BpeMerge{static_cast<int32_t>(rank), result});
  }
  return {};
}

// The special ids the file sets, over the model's defaults. Ids outside the vocabulary are
// ignored (the default stays), as the reference does.
void read_special_ids(const GgufFile& f, Vocab& v) {
  auto in_range = [&v](TokenId id) { return id >= 0 && static_cast<size_t>(id) < v.size(); };
  SpecialIds& ids = v.ids;
  for (TokenId* id : {&ids.bos, &ids.eos, &ids.unk, &ids.sep, &ids.pad, &ids.mask}) {
    if (!in_range(*id)) *id = kNoToken;
  }
  const std::pair<std::string_view, TokenId SpecialIds::*> keys[] = {
      {"tokenizer.ggml.bos_token_id", &SpecialIds::bos},
      {"tokenizer.ggml.eos_token_id", &SpecialIds::eos},
      {"tokenizer.ggml.eot_token_id", &SpecialIds::eot},
      {"tokenizer.ggml.eom_token_id", &SpecialIds::eom},
      {"tokenizer.ggml.unknown_token_id", &SpecialIds::unk},
      {"tokenizer.ggml.seperator_token_id", &SpecialIds::sep},
      {"tokenizer.ggml.padding_token_id", &SpecialIds::pad},
      {"tokenizer.ggml.mask_token_id", &SpecialIds::mask},
      {"tokenizer.ggml.fim_pre_token_id", &SpecialIds::fim_pre},
      {"tokenizer.ggml.fim_suf_token_id", &SpecialIds::fim_suf},
      {"tokenizer.ggml.fim_mid_token_id", &SpecialIds::fim_mid},
      {"tokenizer.ggml.fim_pad_token_id", &SpecialIds::fim_pad},
      {"tokenizer.ggml.fim_rep_token_id", &SpecialIds::fim_rep},
      {"tokenizer.ggml.fim_sep_token_id", &SpecialIds::fim_sep},
      // deprecated spellings
      {"tokenizer.ggml.prefix_token_id", &SpecialIds::fim_pre},
      {"tokenizer.ggml.suffix_token_id", &SpecialIds::fim_suf},
      {"tokenizer.ggml.middle_token_id", &SpecialIds::fim_mid},
  };
  for (const auto& [key, field] : keys) {
    const MetaValue* mv = f.find(key);
    if (mv == nullptr) continue;
    const std::optional<uint64_t> u = mv->as_uint();
    if (u && *u < v.size()) ids.*field = static_cast<TokenId>(*u);
  }
}

// Defaults of each tokenizer model (before the file's keys).
Status set_model_defaults(const GgufFile& f, Vocab& v) {
  SpecialIds& ids = v.ids;
  if (v.model_name == "llama") {
    v.kind = TokenizerKind::spm;
    ids.bos = 1;
    ids.eos = 2;
    ids.unk = 0;
    v.add_space_prefix = true;
    v.add_bos = true;
  } else if (v.model_name == "gpt2") {
    v.kind = TokenizerKind::bpe;
    ids.bos = 11;
    ids.eos = 11;
    const std::string pre = v.pre_name;
    v.pre = find_pre_tokenizer(pre);
    if (v.pre == nullptr) {
      return vocab_error(f, ErrorCode::unsupported,
                         "pre-tokenizer '" + pre +
                             "' (tokenizer.ggml.pre) is not supported; supported: " +
                             supported_pre_tokenizer_names());
    }
    v.clean_spaces = v.pre->clean_spaces;
    v.ignore_merges = v.pre->ignore_merges;
    v.add_bos = v.pre->add_bos;
    v.add_sep = v.pre->add_sep;
    if (v.pre->no_bos) ids.bos = kNoToken;
  } else if (v.model_name == "bert") {
    v.kind = TokenizerKind::wpm;
    ids.bos = 101;
    ids.unk = 100;
    ids.sep = 102;
    ids.pad = 0;
    ids.mask = 103;
    v.clean_spaces = true;
    v.add_bos = true;
    v.add_sep = true;
  } else {
    return vocab_error(f, ErrorCode::unsupported,
                       "tokenizer model '" + v.model_name +
                           "' (tokenizer.ggml.model) is not supported; supported: llama "
                           "(SentencePiece BPE), gpt2 (byte-level BPE), bert (WordPiece)");
  }
  return {};
}

Status read_flags(const GgufFile& f, Vocab& v) {
  const std::pair<std::string_view, bool Vocab::*> keys[] = {
      {"tokenizer.ggml.add_space_prefix", &Vocab::add_space_prefix},
      {"tokenizer.ggml.add_bos_token", &Vocab::add_bos},
      {"tokenizer.ggml.add_eos_token", &Vocab::add_eos},
      {"tokenizer.ggml.add_sep_token", &Vocab::add_sep},
  };
  for (const auto& [key, field] : keys) {
    auto b = f.get_bool_or(key, v.*field);
    if (!b.ok()) return b.error();
    v.*field = *b;
  }
  const std::pair<bool, std::pair<TokenId, const char*>> checks[] = {
      {v.add_bos, {v.ids.bos, "add_bos_token is true, but there is no BOS token"}},
      {v.add_eos, {v.ids.eos, "add_eos_token is true, but there is no EOS token"}},
      {v.add_sep, {v.ids.sep, "add_sep_token is true, but there is no SEP token"}},
  };
  for (const auto& [wanted, check] : checks) {
    if (wanted && check.first == kNoToken) {
      return vocab_error(f, ErrorCode::malformed, check.second);
    }
  }
  return {};
}

void find_byte_tokens(Vocab& v) {
  static const char* const kHex = "0123456789ABCDEF";
  for (int b = 0; b < 256; ++b) {
    const char name[] = {'<', '0', 'x', kHex[b >> 4], kHex[b & 15], '>'};
    TokenId id = v.find(std::string_view(name, sizeof(name)));
    if (id == kNoToken && b < 0x80) {  // else the one-byte token, as the reference falls back
      const char c = static_cast<char>(b);
      id = v.find(std::string_view(&c, 1));
    }
    v.byte_tokens[static_cast<size_t>(b)] = id;
    v.byte_level_tokens[static_cast<size_t>(b)] =
        v.find(byte_level::encode_byte(static_cast<uint8_t>(b)));
  }
}

bool no_space_mark_after_other_char(const Vocab& v) {
  constexpr std::string_view kMark = "\xE2\x96\x81";  // "▁"
  for (const std::string_view t : v.texts) {
    for (size_t pos = t.find(kMark, 1); pos != std::string_view::npos;
         pos = t.find(kMark, pos + 1)) {
      if (pos < kMark.size() || t.substr(pos - kMark.size(), kMark.size()) != kMark) return false;
    }
  }
  return true;
}

}  // namespace

Status load_vocab(const GgufFile& f, Vocab& v) {
  auto model = f.get_string_or("tokenizer.ggml.model", "");
  if (!model.ok()) return model.error();
  auto tokens = find_string_array(f, "tokenizer.ggml.tokens");
  if (!tokens.ok()) return tokens.error();
  if (model->empty() && *tokens == nullptr) {
    return vocab_error(f, ErrorCode::not_found,
                       "no tokenizer in this file (tokenizer.ggml.model and "
                       "tokenizer.ggml.tokens are missing)");
  }
  if (model->empty()) {
    return vocab_error(f, ErrorCode::malformed, "tokenizer.ggml.model is missing");
  }
  if (*tokens == nullptr) {
    return vocab_error(f, ErrorCode::malformed, "tokenizer.ggml.tokens is missing");
  }
  v.model_name = std::string(*model);
  auto pre = f.get_string_or("tokenizer.ggml.pre", "default");
  if (!pre.ok()) return pre.error();
  v.pre_name = pre->empty() ? "default" : std::string(*pre);

  TESSERA_TRY(set_model_defaults(f, v));
  TESSERA_TRY(read_tokens(f, **tokens, v));
  if (v.kind == TokenizerKind::bpe) TESSERA_TRY(read_merges(f, v));
  read_special_ids(f, v);
  TESSERA_TRY(read_flags(f, v));
  find_byte_tokens(v);
  if (v.kind == TokenizerKind::spm) v.spm_split_at_spaces = no_space_mark_after_other_char(v);
  v.cache_owner = WordCache::new_owner();

  auto name = f.get_string_or("general.name", "");
  if (!name.ok()) return name.error();
  auto arch = f.get_string_or("general.architecture", "");
  if (!arch.ok()) return arch.error();
  apply_token_text_rules(v, *name, *arch);
  return {};
}

}  // namespace tessera::engine
