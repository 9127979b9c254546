#include "server/auth.h"

#include "runtime/sha256.h"

namespace tessera::server {

void ApiKeys::add(std::string_view key) {
  if (!key.empty()) hashes_.push_back(runtime::sha256_hex(key));
}

std::string ApiKeys::id_of(std::string_view key) {
  return "key-" + runtime::sha256_hex(key).substr(0, 8);
}

bool ApiKeys::accepts(std::string_view key) const {
  const std::string h = runtime::sha256_hex(key);
  bool found = false;
  for (const std::string& k : hashes_) {
    // Constant time over the hash: no early exit on the first differing byte.
    unsigned char diff = k.size() == h.size() ? 0 : 1;
    for (size_t i = 0; i < k.size() && i < h.size(); ++i) {
      diff |= static_cast<unsigned char>(k[i] ^ h[i]);
    }
    found = found || diff == 0;
  }
  return found;
}

std::optional<std::string> request_key(std::string_view authorization, std::string_view x_api_key) {
  constexpr std::string_view kBearer = "Bearer ";
  if (authorization.size() > kBearer.size() && authorization.substr(0, kBearer.size()) == kBearer) {
    return std::string(authorization.substr(kBearer.size()));
  }
  if (!x_api_key.empty()) return std::string(x_api_key);
  return std::nullopt;
}

}  // namespace tessera::server
