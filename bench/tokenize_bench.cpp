// Tokenizer throughput: MB/s of `Tokenizer::encode` on one thread over a mixed
// English/Chinese/code text (bench/mixed_text.h), for each vocabulary file given.
//
// usage: tokenize_bench [--mb N] [--reps R] VOCAB.gguf...
// Prints one row per file: tokens, the first run's MB/s (cold: the tokenizer's per-thread
// word cache is empty) and the median, min and max over R further runs (warm cache).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "engine/tokenizer/tokenizer.h"
#include "gguf/reader.h"
#include "mixed_text.h"

int main(int argc, char** argv) {
  using namespace tessera;
  double mb = 1.0;
  int reps = 5;
  std::vector<std::string> files;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--mb" && i + 1 < argc) {
      mb = std::atof(argv[++i]);
    } else if (a == "--reps" && i + 1 < argc) {
      reps = std::atoi(argv[++i]);
    } else if (!a.empty() && a[0] == '-') {
      std::fprintf(stderr, "usage: tokenize_bench [--mb N] [--reps R] VOCAB.gguf...\n");
      return 2;
    } else {
      files.push_back(a);
    }
  }
  if (files.empty() || mb <= 0 || reps < 1) {
    std::fprintf(stderr, "usage: tokenize_bench [--mb N] [--reps R] VOCAB.gguf...\n");
    return 2;
  }
  const std::string text = bench::mixed_text(static_cast<size_t>(mb * 1024 * 1024));
  std::printf("text: %zu bytes (mixed English/Chinese/code), %d runs each, 1 thread\n", text.size(),
              reps);
  std::printf("%-28s %9s %10s %12s %8s %8s %12s\n", "vocabulary", "tokens", "cold MB/s",
              "warm median", "min", "max", "tokens/s");
  for (const std::string& path : files) {
    auto file = gguf::GgufFile::open(path);
    if (!file.ok()) {
      std::fprintf(stderr, "%s\n", file.error().message.c_str());
      return 1;
    }
    auto tok = engine::Tokenizer::from_gguf(*file);
    if (!tok.ok()) {
      std::fprintf(stderr, "%s\n", tok.error().message.c_str());
      return 1;
    }
    engine::EncodeOptions opts;
    opts.add_special = false;
    size_t n_tokens = 0;
    auto run_once = [&] {
      const auto t0 = std::chrono::steady_clock::now();
      n_tokens = tok->encode(text, opts).size();
      const std::chrono::duration<double> dt = std::chrono::steady_clock::now() - t0;
      return static_cast<double>(text.size()) / (1024.0 * 1024.0) / dt.count();
    };
    const double cold = run_once();
    std::vector<double> rates;
    for (int r = 0; r < reps; ++r) rates.push_back(run_once());
    std::sort(rates.begin(), rates.end());
    const double median = rates[rates.size() / 2];
    const std::string name = path.substr(path.find_last_of('/') + 1);
    std::printf("%-28s %9zu %10.2f %12.2f %8.2f %8.2f %12.0f\n", name.c_str(), n_tokens, cold,
                median, rates.front(), rates.back(),
                median * 1024.0 * 1024.0 / static_cast<double>(text.size()) *
                    static_cast<double>(n_tokens));
  }
  return 0;
}
