#include "engine/sampling/stop_matcher.h"

#include <algorithm>
#include <utility>

namespace tessera::engine {

StopMatcher::StopMatcher(std::vector<std::string> stops) : stops_(std::move(stops)) {
  std::erase_if(stops_, [](const std::string& s) { return s.empty(); });
}

std::string_view StopMatcher::matched_stop() const {
  return stopped() ? std::string_view(stops_[stopped_index_]) : std::string_view();
}

std::string StopMatcher::push(std::string_view chunk) {
  if (stopped() || flushed_) return {};
  if (stops_.empty()) return std::string(chunk);
  const size_t old_size = held_.size();
  held_.append(chunk);
  const std::string_view text = held_;

  // No stop string ends inside the old tail (it would have stopped then), so only matches
  // ending in the new chunk count; for one stop string the first such match ends first.
  size_t best_end = kNone;
  size_t best_start = 0;
  for (size_t i = 0; i < stops_.size(); ++i) {
    const std::string& stop = stops_[i];
    const size_t from = old_size >= stop.size() ? old_size - stop.size() + 1 : 0;
    const size_t pos = text.find(stop, from);
    if (pos == std::string_view::npos) continue;
    const size_t end = pos + stop.size();
    if (end < best_end || (end == best_end && pos < best_start)) {
      best_end = end;
      best_start = pos;
      stopped_index_ = i;
    }
  }
  if (stopped()) {
    std::string out(text.substr(0, best_start));
    held_.clear();
    return out;
  }

  // Hold back the longest suffix that is a proper prefix of a stop string.
  size_t hold = 0;
  for (const std::string& stop : stops_) {
    for (size_t len = std::min(stop.size() - 1, text.size()); len > hold; --len) {
      if (text.substr(text.size() - len) == std::string_view(stop).substr(0, len)) {
        hold = len;
        break;
      }
    }
  }
  std::string out(text.substr(0, text.size() - hold));
  held_.erase(0, text.size() - hold);
  return out;
}

std::string StopMatcher::flush() {
  if (stopped() || flushed_) return {};
  flushed_ = true;
  return std::exchange(held_, std::string());
}

}  // namespace tessera::engine
