// Stop strings over streamed text, as OpenAI's API applies them: generation ends at the first
// point where the text contains a stop string; the text before it is output, the stop string
// and anything after it are not.
//
// Fed the decoded chunks of one sequence (StreamDecoder's output), push() returns the text that
// is safe to emit now: everything except a tail that could still grow into a stop string (the
// longest suffix that is a proper prefix of one), which is held back until the next chunk
// settles it. When stop strings overlap, the one whose last byte comes first in the stream wins
// (the longest among those ending there), so the result never depends on how the text was cut
// into chunks. Matching is on bytes; since StreamDecoder emits whole UTF-8 characters and a
// stop string starts with a lead byte, the held-back tail starts on a character boundary.
//
// One per sequence; not thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace tessera::engine {

class StopMatcher {
 public:
  // Empty strings are ignored (validate_sampling_params rejects them).
  explicit StopMatcher(std::vector<std::string> stops);

  // Text to emit now (possibly empty). Once a stop string completed, stopped() is true, the
  // returned text ends just before it, and later calls return "".
  std::string push(std::string_view chunk);
  // At the end of generation without a stop string (stop token, length): the held-back tail,
  // which is now plain text. "" after a stop.
  std::string flush();

  bool stopped() const { return stopped_index_ != kNone; }
  // The stop string that ended generation; "" while not stopped.
  std::string_view matched_stop() const;

 private:
  static constexpr size_t kNone = static_cast<size_t>(-1);

  std::vector<std::string> stops_;
  std::string held_;  // tail that may begin a stop string
  size_t stopped_index_ = kNone;
  bool flushed_ = false;
};

}  // namespace tessera::engine
