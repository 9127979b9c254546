// Tokenizer's private state, shared by tokenizer.cpp (building, encoding) and decode.cpp.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/tokenizer/models.h"
#include "engine/tokenizer/special_split.h"
#include "engine/tokenizer/tokenizer.h"
#include "engine/tokenizer/vocab.h"

namespace tessera::engine {

struct Tokenizer::Impl {
  Vocab vocab;
  std::unique_ptr<SpecialTokenSplitter> splitter;
  std::unique_ptr<TokenizerModel> model;  // for vocab.kind

  // token_to_piece(id, render_special = true) of every token, back to back.
  std::string piece_arena;
  std::vector<std::string_view> pieces;

  void build_pieces();
  std::string_view piece(TokenId id, bool render_special) const;
};

}  // namespace tessera::engine
