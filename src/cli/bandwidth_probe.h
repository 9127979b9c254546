// A probe of the machine's memory read bandwidth: the ceiling a memory-bound workload such as
// token generation (every weight read once per token) can reach. Used by `tessera bench`.
#pragma once

#include <cstddef>
#include <cstdint>

#include "util/host_memory.h"
#include "util/result.h"

namespace tessera::cli {

// A buffer of `bytes` (make it much larger than the last-level cache) in the memory weights
// get (util/host_memory.h), written once at creation, each part by the thread that later reads
// it, so no page fault is timed; measure() reads it again with `threads` threads (0 = one per
// hardware thread), each summing its contiguous part with a vectorized loop, `reps` times, and
// returns the best rate in bytes per second. Keeping one probe lets a benchmark measure the
// bandwidth right before each of its repetitions, on a machine whose bandwidth moves.
// Errors: invalid_argument (threads < 0, reps < 1, bytes < 8 per thread); out_of_range when
// the buffer cannot be allocated; io_error if the memory reads back wrong.
class BandwidthProbe {
 public:
  static Result<BandwidthProbe> create(int threads, size_t bytes);
  Result<double> measure(int reps) const;
  size_t bytes() const { return words_ * sizeof(uint64_t); }

 private:
  BandwidthProbe() = default;
  HostMemory buf_;
  size_t words_ = 0;
  int threads_ = 1;
};

// One probe, created, measured `reps` times and dropped. Blocks for about reps x bytes /
// bandwidth, plus the first write.
Result<double> measure_read_bandwidth(int threads, size_t bytes, int reps);

}  // namespace tessera::cli
