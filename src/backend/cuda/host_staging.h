// The CUDA stream's staging memory for transfers outside graph steps: pinned host chunks
// (from `allocate`, returned with `release`) that write() copies the caller's bytes into, so
// the caller may reuse its memory at once and the copy to the device is asynchronous, and that
// read() copies device bytes into until synchronize() hands them to the caller. Everything
// handed out stays valid until restart(), which the stream calls once its queue is idle.
// Plain C++ (the allocator is given), so it is tested without a GPU.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

namespace tessera::cuda {

class HostStaging {
 public:
  using Allocate = std::function<void*(size_t)>;  // null on failure
  using Release = std::function<void(void*)>;

  HostStaging(Allocate allocate, Release release, size_t chunk_bytes = size_t{1} << 20)
      : allocate_(std::move(allocate)), release_(std::move(release)), chunk_bytes_(chunk_bytes) {}
  ~HostStaging() {
    for (Chunk& c : chunks_) release_(c.data);
  }
  HostStaging(const HostStaging&) = delete;
  HostStaging& operator=(const HostStaging&) = delete;

  // `bytes` of staging (256-byte aligned), valid until restart(); null when the allocator
  // fails. A request larger than a chunk gets a chunk of its own.
  void* take(size_t bytes) {
    for (; current_ < chunks_.size(); ++current_) {
      Chunk& c = chunks_[current_];
      const size_t at = (c.used + 255) / 256 * 256;
      if (at <= c.size && bytes <= c.size - at) {
        c.used = at + bytes;
        return static_cast<uint8_t*>(c.data) + at;
      }
    }
    const size_t size = bytes > chunk_bytes_ ? bytes : chunk_bytes_;
    void* data = allocate_(size);
    if (data == nullptr) return nullptr;
    chunks_.push_back(Chunk{data, size, bytes});
    current_ = chunks_.size() - 1;
    return data;
  }
  // Makes every chunk free again (the stream is idle). Chunks are kept for reuse.
  void restart() {
    for (Chunk& c : chunks_) c.used = 0;
    current_ = 0;
  }
  size_t chunk_count() const { return chunks_.size(); }

 private:
  struct Chunk {
    void* data;
    size_t size;
    size_t used;
  };
  Allocate allocate_;
  Release release_;
  size_t chunk_bytes_;
  std::vector<Chunk> chunks_;
  size_t current_ = 0;
};

}  // namespace tessera::cuda
