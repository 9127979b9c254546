#include "runtime/url.h"

#include <gtest/gtest.h>

namespace tessera::runtime {
namespace {

Url parsed(const std::string& s) {
  auto u = parse_url(s);
  EXPECT_TRUE(u.ok()) << s << ": " << u.error().message;
  return u.ok() ? *u : Url{};
}

TEST(Url, ParsesSchemesHostsPortsAndTargets) {
  Url u = parsed("https://HuggingFace.co/Qwen/x/resolve/main/a.gguf?download=true#frag");
  EXPECT_EQ(u.scheme, "https");
  EXPECT_EQ(u.host, "huggingface.co");
  EXPECT_EQ(u.port, 443);
  EXPECT_EQ(u.target, "/Qwen/x/resolve/main/a.gguf?download=true");
  EXPECT_EQ(u.origin(), "https://huggingface.co");
  u = parsed("http://127.0.0.1:8080");
  EXPECT_EQ(u.port, 8080);
  EXPECT_EQ(u.target, "/");
  EXPECT_EQ(u.str(), "http://127.0.0.1:8080/");
  u = parsed("http://[::1]:9000/p");
  EXPECT_EQ(u.host, "::1");
  EXPECT_EQ(u.origin(), "http://[::1]:9000");
  u = parsed("HTTP://h/a b/\xc3\xa9");
  EXPECT_EQ(u.target, "/a%20b/%C3%A9");
  u = parsed("http://h/a/./b/../c");
  EXPECT_EQ(u.target, "/a/c");
}

TEST(Url, RefusesWhatItCannotUse) {
  for (const char* bad :
       {"", "huggingface.co", "ftp://h/x", "file:///etc/passwd", "http://", "http://user:pw@h/",
        "http://h:0/", "http://h:70000/", "http://h:x/", "http://h:/", "http://[::1/",
        "http://h\x01/", "http://h/a\r\nX: y", "http://h o/", "http://[zz]/"}) {
    auto u = parse_url(bad);
    ASSERT_FALSE(u.ok()) << bad;
    EXPECT_EQ(u.error().code, ErrorCode::invalid_argument);
  }
  EXPECT_FALSE(parse_url("http://h/" + std::string(9000, 'a')).ok());
}

TEST(Url, ResolvesRedirectLocations) {
  const Url base = parsed("https://hub.example/org/repo/resolve/main/dir/f.gguf?x=1");
  auto r = [&](const std::string& loc) {
    auto u = resolve_url(base, loc);
    EXPECT_TRUE(u.ok()) << loc;
    return u.ok() ? u->str() : std::string();
  };
  EXPECT_EQ(r("https://cdn.example/blob/abc?sig=1"), "https://cdn.example/blob/abc?sig=1");
  EXPECT_EQ(r("//cdn.example:8443/b"), "https://cdn.example:8443/b");
  EXPECT_EQ(r("/api/x"), "https://hub.example/api/x");
  EXPECT_EQ(r("g.gguf"), "https://hub.example/org/repo/resolve/main/dir/g.gguf");
  EXPECT_EQ(r("../../other"), "https://hub.example/org/repo/resolve/other");
  EXPECT_EQ(r("../../../../../../../etc"), "https://hub.example/etc");
  EXPECT_EQ(r("?y=2"), "https://hub.example/org/repo/resolve/main/dir/f.gguf?y=2");
  EXPECT_EQ(r("  /spaced  "), "https://hub.example/spaced");
  EXPECT_FALSE(resolve_url(base, "javascript:alert(1)").ok());
  EXPECT_FALSE(resolve_url(base, "/a\r\nSet-Cookie: x").ok());
}

TEST(Url, PercentEncoding) {
  EXPECT_EQ(percent_encode("Qwen/Qwen2.5-0.5B_x~", true), "Qwen/Qwen2.5-0.5B_x~");
  EXPECT_EQ(percent_encode("refs/pr/1", false), "refs%2Fpr%2F1");
  EXPECT_EQ(percent_encode("a b?#%", true), "a%20b%3F%23%25");
}

}  // namespace
}  // namespace tessera::runtime
