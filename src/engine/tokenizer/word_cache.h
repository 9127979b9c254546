// A per-thread cache of recently tokenized words (word bytes -> token ids), so that a word seen
// before skips the merge loop. Each thread keeps caches for a few tokenizers (by owner id);
// a cache that fills up is simply emptied. Only the calling thread touches its caches, so
// a shared, immutable tokenizer stays safe to use from many threads.
#pragma once

#include <atomic>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/tokenizer/hash_tables.h"
#include "engine/tokenizer/tokenizer.h"

namespace tessera::engine {

class WordCache {
 public:
  static constexpr size_t kMaxWordBytes = 256;  // longer words are rare; not worth keeping

  // A fresh id for a tokenizer model that uses caches.
  static uint64_t new_owner() {
    static std::atomic<uint64_t> next{1};
    return next.fetch_add(1);
  }

  // The calling thread's cache for `owner`.
  static WordCache& for_thread(uint64_t owner) {
    constexpr size_t kOwners = 4;
    thread_local WordCache caches[kOwners];
    thread_local size_t next_victim = 0;
    for (WordCache& c : caches) {
      if (c.owner_ == owner) return c;
    }
    WordCache& c = caches[next_victim];
    next_victim = (next_victim + 1) % kOwners;
    c.reset(owner);
    return c;
  }

  // The ids cached for `word`, or false.
  bool find(std::string_view word, std::vector<TokenId>& out) const {
    if (slots_.empty()) return false;
    const uint64_t h = hash_bytes(word);
    const uint32_t tag = tag_of(h);
    for (size_t i = h & kMask;; i = (i + 1) & kMask) {
      const Slot& s = slots_[i];
      if (s.tag == 0) return false;
      if (s.tag == tag && std::string_view(keys_).substr(s.key_offset, s.key_length) == word) {
        out.insert(out.end(), ids_.begin() + s.ids_offset,
                   ids_.begin() + s.ids_offset + s.ids_length);
        return true;
      }
    }
  }

  void insert(std::string_view word, std::span<const TokenId> ids) {
    if (word.size() > kMaxWordBytes) return;
    if (slots_.empty()) slots_.assign(kSlots, Slot{});
    if (size_ * 2 >= kSlots) clear();
    if (ids.size() > kMaxWordBytes) return;
    const uint64_t h = hash_bytes(word);
    size_t i = h & kMask;
    while (slots_[i].tag != 0) i = (i + 1) & kMask;
    slots_[i] =
        Slot{tag_of(h), static_cast<uint32_t>(keys_.size()), static_cast<uint32_t>(ids_.size()),
             static_cast<uint16_t>(word.size()), static_cast<uint16_t>(ids.size())};
    keys_.append(word);
    ids_.insert(ids_.end(), ids.begin(), ids.end());
    ++size_;
  }

 private:
  // 32768 slots of 16 bytes (512 KiB), emptied when half full.
  static constexpr size_t kSlots = size_t{1} << 15;
  static constexpr size_t kMask = kSlots - 1;
  struct Slot {
    uint32_t tag = 0;  // high hash bits with the low bit set; 0: empty
    uint32_t key_offset = 0;
    uint32_t ids_offset = 0;
    uint16_t key_length = 0;
    uint16_t ids_length = 0;
  };
  static uint32_t tag_of(uint64_t h) { return static_cast<uint32_t>(h >> 32) | 1u; }

  void reset(uint64_t owner) {
    owner_ = owner;
    clear();
  }
  void clear() {
    if (!slots_.empty()) slots_.assign(kSlots, Slot{});
    keys_.clear();
    ids_.clear();
    size_ = 0;
  }

  uint64_t owner_ = 0;
  std::vector<Slot> slots_;
  std::string keys_;
  std::vector<TokenId> ids_;
  size_t size_ = 0;
};

}  // namespace tessera::engine
