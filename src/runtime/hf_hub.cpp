#include "runtime/hf_hub.h"

#include <cctype>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "runtime/model_name.h"
#include "runtime/model_source.h"
#include "runtime/url.h"

namespace tessera::runtime {
namespace {

using nlohmann::json;

constexpr size_t kMaxRepoPartBytes = 96;
constexpr size_t kMaxFileBytes = 1024;
constexpr size_t kMaxRevisionBytes = 256;
constexpr size_t kMaxListed = 20;

Error invalid(const std::string& msg) {
  return make_error(ErrorCode::invalid_argument, msg);
}

bool is_control(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u < 0x20 || u == 0x7f;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool ends_with_gguf(std::string_view f) {
  return f.size() > 5 && lower(f.substr(f.size() - 5)) == ".gguf";
}

std::string_view base_name(std::string_view path) {
  const size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

Status validate_repo_part(std::string_view part, std::string_view repo) {
  const std::string where = "repository " + quote_name(repo);
  if (part.empty()) return invalid(where + " has an empty part (expected NAME or NAMESPACE/NAME)");
  if (part.size() > kMaxRepoPartBytes) {
    return invalid(where + " has a part longer than 96 bytes");
  }
  for (size_t i = 0; i < part.size(); ++i) {
    const char c = part[i];
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x80 || (std::isalnum(u) == 0 && c != '-' && c != '_' && c != '.')) {
      return invalid(where + " has " + quote_name(std::string_view(&part[i], 1)) +
                     ", but a repository id uses only ASCII letters, digits and - _ .");
    }
  }
  if (part.front() == '-' || part.front() == '.' || part.back() == '-' || part.back() == '.') {
    return invalid(where + ": a part may not start or end with '-' or '.'");
  }
  if (part.find("--") != std::string_view::npos || part.find("..") != std::string_view::npos) {
    return invalid(where + ": '--' and '..' are not allowed in a repository id");
  }
  return {};
}

std::string list_names(const std::vector<std::string>& names) {
  std::string out;
  for (size_t i = 0; i < names.size() && i < kMaxListed; ++i) out.append("\n  ").append(names[i]);
  if (names.size() > kMaxListed) {
    out.append("\n  ... and ").append(std::to_string(names.size() - kMaxListed)).append(" more");
  }
  return out;
}

std::string trim_slash(std::string s) {
  while (!s.empty() && s.back() == '/') s.pop_back();
  return s;
}

}  // namespace

Status validate_repo_id(std::string_view repo) {
  const size_t slash = repo.find('/');
  if (slash == std::string_view::npos) return validate_repo_part(repo, repo);
  if (repo.find('/', slash + 1) != std::string_view::npos) {
    return invalid("repository " + quote_name(repo) +
                   " has more than one '/' (expected NAME or NAMESPACE/NAME)");
  }
  TESSERA_TRY(validate_repo_part(repo.substr(0, slash), repo));
  return validate_repo_part(repo.substr(slash + 1), repo);
}

Status validate_repo_file(std::string_view file) {
  const std::string where = "file " + quote_name(file);
  if (file.empty()) return invalid("the file name after ':' is empty");
  if (file.size() > kMaxFileBytes) return invalid(where + " is longer than 1024 bytes");
  for (char c : file) {
    if (is_control(c)) return invalid(where + " has a control character");
    if (c == '\\') return invalid(where + " has '\\'; parts of a path are separated by '/'");
  }
  size_t at = 0;
  for (;;) {
    const size_t slash = file.find('/', at);
    const std::string_view part =
        file.substr(at, slash == std::string_view::npos ? file.npos : slash - at);
    if (part.empty() || part == "." || part == "..") {
      return invalid(where + " has an empty, '.' or '..' part");
    }
    if (slash == std::string_view::npos) break;
    at = slash + 1;
  }
  if (!ends_with_gguf(file)) return invalid(where + " is not a .gguf file");
  return {};
}

Status validate_revision(std::string_view revision) {
  const std::string where = "revision " + quote_name(revision);
  if (revision.empty()) return invalid("the revision is empty");
  if (revision.size() > kMaxRevisionBytes) return invalid(where + " is longer than 256 bytes");
  for (char c : revision) {
    if (is_control(c)) return invalid(where + " has a control character");
  }
  if (revision == ".." || revision.find("../") != std::string_view::npos ||
      revision.find("/..") != std::string_view::npos) {
    return invalid(where + " has a '..' part");
  }
  return {};
}

Result<PullRef> parse_pull_ref(std::string_view text) {
  PullRef ref;
  const size_t colon = text.find(':');
  ref.repo = std::string(text.substr(0, colon));
  if (ref.repo.empty()) {
    return invalid("nothing to pull: give REPO[:FILE], e.g. Qwen/Qwen2.5-0.5B-Instruct-GGUF");
  }
  TESSERA_TRY(validate_repo_id(ref.repo));
  if (colon == std::string_view::npos) return ref;
  const std::string_view rest = text.substr(colon + 1);
  if (ends_with_gguf(rest)) {
    TESSERA_TRY(validate_repo_file(rest));
    ref.file = std::string(rest);
    return ref;
  }
  if (rest.empty()) return invalid("the file name after ':' is empty");
  if (rest.size() > kMaxRepoPartBytes) return invalid("the tag after ':' is longer than 96 bytes");
  for (char c : rest) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x80 || (std::isalnum(u) == 0 && c != '-' && c != '_' && c != '.')) {
      return invalid(
          "after ':' comes a .gguf file name or a tag like Q4_K_M (letters, digits, "
          "- _ .), not " +
          quote_name(rest));
    }
  }
  ref.tag = std::string(rest);
  return ref;
}

Result<std::string> hub_base_url(const std::optional<std::string>& flag) {
  std::string value = kDefaultHubUrl;
  std::string source = "the default";
  if (flag) {
    value = *flag;
    source = "--base-url";
  } else if (const char* env = std::getenv("HF_ENDPOINT"); env != nullptr && *env != 0) {
    value = env;
    source = "HF_ENDPOINT";
  }
  auto url = parse_url(value);
  if (!url.ok()) return invalid(source + ": " + url.error().message);
  if (url->target.find('?') != std::string::npos) {
    return invalid(source + ": the base URL " + quote_name(value) + " may not have a query");
  }
  return trim_slash(url->str());
}

std::string hub_file_url(const std::string& base, const std::string& repo,
                         const std::string& revision, const std::string& file) {
  return base + "/" + percent_encode(repo, true) + "/resolve/" + percent_encode(revision, false) +
         "/" + percent_encode(file, true);
}

std::string hub_repo_info_url(const std::string& base, const std::string& repo,
                              const std::string& revision) {
  std::string url = base + "/api/models/" + percent_encode(repo, true);
  if (revision != "main") url += "/revision/" + percent_encode(revision, false);
  return url;
}

std::string hub_tree_url(const std::string& base, const std::string& repo,
                         const std::string& revision, const std::string& file) {
  std::string url = base + "/api/models/" + percent_encode(repo, true) + "/tree/" +
                    percent_encode(revision, false);
  const size_t slash = file.rfind('/');
  if (slash != std::string::npos) url += "/" + percent_encode(file.substr(0, slash), true);
  return url;
}

Result<std::vector<std::string>> parse_repo_files(std::string_view json_text,
                                                  const std::string& where) {
  const json j = json::parse(json_text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return make_error(ErrorCode::malformed, where + ": the answer is not a JSON object");
  }
  auto siblings = j.find("siblings");
  if (siblings == j.end() || !siblings->is_array()) {
    return make_error(ErrorCode::malformed,
                      where + ": the answer has no \"siblings\" list of the repository's files");
  }
  std::vector<std::string> files;
  for (const json& s : *siblings) {
    if (!s.is_object()) continue;
    auto name = s.find("rfilename");
    if (name == s.end() || !name->is_string()) continue;
    files.push_back(name->get<std::string>());
  }
  return files;
}

Result<std::string> choose_gguf(const std::vector<std::string>& files, const PullRef& ref) {
  std::vector<std::string> ggufs;
  std::vector<std::string> split;
  for (const std::string& f : files) {
    if (!validate_repo_file(f).ok()) continue;
    (is_split_gguf(f) ? split : ggufs).push_back(f);
  }
  const std::string pick = "; pick one with `tessera pull " + ref.repo + ":FILE`";
  if (ggufs.empty() && !split.empty()) {
    return make_error(ErrorCode::unsupported,
                      "repository " + ref.repo +
                          " has only GGUF files split into parts, which Tessera cannot load "
                          "yet:" +
                          list_names(split));
  }
  if (ggufs.empty()) {
    return make_error(ErrorCode::not_found,
                      "repository " + ref.repo +
                          " has no .gguf file (Tessera runs GGUF models; look for a repository "
                          "whose name ends in -GGUF)");
  }
  std::vector<std::string> matches;
  const std::string want = lower(ref.tag.empty() ? "Q4_K_M" : ref.tag);
  for (const std::string& f : ggufs) {
    if (lower(base_name(f)).find(want) != std::string::npos) matches.push_back(f);
  }
  if (!ref.tag.empty()) {
    if (matches.size() == 1) return matches[0];
    if (matches.empty()) {
      return make_error(ErrorCode::not_found, "repository " + ref.repo +
                                                  " has no .gguf file matching '" + ref.tag +
                                                  "'; its GGUF files:" + list_names(ggufs));
    }
    return invalid("repository " + ref.repo + " has " + std::to_string(matches.size()) +
                   " .gguf files matching '" + ref.tag + "':" + list_names(matches) + "\n" +
                   pick.substr(2));
  }
  if (ggufs.size() == 1) return ggufs[0];
  if (matches.size() == 1) return matches[0];
  return invalid("repository " + ref.repo + " has " + std::to_string(ggufs.size()) +
                 " .gguf files and no single Q4_K_M one:" + list_names(ggufs) + "\n" +
                 pick.substr(2));
}

Result<std::string> parse_tree_sha256(std::string_view json_text, std::string_view file,
                                      const std::string& where) {
  const json j = json::parse(json_text, nullptr, false);
  if (j.is_discarded() || !j.is_array()) {
    return make_error(ErrorCode::malformed, where + ": the answer is not a JSON array");
  }
  for (const json& e : j) {
    if (!e.is_object()) continue;
    auto path = e.find("path");
    if (path == e.end() || !path->is_string() || path->get<std::string>() != file) continue;
    auto lfs = e.find("lfs");
    if (lfs == e.end() || !lfs->is_object()) return std::string();
    auto oid = lfs->find("oid");
    if (oid == lfs->end() || !oid->is_string()) return std::string();
    return sha256_from_etag(oid->get<std::string>());
  }
  return std::string();
}

std::string sha256_from_etag(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  if (v.substr(0, 2) == "W/") v.remove_prefix(2);
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
  std::string hex = lower(v);
  return is_sha256_hex(hex) ? hex : std::string();
}

std::string default_model_name(std::string_view file) {
  std::string_view b = base_name(file);
  if (ends_with_gguf(b)) b.remove_suffix(5);
  return std::string(b);
}

bool is_split_gguf(std::string_view file) {
  // NAME-00001-of-00003.gguf: "-" 5 digits "-of-" 5 digits ".gguf"
  const std::string_view b = base_name(file);
  constexpr size_t kTail = 1 + 5 + 4 + 5 + 5;
  if (b.size() <= kTail) return false;
  const std::string_view t = b.substr(b.size() - kTail);
  auto digits = [](std::string_view d) {
    for (char c : d) {
      if (c < '0' || c > '9') return false;
    }
    return true;
  };
  return t[0] == '-' && digits(t.substr(1, 5)) && t.substr(6, 4) == "-of-" &&
         digits(t.substr(10, 5)) && lower(t.substr(15)) == ".gguf";
}

}  // namespace tessera::runtime
