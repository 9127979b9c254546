// A deterministic mixed-language text for tokenizer benchmarks: English prose, Chinese
// prose and source code (Python, C++, JSON) in turns, with words drawn at random from small
// word lists so that the text does not repeat verbatim (a per-word cache cannot memorize it
// whole) but has the word statistics of real text.
#pragma once

#include <cstddef>
#include <string>

namespace tessera::bench {

// About `bytes` bytes (never cut inside a UTF-8 character): roughly 45% English, 25%
// Chinese, 30% code. The same size and seed give the same text everywhere.
std::string mixed_text(size_t bytes, uint64_t seed = 42);

}  // namespace tessera::bench
