#include "runtime/http_get.h"

#include <httplib.h>
#include <netdb.h>
#include <sys/socket.h>

#include <cctype>

#include "runtime/model_name.h"

namespace tessera::runtime {
namespace {

constexpr size_t kMaxErrorBody = 4096;

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

bool is_redirect(int status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

std::string seconds(std::chrono::milliseconds ms) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g s", static_cast<double>(ms.count()) / 1000.0);
  return buf;
}

// Why a connection could not be made: a name that does not resolve, or a host that refused.
std::string connect_failure(const Url& u) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const int rc = ::getaddrinfo(u.host.c_str(), nullptr, &hints, &found);
  if (found != nullptr) ::freeaddrinfo(found);
  if (rc != 0) {
    return "cannot resolve the host name '" + u.host + "' (" + ::gai_strerror(rc) + ")";
  }
  return "cannot connect to " + u.host + " port " + std::to_string(u.port) +
         " (connection refused, or the host is unreachable)";
}

Error network_error(httplib::Error e, const Url& u, const HttpOptions& o, bool got_headers) {
  std::string why;
  switch (e) {
    case httplib::Error::Connection:
      why = connect_failure(u);
      break;
    case httplib::Error::ConnectionTimeout:
      why = "connecting to " + u.host + " port " + std::to_string(u.port) + " timed out after " +
            seconds(o.connect_timeout);
      break;
    case httplib::Error::Read:
      why = got_headers ? "the connection was lost in the middle of the response (the server "
                          "closed it, or sent nothing for " +
                              seconds(o.read_timeout) + ")"
                        : "no response (the server closed the connection, or sent nothing for " +
                              seconds(o.read_timeout) + ")";
      break;
    case httplib::Error::Write:
      why = "the request could not be sent (the connection was closed)";
      break;
    case httplib::Error::SSLConnection:
      why = "the TLS handshake with " + u.host + " failed";
      break;
    case httplib::Error::SSLLoadingCerts:
      why = "the system's CA certificates could not be loaded (is ca-certificates installed?)";
      break;
    case httplib::Error::SSLServerVerification:
      why = "the certificate of " + u.host +
            " could not be verified (a proxy intercepting TLS? SSL_CERT_FILE names extra CAs)";
      break;
    case httplib::Error::Compression:
      why = "the response could not be decompressed";
      break;
    default:
      why = "HTTP client error " + httplib::to_string(e);
      break;
  }
  return make_error(ErrorCode::unavailable, "GET " + u.str() + ": " + why);
}

template <class Rep, class Period>
void split(std::chrono::duration<Rep, Period> d, time_t& sec, time_t& usec) {
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(d).count();
  sec = static_cast<time_t>(us / 1000000);
  usec = static_cast<time_t>(us % 1000000);
}

}  // namespace

const std::string* find_header(const HttpHeaders& headers, std::string_view name) {
  for (const auto& [k, v] : headers) {
    if (iequals(k, name)) return &v;
  }
  return nullptr;
}

Result<HttpResponse> http_get(const std::string& url_text, const HttpHeaders& headers,
                              const HttpOptions& options, const HttpHeadFn& on_head,
                              const HttpBodyFn& on_body) {
  TESSERA_TRY_ASSIGN(url, parse_url(url_text));
  const Url first = url;
  HttpResponse response;
  for (int redirects = 0;; ++redirects) {
    httplib::Client client(url.origin());
    time_t sec = 0;
    time_t usec = 0;
    split(options.connect_timeout, sec, usec);
    client.set_connection_timeout(sec, usec);
    split(options.read_timeout, sec, usec);
    client.set_read_timeout(sec, usec);
    client.set_write_timeout(sec, usec);
    client.set_follow_location(false);
    client.set_keep_alive(false);
    client.set_decompress(false);
    httplib::Headers h;
    for (const auto& [k, v] : headers) h.emplace(k, v);
    h.emplace("User-Agent", options.user_agent);
    h.emplace("Accept-Encoding", "identity");
    if (!options.bearer_token.empty() && url.same_origin(first)) {
      h.emplace("Authorization", "Bearer " + options.bearer_token);
    }
    bool got_headers = false;
    bool final_response = false;
    auto take_head = [&](const httplib::Response& r) {
      got_headers = true;
      HttpHop hop;
      hop.url = url.str();
      hop.status = r.status;
      for (const auto& [k, v] : r.headers) hop.headers.emplace_back(k, v);
      hop.redirect = is_redirect(r.status) && find_header(hop.headers, "Location") != nullptr;
      final_response = !hop.redirect;
      response.hops.push_back(std::move(hop));
      if (on_head && !on_head(response)) {
        response.cancelled = true;
        return false;
      }
      return true;
    };
    auto res = client.Get(
        url.target, h, [&](const httplib::Response& r) { return take_head(r); },
        [&](const char* data, size_t n) {
          if (!final_response) return true;  // a redirect's body
          const int status = response.status();
          if (status >= 200 && status < 300) {
            if (on_body && !on_body(data, n)) {
              response.cancelled = true;
              return false;
            }
          } else if (response.error_body.size() < kMaxErrorBody) {
            response.error_body.append(data,
                                       std::min(n, kMaxErrorBody - response.error_body.size()));
          }
          return true;
        });
    if (response.cancelled) return response;
    if (!res) return network_error(res.error(), url, options, got_headers);
    if (!got_headers) {
      // cpp-httplib skips the response handler where there is no body to read (204).
      if (!take_head(*res)) return response;
    }
    if (final_response) return response;
    if (redirects + 1 > options.max_redirects) {
      return make_error(ErrorCode::unavailable, "GET " + first.str() + ": more than " +
                                                    std::to_string(options.max_redirects) +
                                                    " redirects (last to " + url.str() + ")");
    }
    auto next = resolve_url(url, *find_header(response.last().headers, "Location"));
    if (!next.ok()) {
      return make_error(ErrorCode::unavailable, "GET " + url.str() +
                                                    ": the server redirected to a bad " +
                                                    "Location: " + next.error().message);
    }
    url = std::move(next).value();
  }
}

Result<ContentRange> parse_content_range(std::string_view value) {
  const std::string_view whole = value;
  auto bad = [&] {
    return make_error(ErrorCode::malformed, "bad Content-Range header " + quote_name(whole) +
                                                " (expected bytes START-END/TOTAL)");
  };
  // Reads a decimal number of at most 19 digits (no overflow) from the front of `value`.
  auto number = [&](uint64_t& out) {
    size_t n = 0;
    out = 0;
    while (n < value.size() && n < 19 && value[n] >= '0' && value[n] <= '9') {
      out = out * 10 + static_cast<uint64_t>(value[n] - '0');
      ++n;
    }
    if (n == 0 || (n < value.size() && value[n] >= '0' && value[n] <= '9')) return false;
    value.remove_prefix(n);
    return true;
  };
  if (value.substr(0, 6) != "bytes ") return bad();
  value.remove_prefix(6);
  ContentRange r;
  if (!value.empty() && value[0] == '*') {
    value.remove_prefix(1);
  } else {
    if (!number(r.start) || value.empty() || value[0] != '-') return bad();
    value.remove_prefix(1);
    if (!number(r.end) || r.end < r.start) return bad();
    r.has_range = true;
  }
  if (value.empty() || value[0] != '/') return bad();
  value.remove_prefix(1);
  if (value == "*") {
    if (!r.has_range) return bad();
    return r;
  }
  if (!number(r.total) || !value.empty()) return bad();
  r.has_total = true;
  if (r.has_range && r.end >= r.total) return bad();
  return r;
}

Result<HttpText> http_get_text(const std::string& url, const HttpHeaders& headers,
                               const HttpOptions& options, size_t max_bytes) {
  HttpText out;
  bool too_long = false;
  auto r = http_get(url, headers, options, nullptr, [&](const char* data, size_t n) {
    if (out.body.size() + n > max_bytes) {
      too_long = true;
      return false;
    }
    out.body.append(data, n);
    return true;
  });
  if (!r.ok()) return r.error();
  if (too_long) {
    return make_error(ErrorCode::out_of_range, "GET " + url + ": the response is longer than " +
                                                   std::to_string(max_bytes) + " bytes");
  }
  out.response = std::move(r).value();
  return out;
}

}  // namespace tessera::runtime
