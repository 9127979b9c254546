// HTTP(S) URLs as `tessera pull` uses them: the base URL a user gives, and the Location of a
// redirect a server sends (untrusted: any bytes). Only http and https are accepted; user
// names and passwords in URLs are refused; control characters are refused (they could split
// a request line or header), while spaces and non-ASCII bytes in the path are percent-encoded.
#pragma once

#include <string>
#include <string_view>

#include "util/result.h"

namespace tessera::runtime {

inline constexpr size_t kMaxUrlBytes = 8192;

struct Url {
  std::string scheme;  // "http" or "https"
  std::string host;    // lower-case; an IPv6 literal without its brackets
  int port = 0;        // the explicit port, else 80 / 443
  std::string target;  // path and query, starting with '/'; no fragment

  // "https://huggingface.co", "http://127.0.0.1:8080", "http://[::1]:8080" (the port only when
  // it is not the scheme's default).
  std::string origin() const;
  // origin() + target.
  std::string str() const;
  bool same_origin(const Url& o) const {
    return scheme == o.scheme && host == o.host && port == o.port;
  }
};

// Parses an absolute http(s) URL. Errors (invalid_argument): the message quotes the URL and
// says what is wrong (scheme, host, port, characters, length).
Result<Url> parse_url(std::string_view text);

// Resolves a reference (a redirect's Location: absolute, "//host/path", "/path", "path",
// "?query") against `base`, removing "." and ".." path segments. Errors: as parse_url's.
Result<Url> resolve_url(const Url& base, std::string_view reference);

// Percent-encodes every byte but ASCII letters, digits and `-._~` (and `/` when keep_slash).
std::string percent_encode(std::string_view s, bool keep_slash);

}  // namespace tessera::runtime
