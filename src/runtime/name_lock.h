// An exclusive lock on one model name in the store, so two processes never write or delete
// the same model's files at once (two `tessera pull`s of one name, or a pull and a
// `tessera models rm`). It is an flock(2) on `<models>/<name>.gguf.lock`: the kernel drops it
// when the process dies, so a killed pull never leaves the name locked.
#pragma once

#include <filesystem>

#include "util/result.h"

namespace tessera::runtime {

class NameLock {
 public:
  // Takes the lock without waiting. Errors: unavailable (another process holds it: the message
  // names the lock file), io_error (the lock file cannot be created, e.g. a read-only folder).
  // `name` must have passed validate_model_name.
  static Result<NameLock> acquire(const std::filesystem::path& models_dir, const std::string& name);

  NameLock(NameLock&& other) noexcept;
  NameLock& operator=(NameLock&& other) noexcept;
  NameLock(const NameLock&) = delete;
  NameLock& operator=(const NameLock&) = delete;
  // Deletes the lock file (while still holding it) and releases the lock.
  ~NameLock();

 private:
  NameLock(int fd, std::filesystem::path path) : fd_(fd), path_(std::move(path)) {}
  void release();

  int fd_ = -1;
  std::filesystem::path path_;
};

}  // namespace tessera::runtime
