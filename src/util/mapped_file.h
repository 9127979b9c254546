// A read-only memory map of a whole file. Opening maps the file without reading it: pages
// come in as they are touched, so opening a multi-gigabyte model costs microseconds.
// Move-only; the mapping lives until the object is destroyed. Thread-safe to read.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "util/result.h"

namespace tessera {

class MappedFile {
 public:
  // Maps `path`. Errors: not_found (no such file), io_error (not a regular file, open or
  // mmap refused). An empty file maps to size 0 with data() == nullptr.
  static Result<MappedFile> open(const std::string& path);

  MappedFile() = default;
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile();

  const uint8_t* data() const { return data_; }
  // Drops the whole pages inside [p, p + n) from this process's memory (madvise DONTNEED) when
  // they are part of the mapping: for bytes the caller has copied and will not read again.
  // They stay readable (touching them faults them back from the file). Thread-safe.
  void release(const void* p, size_t n) const;
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  void reset();

  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  std::string path_;
};

}  // namespace tessera
