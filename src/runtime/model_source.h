// Where a pulled model came from: a small JSON file beside it, `<name>.gguf.json`, written by
// `tessera pull` once the download is complete and checked, and `<name>.gguf.partial.json` beside
// an unfinished download (so a resume continues the same file, not another revision's).
//
// The file is {"schema": "tessera.model-source.v1", "repo", "file", "revision", "url",
// "sha256", "verified", "size" (bytes), "pulled_at" (UTC, ISO 8601)}. Beside a model, "sha256"
// is the hash of the file as written and "verified" whether it matched the hash the server
// published; beside a partial download, "sha256" is the published hash the download must match
// (null when none). It is read back as untrusted input: a missing, unreadable or malformed file
// is reported as an error value, never trusted in part.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "util/result.h"

namespace tessera::runtime {

struct ModelSource {
  std::string repo;      // "Qwen/Qwen2.5-0.5B-Instruct-GGUF"
  std::string file;      // "qwen2.5-0.5b-instruct-q4_k_m.gguf"
  std::string revision;  // "main"
  std::string url;       // the resolve URL (never carries a token)
  std::string sha256;    // 64 hex digits, or "" (see above)
  bool verified = false;
  uint64_t size = 0;  // bytes of the finished file (0 for a download in progress)
  std::string pulled_at;

  bool same_file_as(const ModelSource& o) const {
    return repo == o.repo && file == o.file && revision == o.revision;
  }
};

// The sidecar paths of a model file `<dir>/<name>.gguf`.
std::filesystem::path source_path(const std::filesystem::path& model_path);   // .gguf.json
std::filesystem::path partial_path(const std::filesystem::path& model_path);  // .gguf.partial
std::filesystem::path partial_source_path(const std::filesystem::path& model_path);

// Reads a sidecar. Errors: not_found (no file), io_error, malformed (not the schema above:
// the message names the file and the field).
Result<ModelSource> read_model_source(const std::filesystem::path& path);

// Writes a sidecar through a temporary file and a rename (never half written). Errors: io_error.
Status write_model_source(const std::filesystem::path& path, const ModelSource& source);

// True for 64 lower-case hex digits.
bool is_sha256_hex(const std::string& s);

// The current time as "2025-01-31T12:00:00Z".
std::string utc_now_iso8601();

}  // namespace tessera::runtime
