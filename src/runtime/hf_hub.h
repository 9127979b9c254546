// The Hugging Face Hub's URL layout and answers, as `tessera pull` needs them. Every function
// here is pure (no network): the names a user types are validated, URLs are built from them,
// and the Hub's JSON and headers (untrusted) are parsed into values or clear errors.
//
//   file        {base}/{repo}/resolve/{revision}/{file}
//   file list   {base}/api/models/{repo}                      (revision main)
//               {base}/api/models/{repo}/revision/{revision}  (others)
//               JSON {"siblings": [{"rfilename": "..."}, ...]}
//   hashes      {base}/api/models/{repo}/tree/{revision}[/{folder}]
//               JSON [{"path": "...", "lfs": {"oid": "<sha256>"}}, ...]
// The resolve response carries the file's sha256 in X-Linked-Etag (on the redirect to the
// CDN) or ETag, as a quoted 64-hex value.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace tessera::runtime {

inline constexpr const char* kDefaultHubUrl = "https://huggingface.co";

// What a user asked to pull: `REPO`, `REPO:FILE.gguf`, or `REPO:TAG` (TAG a part of a GGUF file
// name, like Q4_K_M).
struct PullRef {
  std::string repo;  // "Qwen/Qwen2.5-0.5B-Instruct-GGUF"
  std::string file;  // "qwen2.5-0.5b-instruct-q4_k_m.gguf", or "" to choose
  std::string tag;   // "Q4_K_M", or ""
};

// Parses and validates REPO[:FILE|:TAG]. Errors (invalid_argument): what is wrong and where.
Result<PullRef> parse_pull_ref(std::string_view text);

// A repository id: NAME or NAMESPACE/NAME; each part 1..96 bytes of ASCII letters, digits and
// `-_.`, not starting or ending with `-` or `.`, without `--` or `..`.
Status validate_repo_id(std::string_view repo);
// A file path in a repository: 1..1024 bytes, `/`-separated parts that are not empty, `.` or
// `..`, no `\` or control characters, ending in `.gguf`.
Status validate_repo_file(std::string_view file);
// A revision (branch, tag, commit): 1..256 bytes, no control characters, no `..` part.
Status validate_revision(std::string_view revision);

// The Hub's base URL: `flag` (--base-url) when given, else $HF_ENDPOINT when set and not empty,
// else https://huggingface.co; without a trailing '/'. Errors (invalid_argument): not an
// http(s) URL (the message names where it came from).
Result<std::string> hub_base_url(const std::optional<std::string>& flag);

std::string hub_file_url(const std::string& base, const std::string& repo,
                         const std::string& revision, const std::string& file);
std::string hub_repo_info_url(const std::string& base, const std::string& repo,
                              const std::string& revision);
std::string hub_tree_url(const std::string& base, const std::string& repo,
                         const std::string& revision, const std::string& file);

// The file names of a repository from the file-list JSON. Errors (malformed): not the shape
// above (the message names `where`, the URL).
Result<std::vector<std::string>> parse_repo_files(std::string_view json_text,
                                                  const std::string& where);

// Chooses the GGUF file to pull: the one matching `tag` when given, else the only GGUF, else
// the only Q4_K_M one. Split GGUFs (NAME-00001-of-00003.gguf) are not offered. Errors:
// not_found (no GGUF, or none matching the tag), invalid_argument (several: the message lists
// them and shows how to pick one), unsupported (only split GGUFs).
Result<std::string> choose_gguf(const std::vector<std::string>& files, const PullRef& ref);

// The sha256 of `file` from the tree JSON: "" when the entry is absent or has no LFS hash.
// Errors (malformed): not a JSON array.
Result<std::string> parse_tree_sha256(std::string_view json_text, std::string_view file,
                                      const std::string& where);

// The sha256 in an ETag or X-Linked-Etag value (`"<hex>"`, `W/"<hex>"`, bare), lower-cased;
// "" when the value is not a 64-hex-digit hash (git blob ids are 40).
std::string sha256_from_etag(std::string_view value);

// The name a pulled file gets by default: its base name without ".gguf".
std::string default_model_name(std::string_view file);

// True for the parts of a split GGUF: NAME-00001-of-00003.gguf.
bool is_split_gguf(std::string_view file);

}  // namespace tessera::runtime
