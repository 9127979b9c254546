// Summaries of repeated timings for `tessera bench` (bench_cmd.cpp, bench_embed.cpp): median,
// min, max, mean and the sample standard deviation, as llama-bench reports them.
#pragma once

#include <vector>

namespace tessera::cli {

// Rates (per second) of the repetitions of one test, and their summary.
struct TestStats {
  int tokens = 0;
  std::vector<double> runs;  // in the order they ran
  double median = 0, min = 0, max = 0, mean = 0, stddev = 0;
};

// The median of `v` (the mean of the middle two for an even count; 0 when empty).
double median_of(std::vector<double> v);

// `runs` must not be empty.
TestStats summarize(int tokens, std::vector<double> runs);

}  // namespace tessera::cli
