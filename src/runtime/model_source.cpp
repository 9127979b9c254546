#include "runtime/model_source.h"

#include <ctime>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <system_error>

#include "runtime/json_file.h"

namespace tessera::runtime {
namespace {

using nlohmann::json;

constexpr uint64_t kMaxSourceBytes = 64 * 1024;
constexpr const char* kSchema = "tessera.model-source.v1";

Error bad(const std::filesystem::path& path, const std::string& what) {
  return make_error(ErrorCode::malformed, path.string() + ": " + what +
                                              " (a sidecar written by tessera pull; delete it to "
                                              "forget where the model came from)");
}

Result<std::string> string_field(const json& j, const char* key,
                                 const std::filesystem::path& path) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_string()) {
    return bad(path, std::string("field \"") + key + "\" is missing or not a string");
  }
  return it->get<std::string>();
}

}  // namespace

std::filesystem::path source_path(const std::filesystem::path& model_path) {
  return model_path.string() + ".json";
}

std::filesystem::path partial_path(const std::filesystem::path& model_path) {
  return model_path.string() + ".partial";
}

std::filesystem::path partial_source_path(const std::filesystem::path& model_path) {
  return model_path.string() + ".partial.json";
}

bool is_sha256_hex(const std::string& s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

std::string utc_now_iso8601() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

Result<ModelSource> read_model_source(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    return make_error(ErrorCode::not_found, path.string() + ": no such file");
  }
  const uintmax_t size = std::filesystem::file_size(path, ec);
  if (ec) return make_error(ErrorCode::io_error, path.string() + ": " + ec.message());
  if (size > kMaxSourceBytes) return bad(path, "larger than 64 KiB");
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(ErrorCode::io_error, path.string() + ": cannot open");
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return bad(path, "not a JSON object");
  auto schema = j.find("schema");
  if (schema == j.end() || !schema->is_string() || schema->get<std::string>() != kSchema) {
    return bad(path, std::string("\"schema\" is not \"") + kSchema + "\"");
  }
  ModelSource s;
  TESSERA_TRY_ASSIGN(repo, string_field(j, "repo", path));
  TESSERA_TRY_ASSIGN(file, string_field(j, "file", path));
  TESSERA_TRY_ASSIGN(revision, string_field(j, "revision", path));
  TESSERA_TRY_ASSIGN(url, string_field(j, "url", path));
  s.repo = std::move(repo);
  s.file = std::move(file);
  s.revision = std::move(revision);
  s.url = std::move(url);
  auto sha = j.find("sha256");
  if (sha != j.end() && !sha->is_null()) {
    if (!sha->is_string() || !is_sha256_hex(sha->get<std::string>())) {
      return bad(path, "\"sha256\" is not 64 lower-case hex digits");
    }
    s.sha256 = sha->get<std::string>();
  }
  auto verified = j.find("verified");
  if (verified != j.end() && verified->is_boolean()) s.verified = verified->get<bool>();
  auto sz = j.find("size");
  if (sz == j.end() || !sz->is_number_unsigned()) {
    return bad(path, "\"size\" is missing or not a byte count");
  }
  s.size = sz->get<uint64_t>();
  auto at = j.find("pulled_at");
  if (at != j.end() && at->is_string()) s.pulled_at = at->get<std::string>();
  return s;
}

Status write_model_source(const std::filesystem::path& path, const ModelSource& s) {
  const json j = {{"schema", kSchema},
                  {"repo", s.repo},
                  {"file", s.file},
                  {"revision", s.revision},
                  {"url", s.url},
                  {"sha256", s.sha256.empty() ? json(nullptr) : json(s.sha256)},
                  {"verified", s.verified},
                  {"size", s.size},
                  {"pulled_at", s.pulled_at}};
  return write_json_file(path, j, 2);
}

}  // namespace tessera::runtime
