// The data directory: where Tessera keeps what it stores for one installation. Today:
//   models/  GGUF files by name (model_store.h)
//   run/     one status file per running process that serves models (tessera ps)
// Chosen, first match wins, from: an explicit path (a command's --data-dir),
// $TESSERA_DATA_DIR, $XDG_DATA_HOME/tessera, $HOME/.local/share/tessera.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "util/result.h"

namespace tessera::runtime {

struct DataDir {
  std::filesystem::path root;  // absolute
  std::string source;          // where it came from: "--data-dir", "TESSERA_DATA_DIR", ...

  std::filesystem::path models() const { return root / "models"; }
  std::filesystem::path run() const { return root / "run"; }
};

// Resolves the directory (it need not exist yet). `explicit_path`: a command's --data-dir.
// Errors (invalid_argument): an empty value given explicitly or in TESSERA_DATA_DIR, no
// HOME to fall back on (the message says which variable to set).
Result<DataDir> resolve_data_dir(const std::optional<std::string>& explicit_path);

// Creates `dir` and its parents when missing. Errors (io_error): the OS's reason, with the path;
// a path that exists but is not a directory.
Status ensure_directory(const std::filesystem::path& dir);

}  // namespace tessera::runtime
