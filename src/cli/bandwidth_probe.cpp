#include "cli/bandwidth_probe.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <new>
#include <string>
#include <thread>

#include "util/host_memory.h"
#include "util/parallel.h"

namespace tessera::cli {
namespace {

constexpr size_t kLanes = 8;  // independent accumulators: the loop is not one add chain

// Sum of words [begin, end); a plain loop over kLanes lanes that the compiler turns into
// vector loads and adds.
uint64_t sum_words(const uint64_t* p, size_t begin, size_t end) {
  uint64_t acc[kLanes] = {};
  size_t i = begin;
  for (; i + kLanes <= end; i += kLanes) {
    for (size_t l = 0; l < kLanes; ++l) acc[l] += p[i + l];
  }
  uint64_t s = 0;
  for (; i < end; ++i) s += p[i];
  for (uint64_t a : acc) s += a;
  return s;
}

// 0 + 1 + ... + (n - 1), modulo 2^64 like the sums above.
uint64_t triangle(uint64_t n) {
  return n % 2 == 0 ? (n / 2) * (n - 1) : n * ((n - 1) / 2);
}

}  // namespace

Result<BandwidthProbe> BandwidthProbe::create(int threads, size_t bytes) {
  if (threads < 0) {
    return make_error(ErrorCode::invalid_argument,
                      "bandwidth probe: threads must be 0 (one per core) or more, got " +
                          std::to_string(threads));
  }
  if (threads == 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const size_t words = bytes / sizeof(uint64_t);
  if (words < static_cast<size_t>(threads)) {
    return make_error(ErrorCode::invalid_argument,
                      "bandwidth probe: a buffer of " + std::to_string(bytes) +
                          " bytes is too small for " + std::to_string(threads) + " threads");
  }
  BandwidthProbe probe;
  probe.buf_ = HostMemory::allocate(words * sizeof(uint64_t));
  if (probe.buf_.data() == nullptr) {
    return make_error(ErrorCode::out_of_range, "bandwidth probe: cannot allocate " +
                                                   std::to_string(bytes >> 20) +
                                                   " MiB; use a smaller buffer");
  }
  probe.words_ = words;
  probe.threads_ = threads;
  auto* p = static_cast<uint64_t*>(probe.buf_.data());
  // Same n and threads as measure(), so each thread later reads the part it wrote (its NUMA
  // node's pages).
  parallel_for(static_cast<int64_t>(words), threads, [p](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) p[i] = static_cast<uint64_t>(i);
  });
  return probe;
}

Result<double> BandwidthProbe::measure(int reps) const {
  if (reps < 1) {
    return make_error(
        ErrorCode::invalid_argument,
        "bandwidth probe: repetitions must be at least 1, got " + std::to_string(reps));
  }
  const auto* p = static_cast<const uint64_t*>(buf_.data());
  const auto n = static_cast<int64_t>(words_);
  const uint64_t expected = triangle(words_);
  double best = 0;
  for (int r = 0; r < reps; ++r) {
    std::atomic<uint64_t> total{0};
    const auto t0 = std::chrono::steady_clock::now();
    parallel_for(n, threads_, [p, &total](int64_t b, int64_t e) {
      total.fetch_add(sum_words(p, static_cast<size_t>(b), static_cast<size_t>(e)),
                      std::memory_order_relaxed);
    });
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    // Checking the sum keeps the reads from being optimized away, and the memory honest.
    if (total.load() != expected) {
      return make_error(ErrorCode::io_error,
                        "bandwidth probe: memory read back differs from what was written");
    }
    if (s > 0) best = std::max(best, static_cast<double>(words_ * sizeof(uint64_t)) / s);
  }
  return best;
}

Result<double> measure_read_bandwidth(int threads, size_t bytes, int reps) {
  if (reps < 1) {
    return make_error(
        ErrorCode::invalid_argument,
        "bandwidth probe: repetitions must be at least 1, got " + std::to_string(reps));
  }
  TESSERA_TRY_ASSIGN(probe, BandwidthProbe::create(threads, bytes));
  return probe.measure(reps);
}

}  // namespace tessera::cli
