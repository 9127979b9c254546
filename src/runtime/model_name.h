// Model names: how a model in the store is called (its file is <models>/<name>.gguf). Names
// come from users (command lines, API requests) and from file names, so every path that turns
// a name into a file goes through validate_model_name first: a valid name can never leave the
// models directory.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace tessera::runtime {

inline constexpr size_t kMaxModelNameBytes = 128;

// The characters a name may hold, for messages: "ASCII letters, digits and . _ - + :".
const char* model_name_alphabet();

// A name is 1..128 bytes of ASCII letters, digits and `._-+:`, does not start with `.`, and
// is neither `.` nor `..` (so no `/`, `\`, NUL, space or control character can appear; this
// covers Hugging Face file stems such as `Qwen2.5-0.5B-Instruct-Q4_K_M` and tags such as
// `qwen2:0.5b`). Errors (invalid_argument): the message quotes the name (escaped), names the
// first bad character and its byte position, and lists the allowed set.
Status validate_model_name(std::string_view name);

// `name` printed safely for a message: printable ASCII as is, anything else as \xNN; cut at
// 200 bytes with "...".
std::string quote_name(std::string_view name);

// Up to `max` names from `candidates` that look like `name` (edit distance at most a third of
// its length, at least 2, ignoring case; or one contains the other), closest first.
std::vector<std::string> close_names(std::string_view name,
                                     const std::vector<std::string>& candidates, size_t max = 5);

}  // namespace tessera::runtime
