#include "runtime/pull.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>
#include <optional>

#include "runtime/data_dir.h"
#include "runtime/model_name.h"
#include "runtime/model_source.h"
#include "runtime/name_lock.h"
#include "runtime/sha256.h"

namespace tessera::runtime {
namespace {

constexpr size_t kMaxApiBytes = 16 << 20;
constexpr int kMaxRestarts = 2;

// The partial download's file, open for writing at its end.
class PartialFile {
 public:
  explicit PartialFile(std::filesystem::path path) : path_(std::move(path)) {}
  ~PartialFile() { close(); }
  PartialFile(const PartialFile&) = delete;
  PartialFile& operator=(const PartialFile&) = delete;

  // Opens (creating it) and positions at `size` bytes, cutting anything after them.
  Status open_at(uint64_t size) {
    close();
    buffer_.clear();
    fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) return os_error("cannot open");
    if (::ftruncate(fd_, static_cast<off_t>(size)) != 0 ||
        ::lseek(fd_, static_cast<off_t>(size), SEEK_SET) < 0) {
      Error e = os_error("cannot truncate");
      close();
      return e;
    }
    return {};
  }
  // Buffers `data`; written out in pieces of 1 MiB.
  Status write(const char* data, size_t n) {
    buffer_.append(data, n);
    return buffer_.size() >= kWriteBytes ? flush() : Status();
  }
  Status flush() {
    const Status s = write_through(buffer_.data(), buffer_.size());
    buffer_.clear();
    return s;
  }
  Status sync_and_close() {
    TESSERA_TRY(flush());
    if (fd_ >= 0 && ::fsync(fd_) != 0) return os_error("cannot flush");
    close();
    return {};
  }
  bool is_open() const { return fd_ >= 0; }

 private:
  static constexpr size_t kWriteBytes = 1 << 20;

  Status write_through(const char* data, size_t n) {
    if (n > 0 && fd_ < 0) return make_error(ErrorCode::io_error, path_.string() + " is not open");
    while (n > 0) {
      const ssize_t w = ::write(fd_, data, n);
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) return os_error("cannot write");
      data += w;
      n -= static_cast<size_t>(w);
    }
    return {};
  }
  Error os_error(const char* what) const {
    return make_error(ErrorCode::io_error,
                      std::string(what) + " " + path_.string() + ": " + std::strerror(errno));
  }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  std::filesystem::path path_;
  int fd_ = -1;
  std::string buffer_;
};

uint64_t file_size_or_zero(const std::filesystem::path& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode) ? static_cast<uint64_t>(st.st_size) : 0;
}

void remove_quietly(const std::filesystem::path& p) {
  std::error_code ec;
  std::filesystem::remove(p, ec);
}

// The server's own words about an error: its X-Error-Message header, or the "error" of a JSON
// body; printable ASCII only, at most 300 bytes.
std::string server_message(const HttpResponse& r) {
  std::string text;
  if (const std::string* h = find_header(r.last().headers, "X-Error-Message")) {
    text = *h;
  } else {
    const auto j = nlohmann::json::parse(r.error_body, nullptr, false);
    if (j.is_object() && j.contains("error") && j["error"].is_string()) {
      text = j["error"].get<std::string>();
    }
  }
  std::string out;
  for (char c : text) {
    if (out.size() >= 300) {
      out += "...";
      break;
    }
    const auto u = static_cast<unsigned char>(c);
    out += (u >= 0x20 && u < 0x7f) ? c : '?';
  }
  return out.empty() ? out : " (the server says: " + out + ")";
}

// An HTTP status that ends the pull, as an error naming `what` was asked for.
Error status_error(const HttpResponse& r, const std::string& what, const PullOptions& o) {
  const int status = r.status();
  const std::string head =
      "GET " + r.last().url + ": HTTP " + std::to_string(status) + server_message(r) + ": ";
  if (status == 401 || status == 403) {
    std::string msg = head + what + " is private or gated, or does not exist; ";
    msg += o.http.bearer_token.empty()
               ? "set HF_TOKEN to an access token that can read it"
               : "the token in HF_TOKEN was refused or has no access to it (for a gated model, "
                 "accept its terms on the model's page first)";
    return make_error(ErrorCode::not_found, msg);
  }
  if (status == 404 || status == 410) {
    return make_error(ErrorCode::not_found, head + what + " was not found");
  }
  if (status == 429) {
    return make_error(ErrorCode::unavailable, head + "too many requests; try again later");
  }
  if (status >= 500) {
    return make_error(ErrorCode::unavailable, head + "a server error; try again later");
  }
  return make_error(ErrorCode::unavailable, head + "an unexpected answer for " + what);
}

Error with_network_hint(const Error& e) {
  if (e.code != ErrorCode::unavailable) return e;
  return make_error(e.code, e.message +
                                "; check the network connection, or point HF_ENDPOINT (or "
                                "--base-url) at a server that can be reached");
}

void emit(const PullOptions& o, PullStage stage, uint64_t done, uint64_t total,
          std::string message = {}) {
  if (o.on_event) o.on_event(PullEvent{stage, done, total, std::move(message)});
}

Result<std::string> choose_file(const PullRef& ref, const PullOptions& o) {
  if (!ref.file.empty()) return ref.file;
  const std::string url = hub_repo_info_url(o.base_url, ref.repo, o.revision);
  emit(o, PullStage::choosing, 0, 0, "listing the files of " + ref.repo);
  auto got = http_get_text(url, {}, o.http, kMaxApiBytes);
  if (!got.ok()) return with_network_hint(got.error());
  if (got->response.status() != 200) {
    return status_error(got->response, "repository '" + ref.repo + "'", o);
  }
  TESSERA_TRY_ASSIGN(files, parse_repo_files(got->body, "GET " + url));
  return choose_gguf(files, ref);
}

// The sha256 the server published for the file, from the resolve response's chain: an
// X-Linked-Etag on any hop, else the first hop's ETag (not a CDN's).
std::string published_hash(const HttpResponse& r) {
  for (const HttpHop& hop : r.hops) {
    if (const std::string* h = find_header(hop.headers, "X-Linked-Etag")) {
      const std::string sha = sha256_from_etag(*h);
      if (!sha.empty()) return sha;
    }
  }
  if (const std::string* h = find_header(r.hops.front().headers, "ETag")) {
    return sha256_from_etag(*h);
  }
  return {};
}

// The tree API's hash, when the resolve response had none; "" when it cannot be had.
std::string tree_hash(const std::string& repo, const std::string& file, const PullOptions& o) {
  const std::string url = hub_tree_url(o.base_url, repo, o.revision, file);
  auto got = http_get_text(url, {}, o.http, kMaxApiBytes);
  if (!got.ok() || got->response.status() != 200) return {};
  auto sha = parse_tree_sha256(got->body, file, url);
  return sha.ok() ? *sha : std::string();
}

std::optional<uint64_t> content_length(const HttpHop& hop) {
  const std::string* v = find_header(hop.headers, "Content-Length");
  if (v == nullptr || v->empty() || v->size() > 19) return std::nullopt;
  uint64_t n = 0;
  for (char c : *v) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + static_cast<uint64_t>(c - '0');
  }
  return n;
}

Status check_space(const std::filesystem::path& dir, uint64_t need) {
  struct statvfs vfs {};
  if (::statvfs(dir.c_str(), &vfs) != 0) return {};
  const uint64_t free_bytes = static_cast<uint64_t>(vfs.f_bavail) * vfs.f_frsize;
  if (need <= free_bytes) return {};
  return make_error(ErrorCode::io_error, "not enough disk space in " + dir.string() +
                                             ": the download needs " + std::to_string(need) +
                                             " more bytes, " + std::to_string(free_bytes) +
                                             " are free");
}

// One file's download into its partial file, over as many requests as it takes.
class Download {
 public:
  Download(const PullOptions& o, std::filesystem::path model_path, ModelSource source,
           std::string existing_sha)
      : o_(o),
        model_path_(std::move(model_path)),
        partial_(partial_path(model_path_)),
        source_(std::move(source)),
        existing_sha_(std::move(existing_sha)) {}

  // Runs the download to its end. On success the partial file holds the whole body.
  Status run();

  bool up_to_date() const { return up_to_date_; }
  uint64_t resumed_from() const { return resumed_from_; }
  uint64_t size() const { return have_; }
  const std::string& published_sha() const { return published_; }

 private:
  // Sets up a fresh partial file (no bytes) described by source_.
  Status start_over();
  bool on_head(const HttpResponse& r);
  bool on_body(const char* data, size_t n);
  Error failed_here(const Error& e) const;

  const PullOptions& o_;
  std::filesystem::path model_path_;
  PartialFile partial_;
  ModelSource source_;        // of this download (written beside the partial)
  std::string existing_sha_;  // of the model already in the store under this name, if any
  std::string published_;     // the server's hash, once known
  uint64_t have_ = 0;         // bytes in the partial file
  uint64_t total_ = 0;        // 0: unknown
  uint64_t resumed_from_ = 0;
  bool up_to_date_ = false;
  bool restart_ = false;
  std::optional<Error> fail_;
};

Status Download::start_over() {
  have_ = 0;
  resumed_from_ = 0;
  source_.sha256 = published_;
  TESSERA_TRY(write_model_source(partial_source_path(model_path_), source_));
  return partial_.open_at(0);
}

Error Download::failed_here(const Error& e) const {
  Error out = with_network_hint(e);
  if (have_ > 0 && out.code == ErrorCode::unavailable) {
    out.message += "; the " + std::to_string(have_) + " bytes fetched so far are kept in " +
                   partial_path(model_path_).string() + ": run the same command to resume";
  }
  return out;
}

bool Download::on_head(const HttpResponse& r) {
  const HttpHop& last = r.last();
  const std::string sha = published_hash(r);
  if (!sha.empty()) {
    if (!existing_sha_.empty() && sha == existing_sha_) {
      up_to_date_ = true;
      return false;
    }
    if (have_ > 0 && !source_.sha256.empty() && sha != source_.sha256) {
      emit(o_, PullStage::note, have_, 0,
           "the file changed on the server since the partial download: starting over");
      published_ = sha;
      restart_ = true;
      return false;
    }
    published_ = sha;
  }
  if (last.redirect) return true;
  if (last.status == 206) {
    const std::string* cr = find_header(last.headers, "Content-Range");
    auto range = cr ? parse_content_range(*cr)
                    : Result<ContentRange>(make_error(ErrorCode::malformed, "no Content-Range"));
    if (!range.ok() || !range->has_range || range->start != have_) {
      emit(o_, PullStage::note, have_, 0,
           "the server answered the resume request with another range: starting over");
      restart_ = true;
      return false;
    }
    total_ = range->has_total ? range->total : 0;
    resumed_from_ = have_;
  } else if (last.status >= 200 && last.status < 300) {
    if (have_ > 0) {
      emit(o_, PullStage::note, have_, 0, "the server cannot resume downloads: starting over");
    }
    have_ = 0;
    const auto len = content_length(last);
    total_ = len ? *len : 0;
  } else {
    return true;  // judged after the request
  }
  Status opened = have_ == 0 ? start_over() : Status();
  if (opened.ok() && have_ > 0 && source_.sha256.empty() && !published_.empty()) {
    source_.sha256 = published_;  // so that a later resume can tell the file changed
    opened = write_model_source(partial_source_path(model_path_), source_);
  }
  if (opened.ok() && !partial_.is_open()) opened = partial_.open_at(have_);
  if (!opened.ok()) {
    fail_ = opened.error();
    return false;
  }
  if (total_ > have_) {
    if (auto s = check_space(model_path_.parent_path(), total_ - have_); !s.ok()) {
      fail_ = s.error();
      return false;
    }
  }
  emit(o_, PullStage::downloading, have_, total_, source_.file);
  return true;
}

bool Download::on_body(const char* data, size_t n) {
  if (total_ > 0 && have_ + n > total_) {
    fail_ = make_error(ErrorCode::malformed, "the server sent more bytes than the " +
                                                 std::to_string(total_) + " it announced");
    return false;
  }
  if (auto s = partial_.write(data, n); !s.ok()) {
    fail_ = s.error();
    return false;
  }
  have_ += n;
  emit(o_, PullStage::progress, have_, total_);
  return true;
}

Status Download::run() {
  // An earlier partial download continues only when it is of the same file.
  const auto old = read_model_source(partial_source_path(model_path_));
  have_ = file_size_or_zero(partial_path(model_path_));
  if (have_ > 0 && old.ok() && old->same_file_as(source_)) {
    source_.sha256 = old->sha256;
    emit(o_, PullStage::note, have_, 0,
         "resuming the earlier download at " + std::to_string(have_) + " bytes");
  } else {
    have_ = 0;
  }
  int attempts = 0;
  int restarts = 0;
  for (;;) {
    ++attempts;
    restart_ = false;
    const uint64_t before = have_;
    HttpHeaders headers;
    if (have_ > 0) headers.emplace_back("Range", "bytes=" + std::to_string(have_) + "-");
    auto r = http_get(
        source_.url, headers, o_.http, [this](const HttpResponse& resp) { return on_head(resp); },
        [this](const char* d, size_t n) { return on_body(d, n); });
    if (auto flushed = partial_.flush(); !flushed.ok() && !fail_) fail_ = flushed.error();
    if (fail_) return failed_here(*fail_);
    if (!r.ok()) {
      if (have_ > before && attempts < o_.max_attempts) {
        emit(o_, PullStage::note, have_, total_,
             "connection lost (" + r.error().message + "); resuming at " + std::to_string(have_) +
                 " bytes");
        continue;
      }
      return failed_here(r.error());
    }
    if (up_to_date_) return {};
    if (restart_) {
      if (++restarts > kMaxRestarts) {
        return make_error(ErrorCode::unavailable,
                          "GET " + source_.url +
                              ": the server keeps changing the file's range "
                              "or hash; try again later");
      }
      have_ = 0;
      continue;
    }
    const int status = r->status();
    if (status == 416 && have_ > 0) {
      // The partial may already be whole (a pull stopped between the last byte and the rename).
      const std::string* cr = find_header(r->last().headers, "Content-Range");
      auto range = cr ? parse_content_range(*cr)
                      : Result<ContentRange>(make_error(ErrorCode::malformed, ""));
      if (range.ok() && range->has_total && range->total == have_) {
        total_ = have_;
        resumed_from_ = have_;
        return partial_.sync_and_close();
      }
      if (++restarts > kMaxRestarts) return status_error(*r, "file", o_);
      emit(o_, PullStage::note, have_, 0,
           "the server refused to resume the partial download: starting over");
      have_ = 0;
      continue;
    }
    if (status < 200 || status >= 300) {
      const std::string what = "file '" + source_.file + "' in repository '" + source_.repo +
                               "' at revision '" + source_.revision + "'";
      return status_error(*r, what, o_);
    }
    if (total_ > 0 && have_ < total_) {
      if (have_ > before && attempts < o_.max_attempts) continue;
      return failed_here(make_error(ErrorCode::unavailable, "GET " + source_.url +
                                                                ": the body ended after " +
                                                                std::to_string(have_) + " of " +
                                                                std::to_string(total_) + " bytes"));
    }
    return partial_.sync_and_close();
  }
}

// Hashes, checks and moves the finished partial file into place.
Result<PullResult> finish(const ModelStore& store, const PullOptions& o, Download& d,
                          ModelSource source, PullResult result) {
  const std::filesystem::path partial = partial_path(result.path);
  emit(o, PullStage::verifying, 0, d.size());
  TESSERA_TRY_ASSIGN(sha, sha256_file(partial, [&o](uint64_t done, uint64_t total) {
                       emit(o, PullStage::verifying, done, total);
                     }));
  std::string published = d.published_sha();
  if (published.empty()) published = tree_hash(result.repo, result.file, o);
  auto discard = [&] {
    remove_quietly(partial);
    remove_quietly(partial_source_path(result.path));
  };
  if (!published.empty() && published != sha) {
    discard();
    return make_error(ErrorCode::malformed, "sha256 mismatch for " + result.url +
                                                ": the server published " + published +
                                                ", the download hashes to " + sha +
                                                "; the download was deleted; run the pull again");
  }
  ModelEntry entry = store.describe(result.name, partial);
  if (entry.status == ModelStatus::broken) {
    discard();
    return make_error(ErrorCode::malformed, "the file downloaded from " + result.url +
                                                " is not a readable GGUF model (" + entry.reason +
                                                "); nothing was kept");
  }
  source.sha256 = sha;
  source.verified = !published.empty();
  source.size = d.size();
  source.pulled_at = utc_now_iso8601();
  TESSERA_TRY(write_model_source(source_path(result.path), source));
  std::error_code ec;
  std::filesystem::rename(partial, result.path, ec);
  if (ec) {
    return make_error(ErrorCode::io_error, "cannot rename " + partial.string() + " to " +
                                               result.path.string() + ": " + ec.message());
  }
  remove_quietly(partial_source_path(result.path));
  result.bytes = d.size();
  result.resumed_from = d.resumed_from();
  result.sha256 = sha;
  result.published_sha256 = published;
  // The file as described above; renaming keeps its size and time, and its source is the one
  // just written beside it.
  entry.path = result.path;
  entry.source = source;
  result.entry = std::move(entry);
  return result;
}

}  // namespace

Result<PullResult> pull_model(const ModelStore& store, const PullRef& ref, const PullOptions& o) {
  TESSERA_TRY(validate_revision(o.revision));
  if (!o.name.empty()) TESSERA_TRY(validate_model_name(o.name));
  TESSERA_TRY_ASSIGN(file, choose_file(ref, o));
  PullResult result;
  result.repo = ref.repo;
  result.file = file;
  result.revision = o.revision;
  result.url = hub_file_url(o.base_url, ref.repo, o.revision, file);
  result.name = o.name.empty() ? default_model_name(file) : o.name;
  if (auto v = validate_model_name(result.name); !v.ok()) {
    return make_error(ErrorCode::invalid_argument,
                      v.error().message + "; choose a name with --name");
  }
  result.path = store.dir() / (result.name + ".gguf");
  TESSERA_TRY(ensure_directory(store.dir()));
  TESSERA_TRY_ASSIGN(lock, NameLock::acquire(store.dir(), result.name));

  ModelSource source;
  source.repo = result.repo;
  source.file = result.file;
  source.revision = result.revision;
  source.url = result.url;
  std::string existing_sha;
  std::error_code ec;
  if (std::filesystem::exists(result.path, ec)) {
    auto old = read_model_source(source_path(result.path));
    if (!old.ok() || !old->same_file_as(source)) {
      return make_error(ErrorCode::invalid_argument,
                        "a model named '" + result.name + "' is already in " +
                            store.dir().string() + " (" +
                            (old.ok() ? "pulled from " + old->repo + ":" + old->file
                                      : std::string("not pulled by tessera")) +
                            "); remove it with `tessera models rm " + result.name +
                            "` or pick another name with --name");
    }
    if (old->size == file_size_or_zero(result.path)) existing_sha = old->sha256;
  }
  Download d(o, result.path, source, existing_sha);
  TESSERA_TRY(d.run());
  if (d.up_to_date()) {
    result.up_to_date = true;
    result.bytes = file_size_or_zero(result.path);
    result.sha256 = existing_sha;
    result.published_sha256 = d.published_sha();
    result.entry = store.describe(result.name, result.path);
    return result;
  }
  return finish(store, o, d, std::move(source), std::move(result));
}

}  // namespace tessera::runtime
