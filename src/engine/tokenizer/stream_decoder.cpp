// StreamDecoder: token-by-token detokenization that never emits a broken UTF-8 sequence.
#include "engine/tokenizer/tokenizer.h"
#include "util/utf8.h"

namespace tessera::engine {

StreamDecoder::StreamDecoder(const Tokenizer& tokenizer, bool render_special, bool at_text_start)
    : tokenizer_(&tokenizer), render_special_(render_special), first_(at_text_start) {}

std::string StreamDecoder::push(TokenId id) {
  std::string piece = tokenizer_->token_to_piece(id, render_special_);
  if (piece.empty()) return {};
  if (first_) {
    if (tokenizer_->strips_leading_space() && piece.front() == ' ') piece.erase(0, 1);
    first_ = false;
  }
  pending_ += piece;
  const size_t ready = utf8::complete_prefix_length(pending_);
  if (ready == 0) return {};
  std::string out = utf8::sanitize(std::string_view(pending_).substr(0, ready));
  pending_.erase(0, ready);
  return out;
}

std::string StreamDecoder::flush() {
  std::string out = utf8::sanitize(pending_);
  pending_.clear();
  return out;
}

}  // namespace tessera::engine
