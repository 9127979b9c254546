// Helpers shared by the tokenizer tests: loading a tokenizer from the shared test data (once
// per file, kept for the whole run) and reading the llama.cpp test vectors.
#pragma once

#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "engine/tokenizer/tokenizer.h"
#include "gguf/reader.h"
#include "support/test_support.h"

namespace tessera::engine::test_util {

inline std::string read_text_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

// The tokenizer of a GGUF file under shared/testdata (e.g. "vocab/ggml-vocab-gpt-2.gguf"), or
// nullptr when it does not load (the caller reports the error from load_error()).
struct Loaded {
  std::unique_ptr<Tokenizer> tokenizer;
  std::string error;
};

inline const Loaded& load_tokenizer(const std::string& rel) {
  static std::map<std::string, Loaded>* cache = new std::map<std::string, Loaded>();
  auto it = cache->find(rel);
  if (it != cache->end()) return it->second;
  Loaded l;
  auto file = gguf::GgufFile::open(tessera::test::testdata(rel));
  if (!file.ok()) {
    l.error = file.error().message;
  } else {
    auto tok = Tokenizer::from_gguf(*file);
    if (tok.ok()) {
      l.tokenizer = std::make_unique<Tokenizer>(std::move(*tok));
    } else {
      l.error = tok.error().message;
    }
  }
  return cache->emplace(rel, std::move(l)).first->second;
}

inline std::string vocab_path(const std::string& name) {
  return "vocab/ggml-vocab-" + name + ".gguf";
}

// The texts of X.gguf.inp and the expected ids of X.gguf.out.
struct Vectors {
  std::vector<std::string> texts;
  std::vector<std::vector<TokenId>> ids;
};

inline Vectors read_vectors(const std::string& name) {
  Vectors v;
  const std::string inp = read_text_file(tessera::test::testdata(vocab_path(name) + ".inp"));
  const std::string sep = "\n__ggml_vocab_test__\n";
  size_t pos = 0;
  for (size_t hit; (hit = inp.find(sep, pos)) != std::string::npos; pos = hit + sep.size()) {
    v.texts.push_back(inp.substr(pos, hit - pos));
  }
  std::istringstream out(read_text_file(tessera::test::testdata(vocab_path(name) + ".out")));
  for (std::string line; std::getline(out, line);) {
    std::istringstream ls(line);
    std::vector<TokenId> ids;
    for (TokenId id; ls >> id;) ids.push_back(id);
    v.ids.push_back(std::move(ids));
  }
  return v;
}

inline std::string ids_to_string(const std::vector<TokenId>& ids) {
  std::string s;
  for (TokenId id : ids) {
    s.push_back(' ');
    s.append(std::to_string(id));
  }
  return s;
}

}  // namespace tessera::engine::test_util
