#include "cli/bench_stats.h"

#include <algorithm>
#include <cmath>

namespace tessera::cli {

double median_of(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t k = v.size();
  return k == 0 ? 0.0 : k % 2 == 1 ? v[k / 2] : (v[k / 2 - 1] + v[k / 2]) / 2;
}

TestStats summarize(int tokens, std::vector<double> runs) {
  TestStats s;
  s.tokens = tokens;
  s.runs = runs;
  s.median = median_of(runs);
  s.min = *std::min_element(runs.begin(), runs.end());
  s.max = *std::max_element(runs.begin(), runs.end());
  for (double r : runs) s.mean += r;
  const size_t k = runs.size();
  s.mean /= static_cast<double>(k);
  if (k > 1) {
    double ss = 0;
    for (double r : runs) ss += (r - s.mean) * (r - s.mean);
    s.stddev = std::sqrt(ss / static_cast<double>(k - 1));  // sample stddev, as llama-bench
  }
  return s;
}

}  // namespace tessera::cli
