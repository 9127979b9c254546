// Reading the inputs commands take from the command line: files read byte for byte, and JSON
// arguments given inline or as @FILE. Errors name the option and say what was wrong.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "util/result.h"

namespace tessera::cli {

// The whole file, byte for byte. not_found / io_error naming the path.
Result<std::string> read_file_bytes(const std::string& path);

// `arg` is inline JSON or "@PATH" (the JSON is read from PATH). malformed errors name
// `option` and the byte where parsing stopped.
Result<nlohmann::ordered_json> parse_json_arg(std::string_view option, const std::string& arg);

}  // namespace tessera::cli
