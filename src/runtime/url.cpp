#include "runtime/url.h"

#include <cctype>
#include <cstdio>
#include <vector>

#include "runtime/model_name.h"

namespace tessera::runtime {
namespace {

Error bad_url(std::string_view text, const std::string& why) {
  return make_error(ErrorCode::invalid_argument, "URL " + quote_name(text) + ": " + why);
}

char lower(char c) {
  return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
}

bool is_control(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u < 0x20 || u == 0x7f;
}

// The path and query as sent in a request line: controls refused, spaces and bytes >= 0x80
// percent-encoded, the fragment dropped.
Result<std::string> clean_target(std::string_view whole, std::string_view t) {
  std::string out;
  for (char c : t) {
    if (c == '#') break;
    if (is_control(c)) return bad_url(whole, "has a control character");
    const auto u = static_cast<unsigned char>(c);
    if (c == ' ' || u >= 0x80 || c == '"' || c == '<' || c == '>' || c == '\\' || c == '^' ||
        c == '`' || c == '{' || c == '|' || c == '}') {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", u);
      out += buf;
    } else {
      out += c;
    }
  }
  if (out.empty() || out[0] != '/') out.insert(out.begin(), '/');
  return out;
}

// RFC 3986 section 5.2.4 on a path (the query is kept apart by the caller).
std::string remove_dot_segments(std::string_view path) {
  std::vector<std::string_view> segs;
  size_t i = 1;  // path starts with '/'
  bool trailing_slash = false;
  while (i <= path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    const std::string_view seg = path.substr(i, j - i);
    trailing_slash = false;
    if (seg == "..") {
      if (!segs.empty()) segs.pop_back();
      trailing_slash = true;
    } else if (seg == ".") {
      trailing_slash = true;
    } else {
      segs.push_back(seg);
    }
    i = j + 1;
  }
  std::string out;
  for (const auto& s : segs) out.append("/").append(s);
  if (out.empty() || trailing_slash) out += "/";
  return out;
}

std::string normalize_target(const std::string& target) {
  const size_t q = target.find('?');
  const std::string path = target.substr(0, q);
  std::string out = remove_dot_segments(path);
  if (q != std::string::npos) out += target.substr(q);
  return out;
}

bool has_scheme(std::string_view ref) {
  if (ref.empty() || std::isalpha(static_cast<unsigned char>(ref[0])) == 0) return false;
  for (size_t i = 1; i < ref.size(); ++i) {
    const char c = ref[i];
    if (c == ':') return true;
    if (std::isalnum(static_cast<unsigned char>(c)) == 0 && c != '+' && c != '-' && c != '.') {
      return false;
    }
  }
  return false;
}

}  // namespace

std::string Url::origin() const {
  const bool v6 = host.find(':') != std::string::npos;
  std::string out = scheme + "://" + (v6 ? "[" + host + "]" : host);
  const int def = scheme == "https" ? 443 : 80;
  if (port != def) out.append(":").append(std::to_string(port));
  return out;
}

std::string Url::str() const {
  return origin() + target;
}

Result<Url> parse_url(std::string_view text) {
  if (text.size() > kMaxUrlBytes) return bad_url(text, "longer than 8192 bytes");
  Url u;
  const size_t colon = text.find("://");
  if (colon == std::string_view::npos) {
    return bad_url(text, "not an absolute URL (expected http://HOST/... or https://HOST/...)");
  }
  for (char c : text.substr(0, colon)) u.scheme += lower(c);
  if (u.scheme != "http" && u.scheme != "https") {
    return bad_url(text, "scheme '" + u.scheme + "' is not http or https");
  }
  const std::string_view rest = text.substr(colon + 3);
  const size_t end = rest.find_first_of("/?#");
  const std::string_view authority = rest.substr(0, end);
  if (authority.find('@') != std::string_view::npos) {
    return bad_url(text,
                   "user names and passwords in URLs are not supported (for Hugging Face "
                   "use HF_TOKEN)");
  }
  std::string_view host = authority;
  std::string_view port;
  if (!authority.empty() && authority[0] == '[') {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) return bad_url(text, "has an unclosed '[' in its host");
    host = authority.substr(1, close - 1);
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') return bad_url(text, "has text after the IPv6 address");
      port = after.substr(1);
    }
    for (char c : host) {
      if (std::isxdigit(static_cast<unsigned char>(c)) == 0 && c != ':' && c != '.') {
        return bad_url(text, "has a bad character in its IPv6 address");
      }
    }
  } else {
    const size_t pc = authority.find(':');
    if (pc != std::string_view::npos) {
      host = authority.substr(0, pc);
      port = authority.substr(pc + 1);
    }
    for (char c : host) {
      if (std::isalnum(static_cast<unsigned char>(c)) == 0 && c != '-' && c != '.' && c != '_') {
        return bad_url(text, "has a character in its host name that a host name cannot have");
      }
    }
  }
  if (host.empty()) return bad_url(text, "has no host");
  for (char c : host) u.host += lower(c);
  u.port = u.scheme == "https" ? 443 : 80;
  if (!port.empty() || authority.back() == ':') {
    if (port.empty() || port.size() > 5) return bad_url(text, "has a bad port");
    int p = 0;
    for (char c : port) {
      if (c < '0' || c > '9') return bad_url(text, "has a port that is not a number");
      p = p * 10 + (c - '0');
    }
    if (p < 1 || p > 65535) return bad_url(text, "has a port outside 1..65535");
    u.port = p;
  }
  const std::string_view target = end == std::string_view::npos ? "" : rest.substr(end);
  TESSERA_TRY_ASSIGN(t, clean_target(text, target));
  u.target = normalize_target(t);
  return u;
}

Result<Url> resolve_url(const Url& base, std::string_view ref) {
  while (!ref.empty() && (ref.front() == ' ' || ref.front() == '\t')) ref.remove_prefix(1);
  while (!ref.empty() && (ref.back() == ' ' || ref.back() == '\t')) ref.remove_suffix(1);
  if (ref.size() > kMaxUrlBytes) return bad_url(ref, "longer than 8192 bytes");
  if (has_scheme(ref)) return parse_url(ref);
  if (ref.substr(0, 2) == "//") return parse_url(base.scheme + ":" + std::string(ref));
  Url u = base;
  if (ref.empty() || ref[0] == '#') return u;
  std::string target;
  if (ref[0] == '/') {
    target = std::string(ref);
  } else if (ref[0] == '?') {
    target = base.target.substr(0, base.target.find('?')) + std::string(ref);
  } else {
    const std::string path = base.target.substr(0, base.target.find('?'));
    target = path.substr(0, path.rfind('/') + 1) + std::string(ref);
  }
  TESSERA_TRY_ASSIGN(t, clean_target(ref, target));
  u.target = normalize_target(t);
  return u;
}

std::string percent_encode(std::string_view s, bool keep_slash) {
  std::string out;
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) != 0 && u < 0x80) {
      out += c;
    } else if (c == '-' || c == '.' || c == '_' || c == '~' || (keep_slash && c == '/')) {
      out += c;
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", u);
      out += buf;
    }
  }
  return out;
}

}  // namespace tessera::runtime
