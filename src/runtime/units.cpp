#include "runtime/units.h"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace tessera::runtime {
namespace {

Error bad(std::string what) {
  return make_error(ErrorCode::invalid_argument, std::move(what));
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// Reads a decimal number (digits, optional fraction, optional leading '-') from the front of
// `s`; returns the characters consumed (0: none).
size_t read_number(std::string_view s, double& value) {
  size_t i = 0;
  if (i < s.size() && s[i] == '-') ++i;
  const size_t digits_begin = i;
  while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.')) ++i;
  if (i == digits_begin) return 0;
  const std::string text(s.substr(0, i));
  char* end = nullptr;
  value = std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size()) return 0;  // "1.2.3"
  return i;
}

std::string quote(std::string_view text) {
  std::string q;
  q.reserve(text.size() + 2);
  q.push_back('"');
  q.append(text);
  q.push_back('"');
  return q;
}

// A number of seconds as people write it ("-5", "2.5", "1e+12").
std::string seconds_text(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", s);
  return buf;
}

}  // namespace

Result<uint64_t> parse_bytes(std::string_view text) {
  const std::string_view t = trim(text);
  const std::string quoted = quote(text);
  double value = 0;
  const size_t n = read_number(t, value);
  if (n == 0 || !std::isfinite(value)) {
    return bad("size " + quoted + " is not a number with a unit (e.g. 512MiB, 20GiB, 8GB)");
  }
  if (value < 0) return bad("size " + quoted + " is negative");
  const std::string unit = lower(trim(t.substr(n)));
  double scale = 0;
  struct Unit {
    const char* name;
    double scale;
  };
  static const Unit kUnits[] = {
      {"", 1.0},
      {"b", 1.0},
      {"bytes", 1.0},
      {"k", 1024.0},
      {"kib", 1024.0},
      {"m", 1048576.0},
      {"mib", 1048576.0},
      {"g", 1073741824.0},
      {"gib", 1073741824.0},
      {"t", 1099511627776.0},
      {"tib", 1099511627776.0},
      {"kb", 1e3},
      {"mb", 1e6},
      {"gb", 1e9},
      {"tb", 1e12},
  };
  for (const Unit& u : kUnits) {
    if (unit == u.name) scale = u.scale;
  }
  if (scale == 0) {
    return bad("size " + quoted + " has an unknown unit \"" + unit +
               "\" (use B, KiB, MiB, GiB, TiB, or kB, MB, GB, TB)");
  }
  const double bytes = std::floor(value * scale);
  if (bytes > 4611686018427387904.0) return bad("size " + quoted + " is past 2^62 bytes");
  return static_cast<uint64_t>(bytes);
}

Result<KeepAlive> keep_alive_from_seconds(double seconds) {
  if (!std::isfinite(seconds)) return bad("keep-alive must be a finite number of seconds");
  if (seconds == -1) return KeepAlive{std::chrono::milliseconds(0), true};
  if (seconds < 0) {
    return bad("keep-alive " + seconds_text(seconds) +
               " s is negative: use 0 to unload at once or -1 to keep the model loaded forever");
  }
  const double ms = std::round(seconds * 1000.0);
  const double max_ms = static_cast<double>(
      std::chrono::duration_cast<std::chrono::milliseconds>(kMaxKeepAlive).count());
  if (ms > max_ms) {
    return bad("keep-alive of " + seconds_text(seconds) +
               " s is longer than a year: use -1 to keep the model loaded forever");
  }
  return KeepAlive{std::chrono::milliseconds(static_cast<int64_t>(ms)), false};
}

Result<KeepAlive> parse_keep_alive(std::string_view text) {
  const std::string t = lower(trim(text));
  const std::string quoted = quote(text);
  if (t.empty()) return bad("keep-alive is empty (e.g. 5m, 30s, 1h, 0, -1 for forever)");
  if (t == "forever" || t == "never" || t == "-1" || t == "-1s") {
    return KeepAlive{std::chrono::milliseconds(0), true};
  }
  std::string_view rest = t;
  double total_s = 0;
  bool any = false;
  while (!rest.empty()) {
    double v = 0;
    const size_t n = read_number(rest, v);
    if (n == 0) {
      return bad("keep-alive " + quoted + " is not a duration (e.g. 5m, 30s, 1h30m, 0, -1)");
    }
    rest.remove_prefix(n);
    size_t u = 0;
    while (u < rest.size() && std::isalpha(static_cast<unsigned char>(rest[u]))) ++u;
    const std::string unit(rest.substr(0, u));
    rest.remove_prefix(u);
    double scale;
    if (unit.empty() || unit == "s") {
      scale = 1;
    } else if (unit == "ms") {
      scale = 0.001;
    } else if (unit == "m") {
      scale = 60;
    } else if (unit == "h") {
      scale = 3600;
    } else if (unit == "d") {
      scale = 86400;
    } else {
      return bad("keep-alive " + quoted + " has an unknown unit \"" + unit +
                 "\" (use ms, s, m, h, d)");
    }
    if (unit.empty() && !rest.empty()) {
      return bad("keep-alive " + quoted + " is not a duration (e.g. 5m, 30s, 1h30m, 0, -1)");
    }
    if (v < 0 && any) return bad("keep-alive " + quoted + " mixes signs");
    total_s += v * scale;
    any = true;
  }
  return keep_alive_from_seconds(total_s);
}

std::string format_duration(std::chrono::milliseconds d) {
  int64_t ms = d.count();
  if (ms < 0) ms = 0;
  if (ms < 1000) return std::to_string(ms) + (ms == 0 ? "s" : "ms");
  int64_t s = ms / 1000;
  std::string out;
  const int64_t days = s / 86400, hours = s / 3600 % 24, minutes = s / 60 % 60, secs = s % 60;
  if (days) out.append(std::to_string(days)).append("d");
  if (hours) out.append(std::to_string(hours)).append("h");
  if (minutes) out.append(std::to_string(minutes)).append("m");
  if (secs || out.empty()) out.append(std::to_string(secs)).append("s");
  return out;
}

std::string format_keep_alive(const KeepAlive& k) {
  return k.forever ? "forever" : format_duration(k.duration);
}

}  // namespace tessera::runtime
