// SHA-256 (OpenSSL's implementation, which uses the CPU's SHA instructions where present): to
// verify downloaded models against the hash the server publishes.
#pragma once

#include <cstddef>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "util/result.h"

namespace tessera::runtime {

// Incremental hash: update() any number of times, then hex() once. Not thread-safe.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(Sha256&&) noexcept;
  Sha256& operator=(Sha256&&) noexcept;

  void update(const void* data, size_t n);
  // The digest as 64 lower-case hex digits. Ends this hash; start a new Sha256 for another.
  std::string hex();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The hash of a byte string, as hex.
std::string sha256_hex(std::string_view bytes);

// The hash of a file's contents, read in 1 MiB pieces. `on_progress(done, total)` is called
// after each piece when given. Errors: not_found, io_error (with the path and the OS's reason).
Result<std::string> sha256_file(
    const std::filesystem::path& path,
    const std::function<void(uint64_t done, uint64_t total)>& on_progress = nullptr);

}  // namespace tessera::runtime
