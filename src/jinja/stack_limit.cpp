#include "jinja/stack_limit.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>

#if defined(__GLIBC__)
#include <pthread.h>
#endif

namespace tessera::jinja {
namespace {

// Room kept for the deepest builtin call below the last checked frame: a quarter of the
// stack, at most 256 KiB.
constexpr size_t kMaxSafetyMargin = 256 * 1024;

// Lowest usable stack address of the calling thread (0: unknown).
uintptr_t find_stack_limit() {
#if defined(__GLIBC__)
  pthread_attr_t attr;
  if (pthread_getattr_np(pthread_self(), &attr) != 0) return 0;
  void* low = nullptr;
  size_t size = 0;
  const int rc = pthread_attr_getstack(&attr, &low, &size);
  pthread_attr_destroy(&attr);
  if (rc != 0 || low == nullptr || size < 64 * 1024) return 0;
  return reinterpret_cast<uintptr_t>(low) + std::min(size / 4, kMaxSafetyMargin);
#else
  return 0;
#endif
}

}  // namespace

bool stack_nearly_exhausted() {
  thread_local const uintptr_t limit = find_stack_limit();
  char probe = 0;
  const auto here = reinterpret_cast<uintptr_t>(&probe);
  return limit != 0 && here < limit;
}

}  // namespace tessera::jinja
