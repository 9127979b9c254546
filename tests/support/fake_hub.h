// A fake Hugging Face Hub for tests of `tessera pull`: two HttpFixture servers, the hub and a
// "CDN" on another port, speaking the parts of the Hub's layout that pull uses:
//   GET /api/models/{repo}                     {"siblings": [{"rfilename"}]}
//   GET /api/models/{repo}/tree/main[/{dir}]   [{"path", "lfs": {"oid"}}]
//   GET /{repo}/resolve/main/{file}            302 to the CDN with X-Linked-Etag, or the bytes
//   GET (CDN) /blobs/{repo}/{file}             the bytes, with Range support
// Each file can be made to misbehave (see FakeFile). Hashes are computed with OpenSSL's
// one-shot digest, independently of the code under test.
#pragma once

#include <openssl/evp.h>

#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "support/http_fixture.h"

namespace tessera::test {

inline std::string sha256_of(const std::string& bytes) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(bytes.data(), bytes.size(), md, &len, EVP_sha256(), nullptr);
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out += kHex[md[i] >> 4];
    out += kHex[md[i] & 15];
  }
  return out;
}

inline std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

enum class HashIn {
  redirect_header,  // X-Linked-Etag on the hub's 302 (as huggingface.co does)
  etag,             // ETag on the hub's own 200 (no redirect)
  tree,             // only in the tree API
  nowhere,          // not published
};

struct FakeFile {
  std::string bytes;
  std::string published_sha;  // "" = the bytes' true hash
  HashIn hash_in = HashIn::redirect_header;
  bool relative_redirect = false;  // first a 307 to /moved/... on the hub itself
  bool ignore_range = false;       // always answer 200 with the whole file
  int drops = 0;                   // this many body answers are cut after drop_after bytes
  size_t drop_after = 0;
  int status = 200;   // of the resolve URL: 401, 403, 404, 500 refuse it
  bool hang = false;  // the resolve URL never answers
};

class FakeHub {
 public:
  FakeHub()
      : cdn_([this](const FixtureRequest& r) { return on_cdn(r); }),
        hub_([this](const FixtureRequest& r) { return on_hub(r); }) {}

  std::string base_url() const { return hub_.url(); }
  std::string cdn_url() const { return cdn_.url(); }
  const HttpFixture& hub() const { return hub_; }
  const HttpFixture& cdn() const { return cdn_; }

  void add(const std::string& repo, const std::string& file, FakeFile f) {
    if (f.published_sha.empty() && f.hash_in != HashIn::nowhere) {
      f.published_sha = sha256_of(f.bytes);
    }
    std::lock_guard<std::mutex> g(mu_);
    files_[repo + "/" + file] = std::move(f);
    listing_[repo].push_back(file);
  }
  // A file name in the repository's listing without contents.
  void list_only(const std::string& repo, const std::string& file) {
    std::lock_guard<std::mutex> g(mu_);
    listing_[repo].push_back(file);
  }
  void set_drops(const std::string& repo, const std::string& file, int drops, size_t after) {
    std::lock_guard<std::mutex> g(mu_);
    files_[repo + "/" + file].drops = drops;
    files_[repo + "/" + file].drop_after = after;
  }
  void set_ignore_range(const std::string& repo, const std::string& file, bool on) {
    std::lock_guard<std::mutex> g(mu_);
    files_[repo + "/" + file].ignore_range = on;
  }
  void set_bytes(const std::string& repo, const std::string& file, std::string bytes) {
    std::lock_guard<std::mutex> g(mu_);
    FakeFile& f = files_[repo + "/" + file];
    f.bytes = std::move(bytes);
    f.published_sha = sha256_of(f.bytes);
  }

 private:
  static FixtureResponse text(int status, std::string body) {
    FixtureResponse r;
    r.status = status;
    r.body = std::move(body);
    r.headers.emplace_back("Content-Type", "application/json");
    return r;
  }

  // The file's bytes, honouring a Range: bytes=N- header.
  FixtureResponse serve(FakeFile& f, const FixtureRequest& req, bool with_etag) {
    FixtureResponse r;
    const std::string range = req.header("range");
    size_t from = 0;
    if (!range.empty() && !f.ignore_range && range.rfind("bytes=", 0) == 0) {
      from = std::stoull(range.substr(6));
      if (from >= f.bytes.size()) {
        r.status = 416;
        r.headers.emplace_back("Content-Range", "bytes */" + std::to_string(f.bytes.size()));
        return r;
      }
      r.status = 206;
      r.headers.emplace_back("Content-Range", "bytes " + std::to_string(from) + "-" +
                                                  std::to_string(f.bytes.size() - 1) + "/" +
                                                  std::to_string(f.bytes.size()));
    }
    r.body = f.bytes.substr(from);
    if (with_etag) r.headers.emplace_back("ETag", "\"" + f.published_sha + "\"");
    if (f.drops > 0) {
      --f.drops;
      r.drop_after = f.drop_after;
    }
    return r;
  }

  FixtureResponse on_cdn(const FixtureRequest& req) {
    std::lock_guard<std::mutex> g(mu_);
    const std::string prefix = "/blobs/";
    if (req.target.rfind(prefix, 0) != 0) return text(404, "{}");
    auto it = files_.find(req.target.substr(prefix.size()));
    if (it == files_.end()) return text(404, "{}");
    return serve(it->second, req, false);
  }

  FixtureResponse on_hub(const FixtureRequest& req) {
    std::lock_guard<std::mutex> g(mu_);
    std::string path = req.target.substr(0, req.target.find('?'));
    const std::string api = "/api/models/";
    if (path.rfind(api, 0) == 0) {
      std::string rest = path.substr(api.size());
      const size_t tree = rest.find("/tree/main");
      if (tree != std::string::npos) {
        const std::string repo = rest.substr(0, tree);
        std::string dir = rest.substr(tree + 10);
        if (!dir.empty()) dir = dir.substr(1) + "/";
        nlohmann::json out = nlohmann::json::array();
        for (const auto& [key, f] : files_) {
          if (key.rfind(repo + "/" + dir, 0) != 0) continue;
          nlohmann::json e = {{"type", "file"}, {"path", key.substr(repo.size() + 1)}};
          if (f.hash_in != HashIn::nowhere) e["lfs"] = {{"oid", f.published_sha}};
          out.push_back(e);
        }
        return text(200, out.dump());
      }
      auto it = listing_.find(rest);
      if (it == listing_.end()) return text(404, R"({"error":"Repository not found"})");
      nlohmann::json siblings = nlohmann::json::array();
      for (const auto& f : it->second) siblings.push_back({{"rfilename", f}});
      return text(200, nlohmann::json({{"id", rest}, {"siblings", siblings}}).dump());
    }
    bool moved = false;
    if (path.rfind("/moved/", 0) == 0) {
      moved = true;
      path = path.substr(6);
    }
    const size_t resolve = path.find("/resolve/main/");
    if (resolve == std::string::npos) return text(404, "{}");
    const std::string key = path.substr(1, resolve - 1) + "/" + path.substr(resolve + 14);
    auto it = files_.find(key);
    if (it == files_.end()) {
      FixtureResponse r = text(404, R"({"error":"Entry not found"})");
      r.headers.emplace_back("X-Error-Message", "Entry not found");
      return r;
    }
    FakeFile& f = it->second;
    if (f.hang) {
      FixtureResponse r;
      r.hang = true;
      return r;
    }
    if (f.status != 200) return text(f.status, R"({"error":"refused by the fixture"})");
    if (f.relative_redirect && !moved) {
      FixtureResponse r;
      r.status = 307;
      r.headers.emplace_back("Location", "/moved" + path);
      return r;
    }
    if (f.hash_in == HashIn::redirect_header) {
      FixtureResponse r;
      r.status = 302;
      r.headers.emplace_back("Location", cdn_.url() + "/blobs/" + key);
      r.headers.emplace_back("X-Linked-Etag", "\"" + f.published_sha + "\"");
      r.headers.emplace_back("X-Linked-Size", std::to_string(f.bytes.size()));
      r.body = "Found. Redirecting";
      return r;
    }
    return serve(f, req, f.hash_in == HashIn::etag);
  }

  std::mutex mu_;
  std::map<std::string, FakeFile> files_;  // "repo/file"
  std::map<std::string, std::vector<std::string>> listing_;
  HttpFixture cdn_;
  HttpFixture hub_;
};

}  // namespace tessera::test
