// API keys: the admin key (config or TESSERA_API_KEY) and any others, kept only as SHA-256
// hashes, compared in constant time. A request carries its key as `Authorization: Bearer KEY`
// (OpenAI's clients) or `X-API-Key: KEY`.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tessera::server {

class ApiKeys {
 public:
  // Adds a key (stored hashed). Empty keys are ignored.
  void add(std::string_view key);
  bool empty() const { return hashes_.empty(); }
  // Whether `key` is one of the keys.
  bool accepts(std::string_view key) const;
  // A name for a key that tells keys apart without revealing them: "key-" and the first 8 hex
  // digits of its SHA-256 (what the request log, metrics and fair scheduling call the client
  // when it sends no X-Tessera-App).
  static std::string id_of(std::string_view key);

 private:
  std::vector<std::string> hashes_;  // hex SHA-256
};

// The key of a request from its headers' values (either may be empty): the Bearer token, else
// the X-API-Key value; nullopt when there is none.
std::optional<std::string> request_key(std::string_view authorization, std::string_view x_api_key);

}  // namespace tessera::server
