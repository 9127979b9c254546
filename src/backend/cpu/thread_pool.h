// A small fixed-size thread pool for the CPU kernels: one parallel loop at a time, split into
// contiguous chunks (about four per thread) that the threads, the calling one included, claim
// in turn from an atomic counter. A forward pass runs
// hundreds of loops per token, so hand-off is cheap: idle workers spin on an atomic job
// counter for about a millisecond before they sleep on a condition variable, and the caller
// spins until the workers are done.
//
// Threads: a ThreadPool is driven by one thread at a time (the forward pass of one model);
// parallel_for must not be called concurrently from two threads on the same pool. A call from
// inside a running task (nested parallelism) runs serially on the calling thread instead of
// deadlocking. Every kernel takes a `ThreadPool*`; nullptr means "run on the caller's thread".
//
// Determinism: the split only decides which thread computes which indices; kernels compute
// each output element with the same arithmetic whatever the split, so results are identical
// across thread counts.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <type_traits>
#include <vector>

namespace tessera::backend::cpu {

class ThreadPool {
 public:
  // `n_threads` threads in all, the caller's included (0 = one per hardware thread).
  explicit ThreadPool(int n_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return static_cast<int>(workers_.size()) + 1; }

  // Runs fn(begin, end) over a split of [0, n) into contiguous chunks of at least `min_chunk`
  // indices, in any order on any threads; returns when all are done. fn must not throw.
  template <class Fn>
  void parallel_for(int64_t n, Fn&& fn, int64_t min_chunk = 1) {
    using F = std::remove_reference_t<Fn>;
    run(
        n, min_chunk, [](void* ctx, int64_t b, int64_t e) { (*static_cast<F*>(ctx))(b, e); },
        const_cast<void*>(static_cast<const void*>(&fn)));
  }

 private:
  using TaskFn = void (*)(void* ctx, int64_t begin, int64_t end);
  void run(int64_t n, int64_t min_chunk, TaskFn fn, void* ctx);
  void worker_loop();
  void work();  // claims and runs chunks of the current job until none is left

  std::vector<std::thread> workers_;
  std::mutex mu_;                        // guards sleeping only
  std::condition_variable start_cv_;     // sleeping workers wait here for a job
  std::atomic<uint64_t> generation_{0};  // bumped for every job (publishes the job fields)
  std::atomic<int> pending_{0};          // workers still busy with the current job
  std::atomic<int> sleepers_{0};         // workers asleep on start_cv_
  std::atomic<bool> stop_{false};
  // the current job, written by the driving thread before generation_ is bumped
  TaskFn fn_ = nullptr;
  void* ctx_ = nullptr;
  int64_t n_ = 0;
  int64_t chunk_ = 0;
  std::atomic<int64_t> next_{0};  // the next chunk to claim
};

// Runs fn(begin, end) over [0, n) on `pool`, or on the caller's thread when pool is null.
template <class Fn>
void parallel_for(ThreadPool* pool, int64_t n, Fn&& fn, int64_t min_chunk = 1) {
  if (n <= 0) return;
  if (pool == nullptr) {
    fn(int64_t{0}, n);
    return;
  }
  pool->parallel_for(n, fn, min_chunk);
}

}  // namespace tessera::backend::cpu
