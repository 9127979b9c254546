// Fuzz target: any byte string, tokenized by any of the test vocabularies (SentencePiece,
// byte-level BPE with several pre-tokenizers, WordPiece) with any flags, must give tokens
// without a crash or sanitizer report, and decoding them (whole or streamed) must give valid
// UTF-8.
//
// Input: byte 0 picks the vocabulary, byte 1 the flags (bit 0 add_special, bit 1
// parse_special), the rest is the text.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/tokenizer/tokenizer.h"
#include "gguf/reader.h"
#include "util/utf8.h"

namespace {

using tessera::engine::Tokenizer;

constexpr const char* kVocabs[] = {"llama-spm", "phi-3",          "llama-bpe", "qwen2",
                                   "gpt-2",     "deepseek-coder", "falcon",    "bert-bge"};
constexpr size_t kNumVocabs = sizeof(kVocabs) / sizeof(kVocabs[0]);

const Tokenizer& vocab(size_t i) {
  static std::unique_ptr<Tokenizer> loaded[kNumVocabs];
  if (!loaded[i]) {
    const std::string path =
        std::string(TESSERA_TESTDATA_DIR) + "/vocab/ggml-vocab-" + kVocabs[i] + ".gguf";
    auto file = tessera::gguf::GgufFile::open(path);
    if (!file.ok()) std::abort();  // the fuzz set-up is broken, not the code under test
    auto tok = Tokenizer::from_gguf(*file);
    if (!tok.ok()) std::abort();
    loaded[i] = std::make_unique<Tokenizer>(std::move(tok).value());
  }
  return *loaded[i];
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const Tokenizer& tok = vocab(data[0] % kNumVocabs);
  tessera::engine::EncodeOptions opts;
  opts.add_special = (data[1] & 1) != 0;
  opts.parse_special = (data[1] & 2) != 0;
  const std::string_view text(reinterpret_cast<const char*>(data + 2), size - 2);
  const std::vector<tessera::engine::TokenId> ids = tok.encode(text, opts);
  for (auto id : ids) {
    if (!tok.valid(id)) std::abort();
  }
  const std::string decoded = tok.decode(ids, true, false);
  if (!tessera::utf8::is_valid(decoded)) std::abort();
  tessera::engine::StreamDecoder stream(tok, true);
  std::string streamed;
  for (auto id : ids) streamed += stream.push(id);
  streamed += stream.flush();
  if (!tessera::utf8::is_valid(streamed)) std::abort();
  return 0;
}
