// Tokenizer behaviour beyond the reference vectors: broken input, files without (or with an
// unknown) tokenizer, special tokens, decoding and the stream decoder.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <string>
#include <thread>

#include "engine/tokenizer/tokenizer.h"
#include "gguf/writer.h"
#include "tokenizer_test_util.h"

namespace tessera::engine {
namespace {

using test_util::load_tokenizer;
using test_util::vocab_path;

const Tokenizer& vocab_tokenizer(const std::string& name) {
  const auto& loaded = load_tokenizer(vocab_path(name));
  if (loaded.tokenizer == nullptr) {
    ADD_FAILURE() << loaded.error;
    std::abort();
  }
  return *loaded.tokenizer;
}

bool is_valid_utf8(const std::string& s) {
  // Strict UTF-8 check, independent of the code under test.
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t n;
    uint32_t cp;
    if (c < 0x80) {
      n = 1;
      cp = c;
    } else if ((c & 0xE0) == 0xC0) {
      n = 2;
      cp = c & 0x1Fu;
    } else if ((c & 0xF0) == 0xE0) {
      n = 3;
      cp = c & 0x0Fu;
    } else if ((c & 0xF8) == 0xF0) {
      n = 4;
      cp = c & 0x07u;
    } else {
      return false;
    }
    if (i + n > s.size()) return false;
    for (size_t k = 1; k < n; ++k) {
      const auto d = static_cast<unsigned char>(s[i + k]);
      if ((d & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (d & 0x3Fu);
    }
    const uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += n;
  }
  return true;
}

// A GGUF (in memory) with every key of `source` except those in `drop`, plus `extra`.
struct MemoryGguf {
  std::vector<uint8_t> bytes;
  Result<gguf::GgufFile> open() const {
    return gguf::GgufFile::parse(bytes.data(), bytes.size(), "test.gguf");
  }
};

MemoryGguf copy_metadata(const gguf::GgufFile& source, const std::vector<std::string>& drop,
                         const std::function<void(gguf::Writer&)>& extra) {
  gguf::Writer w;
  for (const gguf::MetaEntry& e : source.metadata()) {
    if (std::find(drop.begin(), drop.end(), e.key) == drop.end()) w.set(e.key, e.value);
  }
  extra(w);
  auto bytes = w.write_to_buffer();
  EXPECT_TRUE(bytes.ok());
  return MemoryGguf{bytes.ok() ? std::move(*bytes) : std::vector<uint8_t>()};
}

TEST(TokenizerErrors, FileWithoutTokenizerMetadataFailsClearly) {
  gguf::Writer w;
  w.set_string("general.architecture", "llama");
  w.set_u32("llama.context_length", 256);
  auto bytes = w.write_to_buffer();
  ASSERT_TRUE(bytes.ok());
  auto file = gguf::GgufFile::parse(bytes->data(), bytes->size(), "no-tokenizer.gguf");
  ASSERT_TRUE(file.ok()) << file.error().message;
  auto tok = Tokenizer::from_gguf(*file);
  ASSERT_FALSE(tok.ok());
  EXPECT_EQ(tok.error().code, ErrorCode::not_found);
  EXPECT_NE(tok.error().message.find("no-tokenizer.gguf"), std::string::npos);
  EXPECT_NE(tok.error().message.find("tokenizer.ggml.model"), std::string::npos);
}

TEST(TokenizerErrors, UnknownPreTokenizerIsNamedWithTheSupportedOnes) {
  auto source = gguf::GgufFile::open(tessera::test::testdata(vocab_path("gpt-2")));
  ASSERT_TRUE(source.ok());
  const MemoryGguf g = copy_metadata(*source, {"tokenizer.ggml.pre"}, [](gguf::Writer& w) {
    w.set_string("tokenizer.ggml.pre", "no-such-pretokenizer");
  });
  auto file = g.open();
  ASSERT_TRUE(file.ok()) << file.error().message;
  auto tok = Tokenizer::from_gguf(*file);
  ASSERT_FALSE(tok.ok());
  EXPECT_EQ(tok.error().code, ErrorCode::unsupported);
  const std::string& m = tok.error().message;
  EXPECT_NE(m.find("'no-such-pretokenizer'"), std::string::npos) << m;
  EXPECT_NE(m.find("tokenizer.ggml.pre"), std::string::npos) << m;
  for (const char* name : {"default", "llama3", "llama-bpe", "qwen2", "gpt-2", "deepseek-llm",
                           "deepseek-coder", "falcon", "mpt", "starcoder", "refact", "command-r",
                           "phi-2", "olmo", "stablelm2", "smollm", "jina-v2-code"}) {
    EXPECT_NE(m.find(name), std::string::npos) << name << " missing from: " << m;
  }
}

// Token types or scores stored as numbers the vocabulary cannot hold (a NaN type, a score past
// the float range: what a fuzzer found) are refused with the key and the entry, not converted.
TEST(TokenizerErrors, NumbersOutOfRangeAreRefused) {
  auto source = gguf::GgufFile::open(tessera::test::testdata(vocab_path("llama-spm")));
  ASSERT_TRUE(source.ok());
  const size_t n = (*source->get_array("tokenizer.ggml.tokens"))->strings().size();
  struct Case {
    const char* key;
    double bad;
  };
  for (const Case c :
       {Case{"tokenizer.ggml.token_type", std::nan("")}, Case{"tokenizer.ggml.token_type", 1e12},
        Case{"tokenizer.ggml.scores", 1e300}}) {
    SCOPED_TRACE(c.key);
    std::vector<double> values(n, 1.0);  // outlives the writer, which keeps a view of it
    values[n / 2] = c.bad;
    const MemoryGguf g = copy_metadata(*source, {c.key}, [&](gguf::Writer& w) {
      w.set(c.key, gguf::MetaValue::scalar_array(gguf::MetaType::f64,
                                                 reinterpret_cast<const uint8_t*>(values.data()),
                                                 values.size()));
    });
    auto file = g.open();
    ASSERT_TRUE(file.ok()) << file.error().message;
    auto tok = Tokenizer::from_gguf(*file);
    ASSERT_FALSE(tok.ok());
    EXPECT_EQ(tok.error().code, ErrorCode::malformed);
    EXPECT_NE(tok.error().message.find(c.key), std::string::npos) << tok.error().message;
    EXPECT_NE(tok.error().message.find("out of range"), std::string::npos) << tok.error().message;
  }
}

TEST(TokenizerErrors, UnknownModelAndMissingMergesFail) {
  auto source = gguf::GgufFile::open(tessera::test::testdata(vocab_path("gpt-2")));
  ASSERT_TRUE(source.ok());
  const MemoryGguf unknown = copy_metadata(*source, {"tokenizer.ggml.model"}, [](gguf::Writer& w) {
    w.set_string("tokenizer.ggml.model", "t5");
  });
  auto f1 = unknown.open();
  ASSERT_TRUE(f1.ok());
  auto t1 = Tokenizer::from_gguf(*f1);
  ASSERT_FALSE(t1.ok());
  EXPECT_EQ(t1.error().code, ErrorCode::unsupported);
  EXPECT_NE(t1.error().message.find("'t5'"), std::string::npos) << t1.error().message;

  const MemoryGguf no_merges = copy_metadata(*source, {"tokenizer.ggml.merges"}, [](auto&) {});
  auto f2 = no_merges.open();
  ASSERT_TRUE(f2.ok());
  auto t2 = Tokenizer::from_gguf(*f2);
  ASSERT_FALSE(t2.ok());
  EXPECT_NE(t2.error().message.find("tokenizer.ggml.merges"), std::string::npos);
}

TEST(TokenizerErrors, AbsentPreMeansDefault) {
  auto source = gguf::GgufFile::open(tessera::test::testdata(vocab_path("gpt-2")));
  ASSERT_TRUE(source.ok());
  const MemoryGguf g = copy_metadata(*source, {"tokenizer.ggml.pre"}, [](auto&) {});
  auto file = g.open();
  ASSERT_TRUE(file.ok());
  auto tok = Tokenizer::from_gguf(*file);
  ASSERT_TRUE(tok.ok()) << tok.error().message;
  EXPECT_EQ(tok->pre_name(), "default");
  EXPECT_FALSE(tok->encode("Hello world").empty());
}

TEST(TokenizerInput, InvalidUtf8IsReplacedNotFatal) {
  const std::string broken = "ab\xff\xfe c\xE4\xBD d\xED\xA0\x80 e\xC0\xAF \xF0\x9F\xA6";
  // Maximal subparts: FF, FE, the cut-off E4 BD, ED, A0, 80 (surrogate), C0, AF, F0 9F A6.
  const std::string repaired = "ab\uFFFD\uFFFD c\uFFFD d\uFFFD\uFFFD\uFFFD e\uFFFD\uFFFD \uFFFD";
  for (const std::string& name : tessera::test::testdata_vocabs()) {
    const Tokenizer& tok = vocab_tokenizer(name);
    for (const bool special : {false, true}) {
      const EncodeOptions o{.add_special = special, .parse_special = special};
      EXPECT_EQ(tok.encode(broken, o), tok.encode(repaired, o)) << name;
    }
    EXPECT_TRUE(is_valid_utf8(tok.decode(tok.encode(broken)))) << name;
  }
}

TEST(TokenizerInput, EmptyTextGivesOnlyTheAddedTokens) {
  EXPECT_EQ(vocab_tokenizer("llama-spm").encode(""), (std::vector<TokenId>{1}));
  EXPECT_TRUE(vocab_tokenizer("llama-spm").encode("", {.add_special = false}).empty());
  EXPECT_TRUE(vocab_tokenizer("qwen2").encode("").empty());
  EXPECT_EQ(vocab_tokenizer("bert-bge").encode(""), (std::vector<TokenId>{101, 102}));
}

TEST(TokenizerSpecial, ControlTokensOnlyWithParseSpecial) {
  const Tokenizer& tok = vocab_tokenizer("qwen2");
  const std::vector<TokenId> parsed =
      tok.encode("<|im_start|>user\nHi<|im_end|>", {.add_special = false, .parse_special = true});
  ASSERT_GE(parsed.size(), 3u);
  EXPECT_EQ(parsed.front(), 151644);
  EXPECT_EQ(parsed.back(), 151645);
  const std::vector<TokenId> plain =
      tok.encode("<|im_start|>user", {.add_special = false, .parse_special = false});
  EXPECT_EQ(std::count(plain.begin(), plain.end(), 151644), 0);
  EXPECT_EQ(tok.decode(parsed), "<|im_start|>user\nHi<|im_end|>");
  EXPECT_EQ(tok.decode(parsed, /*render_special=*/false), "user\nHi");
  EXPECT_EQ(tok.token_to_piece(151645, false), "");
  EXPECT_EQ(tok.token_to_piece(151645, true), "<|im_end|>");
  EXPECT_EQ(tok.token_type(151644), TokenType::control);
}

TEST(TokenizerSpecial, EndOfGenerationTokens) {
  const Tokenizer& qwen = vocab_tokenizer("qwen2");
  EXPECT_EQ(qwen.eot(), 151645);  // "<|im_end|>", found by its text
  EXPECT_TRUE(qwen.is_end_of_generation(151643));
  EXPECT_TRUE(qwen.is_end_of_generation(151645));
  EXPECT_FALSE(qwen.is_end_of_generation(151644));
  const Tokenizer& phi = vocab_tokenizer("phi-3");
  EXPECT_TRUE(phi.is_end_of_generation(32007));      // <|end|>
  EXPECT_TRUE(phi.is_end_of_generation(32000));      // <|endoftext|> = EOS
  EXPECT_EQ(phi.token_type(2), TokenType::control);  // "</s>": user-defined in the file
}

TEST(TokenizerSpecial, Phi3SpecialTokensSwallowTheWhitespaceAfterThem) {
  const Tokenizer& tok = vocab_tokenizer("phi-3");
  const EncodeOptions o{.add_special = false, .parse_special = true};
  const std::vector<TokenId> tight = tok.encode("<|user|>Hi<|end|>", o);
  EXPECT_EQ(tok.encode("<|user|>\n  Hi<|end|>\n", o), tight);
  EXPECT_EQ(tight.front(), 32010);
  EXPECT_EQ(tight.back(), 32007);
}

TEST(TokenizerSpecial, UserDefinedTokensAreAlwaysSplitOut) {
  // deepseek-llm marks some byte-level letters as user-defined (added) tokens.
  const Tokenizer& tok = vocab_tokenizer("deepseek-llm");
  const std::vector<TokenId> ids = tok.encode("x\xC3\xB6y", {.add_special = false});
  EXPECT_NE(std::find(ids.begin(), ids.end(), 100003), ids.end());  // "ö"
}

TEST(TokenizerDecode, LeadingSpaceAndSpecialRendering) {
  const Tokenizer& spm = vocab_tokenizer("llama-spm");
  const std::vector<TokenId> ids = spm.encode("Hello world");
  ASSERT_EQ(ids.front(), 1);
  EXPECT_EQ(spm.decode(ids, /*render_special=*/false), "Hello world");
  EXPECT_EQ(spm.decode(ids, /*render_special=*/true), "<s> Hello world");
  EXPECT_EQ(spm.decode(ids, false, /*remove_leading_space=*/false), " Hello world");
  EXPECT_EQ(spm.token_to_piece(spm.encode("Hello", {.add_special = false}).front()), " Hello");

  const Tokenizer& gpt2 = vocab_tokenizer("gpt-2");
  const std::vector<TokenId> g = gpt2.encode("Hello , world 's end", {.add_special = false});
  EXPECT_EQ(gpt2.decode(g), "Hello , world 's end");
  EXPECT_TRUE(gpt2.clean_spaces());
  EXPECT_EQ(gpt2.decode(g, true, true, /*clean_up_spaces=*/true), "Hello, world's end");
}

// Feeds `ids` one by one; every chunk must be valid UTF-8 and the whole must equal decode().
void check_stream(const Tokenizer& tok, const std::vector<TokenId>& ids, size_t* held_back) {
  StreamDecoder stream(tok, /*render_special=*/false);
  std::string all;
  for (const TokenId id : ids) {
    const std::string chunk = stream.push(id);
    EXPECT_TRUE(is_valid_utf8(chunk)) << "token " << id;
    if (chunk.empty() && !tok.token_to_piece(id, false).empty()) ++*held_back;
    all += chunk;
  }
  const std::string rest = stream.flush();
  EXPECT_TRUE(is_valid_utf8(rest));
  all += rest;
  EXPECT_EQ(all, tok.decode(ids, /*render_special=*/false));
}

TEST(TokenizerStream, CharactersSplitAcrossByteTokensAreHeldBack) {
  const std::string text =
      "Emoji 🦙🚀 😶‍🌫️ ✅ 👍🏽, 我想在北京工作 and Ω≈ç√∫";
  for (const char* name : {"llama-spm", "phi-3", "llama-bpe", "qwen2", "gpt-2"}) {
    const Tokenizer& tok = vocab_tokenizer(name);
    const std::vector<TokenId> ids = tok.encode(text);
    size_t held_back = 0;
    check_stream(tok, ids, &held_back);
    EXPECT_GT(held_back, 0u) << name << ": no character was split across tokens";
    EXPECT_EQ(tok.decode(ids, false), text) << name;
  }
}

TEST(TokenizerStream, NeverCompletingBytesBecomeReplacementCharacters) {
  const Tokenizer& tok = vocab_tokenizer("llama-spm");
  const TokenId e4 = 3 + 0xE4;  // byte tokens <0x00> ... <0xFF> are ids 3 ... 258
  const TokenId a = 3 + 'a';
  ASSERT_EQ(tok.token_text(e4), "<0xE4>");
  ASSERT_EQ(tok.token_text(a), "<0x61>");
  StreamDecoder stream(tok);
  EXPECT_EQ(stream.push(e4), "");
  EXPECT_EQ(stream.push(a), "\uFFFDa");
  EXPECT_EQ(stream.push(e4), "");
  EXPECT_EQ(stream.flush(), "\uFFFD");
  EXPECT_EQ(stream.flush(), "");
}

TEST(TokenizerInput, RandomBytesAndIdsNeverBreakAnything) {
  uint64_t state = 0x5EED;
  auto next = [&state] {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<uint32_t>(state >> 33);
  };
  const std::string pieces[] = {
      "<s>", "</s>", "<|im_start|>", "<|endoftext|>", "[CLS]",  " ",          "\n", "▁", "ö",
      "我",  "🦙", "'s",           "123",           "<0x0A>", "[PAD100015]"};
  for (const std::string& name : tessera::test::testdata_vocabs()) {
    const Tokenizer& tok = vocab_tokenizer(name);
    for (int round = 0; round < 200; ++round) {
      std::string text;
      const uint32_t parts = next() % 12;
      for (uint32_t p = 0; p < parts; ++p) {
        if (next() % 2 == 0) {
          text += pieces[next() % std::size(pieces)];
        } else {
          const uint32_t n = next() % 6;
          for (uint32_t k = 0; k < n; ++k) text.push_back(static_cast<char>(next() & 0xFF));
        }
      }
      const bool special = next() % 2 == 0;
      const std::vector<TokenId> ids =
          tok.encode(text, {.add_special = special, .parse_special = next() % 2 == 0});
      for (const TokenId id : ids) ASSERT_TRUE(tok.valid(id)) << name;
      EXPECT_TRUE(is_valid_utf8(tok.decode(ids, special))) << name;

      std::vector<TokenId> random_ids;
      for (uint32_t k = next() % 10; k > 0; --k) {
        random_ids.push_back(static_cast<TokenId>(next() % (tok.vocab_size() + 8)) - 4);
      }
      EXPECT_TRUE(is_valid_utf8(tok.decode(random_ids))) << name;
      StreamDecoder stream(tok);
      std::string streamed;
      for (const TokenId id : random_ids) {
        const std::string chunk = stream.push(id);
        EXPECT_TRUE(is_valid_utf8(chunk)) << name;
        streamed += chunk;
      }
      streamed += stream.flush();
      EXPECT_EQ(streamed, tok.decode(random_ids)) << name;
    }
  }
}

TEST(TokenizerThreads, ConcurrentEncodesAgree) {
  const Tokenizer& tok = vocab_tokenizer("llama-bpe");
  const test_util::Vectors v = test_util::read_vectors("llama-bpe");
  std::vector<std::thread> threads;
  std::vector<int> failures(4, 0);
  for (size_t t = 0; t < failures.size(); ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 20; ++round) {
        for (size_t i = 0; i < v.texts.size(); ++i) {
          if (tok.encode(v.texts[i], {.add_special = false}) != v.ids[i]) ++failures[t];
        }
      }
    });
  }
  for (std::thread& th : threads) th.join();
  for (int f : failures) EXPECT_EQ(f, 0);
}

}  // namespace
}  // namespace tessera::engine
