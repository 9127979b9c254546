#include "backend/cpu/thread_pool.h"

#include <algorithm>

namespace tessera::backend::cpu {
namespace {

thread_local bool t_inside_task = false;  // set while a thread runs a pool task

// Busy-wait rounds before a waiting worker sleeps (about a millisecond) and before the
// driving thread starts yielding its core while it waits for the workers.
constexpr uint32_t kSpinsBeforeSleep = 1u << 15;
constexpr uint32_t kSpinsBeforeYield = 1u << 14;

// Chunks per thread of a loop: threads claim chunks as they go, so a thread slowed down (a busy
// sibling core, a slower memory path) takes fewer of them instead of holding the others up.
constexpr int64_t kChunksPerThread = 4;

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

}  // namespace

ThreadPool::ThreadPool(int n_threads) {
  if (n_threads <= 0)
    n_threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  workers_.reserve(static_cast<size_t>(n_threads - 1));
  for (int i = 1; i < n_threads; ++i) workers_.emplace_back([this] { worker_loop(); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_.store(true);
  }
  start_cv_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::run(int64_t n, int64_t min_chunk, TaskFn fn, void* ctx) {
  if (n <= 0) return;
  const int64_t parts = static_cast<int64_t>(size()) * kChunksPerThread;
  const int64_t chunk = std::max<int64_t>(std::max<int64_t>(min_chunk, 1), (n + parts - 1) / parts);
  if (workers_.empty() || t_inside_task || chunk >= n) {
    fn(ctx, 0, n);
    return;
  }
  // Publish the job (plain fields, then the generation with release order), wake sleepers.
  fn_ = fn;
  ctx_ = ctx;
  n_ = n;
  chunk_ = chunk;
  next_.store(0, std::memory_order_relaxed);
  pending_.store(static_cast<int>(workers_.size()), std::memory_order_relaxed);
  generation_.fetch_add(1);  // seq_cst: ordered against the sleepers_ check below
  if (sleepers_.load() > 0) {
    { std::lock_guard<std::mutex> lock(mu_); }
    start_cv_.notify_all();
  }
  t_inside_task = true;
  work();
  t_inside_task = false;
  for (uint32_t spins = 0; pending_.load(std::memory_order_acquire) != 0; ++spins) {
    if (spins < kSpinsBeforeYield) {
      cpu_relax();
    } else {
      std::this_thread::yield();
    }
  }
}

void ThreadPool::work() {
  for (;;) {
    const int64_t begin = next_.fetch_add(1, std::memory_order_relaxed) * chunk_;
    if (begin >= n_) return;
    fn_(ctx_, begin, std::min(n_, begin + chunk_));
  }
}

void ThreadPool::worker_loop() {
  uint64_t seen = 0;
  t_inside_task = true;
  for (;;) {
    // Spin a while (jobs of one forward pass follow each other within microseconds), then
    // sleep until the next job.
    uint64_t g = 0;
    for (uint32_t spins = 0;; ++spins) {
      g = generation_.load(std::memory_order_acquire);
      if (g != seen || stop_.load(std::memory_order_relaxed)) break;
      if (spins < kSpinsBeforeSleep) {
        cpu_relax();
        continue;
      }
      std::unique_lock<std::mutex> lock(mu_);
      sleepers_.fetch_add(1);  // seq_cst: see run()
      start_cv_.wait(lock, [&] { return stop_.load() || generation_.load() != seen; });
      sleepers_.fetch_sub(1);
      spins = 0;
    }
    if (stop_.load()) return;
    seen = g;
    work();
    pending_.fetch_sub(1, std::memory_order_acq_rel);
  }
}

}  // namespace tessera::backend::cpu
