// Flat, open-addressing hash tables for the tokenizers' hot paths: token text -> id (keys are
// views into the vocabulary's own storage, so a lookup allocates nothing) and a pair of token
// ids -> BPE merge (rank and result). Built once, then read-only: safe from many threads.
#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>
#include <vector>

#include "engine/tokenizer/tokenizer.h"

namespace tessera::engine {

inline uint64_t hash_mix(uint64_t x) {
  x ^= x >> 32;
  x *= 0xD6E8FEB86659FD93ull;
  x ^= x >> 32;
  x *= 0xD6E8FEB86659FD93ull;
  x ^= x >> 32;
  return x;
}

inline uint64_t hash_bytes(std::string_view s) {
  const char* p = s.data();
  size_t n = s.size();
  uint64_t h = 0x9E3779B97F4A7C15ull * (n + 1);
  while (n >= 8) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    h = hash_mix(h ^ v);
    p += 8;
    n -= 8;
  }
  uint64_t v = 0;
  std::memcpy(&v, p, n);
  return hash_mix(h ^ v ^ (uint64_t{n} << 59));
}

// Token text -> id over a list of distinct texts the caller keeps alive (and unmoved).
class TokenIndex {
 public:
  // Indexes every text. Returns the first id whose text repeats an earlier one (that id is
  // left out of the index), or kNoToken when all texts are distinct.
  TokenId build(const std::vector<std::string_view>* texts) {
    texts_ = texts;
    size_t cap = 16;
    while (cap < texts->size() * 2) cap <<= 1;
    mask_ = cap - 1;
    slots_.assign(cap, Slot{0, kNoToken});
    TokenId duplicate = kNoToken;
    for (size_t id = 0; id < texts->size(); ++id) {
      const std::string_view text = (*texts)[id];
      const uint64_t h = hash_bytes(text);
      const auto tag = static_cast<uint32_t>(h >> 32);
      size_t i = h & mask_;
      bool seen = false;
      for (; slots_[i].id != kNoToken; i = (i + 1) & mask_) {
        if (slots_[i].tag == tag && (*texts)[static_cast<size_t>(slots_[i].id)] == text) {
          seen = true;
          break;
        }
      }
      if (seen) {
        if (duplicate == kNoToken) duplicate = static_cast<TokenId>(id);
        continue;
      }
      slots_[i] = Slot{tag, static_cast<TokenId>(id)};
    }
    return duplicate;
  }

  TokenId find(std::string_view s) const {
    if (slots_.empty()) return kNoToken;
    const uint64_t h = hash_bytes(s);
    const auto tag = static_cast<uint32_t>(h >> 32);
    for (size_t i = h & mask_;; i = (i + 1) & mask_) {
      const Slot& slot = slots_[i];
      if (slot.id == kNoToken) return kNoToken;
      if (slot.tag == tag && (*texts_)[static_cast<size_t>(slot.id)] == s) return slot.id;
    }
  }

 private:
  struct Slot {
    uint32_t tag;
    TokenId id;
  };
  const std::vector<std::string_view>* texts_ = nullptr;
  std::vector<Slot> slots_;
  size_t mask_ = 0;
};

// (left id, right id) -> the merge that joins them: its rank (lower merges first) and the id
// of the joined token.
struct BpeMerge {
  int32_t rank;
  TokenId result;
};

class MergeTable {
 public:
  void reserve(size_t n) {
    size_t cap = 16;
    while (cap < n * 2) cap <<= 1;
    mask_ = cap - 1;
    slots_.assign(cap, Slot{kEmpty, {0, kNoToken}});
  }

  // Keeps the first merge given for a pair (the lowest rank), as the reference does.
  void insert(TokenId left, TokenId right, BpeMerge merge) {
    const uint64_t key = pack(left, right);
    for (size_t i = hash_mix(key) & mask_;; i = (i + 1) & mask_) {
      if (slots_[i].key == key) return;
      if (slots_[i].key == kEmpty) {
        slots_[i] = Slot{key, merge};
        ++size_;
        return;
      }
    }
  }

  const BpeMerge* find(TokenId left, TokenId right) const {
    if (left < 0 || right < 0 || slots_.empty()) return nullptr;
    const uint64_t key = pack(left, right);
    for (size_t i = hash_mix(key) & mask_;; i = (i + 1) & mask_) {
      const Slot& slot = slots_[i];
      if (slot.key == key) return &slot.merge;
      if (slot.key == kEmpty) return nullptr;
    }
  }

  size_t size() const { return size_; }

 private:
  static constexpr uint64_t kEmpty = ~uint64_t{0};
  static uint64_t pack(TokenId l, TokenId r) {
    return (uint64_t{static_cast<uint32_t>(l)} << 32) | static_cast<uint32_t>(r);
  }
  struct Slot {
    uint64_t key;
    BpeMerge merge;
  };
  std::vector<Slot> slots_;
  size_t mask_ = 0;
  size_t size_ = 0;
};

}  // namespace tessera::engine
