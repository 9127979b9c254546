// Sizes and durations as operators and API clients write them: "20GiB", "512MiB", "8GB",
// "5m", "1h30m", "300" (seconds), "-1" / "forever" (keep-alive without expiry). One parser
// for the config file, the command line and request fields, with one set of error messages.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "util/result.h"

namespace tessera::runtime {

// "1048576", "512KiB", "512MiB", "20GiB", "1TiB" (powers of 1024), "20GB", "500MB", "1kB"
// (powers of 1000), fractions allowed ("1.5GiB"); case-insensitive units, spaces between
// number and unit allowed. Errors (invalid_argument): empty, no number, unknown unit, negative,
// past 2^62 bytes (the message quotes the text and gives examples).
Result<uint64_t> parse_bytes(std::string_view text);

// How long an idle model stays loaded. `forever` when it never expires; `duration` 0 unloads it
// as soon as its last request ends.
struct KeepAlive {
  std::chrono::milliseconds duration{0};
  bool forever = false;
  bool operator==(const KeepAlive&) const = default;
};

inline constexpr KeepAlive kDefaultKeepAlive{std::chrono::minutes(5), false};
// Longer than this is refused as a mistake: use -1 / "forever" for no expiry.
inline constexpr std::chrono::hours kMaxKeepAlive{24 * 366};

// "5m", "30s", "1h30m", "250ms", "2d", "300" or "300.5" (seconds), "0", "-1" / "forever" /
// "never" (no expiry). Errors (invalid_argument): empty, unknown unit, a negative value other
// than -1 (the message says -1 means forever), longer than kMaxKeepAlive.
Result<KeepAlive> parse_keep_alive(std::string_view text);
// The same for a number of seconds (JSON requests): -1 is forever, other negatives are refused.
Result<KeepAlive> keep_alive_from_seconds(double seconds);

// "5m0s"-style text for people: "forever", "0s", "250ms", "1h30m", "2d3h".
std::string format_keep_alive(const KeepAlive& k);
std::string format_duration(std::chrono::milliseconds d);

}  // namespace tessera::runtime
