#include "cli/progress_bar.h"

#include <algorithm>

#include "cli/commands.h"

namespace tessera::cli {
namespace {

constexpr int kBarWidth = 24;

std::string duration_text(double seconds) {
  char buf[32];
  const auto s = static_cast<long long>(seconds + 0.5);
  if (s < 60) {
    std::snprintf(buf, sizeof buf, "%llds", s);
  } else if (s < 3600) {
    std::snprintf(buf, sizeof buf, "%lldm%02llds", s / 60, s % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%lldh%02lldm", s / 3600, (s / 60) % 60);
  }
  return buf;
}

}  // namespace

void ProgressBar::start(std::string label, uint64_t done, uint64_t total) {
  label_ = std::move(label);
  start_bytes_ = done;
  done_ = done;
  total_ = total;
  started_ = std::chrono::steady_clock::now();
  last_draw_ = {};
  draw(done, total);
}

void ProgressBar::update(uint64_t done, uint64_t total) {
  done_ = done;
  total_ = total;
  const auto now = std::chrono::steady_clock::now();
  if (now - last_draw_ < std::chrono::milliseconds(100)) return;
  draw(done, total);
}

void ProgressBar::note(const std::string& text) {
  clear_line();
  std::fprintf(out_, "%s\n", text.c_str());
  if (drawn_) draw(done_, total_);
}

void ProgressBar::finish() {
  if (!enabled_ || !drawn_) return;
  draw(done_, total_);
  std::fprintf(out_, "\n");
  std::fflush(out_);
  drawn_ = false;
}

void ProgressBar::clear_line() {
  if (enabled_ && drawn_) std::fprintf(out_, "\r\033[K");
}

void ProgressBar::draw(uint64_t done, uint64_t total) {
  if (!enabled_) return;
  last_draw_ = std::chrono::steady_clock::now();
  const double secs = std::chrono::duration<double>(last_draw_ - started_).count();
  const double speed =
      secs > 0.2 ? static_cast<double>(done - std::min(done, start_bytes_)) / secs : 0.0;
  std::string line = "\r\033[K" + label_ + " ";
  if (total > 0) {
    const double frac = std::min(1.0, static_cast<double>(done) / static_cast<double>(total));
    const int fill = static_cast<int>(frac * kBarWidth);
    char pct[8];
    std::snprintf(pct, sizeof pct, "%3d%% ", static_cast<int>(frac * 100.0));
    line += pct;
    line += "[";
    line.append(static_cast<size_t>(fill), '=');
    line.append(static_cast<size_t>(kBarWidth - fill), ' ');
    line += "] ";
    line.append(human_bytes(done)).append(" / ").append(human_bytes(total));
  } else {
    line.append(human_bytes(done));
  }
  if (speed > 0) {
    line.append("  ").append(human_bytes(static_cast<uint64_t>(speed))).append("/s");
    if (total > done) {
      line.append("  ").append(duration_text(static_cast<double>(total - done) / speed));
      line.append(" left");
    }
  }
  std::fputs(line.c_str(), out_);
  std::fflush(out_);
  drawn_ = true;
}

}  // namespace tessera::cli
