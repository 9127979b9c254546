// HTTP GET for downloads, over cpp-httplib: redirects followed by hand (each hop's headers are
// kept: Hugging Face puts a file's sha256 on the redirect, not on the CDN's answer), the body
// streamed to a callback, timeouts, and failures turned into messages that name the URL and
// the reason. Servers are untrusted: headers and bodies are bounded, Locations are parsed as
// URLs (url.h), and a bearer token is sent only to the origin of the first URL, never to a
// host a redirect points at.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "runtime/url.h"
#include "util/result.h"

namespace tessera::runtime {

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

// The value of the first header called `name` (any case), or nullptr.
const std::string* find_header(const HttpHeaders& headers, std::string_view name);

struct HttpOptions {
  std::chrono::milliseconds connect_timeout{10000};
  std::chrono::milliseconds read_timeout{60000};  // longest wait for the next bytes
  int max_redirects = 10;
  std::string user_agent = "tessera";
  std::string bearer_token;  // "" for none; never printed
};

// One response of the chain: the redirects first, the final response last.
struct HttpHop {
  std::string url;
  int status = 0;
  bool redirect = false;  // a 301/302/303/307/308 with a Location: followed
  HttpHeaders headers;
};

struct HttpResponse {
  std::vector<HttpHop> hops;  // never empty in a returned response
  std::string error_body;     // the first 4 KiB of the body of a final response that is not 2xx
  bool cancelled = false;     // a callback returned false

  const HttpHop& last() const { return hops.back(); }
  int status() const { return hops.back().status; }
};

// Called when each response's headers have arrived (redirects too, before they are followed;
// the final response before its body), with every hop so far, the new one last; false cancels
// the request.
using HttpHeadFn = std::function<bool(const HttpResponse&)>;
// Called with each piece of a 2xx final response's body; false cancels the request.
using HttpBodyFn = std::function<bool(const char* data, size_t n)>;

// GETs `url` with extra request `headers`, following up to max_redirects redirects (301, 302,
// 303, 307, 308). The status is not judged here: a 404 is a response, not an error. Errors
// (unavailable): no connection (the message tells a DNS failure from a refused connection), a
// timeout, a connection lost mid-response, a TLS failure, too many redirects; (invalid_argument)
// a bad URL or Location. A cancelled request returns its response with `cancelled` set.
Result<HttpResponse> http_get(const std::string& url, const HttpHeaders& headers,
                              const HttpOptions& options, const HttpHeadFn& on_head,
                              const HttpBodyFn& on_body);

// A Content-Range header: "bytes START-END/TOTAL", "bytes START-END/*" or "bytes */TOTAL".
struct ContentRange {
  bool has_range = false;  // false for "*/TOTAL" (a 416's answer)
  uint64_t start = 0;
  uint64_t end = 0;  // inclusive
  bool has_total = false;
  uint64_t total = 0;
};
// Errors (malformed): anything else (the message quotes the value).
Result<ContentRange> parse_content_range(std::string_view value);

struct HttpText {
  HttpResponse response;
  std::string body;  // of a 2xx final response
};

// GETs a small document (API JSON), at most `max_bytes` of body. Errors: http_get's, and
// out_of_range for a longer body.
Result<HttpText> http_get_text(const std::string& url, const HttpHeaders& headers,
                               const HttpOptions& options, size_t max_bytes);

}  // namespace tessera::runtime
