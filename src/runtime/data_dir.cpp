#include "runtime/data_dir.h"

#include <cstdlib>
#include <system_error>

namespace tessera::runtime {
namespace {

std::optional<std::string> env(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr) return std::nullopt;
  return std::string(v);
}

Result<DataDir> from(const std::string& value, std::string source) {
  if (value.empty()) {
    return make_error(ErrorCode::invalid_argument,
                      source + " is empty: give the data directory's path");
  }
  std::error_code ec;
  std::filesystem::path abs = std::filesystem::absolute(value, ec);
  if (ec) abs = value;
  return DataDir{abs.lexically_normal(), std::move(source)};
}

}  // namespace

Result<DataDir> resolve_data_dir(const std::optional<std::string>& explicit_path) {
  if (explicit_path) return from(*explicit_path, "--data-dir");
  if (auto v = env("TESSERA_DATA_DIR")) return from(*v, "TESSERA_DATA_DIR");
  if (auto v = env("XDG_DATA_HOME"); v && !v->empty() && (*v)[0] == '/') {
    return from(*v + "/tessera", "XDG_DATA_HOME");
  }
  if (auto v = env("HOME"); v && !v->empty()) {
    return from(*v + "/.local/share/tessera", "HOME");
  }
  return make_error(ErrorCode::invalid_argument,
                    "no data directory: HOME is not set; set TESSERA_DATA_DIR or pass --data-dir");
}

Status ensure_directory(const std::filesystem::path& dir) {
  std::error_code ec;
  if (std::filesystem::is_directory(dir, ec)) return {};
  if (std::filesystem::exists(dir, ec)) {
    return make_error(ErrorCode::io_error, dir.string() + " exists but is not a directory");
  }
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    return make_error(ErrorCode::io_error,
                      "cannot create directory " + dir.string() + ": " + ec.message());
  }
  return {};
}

}  // namespace tessera::runtime
