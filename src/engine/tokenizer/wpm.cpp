// WordPiece (tokenizer model "bert") as a TokenizerModel: wordpiece_encode per fragment,
// framed as [CLS] ... [SEP].
#include "engine/tokenizer/models.h"
#include "engine/tokenizer/wordpiece.h"

namespace tessera::engine {
namespace {

class WpmModel final : public TokenizerModel {
 public:
  explicit WpmModel(const Vocab& vocab)
      : vocab_(vocab), lookup_([&vocab](std::string_view piece) { return vocab.find(piece); }) {}

  void encode_fragment(std::string_view text, bool /*after_special*/,
                       std::vector<TokenId>& out) const override {
    const std::vector<TokenId> words = wordpiece_encode(text, lookup_, vocab_.ids.unk);
    out.insert(out.end(), words.begin(), words.end());
  }
  // BERT always frames its input (the reference ignores add_bos_token here).
  void add_prefix(std::vector<TokenId>& out) const override {
    if (vocab_.ids.bos != kNoToken) out.push_back(vocab_.ids.bos);
  }
  void add_suffix(std::vector<TokenId>& out) const override {
    if (vocab_.ids.sep != kNoToken) out.push_back(vocab_.ids.sep);
  }
  void append_piece(std::string_view text, std::string& out) const override {
    append_unescaped(text, out);
  }
  bool adds_leading_space() const override { return true; }

 private:
  const Vocab& vocab_;
  PieceLookup lookup_;
};

}  // namespace

Result<std::unique_ptr<TokenizerModel>> make_wpm_model(const Vocab& vocab) {
  return std::unique_ptr<TokenizerModel>(std::make_unique<WpmModel>(vocab));
}

}  // namespace tessera::engine
