// A probe of the machine's memory read bandwidth: the ceiling a memory-bound workload such as
// token generation (every weight read once per token) can reach. Used by `tessera bench`.
#pragma once

#include <cstddef>

#include "util/result.h"

namespace tessera::cli {

// Reads a buffer of `bytes` (make it much larger than the last-level cache) with `threads`
// threads (0 = one per hardware thread), each summing its contiguous part with a vectorized
// loop, `reps` times; returns the best rate in bytes per second. The buffer is written once
// first, each part by the thread that later reads it, so no page fault is timed.
// Blocks for the whole measurement (about reps x bytes / bandwidth, plus the first write).
// Errors: invalid_argument (threads < 0, reps < 1, bytes < 8 per thread); out_of_range when
// the buffer cannot be allocated. Thread-safe (it touches no shared state).
Result<double> measure_read_bandwidth(int threads, size_t bytes, int reps);

}  // namespace tessera::cli
