// The table of pre-tokenizers. Regexes are the ones in the Hugging Face tokenizer.json files
// of the models that introduced each name (as the reference engine, llama.cpp, also lists
// them); non-ASCII character ranges are written as \x{...} escapes.
#include "engine/tokenizer/pre_tokenizer.h"

namespace tessera::engine {

namespace {

// GPT-2's ByteLevel regex (also the second step of Falcon's and StarCoder's).
constexpr std::string_view kGpt2 =
    R"re('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)re";

// Llama 3 (tiktoken cl100k-style: case-insensitive contractions, numbers of up to 3 digits).
constexpr std::string_view kLlama3 =
    R"re((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)re";

// Qwen2: as Llama 3 with single digits.
constexpr std::string_view kQwen2 =
    R"re((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)re";

constexpr std::string_view kDigit = R"re(\p{N})re";
constexpr std::string_view kDigits = R"re(\p{N}+)re";
constexpr std::string_view kDigits3 = R"re(\p{N}{1,3})re";
constexpr std::string_view kThreeAsciiDigits = R"re([0-9][0-9][0-9])re";
constexpr std::string_view kNewline = R"re([\r\n])re";

// Hugging Face's Punctuation pre-tokenizer: Unicode punctuation plus the ASCII symbols.
constexpr std::string_view kFalconPunctuation = R"re([\p{P}\$\+<=>\^~\|`]+)re";
constexpr std::string_view kDefaultPunctuation = R"re([\p{P}\$\+<=>\^~\|]+)re";

// CJK ideographs, U+0800..U+4E00 and Hangul (DeepSeek).
constexpr std::string_view kDeepseekCjk =
    R"re([\x{4E00}-\x{9FA5}\x{0800}-\x{4E00}\x{AC00}-\x{D7FF}]+)re";

// DeepSeek LLM's letters: the cased letters (Lu, Ll, Lt) of the Unicode version it was made
// with, range by range.
constexpr std::string_view kDeepseekLlmLetters =
    R"re(\s?[\x{41}-\x{5A}\x{61}-\x{7A}\x{B5}\x{C0}-\x{D6}\x{D8}-\x{F6}\x{F8}-\x{1BA}\x{1BC}-\x{1BF})re"
    R"re(\x{1C4}-\x{293}\x{295}-\x{2AF}\x{370}-\x{373}\x{376}\x{377}\x{37B}-\x{37D}\x{37F}\x{386})re"
    R"re(\x{388}-\x{38A}\x{38C}\x{38E}-\x{3A1}\x{3A3}-\x{3F5}\x{3F7}-\x{481}\x{48A}-\x{52F})re"
    R"re(\x{531}-\x{556}\x{10A0}-\x{10C5}\x{13A0}-\x{13F5}\x{13F8}-\x{13FD}\x{1C90}-\x{1CBA})re"
    R"re(\x{1CBD}-\x{1CBF}\x{1D00}-\x{1D2B}\x{1D6B}-\x{1D77}\x{1D79}-\x{1D9A}\x{1E00}-\x{1F15})re"
    R"re(\x{1F18}-\x{1F1D}\x{1F20}-\x{1F45}\x{1F48}-\x{1F4D}\x{1F50}-\x{1F57}\x{1F59}\x{1F5B})re"
    R"re(\x{1F5D}\x{1F5F}-\x{1F7D}\x{1F80}-\x{1FB4}\x{1FB6}-\x{1FBC}\x{1FBE}\x{1FC2}-\x{1FC4})re"
    R"re(\x{1FC6}-\x{1FCC}\x{1FD0}-\x{1FD3}\x{1FD6}-\x{1FDB}\x{1FE0}-\x{1FEC}\x{1FF2}-\x{1FF4})re"
    R"re(\x{1FF6}-\x{1FFC}\x{2102}\x{2107}\x{210A}-\x{2113}\x{2115}\x{2119}-\x{211D}\x{2124})re"
    R"re(\x{2126}\x{2128}\x{212A}-\x{212D}\x{212F}-\x{2134}\x{2139}\x{213C}-\x{213F})re"
    R"re(\x{2145}-\x{2149}\x{214E}\x{2183}\x{2184}\x{2C00}-\x{2C7B}\x{2C7E}-\x{2CE4})re"
    R"re(\x{2CEB}-\x{2CEE}\x{2CF2}\x{2CF3}\x{A640}-\x{A66D}\x{A680}-\x{A69B}\x{A722}-\x{A76F})re"
    R"re(\x{A771}-\x{A787}\x{A78B}-\x{A78E}\x{AB70}-\x{ABBF}\x{FB00}-\x{FB06}\x{FB13}-\x{FB17})re"
    R"re(\x{FF21}-\x{FF3A}\x{FF41}-\x{FF5A}\x{10400}-\x{1044F}\x{104B0}-\x{104D3})re"
    R"re(\x{104D8}-\x{104FB}\x{10C80}-\x{10CB2}\x{10CC0}-\x{10CF2}\x{118A0}-\x{118DF})re"
    R"re(\x{1E900}-\x{1E943}]+)re";
// ASCII punctuation, fullwidth forms, quotation marks and CJK punctuation.
constexpr std::string_view kDeepseekLlmPunctuation =
    R"re(\s?[!-/:-~\x{FF01}-\x{FF0F}\x{FF1A}-\x{FF5E}\x{2018}-\x{201F}\x{3000}-\x{3002}]+)re";
constexpr std::string_view kTrailingSpace = R"re(\s+$)re";

// DeepSeek V3: numbers of up to 3 digits, CJK and kana runs, then the words.
constexpr std::string_view kDeepseekV3Cjk =
    R"re([\x{4E00}-\x{9FA5}\x{3040}-\x{309F}\x{30A0}-\x{30FF}]+)re";
constexpr std::string_view kDeepseekV3Words =
    R"re([!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+| ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)re";

// BLOOM: everything up to whitespace or sentence punctuation (Latin, CJK, Devanagari, Arabic).
constexpr std::string_view kBloom =
    R"re( ?[^(\s|.,!?\x{2026}\x{3002}\x{FF0C}\x{3001}\x{0964}\x{06D4}\x{060C})]+)re";

// GPT-4o (o200k): case-aware words with optional contractions.
constexpr std::string_view kGpt4o =
    R"re([^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?)re"
    R"re(|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?)re"
    R"re(|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)re";

// Mistral's Tekken: as GPT-4o without contractions, single digits.
constexpr std::string_view kTekken =
    R"re([^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+)re"
    R"re(|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*)re"
    R"re(|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)re";

constexpr std::string_view kSeedCoder =
    R"re((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1}| ?[^\s\p{L}\p{N}\r\n]+|\s*[\r\n]+|\s+(?!\S)|\s+)re";

// Ling / BailingMoE (possessive quantifiers, as in its tokenizer.json).
constexpr std::string_view kBailingMoe =
    R"re('(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]++[\r\n]*|\s*[\r\n]|\s+(?!\S)|\s+)re";

std::vector<PreTokenizerSpec> make_table() {
  std::vector<PreTokenizerSpec> t;
  t.reserve(32);  // `add` hands out pointers into t
  auto add = [&t](std::vector<std::string_view> names, std::vector<std::string_view> regexes) {
    PreTokenizerSpec s;
    s.names = std::move(names);
    s.regexes = std::move(regexes);
    t.push_back(std::move(s));
    return &t.back();
  };
  // Used when tokenizer.ggml.pre is absent (older conversions).
  add({"default"}, {kDefaultPunctuation, kGpt2, kDigits, kThreeAsciiDigits});

  PreTokenizerSpec* s = add({"llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral",
                             "midm-2.0", "lfm2", "jina-v5-nano"},
                            {kLlama3});
  s->ignore_merges = true;
  s->add_bos = true;
  add({"dbrx", "smaug-bpe"}, {kLlama3});
  add({"chatglm-bpe", "glm4"}, {kLlama3})->no_bos = true;

  add({"deepseek-llm"}, {kNewline, kDeepseekLlmLetters, kDeepseekLlmPunctuation, kTrailingSpace,
                         kDeepseekCjk, kDigits})
      ->clean_spaces = false;
  add({"deepseek-coder"}, {kNewline, R"re(\s?\p{L}+)re", R"re(\s?\p{P}+)re", kDeepseekCjk, kDigit})
      ->clean_spaces = false;
  add({"deepseek-v3", "hunyuan-dense", "joyai-llm", "hy_v4"},
      {kDigits3, kDeepseekV3Cjk, kDeepseekV3Words})
      ->clean_spaces = false;

  add({"falcon"}, {kFalconPunctuation, kGpt2, kThreeAsciiDigits});

  add({"gpt-2", "phi-2", "mpt", "olmo", "jais", "jina-es", "jina-de", "jina-v2-es", "jina-v2-de",
       "gigachat", "a.x-4.0", "mellum", "modern-bert", "exaone4"},
      {kGpt2});
  add({"trillion", "granite-docling"}, {kGpt2})->clean_spaces = false;
  add({"jina-v1-en", "jina-v2-code", "roberta-bpe"}, {kGpt2})->add_sep = true;

  // StarCoder-style: every digit alone, then GPT-2's regex.
  add({"starcoder", "refact", "codeshell", "exaone", "minerva-7b", "mellum2"}, {kDigit, kGpt2});
  add({"command-r", "smollm"}, {kDigit, kGpt2})->clean_spaces = false;

  add({"qwen2", "deepseek-r1-qwen", "kormo", "f2llmv2", "hunyuan", "solar-open", "grok-2"},
      {kQwen2})
      ->clean_spaces = false;
  add({"stablelm2", "megrez"}, {kQwen2});

  add({"bloom", "gpt3-finnish"}, {kBloom});
  add({"poro-chat"}, {kBloom})->clean_spaces = false;
  add({"viking"}, {kBloom, kDigit})->clean_spaces = false;

  add({"gpt-4o", "llama4", "kanana2", "talkie", "minimax-m2"}, {kGpt4o})->clean_spaces = false;
  s = add({"tekken"}, {kTekken});
  s->clean_spaces = false;
  s->ignore_merges = true;
  s->add_bos = true;
  add({"seed-coder"}, {kSeedCoder})->clean_spaces = false;
  add({"bailingmoe", "bailingmoe2", "llada-moe"}, {kBailingMoe})->clean_spaces = false;
  return t;
}

}  // namespace

const std::vector<PreTokenizerSpec>& pre_tokenizer_table() {
  static const std::vector<PreTokenizerSpec> table = make_table();
  return table;
}

const PreTokenizerSpec* find_pre_tokenizer(std::string_view name) {
  for (const PreTokenizerSpec& s : pre_tokenizer_table()) {
    for (std::string_view n : s.names) {
      if (n == name) return &s;
    }
  }
  return nullptr;
}

std::string supported_pre_tokenizer_names() {
  std::string out;
  for (const PreTokenizerSpec& s : pre_tokenizer_table()) {
    for (std::string_view n : s.names) {
      if (!out.empty()) out += ", ";
      out += n;
    }
  }
  return out;
}

}  // namespace tessera::engine
