// Byte-level BPE by merge ranks.
#include <algorithm>

#include "engine/tokenizer/byte_level.h"
#include "engine/tokenizer/models.h"
#include "engine/tokenizer/word_cache.h"

namespace tessera::engine {

namespace {

struct Symbol {
  TokenId id;  // kNoToken: a byte the vocabulary cannot spell
  int32_t prev;
  int32_t next;
  bool alive;
};

struct Candidate {
  int32_t rank;
  int32_t left;
  int32_t right;
  TokenId left_id;  // the pair as queued; stale once either symbol changed
  TokenId right_id;
  TokenId result;
};

// Min-heap order through std::push_heap's max-heap: lowest rank first, then leftmost.
bool heap_less(const Candidate& a, const Candidate& b) {
  return a.rank > b.rank || (a.rank == b.rank && a.left > b.left);
}

// Byte-level BPE (tokenizer model "gpt2"): the pre-tokenizer's regexes cut the text into
// words; each word's bytes, spelled in GPT-2's byte alphabet, are merged by rank (lowest
// first, ties: leftmost).
class BpeEncoder {
 public:
  // `vocab` (kind bpe, with a pre-tokenizer) must outlive the encoder. Errors: a regex of the
  // pre-tokenizer that PCRE2 refuses.
  static Result<std::unique_ptr<BpeEncoder>> create(const Vocab& vocab);

  void encode(std::string_view text, std::vector<TokenId>& out) const;

 private:
  explicit BpeEncoder(const Vocab& vocab) : vocab_(&vocab) {}
  void encode_word(std::string_view word, std::vector<TokenId>& out) const;
  void push_unmergeable(TokenId id, std::vector<TokenId>& out) const;

  const Vocab* vocab_;
  std::unique_ptr<RegexSplitter> splitter_;
};

Result<std::unique_ptr<BpeEncoder>> BpeEncoder::create(const Vocab& vocab) {
  std::unique_ptr<BpeEncoder> e(new BpeEncoder(vocab));
  auto splitter = RegexSplitter::compile(*vocab.pre);
  if (!splitter.ok()) return splitter.error();
  e->splitter_ = std::move(*splitter);
  return e;
}

void BpeEncoder::encode(std::string_view text, std::vector<TokenId>& out) const {
  thread_local std::vector<Span> words;
  thread_local std::vector<Span> scratch;
  splitter_->split(text, words, scratch);
  WordCache& cache = WordCache::for_thread(vocab_->cache_owner);
  for (const Span& w : words) {
    const std::string_view word = text.substr(w.offset, w.length);
    if (word.size() == 1 || word.size() > WordCache::kMaxWordBytes) {
      for_each_merge_slice(word, [&](std::string_view slice) { encode_word(slice, out); });
      continue;
    }
    if (cache.find(word, out)) continue;
    const size_t before = out.size();
    encode_word(word, out);
    cache.insert(word, std::span<const TokenId>(out).subspan(before));
  }
}

void BpeEncoder::push_unmergeable(TokenId id, std::vector<TokenId>& out) const {
  if (id != kNoToken) {
    out.push_back(id);
  } else if (vocab_->ids.unk != kNoToken) {
    out.push_back(vocab_->ids.unk);
  }
}

void BpeEncoder::encode_word(std::string_view word, std::vector<TokenId>& out) const {
  const Vocab& v = *vocab_;
  if (word.size() == 1) {
    push_unmergeable(v.byte_level_tokens[static_cast<unsigned char>(word[0])], out);
    return;
  }
  if (v.ignore_merges) {
    thread_local std::string spelled;
    spelled.clear();
    byte_level::encode(word, spelled);
    const TokenId whole = v.find(spelled);
    if (whole != kNoToken) {
      out.push_back(whole);
      return;
    }
  }

  thread_local std::vector<Symbol> symbols;
  thread_local std::vector<Candidate> queue;
  symbols.clear();
  queue.clear();
  const auto n = static_cast<int32_t>(word.size());
  for (int32_t i = 0; i < n; ++i) {
    symbols.push_back(Symbol{v.byte_level_tokens[static_cast<unsigned char>(word[i])], i - 1,
                             i + 1 < n ? i + 1 : -1, true});
  }
  auto try_add = [&v](int32_t left, int32_t right) {
    if (left < 0 || right < 0) return;
    const TokenId l = symbols[static_cast<size_t>(left)].id;
    const TokenId r = symbols[static_cast<size_t>(right)].id;
    const BpeMerge* m = v.merges.find(l, r);
    if (m == nullptr) return;
    queue.push_back(Candidate{m->rank, left, right, l, r, m->result});
    std::push_heap(queue.begin(), queue.end(), heap_less);
  };
  for (int32_t i = 1; i < n; ++i) try_add(i - 1, i);

  while (!queue.empty()) {
    std::pop_heap(queue.begin(), queue.end(), heap_less);
    const Candidate c = queue.back();
    queue.pop_back();
    Symbol& l = symbols[static_cast<size_t>(c.left)];
    Symbol& r = symbols[static_cast<size_t>(c.right)];
    if (!l.alive || !r.alive || l.next != c.right || l.id != c.left_id || r.id != c.right_id) {
      continue;
    }
    l.id = c.result;
    r.alive = false;
    l.next = r.next;
    if (r.next >= 0) symbols[static_cast<size_t>(r.next)].prev = c.left;
    try_add(l.prev, c.left);
    try_add(c.left, l.next);
  }
  for (int32_t i = 0; i != -1; i = symbols[static_cast<size_t>(i)].next) {
    push_unmergeable(symbols[static_cast<size_t>(i)].id, out);
  }
}

class BpeModel final : public TokenizerModel {
 public:
  BpeModel(const Vocab& vocab, std::unique_ptr<BpeEncoder> encoder)
      : vocab_(vocab), encoder_(std::move(encoder)) {}

  void encode_fragment(std::string_view text, bool /*after_special*/,
                       std::vector<TokenId>& out) const override {
    encoder_->encode(text, out);
  }
  void add_prefix(std::vector<TokenId>& out) const override {
    if (vocab_.add_bos) out.push_back(vocab_.ids.bos);
  }
  void add_suffix(std::vector<TokenId>& out) const override {
    if (vocab_.add_eos) out.push_back(vocab_.ids.eos);
  }
  void append_piece(std::string_view text, std::string& out) const override {
    byte_level::decode(text, out);
  }
  bool adds_leading_space() const override { return false; }

 private:
  const Vocab& vocab_;
  std::unique_ptr<BpeEncoder> encoder_;
};

}  // namespace

Result<std::unique_ptr<TokenizerModel>> make_bpe_model(const Vocab& vocab) {
  auto encoder = BpeEncoder::create(vocab);
  if (!encoder.ok()) return encoder.error();
  return std::unique_ptr<TokenizerModel>(
      std::make_unique<BpeModel>(vocab, std::move(encoder).value()));
}

}  // namespace tessera::engine
