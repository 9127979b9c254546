// The reference engine's load-time rules that look at token texts: end-of-turn, FIM and
// end-of-generation tokens recognised by their spelling (and made control tokens), and the
// per-model strip attributes. Kept as data tables; each rule cites what it mirrors in
// llama.cpp's llama_vocab::impl::load.
#include <algorithm>
#include <cctype>
#include <string>

#include "engine/tokenizer/vocab.h"

namespace tessera::engine {

namespace {

struct DetectRule {
  TokenId SpecialIds::*field;
  std::vector<std::string_view> texts;  // first one present wins
};

// Special tokens found by their text when the file does not name them.
const std::vector<DetectRule>& detect_rules() {
  static const std::vector<DetectRule> rules = {
      {&SpecialIds::eot,
       {"<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|end_of_text|>",
        "<EOT>", "_<EOT>", "[EOT]", "<｜end▁of▁sentence｜>", "<end_of_utterance>"}},
      {&SpecialIds::eom, {"<|eom_id|>"}},
      {&SpecialIds::fim_pre,
       {"<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<｜fim▁begin｜>", "<PRE>", "▁<PRE>",
        "<|code_prefix|>", "<|prefix|>"}},
      {&SpecialIds::fim_suf,
       {"<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<｜fim▁hole｜>", "<SUF>", "▁<SUF>",
        "<|code_suffix|>", "<|suffix|>"}},
      {&SpecialIds::fim_mid,
       {"<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<｜fim▁end｜>", "<MID>", "▁<MID>",
        "<|code_middle|>", "<|middle|>"}},
      {&SpecialIds::fim_pad, {"<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]"}},
      {&SpecialIds::fim_rep,
       {"<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>"}},
      {&SpecialIds::fim_sep, {"<|file_sep|>"}},
  };
  return rules;
}

// Texts of tokens that end generation.
constexpr std::string_view kEndOfGenerationTexts[] = {"<|eot_id|>",
                                                      "<|im_end|>",
                                                      "<|end|>",
                                                      "<|return|>",
                                                      "<|call|>",
                                                      "<|flush|>",
                                                      "<|calls|>",
                                                      "<end_of_turn>",
                                                      "<|endoftext|>",
                                                      "</s>",
                                                      "<|eom_id|>",
                                                      "<EOT>",
                                                      "_<EOT>",
                                                      "[EOT]",
                                                      "[EOS]",
                                                      "<|end_of_text|>",
                                                      "<end_of_utterance>",
                                                      "<eos>",
                                                      "<turn|>",
                                                      "<|tool_response>",
                                                      "<｜end▁of▁sentence｜>",
                                                      "[e~["};

// gpt-oss: tokens always rendered, hence user-defined whatever the file says.
constexpr std::string_view kAlwaysRenderedTexts[] = {"<|channel|>", "<|message|>", "<|start|>",
                                                     "<|constrain|>"};

bool contains_any(std::string_view s, std::initializer_list<std::string_view> parts) {
  for (std::string_view p : parts) {
    if (s.find(p) != std::string_view::npos) return true;
  }
  return false;
}

void set_attr(Vocab& v, std::string_view text, uint32_t attr, bool on) {
  const TokenId id = v.find(text);
  if (id == kNoToken) return;
  uint32_t& a = v.attrs[static_cast<size_t>(id)];
  a = on ? (a | attr) : (a & ~attr);
}

void make_control(Vocab& v, TokenId id) {
  v.attrs[static_cast<size_t>(id)] |= kAttrControl;
}

}  // namespace

void apply_token_text_rules(Vocab& v, std::string_view general_name,
                            std::string_view general_arch) {
  // Special ids the file leaves unset, found by text; the token becomes a control token.
  for (const DetectRule& rule : detect_rules()) {
    TokenId& id = v.ids.*rule.field;
    if (id != kNoToken) continue;
    for (std::string_view text : rule.texts) {
      const TokenId found = v.find(text);
      if (found == kNoToken) continue;
      id = found;
      make_control(v, found);
      break;
    }
  }

  // The end-of-generation set.
  std::vector<TokenId> eog;
  for (TokenId id : {v.ids.fim_pad, v.ids.fim_rep, v.ids.fim_sep}) {
    if (id != kNoToken) eog.push_back(id);
  }
  for (std::string_view text : kEndOfGenerationTexts) {
    const TokenId id = v.find(text);
    if (id == kNoToken) continue;
    eog.push_back(id);
    make_control(v, id);
  }
  for (std::string_view text : kAlwaysRenderedTexts) {
    const TokenId id = v.find(text);
    if (id != kNoToken) v.attrs[static_cast<size_t>(id)] = kAttrUserDefined;
  }
  for (TokenId id : {v.ids.eos, v.ids.eot, v.ids.eom}) {
    if (id != kNoToken) eog.push_back(id);
  }
  std::sort(eog.begin(), eog.end());
  eog.erase(std::unique(eog.begin(), eog.end()), eog.end());
  auto in_eog = [&eog, &v](std::string_view text) {
    const TokenId id = v.find(text);
    return id != kNoToken && std::binary_search(eog.begin(), eog.end(), id) ? id : kNoToken;
  };
  auto drop_from_eog = [&eog, &v](TokenId id, uint32_t new_attr) {
    eog.erase(std::remove(eog.begin(), eog.end(), id), eog.end());
    v.attrs[static_cast<size_t>(id)] = new_attr;
  };
  // o200k_harmony / solar-open: "<|end|>" ends a message, not the generation.
  const TokenId end = in_eog("<|end|>");
  const bool has_call = in_eog("<|call|>") != kNoToken || in_eog("<|calls|>") != kNoToken;
  if (end != kNoToken && has_call &&
      (in_eog("<|return|>") != kNoToken || in_eog("<|flush|>") != kNoToken)) {
    drop_from_eog(end, kAttrUserDefined);
  }
  // gemma4 / paddleocr: "</s>" is ordinary text there.
  const TokenId s_end = in_eog("</s>");
  if (s_end != kNoToken && in_eog("<|tool_response>") != kNoToken) {
    drop_from_eog(s_end, kAttrNormal);
  }
  v.end_of_generation = std::move(eog);

  // Tokens split out of the input whole, longer texts first.
  v.special_tokens.clear();
  for (size_t id = 0; id < v.size(); ++id) {
    if (v.attrs[id] & (kAttrControl | kAttrUserDefined | kAttrUnknown)) {
      v.special_tokens.push_back(static_cast<TokenId>(id));
    }
  }
  std::stable_sort(v.special_tokens.begin(), v.special_tokens.end(), [&v](TokenId a, TokenId b) {
    return v.texts[static_cast<size_t>(a)].size() > v.texts[static_cast<size_t>(b)].size();
  });

  // Strip attributes the reference sets by model name.
  std::string name(general_name);
  std::transform(name.begin(), name.end(), name.begin(), [](char c) {
    return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  });
  if (contains_any(v.pre_name, {"jina-v2-de", "jina-v2-es", "jina-v2-code"}) ||
      contains_any(general_arch, {"nomic-bert-moe", "jina-bert-v3"})) {
    set_attr(v, "<mask>", kAttrLstrip, true);
  } else if (contains_any(name, {"phi-3", "phi3"})) {
    for (TokenId id : v.special_tokens) v.attrs[static_cast<size_t>(id)] |= kAttrRstrip;
    set_attr(v, "</s>", kAttrRstrip, true);
    for (std::string_view t : {"<unk>", "<s>", "<|endoftext|>"}) set_attr(v, t, kAttrRstrip, false);
  } else if (contains_any(name, {"modern-bert"})) {
    set_attr(v, "[MASK]", kAttrLstrip, true);
  }
}

}  // namespace tessera::engine
