// SentencePiece-style BPE by scores.
#include <algorithm>

#include "engine/tokenizer/models.h"
#include "engine/tokenizer/word_cache.h"
#include "util/utf8.h"

namespace tessera::engine {

namespace {

struct Symbol {
  uint32_t start;
  uint32_t len;  // 0 once merged into its left neighbour
  int32_t prev;
  int32_t next;
};

struct Bigram {
  float score;
  int32_t left;
  int32_t right;
  uint32_t size;  // bytes of the pair when queued; stale once either side changed
};

// Max-heap order: higher score first, then the leftmost pair.
bool heap_less(const Bigram& a, const Bigram& b) {
  return a.score < b.score || (a.score == b.score && a.left > b.left);
}

void encode_piece(const Vocab& vocab, std::string_view text, std::vector<TokenId>& out) {
  thread_local std::vector<Symbol> symbols;
  thread_local std::vector<Bigram> queue;
  symbols.clear();
  queue.clear();

  for (size_t offs = 0; offs < text.size();) {
    const size_t len =
        std::min(utf8::sequence_length(static_cast<unsigned char>(text[offs])), text.size() - offs);
    const auto index = static_cast<int32_t>(symbols.size());
    symbols.push_back(Symbol{static_cast<uint32_t>(offs), static_cast<uint32_t>(len), index - 1,
                             offs + len == text.size() ? -1 : index + 1});
    offs += len;
  }

  auto try_add = [&text, &vocab](int32_t left, int32_t right) {
    if (left < 0 || right < 0) return;
    const Symbol& l = symbols[static_cast<size_t>(left)];
    const Symbol& r = symbols[static_cast<size_t>(right)];
    const TokenId id = vocab.find(text.substr(l.start, l.len + r.len));
    if (id == kNoToken) return;
    queue.push_back(Bigram{vocab.scores[static_cast<size_t>(id)], left, right, l.len + r.len});
    std::push_heap(queue.begin(), queue.end(), heap_less);
  };

  for (size_t i = 1; i < symbols.size(); ++i) {
    try_add(static_cast<int32_t>(i - 1), static_cast<int32_t>(i));
  }
  while (!queue.empty()) {
    std::pop_heap(queue.begin(), queue.end(), heap_less);
    const Bigram b = queue.back();
    queue.pop_back();
    Symbol& l = symbols[static_cast<size_t>(b.left)];
    Symbol& r = symbols[static_cast<size_t>(b.right)];
    if (l.len == 0 || r.len == 0 || l.len + r.len != b.size) continue;
    l.len += r.len;
    r.len = 0;
    l.next = r.next;
    if (r.next >= 0) symbols[static_cast<size_t>(r.next)].prev = b.left;
    try_add(l.prev, b.left);
    try_add(b.left, l.next);
  }

  if (symbols.empty()) return;
  for (int32_t i = 0; i != -1; i = symbols[static_cast<size_t>(i)].next) {
    const Symbol& s = symbols[static_cast<size_t>(i)];
    const std::string_view piece = text.substr(s.start, s.len);
    const TokenId id = vocab.find(piece);
    if (id != kNoToken) {
      out.push_back(id);
      continue;
    }
    for (const char c : piece) {  // byte fallback
      const TokenId byte = vocab.byte_tokens[static_cast<unsigned char>(c)];
      if (byte != kNoToken) {
        out.push_back(byte);
      } else if (vocab.ids.unk != kNoToken) {
        out.push_back(vocab.ids.unk);
      }
    }
  }
}

// SentencePiece-style BPE (tokenizer model "llama"): starting from single characters, the
// adjacent pair whose concatenation is the highest-scoring token is merged (ties: leftmost)
// until no pair is a token; pieces that are not tokens fall back to byte tokens <0xNN>
// (or unk). `escaped` is the fragment with spaces already replaced by "▁" (and the prefix
// added when due).

void spm_encode(const Vocab& vocab, std::string_view text, std::vector<TokenId>& out) {
  if (!vocab.spm_split_at_spaces) {
    for_each_merge_slice(text, [&](std::string_view slice) { encode_piece(vocab, slice, out); });
    return;
  }
  // No token joins a character to a following "▁", so no merge crosses the start of a run of
  // "▁": each word (with the spaces before it) merges on its own, with the same result as
  // the whole text and a small queue.
  WordCache& cache = WordCache::for_thread(vocab.cache_owner);
  auto encode_word = [&vocab, &cache, &out](std::string_view word) {
    if (word.size() > kMaxMergeBytes) {
      for_each_merge_slice(word, [&](std::string_view slice) { encode_piece(vocab, slice, out); });
      return;
    }
    if (cache.find(word, out)) return;
    const size_t before = out.size();
    encode_piece(vocab, word, out);
    cache.insert(word, std::span<const TokenId>(out).subspan(before));
  };
  size_t start = 0;
  size_t pos = 0;
  while ((pos = text.find(kSpaceMark, pos)) != std::string_view::npos) {
    if (pos > start && text.substr(pos - kSpaceMark.size(), kSpaceMark.size()) != kSpaceMark) {
      encode_word(text.substr(start, pos - start));
      start = pos;
    }
    pos += kSpaceMark.size();
  }
  encode_word(text.substr(start));
}

class SpmModel final : public TokenizerModel {
 public:
  explicit SpmModel(const Vocab& vocab) : vocab_(vocab) {}

  void encode_fragment(std::string_view text, bool after_special,
                       std::vector<TokenId>& out) const override {
    // SentencePiece's view of the fragment: spaces as "▁", with a leading "▁" when due.
    thread_local std::string escaped;
    escaped.clear();
    escaped.reserve(text.size() + text.size() / 4 + 3);
    if (vocab_.add_space_prefix && after_special) escaped.append(kSpaceMark);
    for (const char c : text) {
      if (c == ' ') {
        escaped.append(kSpaceMark);
      } else {
        escaped.push_back(c);
      }
    }
    spm_encode(vocab_, escaped, out);
  }
  void add_prefix(std::vector<TokenId>& out) const override {
    if (vocab_.add_bos) out.push_back(vocab_.ids.bos);
  }
  void add_suffix(std::vector<TokenId>& out) const override {
    if (vocab_.add_eos) out.push_back(vocab_.ids.eos);
  }
  void append_piece(std::string_view text, std::string& out) const override {
    append_unescaped(text, out);
  }
  bool adds_leading_space() const override { return vocab_.add_space_prefix; }

 private:
  const Vocab& vocab_;
};

}  // namespace

Result<std::unique_ptr<TokenizerModel>> make_spm_model(const Vocab& vocab) {
  return std::unique_ptr<TokenizerModel>(std::make_unique<SpmModel>(vocab));
}

}  // namespace tessera::engine
