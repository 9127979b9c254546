#include "util/host_memory.h"

#include <sys/mman.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <new>
#include <utility>

namespace tessera {
namespace {

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23  // Linux 5.14; older C library headers lack the name
#endif

constexpr size_t kAlign = 64;
constexpr size_t kHugePage = size_t{2} << 20;

}  // namespace

HostMemory HostMemory::allocate(size_t bytes) {
  HostMemory m;
  if (bytes < kMapFrom) {
    m.data_ = ::operator new(bytes == 0 ? kAlign : bytes, std::align_val_t(kAlign), std::nothrow);
    if (m.data_ != nullptr) std::memset(m.data_, 0, bytes);
    m.size_ = m.data_ != nullptr ? bytes : 0;
    return m;
  }
  const size_t len = (bytes + kHugePage - 1) / kHugePage * kHugePage + kHugePage;
  void* p = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return m;
  const auto base = reinterpret_cast<uintptr_t>(p);
  const uintptr_t start = (base + kHugePage - 1) / kHugePage * kHugePage;
  m.data_ = reinterpret_cast<void*>(start);
  m.size_ = bytes;
  m.mapping_ = p;
  m.mapped_ = len;
  madvise(m.data_, len - (start - base), MADV_HUGEPAGE);  // a hint; 4 KiB pages otherwise
  return m;
}

bool HostMemory::commit() {
  if (mapping_ == nullptr || size_ == 0) return true;  // heap memory was written by memset
  if (madvise(data_, size_, MADV_POPULATE_WRITE) == 0) return true;
  if (errno != EINVAL) return false;  // EINVAL: a kernel before 5.14
  auto* p = static_cast<volatile uint8_t*>(data_);
  for (size_t at = 0; at < size_; at += 4096) p[at] = 0;
  return true;
}

HostMemory::HostMemory(HostMemory&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      mapping_(std::exchange(other.mapping_, nullptr)),
      mapped_(std::exchange(other.mapped_, 0)) {}

HostMemory& HostMemory::operator=(HostMemory&& other) noexcept {
  if (this != &other) {
    reset();
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
    mapping_ = std::exchange(other.mapping_, nullptr);
    mapped_ = std::exchange(other.mapped_, 0);
  }
  return *this;
}

HostMemory::~HostMemory() {
  reset();
}

void HostMemory::reset() {
  if (mapping_ != nullptr) {
    munmap(mapping_, mapped_);
  } else if (data_ != nullptr) {
    ::operator delete(data_, std::align_val_t(kAlign));
  }
  data_ = mapping_ = nullptr;
  size_ = mapped_ = 0;
}

}  // namespace tessera
