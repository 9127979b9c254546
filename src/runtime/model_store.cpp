#include "runtime/model_store.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>

#include "engine/model_info.h"
#include "gguf/reader.h"
#include "runtime/model_name.h"
#include "runtime/name_lock.h"

namespace tessera::runtime {
namespace {

constexpr std::string_view kModelSuffix = ".gguf";
constexpr std::string_view kPartialSuffix = ".gguf.partial";

bool ends_with(const std::string& s, std::string_view suffix) {
  return s.size() > suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix.data(), suffix.size()) == 0;
}

// The file names of the directory (empty when it does not exist).
Result<std::vector<std::string>> file_names(const std::filesystem::path& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  if (!std::filesystem::exists(dir, ec)) return out;
  if (!std::filesystem::is_directory(dir, ec)) {
    return make_error(ErrorCode::io_error, dir.string() + " is not a directory");
  }
  std::filesystem::directory_iterator it(dir, ec);
  if (ec)
    return make_error(ErrorCode::io_error, "cannot read " + dir.string() + ": " + ec.message());
  for (; it != std::filesystem::directory_iterator(); it.increment(ec)) {
    if (ec) break;
    out.push_back(it->path().filename().string());
  }
  if (ec)
    return make_error(ErrorCode::io_error, "cannot read " + dir.string() + ": " + ec.message());
  std::sort(out.begin(), out.end());
  return out;
}

std::optional<ModelSource> matching_source(const std::filesystem::path& sidecar, uint64_t size) {
  auto s = read_model_source(sidecar);
  if (!s.ok() || (size != 0 && s->size != size)) return std::nullopt;
  return std::move(s).value();
}

// Removes one path (not following links); adds the bytes of a regular file to `freed`.
// Returns whether it existed.
Result<bool> remove_one(const std::filesystem::path& p, uint64_t& freed) {
  struct stat st {};
  if (::lstat(p.c_str(), &st) != 0) {
    if (errno == ENOENT) return false;
    return make_error(ErrorCode::io_error,
                      "cannot stat " + p.string() + ": " + std::strerror(errno));
  }
  if (S_ISDIR(st.st_mode)) {
    return make_error(ErrorCode::io_error,
                      p.string() + " is a directory, not a model file; remove it by hand");
  }
  if (::unlink(p.c_str()) != 0) {
    return make_error(ErrorCode::io_error,
                      "cannot delete " + p.string() + ": " + std::strerror(errno));
  }
  if (S_ISREG(st.st_mode)) freed += static_cast<uint64_t>(st.st_size);
  return true;
}

bool exists_no_follow(const std::filesystem::path& p) {
  struct stat st {};
  return ::lstat(p.c_str(), &st) == 0;
}

}  // namespace

const char* model_status_name(ModelStatus s) {
  switch (s) {
    case ModelStatus::ok:
      return "ok";
    case ModelStatus::unsupported:
      return "unsupported";
    case ModelStatus::broken:
      return "broken";
  }
  return "broken";
}

Result<std::filesystem::path> ModelStore::path_of(const std::string& name) const {
  TESSERA_TRY(validate_model_name(name));
  return dir_ / (name + std::string(kModelSuffix));
}

ModelEntry ModelStore::describe(const std::string& name, const std::filesystem::path& path) const {
  ModelEntry e;
  e.name = name;
  e.path = path;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    e.reason = "cannot stat " + path.string() + ": " + std::strerror(errno);
    return e;
  }
  e.size = static_cast<uint64_t>(st.st_size);
  e.modified = static_cast<int64_t>(st.st_mtime);
  if (auto v = validate_model_name(name); !v.ok()) {
    e.reason =
        "the file name is not a usable model name: " + v.error().message + "; rename the file";
    return e;
  }
  if (!S_ISREG(st.st_mode)) {
    e.reason = path.string() + " is not a regular file";
    return e;
  }
  auto file = gguf::GgufFile::open(path.string());
  if (!file.ok()) {
    e.reason = file.error().message;
    return e;
  }
  auto info = engine::read_model_info(*file);
  if (!info.ok()) {
    e.reason = info.error().message;
    return e;
  }
  e.architecture = info->arch;
  e.kind = info->kind;
  e.parameters = info->n_params;
  e.context_length = info->n_ctx_train;
  e.quantization = info->file_type;
  if (e.quantization.empty() && !info->type_mix.empty()) e.quantization = info->type_mix[0].type;
  e.source = matching_source(source_path(path), e.size);
  if (info->vocab_only) {
    e.status = ModelStatus::unsupported;
    e.reason = "a vocabulary-only file (no tensors): it cannot generate or embed";
  } else if (!info->known_arch) {
    e.status = ModelStatus::unsupported;
    e.reason = "architecture '" + info->arch + "' is not supported by this build";
  } else {
    e.status = ModelStatus::ok;
  }
  return e;
}

Result<std::vector<ModelEntry>> ModelStore::list() const {
  TESSERA_TRY_ASSIGN(files, file_names(dir_));
  std::vector<ModelEntry> out;
  for (const std::string& f : files) {
    if (!ends_with(f, kModelSuffix)) continue;
    out.push_back(describe(f.substr(0, f.size() - kModelSuffix.size()), dir_ / f));
  }
  return out;
}

Result<std::vector<PartialDownload>> ModelStore::partial_downloads() const {
  TESSERA_TRY_ASSIGN(files, file_names(dir_));
  std::vector<PartialDownload> out;
  for (const std::string& f : files) {
    if (!ends_with(f, kPartialSuffix)) continue;
    PartialDownload p;
    p.name = f.substr(0, f.size() - kPartialSuffix.size());
    if (!validate_model_name(p.name).ok()) continue;
    p.path = dir_ / f;
    struct stat st {};
    if (::stat(p.path.c_str(), &st) == 0) p.bytes = static_cast<uint64_t>(st.st_size);
    p.source = matching_source(partial_source_path(dir_ / (p.name + std::string(kModelSuffix))), 0);
    out.push_back(std::move(p));
  }
  return out;
}

std::vector<std::string> ModelStore::names() const {
  std::vector<std::string> out;
  auto files = file_names(dir_);
  if (!files.ok()) return out;
  for (const std::string& f : *files) {
    if (ends_with(f, kModelSuffix)) out.push_back(f.substr(0, f.size() - kModelSuffix.size()));
  }
  return out;
}

Error ModelStore::no_such_model(const std::string& name) const {
  const std::vector<std::string> all = names();
  std::string msg = "no model named '" + name + "' in " + dir_.string();
  const std::vector<std::string> close = close_names(name, all);
  if (!close.empty()) {
    msg += " (did you mean ";
    for (size_t i = 0; i < close.size(); ++i) {
      if (i > 0) msg += ", ";
      msg.append("'").append(close[i]).append("'");
    }
    msg += "?)";
  } else if (all.empty()) {
    msg += " (the store is empty)";
  }
  msg += "; `tessera models` lists the models, `tessera pull REPO[:FILE]` downloads one";
  return make_error(ErrorCode::not_found, msg);
}

Result<std::filesystem::path> ModelStore::resolve(const std::string& name) const {
  TESSERA_TRY_ASSIGN(path, path_of(name));
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return no_such_model(name);
  return path;
}

Result<RemovedModel> ModelStore::remove(const std::string& name) const {
  TESSERA_TRY_ASSIGN(path, path_of(name));
  if (!exists_no_follow(path) && !exists_no_follow(partial_path(path))) return no_such_model(name);
  TESSERA_TRY_ASSIGN(lock, NameLock::acquire(dir_, name));
  RemovedModel r;
  TESSERA_TRY_ASSIGN(had_model, remove_one(path, r.bytes));
  TESSERA_TRY_ASSIGN(had_partial, remove_one(partial_path(path), r.bytes));
  uint64_t ignored = 0;
  TESSERA_TRY(remove_one(source_path(path), ignored));
  TESSERA_TRY(remove_one(partial_source_path(path), ignored));
  r.model = had_model;
  r.partial = had_partial;
  if (!r.model && !r.partial) return no_such_model(name);  // gone while we took the lock
  return r;
}

}  // namespace tessera::runtime
