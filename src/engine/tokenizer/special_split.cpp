#include "engine/tokenizer/special_split.h"

#include <algorithm>
#include <map>

namespace tessera::engine {

namespace {

// C's isspace in the "C" locale, which the reference uses for lstrip / rstrip.
bool is_ascii_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

struct Occurrence {
  int32_t priority;
  size_t pos;
};

struct Taken {
  size_t end;          // end of what the token consumed (its rstrip whitespace included)
  size_t token_start;  // where the token's own text begins
  TokenId token;
};

}  // namespace

SpecialTokenSplitter::SpecialTokenSplitter(const Vocab& vocab)
    : vocab_(&vocab), priority_(vocab.size(), -1) {
  for (size_t i = 0; i < vocab.special_tokens.size(); ++i) {
    const TokenId id = vocab.special_tokens[i];
    priority_[static_cast<size_t>(id)] = static_cast<int32_t>(i);
    const std::string_view text = vocab.texts[static_cast<size_t>(id)];
    for (int mode = 0; mode < 2; ++mode) {
      if (!active(id, mode == 1)) continue;
      std::vector<uint32_t>& lens = lengths_[mode][static_cast<unsigned char>(text[0])];
      const auto len = static_cast<uint32_t>(text.size());
      if (std::find(lens.begin(), lens.end(), len) == lens.end()) lens.push_back(len);
    }
  }
  for (auto& mode : lengths_) {
    for (auto& lens : mode) std::sort(lens.begin(), lens.end(), std::greater<>());
  }
}

bool SpecialTokenSplitter::active(TokenId id, bool parse_special) const {
  return parse_special || !vocab_->has_attr(id, kAttrControl | kAttrUnknown);
}

void SpecialTokenSplitter::split(std::string_view text, bool parse_special,
                                 std::vector<Fragment>& out,
                                 std::span<const std::pair<size_t, size_t>> plain_ranges) const {
  // Whether a control token at [begin, end) must stay plain text.
  const auto in_plain_range = [&plain_ranges](size_t begin, size_t end) {
    return std::any_of(plain_ranges.begin(), plain_ranges.end(),
                       [&](const auto& r) { return begin < r.second && r.first < end; });
  };
  out.clear();
  const size_t n = text.size();
  if (n == 0) return;
  const auto& lengths = lengths_[parse_special ? 1 : 0];

  thread_local std::vector<Occurrence> found;
  found.clear();
  for (size_t p = 0; p < n; ++p) {
    const std::vector<uint32_t>& lens = lengths[static_cast<unsigned char>(text[p])];
    for (const uint32_t len : lens) {
      if (len > n - p) continue;
      const TokenId id = vocab_->find(text.substr(p, len));
      if (id == kNoToken) continue;
      const int32_t prio = priority_[static_cast<size_t>(id)];
      if (prio < 0 || !active(id, parse_special)) continue;
      if (!plain_ranges.empty() && vocab_->has_attr(id, kAttrControl | kAttrUnknown) &&
          in_plain_range(p, p + len)) {
        continue;
      }
      found.push_back(Occurrence{prio, p});
    }
  }
  if (found.empty()) {
    out.push_back(Fragment{kNoToken, 0, n});
    return;
  }
  std::sort(found.begin(), found.end(), [](const Occurrence& a, const Occurrence& b) {
    return a.priority != b.priority ? a.priority < b.priority : a.pos < b.pos;
  });

  // Take occurrences token by token (by priority), each left to right, as long as it lies
  // entirely inside text that is still raw.
  std::map<size_t, Taken> taken;  // by the start of what each token consumed
  int32_t current = -1;
  size_t same_token_end = 0;  // a token's next occurrence may not overlap its previous one
  for (const Occurrence& o : found) {
    if (o.priority != current) {
      current = o.priority;
      same_token_end = 0;
    }
    const TokenId id = vocab_->special_tokens[static_cast<size_t>(o.priority)];
    const size_t start = o.pos;
    const size_t end = start + vocab_->texts[static_cast<size_t>(id)].size();
    if (start < same_token_end) continue;
    auto next = taken.upper_bound(start);
    size_t raw_begin = 0;
    if (next != taken.begin()) {
      const size_t prev_end = std::prev(next)->second.end;
      if (prev_end > start) continue;
      raw_begin = prev_end;
    }
    const size_t raw_end = next == taken.end() ? n : next->first;
    if (end > raw_end) continue;
    size_t left = start;
    if (vocab_->has_attr(id, kAttrLstrip)) {
      while (left > raw_begin && is_ascii_space(text[left - 1])) --left;
    }
    size_t right = end;
    if (vocab_->has_attr(id, kAttrRstrip)) {
      while (right < raw_end && is_ascii_space(text[right])) ++right;
    }
    taken.emplace(left, Taken{right, start, id});
    same_token_end = end;
  }

  size_t pos = 0;
  for (const auto& [start, t] : taken) {
    if (start > pos) out.push_back(Fragment{kNoToken, pos, start - pos});
    out.push_back(Fragment{t.token, t.token_start, 0});
    pos = t.end;
  }
  if (pos < n) out.push_back(Fragment{kNoToken, pos, n - pos});
}

}  // namespace tessera::engine
