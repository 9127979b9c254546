// Host-side bookkeeping of the CUDA stream's graph steps (Stream::begin_graph / end_graph),
// plain C++ without CUDA so it is tested on any machine:
//   StepSignature — the ops of one step and all their arguments, as words: two steps with equal
//                   signatures launch the same kernels with the same arguments, so the graph
//                   recorded for the first replays the second.
//   GraphCache    — the graphs recorded so far, keyed by signature, the least recently used
//                   dropped past a capacity (a graph holds device resources).
//   StepStaging   — a fixed block of pinned host memory that a step's writes and reads go
//                   through: the k-th transfer of a step lands at the same offset every step,
//                   so the recorded copies stay valid while their contents change.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <list>
#include <utility>
#include <vector>

namespace tessera::cuda {

// A float's bits as a signature word (so 0.0 and -0.0, or two NaNs, are told apart as launch
// arguments are).
inline uint64_t float_word(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, sizeof bits);
  return bits;
}

class StepSignature {
 public:
  void clear() { words_.clear(); }
  void add(uint64_t w) { words_.push_back(w); }
  void add_pointer(const void* p) { words_.push_back(reinterpret_cast<uintptr_t>(p)); }
  void add_float(float f) { words_.push_back(float_word(f)); }
  bool operator==(const StepSignature& o) const { return words_ == o.words_; }
  size_t size() const { return words_.size(); }

 private:
  std::vector<uint64_t> words_;
};

// `Exec` is what a recorded graph is kept as (a cudaGraphExec_t in the backend); `destroy`
// frees one when it is dropped.
template <class Exec>
class GraphCache {
 public:
  GraphCache(size_t capacity, std::function<void(Exec)> destroy)
      : capacity_(capacity), destroy_(std::move(destroy)) {}
  ~GraphCache() { clear(); }
  GraphCache(const GraphCache&) = delete;
  GraphCache& operator=(const GraphCache&) = delete;

  // The graph recorded for `sig`, made the most recently used; null when there is none.
  const Exec* find(const StepSignature& sig) {
    for (auto it = entries_.begin(); it != entries_.end(); ++it) {
      if (it->first == sig) {
        entries_.splice(entries_.begin(), entries_, it);
        return &entries_.front().second;
      }
    }
    return nullptr;
  }
  // Keeps `exec` for `sig` (which must not be there yet), dropping the least recently used
  // graph past the capacity.
  void insert(StepSignature sig, Exec exec) {
    entries_.emplace_front(std::move(sig), exec);
    while (entries_.size() > capacity_) {
      destroy_(entries_.back().second);
      entries_.pop_back();
    }
  }
  // Drops every graph (e.g. when memory they point into moved).
  void clear() {
    for (auto& e : entries_) destroy_(e.second);
    entries_.clear();
  }
  size_t size() const { return entries_.size(); }

 private:
  size_t capacity_;
  std::function<void(Exec)> destroy_;
  std::list<std::pair<StepSignature, Exec>> entries_;  // most recently used first
};

// Offsets into a block of `capacity` bytes, handed out in order from the start of each step,
// each aligned to 256 bytes.
class StepStaging {
 public:
  explicit StepStaging(size_t capacity = 0) : capacity_(capacity) {}
  // The offset of `bytes` more, or -1 when the block is full.
  int64_t take(size_t bytes) {
    const size_t at = (used_ + 255) / 256 * 256;
    if (at > capacity_ || bytes > capacity_ - at) return -1;
    used_ = at + bytes;
    return static_cast<int64_t>(at);
  }
  void restart() { used_ = 0; }
  size_t used() const { return used_; }
  size_t capacity() const { return capacity_; }

 private:
  size_t capacity_;
  size_t used_ = 0;
};

}  // namespace tessera::cuda
