// Small deterministic random numbers (splitmix64) for synthesized weights and tests:
// the same seed gives the same stream on every machine and compiler.
#pragma once

#include <cmath>
#include <cstdint>
#include <string_view>

namespace tessera {

class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}

  uint64_t next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  // Uniform in [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

  // Two independent standard normal values (Box-Muller).
  void normal_pair(double& a, double& b) {
    const double u1 = 1.0 - uniform();  // (0, 1]
    const double u2 = uniform();
    const double r = std::sqrt(-2.0 * std::log(u1));
    a = r * std::cos(6.283185307179586 * u2);
    b = r * std::sin(6.283185307179586 * u2);
  }

 private:
  uint64_t state_;
};

// FNV-1a hash of a string, mixed with a seed: a stable per-name seed.
inline uint64_t seed_for(uint64_t seed, std::string_view name, uint64_t index = 0) {
  uint64_t h = 0xcbf29ce484222325ull ^ seed;
  for (unsigned char c : name) h = (h ^ c) * 0x100000001b3ull;
  h = (h ^ index) * 0x100000001b3ull;
  return SplitMix64(h).next();
}

}  // namespace tessera
