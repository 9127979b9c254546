// Zeroed host memory for large arrays (model weights, copies of them, K/V caches, probes).
// From kMapFrom bytes up: an anonymous mapping aligned to 2 MiB and marked for transparent
// huge pages, so it is zero without a memset, committed page by page as it is first written
// (or all at once by commit()), and read with a fraction of the TLB misses and page faults of
// 4 KiB pages. Smaller: the heap, 64-byte aligned, zeroed (so committed). Move-only; freed on
// destruction.
#pragma once

#include <cstddef>

namespace tessera {

class HostMemory {
 public:
  static constexpr size_t kMapFrom = size_t{8} << 20;

  // Null data() when the system refuses the memory.
  static HostMemory allocate(size_t bytes);

  HostMemory() = default;
  HostMemory(HostMemory&& other) noexcept;
  HostMemory& operator=(HostMemory&& other) noexcept;
  HostMemory(const HostMemory&) = delete;
  HostMemory& operator=(const HostMemory&) = delete;
  ~HostMemory();

  // Makes every page resident now (the kernel's MADV_POPULATE_WRITE, else a write to each
  // page), so that the memory is held from here on and not as it is first written. False
  // when the system refused the pages (the memory stays valid, committed or not).
  bool commit();

  void* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  void reset();

  void* data_ = nullptr;
  size_t size_ = 0;
  void* mapping_ = nullptr;  // null: heap
  size_t mapped_ = 0;
};

}  // namespace tessera
