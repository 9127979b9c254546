// The model store: the GGUF files of one models directory (<data dir>/models), by name. A
// model called NAME is the file NAME.gguf (names: model_name.h). Beside it the store may hold
//   NAME.gguf.json          where it was pulled from (model_source.h)
//   NAME.gguf.partial       an unfinished download (tessera pull resumes it)
//   NAME.gguf.partial.json  what that download is of
//   NAME.gguf.lock          held while a pull or remove of NAME runs (name_lock.h)
// Other files are ignored. Files are read as untrusted: a truncated, corrupt or hostile file
// is listed as broken with the reader's reason, never an exception or a crash.
//
// A ModelStore is a value (the directory's path); every call reads the directory afresh, so
// it sees what other processes did. Calls may run on any thread.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "engine/architecture.h"
#include "runtime/model_source.h"
#include "util/result.h"

namespace tessera::runtime {

enum class ModelStatus {
  ok,           // a GGUF this build can run
  unsupported,  // a readable GGUF this build cannot run (unknown architecture, no tensors)
  broken,       // not a readable GGUF model (truncated, corrupt, not a regular file, bad name)
};

// "ok", "unsupported", "broken".
const char* model_status_name(ModelStatus s);

struct ModelEntry {
  std::string name;
  std::filesystem::path path;
  uint64_t size = 0;     // bytes
  int64_t modified = 0;  // seconds since the Unix epoch
  ModelStatus status = ModelStatus::broken;
  std::string reason;  // why it is broken or unsupported ("" when ok)
  // From the file, when it could be read (empty / 0 otherwise):
  std::string architecture;  // general.architecture
  engine::ModelKind kind = engine::ModelKind::decoder;
  uint64_t parameters = 0;
  std::string quantization;    // general.file_type's name ("Q4_K_M"), else the largest tensor type
  int64_t context_length = 0;  // training context, 0 when the file does not say
  // From NAME.gguf.json when present, readable, and of the same size as the file.
  std::optional<ModelSource> source;
};

// An unfinished download: NAME.gguf.partial.
struct PartialDownload {
  std::string name;
  std::filesystem::path path;
  uint64_t bytes = 0;
  std::optional<ModelSource> source;  // from NAME.gguf.partial.json
};

// What remove() deleted.
struct RemovedModel {
  bool model = false;    // NAME.gguf
  bool partial = false;  // NAME.gguf.partial
  uint64_t bytes = 0;    // freed, both together
};

class ModelStore {
 public:
  explicit ModelStore(std::filesystem::path models_dir) : dir_(std::move(models_dir)) {}

  const std::filesystem::path& dir() const { return dir_; }

  // The path NAME.gguf would have. Errors: the name's (validate_model_name).
  Result<std::filesystem::path> path_of(const std::string& name) const;

  // Every *.gguf file, sorted by name, each described (see ModelEntry). A missing directory
  // is an empty store. Errors (io_error): the directory exists but cannot be read.
  Result<std::vector<ModelEntry>> list() const;

  // The unfinished downloads, sorted by name.
  Result<std::vector<PartialDownload>> partial_downloads() const;

  // Describes one file of the store (what list() does for each).
  ModelEntry describe(const std::string& name, const std::filesystem::path& path) const;

  // The file of the model NAME. Errors: invalid_argument (bad name), not_found (no such model:
  // the message names the directory and lists close names, or says the store is empty).
  Result<std::filesystem::path> resolve(const std::string& name) const;

  // Deletes NAME.gguf, its sidecar and any unfinished download of NAME, under the name's lock.
  // The name is validated first, so nothing outside the directory can be named. Errors:
  // invalid_argument (bad name), not_found (nothing of that name; close names listed),
  // unavailable (a pull of NAME is running), io_error (the OS refused, with the path).
  Result<RemovedModel> remove(const std::string& name) const;

 private:
  std::vector<std::string> names() const;
  Error no_such_model(const std::string& name) const;

  std::filesystem::path dir_;
};

}  // namespace tessera::runtime
