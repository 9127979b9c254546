#include "runtime/name_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace tessera::runtime {

Result<NameLock> NameLock::acquire(const std::filesystem::path& models_dir,
                                   const std::string& name) {
  const std::filesystem::path path = models_dir / (name + ".gguf.lock");
  // The holder deletes the file when it lets go; a process that opened the old file just
  // before that would lock a file no longer in the folder, so the inode is checked again.
  for (int attempt = 0; attempt < 8; ++attempt) {
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
      return make_error(ErrorCode::io_error, "cannot create the lock file " + path.string() + ": " +
                                                 std::strerror(errno));
    }
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      const int err = errno;
      ::close(fd);
      if (err == EWOULDBLOCK) {
        return make_error(ErrorCode::unavailable,
                          "another tessera process is pulling or removing the model '" + name +
                              "' (it holds " + path.string() + "); wait for it to finish");
      }
      return make_error(ErrorCode::io_error,
                        "cannot lock " + path.string() + ": " + std::strerror(err));
    }
    struct stat held {};
    struct stat named {};
    if (::fstat(fd, &held) == 0 && ::stat(path.c_str(), &named) == 0 &&
        held.st_ino == named.st_ino && held.st_dev == named.st_dev) {
      return NameLock(fd, path);
    }
    ::close(fd);
  }
  return make_error(ErrorCode::unavailable,
                    "could not lock " + path.string() + ": other processes keep replacing it");
}

NameLock::NameLock(NameLock&& other) noexcept : fd_(other.fd_), path_(std::move(other.path_)) {
  other.fd_ = -1;
}

NameLock& NameLock::operator=(NameLock&& other) noexcept {
  if (this != &other) {
    release();
    fd_ = other.fd_;
    path_ = std::move(other.path_);
    other.fd_ = -1;
  }
  return *this;
}

NameLock::~NameLock() {
  release();
}

void NameLock::release() {
  if (fd_ < 0) return;
  ::unlink(path_.c_str());
  ::close(fd_);
  fd_ = -1;
}

}  // namespace tessera::runtime
