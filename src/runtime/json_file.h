// Writing a JSON file so that readers never see half of it: the document goes to PATH.tmp,
// which is then renamed over PATH (atomic on one file system). Used for the status files
// `tessera ps` reads and the model store's source records.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>

#include "util/result.h"

namespace tessera::runtime {

// Writes `doc` (dumped with `indent`, then a newline) to `path`. Errors: io_error naming the
// file; the temporary file is removed then and `path` is left as it was.
Status write_json_file(const std::filesystem::path& path, const nlohmann::json& doc, int indent);

}  // namespace tessera::runtime
