// A one-line progress bar on a terminal: bytes done / total, percent, speed and time left,
// redrawn in place (carriage return) at most ten times a second. When the stream is not a
// terminal nothing is drawn, so logs and pipes get only the lines a command prints itself.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace tessera::cli {

class ProgressBar {
 public:
  // `enabled`: draw at all (the caller passes isatty(fileno(out))).
  ProgressBar(std::FILE* out, bool enabled) : out_(out), enabled_(enabled) {}

  // Starts a new bar: `label` on its left, bytes counted from `done` (speed is measured from
  // here, so bytes an earlier run fetched do not inflate it).
  void start(std::string label, uint64_t done, uint64_t total);
  // Moves the bar; total 0 = unknown (no percent, no time left).
  void update(uint64_t done, uint64_t total);
  // Prints a line of text above the bar (or alone when not drawing).
  void note(const std::string& text);
  // Draws the final state and ends the line.
  void finish();

 private:
  void draw(uint64_t done, uint64_t total);
  void clear_line();

  std::FILE* out_;
  bool enabled_;
  bool drawn_ = false;
  std::string label_;
  uint64_t start_bytes_ = 0;
  uint64_t done_ = 0;
  uint64_t total_ = 0;
  std::chrono::steady_clock::time_point started_{};
  std::chrono::steady_clock::time_point last_draw_{};
};

}  // namespace tessera::cli
