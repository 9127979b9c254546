#include "cli/cli_input.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace tessera::cli {

Result<std::string> read_file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int err = errno;
    return make_error(err == ENOENT ? ErrorCode::not_found : ErrorCode::io_error,
                      path + ": cannot open: " + std::strerror(err));
  }
  std::ostringstream s;
  s << in.rdbuf();
  if (in.bad()) return make_error(ErrorCode::io_error, path + ": read failed");
  return std::move(s).str();
}

Result<nlohmann::ordered_json> parse_json_arg(std::string_view option, const std::string& arg) {
  std::string text = arg;
  std::string where = "the inline JSON";
  if (!arg.empty() && arg[0] == '@') {
    auto bytes = read_file_bytes(arg.substr(1));
    if (!bytes.ok()) return bytes.error();
    text = std::move(bytes).value();
    where = arg.substr(1);
  }
  try {
    return nlohmann::ordered_json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    return make_error(ErrorCode::malformed, std::string(option) + ": " + where +
                                                " is not valid JSON (at byte " +
                                                std::to_string(e.byte) +
                                                "); give inline JSON "
                                                "or @FILE");
  }
}

}  // namespace tessera::cli
