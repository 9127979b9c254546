// Splits [0, n) into contiguous chunks run on up to `threads` threads (0 = one per core);
// blocks until all are done. For coarse one-off work (file writing, conversion); the
// inference thread pool with per-token synchronization belongs to the CPU backend.
#pragma once

#include <algorithm>
#include <cstdint>
#include <thread>
#include <vector>

namespace tessera {

template <class Fn>  // Fn: void(int64_t begin, int64_t end)
void parallel_for(int64_t n, int threads, Fn&& fn) {
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const int64_t workers = std::min<int64_t>(threads, n);
  if (workers <= 1) {
    if (n > 0) fn(int64_t{0}, n);
    return;
  }
  std::vector<std::thread> pool;
  pool.reserve(static_cast<size_t>(workers - 1));
  const int64_t chunk = (n + workers - 1) / workers;
  for (int64_t w = 1; w < workers; ++w) {
    const int64_t b = w * chunk;
    const int64_t e = std::min(n, b + chunk);
    if (b < e) pool.emplace_back([&fn, b, e] { fn(b, e); });
  }
  fn(int64_t{0}, std::min(n, chunk));
  for (auto& t : pool) t.join();
}

}  // namespace tessera
