// tessera pull's logic against a fake Hub on 127.0.0.1 (support/fake_hub.h): redirects,
// hashes, resume after a dropped connection, servers that ignore ranges, refusals, network
// failures, and a store that cannot be written. Never the internet.
#include "runtime/pull.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "runtime/model_source.h"
#include "runtime/name_lock.h"
#include "support/fake_hub.h"
#include "support/test_support.h"

namespace tessera::runtime {
namespace {

namespace fs = std::filesystem;
using test::FakeFile;
using test::FakeHub;
using test::HashIn;

const std::string kRepo = "tessera-test/Tiny-GGUF";
const std::string kFile = "llama-spm-tiny-q4_0.gguf";

const std::string& model_bytes() {
  static const std::string bytes =
      test::read_bytes(test::testdata("models/llama-spm-tiny-q4_0.gguf"));
  return bytes;
}

struct Fixture {
  FakeHub hub;
  test::TempDir dir;
  ModelStore store{fs::path(dir.path()) / "models"};
  std::vector<PullEvent> events;

  PullOptions options() {
    PullOptions o;
    o.base_url = hub.base_url();
    o.http.connect_timeout = std::chrono::milliseconds(2000);
    o.http.read_timeout = std::chrono::milliseconds(2000);
    o.on_event = [this](const PullEvent& e) {
      if (e.stage != PullStage::progress) events.push_back(e);
    };
    return o;
  }
  Result<PullResult> pull(const std::string& ref) { return pull(ref, options()); }
  Result<PullResult> pull(const std::string& ref, const PullOptions& o) {
    auto r = parse_pull_ref(ref);
    if (!r.ok()) return r.error();
    return pull_model(store, *r, o);
  }
  fs::path path(const std::string& f) const { return store.dir() / f; }
  bool noted(const std::string& text) const {
    for (const auto& e : events) {
      if (e.message.find(text) != std::string::npos) return true;
    }
    return false;
  }
  // The files left in the models directory.
  std::vector<std::string> files() const {
    std::vector<std::string> out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(store.dir(), ec)) {
      out.push_back(e.path().filename().string());
    }
    std::sort(out.begin(), out.end());
    return out;
  }
};

FakeFile tiny(HashIn where = HashIn::redirect_header) {
  FakeFile f;
  f.bytes = model_bytes();
  f.hash_in = where;
  return f;
}

TEST(Pull, DownloadsThroughARedirectVerifiesAndStores) {
  Fixture fx;
  fx.hub.add(kRepo, kFile, tiny());
  PullOptions o = fx.options();
  o.http.bearer_token = "hf_secret";
  auto r = fx.pull(kRepo + ":" + kFile, o);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->name, "llama-spm-tiny-q4_0");
  EXPECT_EQ(r->path, fx.path("llama-spm-tiny-q4_0.gguf"));
  EXPECT_EQ(r->bytes, model_bytes().size());
  EXPECT_EQ(r->sha256, test::sha256_of(model_bytes()));
  EXPECT_EQ(r->published_sha256, r->sha256);
  EXPECT_FALSE(r->up_to_date);
  EXPECT_EQ(r->resumed_from, 0u);
  EXPECT_EQ(r->entry.status, ModelStatus::ok);
  EXPECT_EQ(r->entry.architecture, "llama");
  EXPECT_EQ(test::read_bytes(r->path.string()), model_bytes());
  // Only the model and its sidecar remain: no partial file, no lock.
  EXPECT_EQ(fx.files(), (std::vector<std::string>{"llama-spm-tiny-q4_0.gguf",
                                                  "llama-spm-tiny-q4_0.gguf.json"}));
  auto src = read_model_source(source_path(r->path));
  ASSERT_TRUE(src.ok()) << src.error().message;
  EXPECT_EQ(src->repo, kRepo);
  EXPECT_EQ(src->file, kFile);
  EXPECT_EQ(src->sha256, r->sha256);
  EXPECT_TRUE(src->verified);
  EXPECT_EQ(src->url, fx.hub.base_url() + "/" + kRepo + "/resolve/main/" + kFile);
  // The token went to the hub, never to the CDN on another origin.
  const auto hub_req = fx.hub.hub().requests();
  ASSERT_FALSE(hub_req.empty());
  EXPECT_EQ(hub_req[0].header("authorization"), "Bearer hf_secret");
  const auto cdn_req = fx.hub.cdn().requests();
  ASSERT_EQ(cdn_req.size(), 1u);
  EXPECT_EQ(cdn_req[0].header("authorization"), "");
  EXPECT_EQ(cdn_req[0].header("accept-encoding"), "identity");
  // The store lists it with where it came from.
  auto list = fx.store.list();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  ASSERT_TRUE((*list)[0].source.has_value());
  EXPECT_EQ((*list)[0].source->sha256, r->sha256);
}

TEST(Pull, ChoosesTheFileFromTheRepositoryListing) {
  Fixture fx;
  fx.hub.add(kRepo, "tiny-Q4_K_M.gguf", tiny());
  fx.hub.list_only(kRepo, "tiny-Q8_0.gguf");
  fx.hub.list_only(kRepo, "README.md");
  auto r = fx.pull(kRepo);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->file, "tiny-Q4_K_M.gguf");
  EXPECT_EQ(r->name, "tiny-Q4_K_M");
  EXPECT_TRUE(fx.noted("listing the files of " + kRepo));

  fx.hub.list_only("o/several", "a-Q8_0.gguf");
  fx.hub.list_only("o/several", "a-Q2_K.gguf");
  auto several = fx.pull("o/several");
  ASSERT_FALSE(several.ok());
  EXPECT_EQ(several.error().code, ErrorCode::invalid_argument);
  EXPECT_NE(several.error().message.find("a-Q2_K.gguf"), std::string::npos);

  auto missing = fx.pull("o/no-such-repo");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::not_found);
  EXPECT_NE(missing.error().message.find("repository 'o/no-such-repo' was not found"),
            std::string::npos)
      << missing.error().message;
  EXPECT_NE(missing.error().message.find("Repository not found"), std::string::npos);
}

TEST(Pull, NameOverrideAndRelativeRedirects) {
  Fixture fx;
  FakeFile f = tiny(HashIn::etag);
  f.relative_redirect = true;
  fx.hub.add(kRepo, "sub/dir/" + kFile, f);
  PullOptions o = fx.options();
  o.name = "mine:v1";
  auto r = fx.pull(kRepo + ":sub/dir/" + kFile, o);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->name, "mine:v1");
  EXPECT_TRUE(fs::exists(fx.path("mine:v1.gguf")));
  EXPECT_EQ(r->published_sha256, r->sha256);  // from the ETag, after the redirect
  o.name = "../escape";
  auto bad = fx.pull(kRepo + ":sub/dir/" + kFile, o);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::invalid_argument);
  EXPECT_FALSE(fs::exists(fs::path(fx.dir.path()) / "escape.gguf"));
}

TEST(Pull, ResumesAfterTheConnectionDropsMidBody) {
  Fixture fx;
  FakeFile f = tiny();
  f.drops = 2;
  f.drop_after = 1 << 20;
  fx.hub.add(kRepo, kFile, f);
  auto r = fx.pull(kRepo + ":" + kFile);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(test::read_bytes(r->path.string()), model_bytes());
  const auto cdn = fx.hub.cdn().requests();
  ASSERT_EQ(cdn.size(), 3u);
  EXPECT_EQ(cdn[0].header("range"), "");
  EXPECT_EQ(cdn[1].header("range"), "bytes=1048576-");
  EXPECT_EQ(cdn[2].header("range"), "bytes=2097152-");
  EXPECT_TRUE(fx.noted("connection lost"));
}

// Serves the tiny model with its connection cut after 1 MiB and makes one pull attempt, which
// leaves a partial download.
auto interrupted_pull(Fixture& fx) {
  FakeFile f = tiny();
  f.drops = 1;
  f.drop_after = 1 << 20;
  fx.hub.add(kRepo, kFile, f);
  PullOptions once = fx.options();
  once.max_attempts = 1;
  return fx.pull(kRepo + ":" + kFile, once);
}

TEST(Pull, AnInterruptedPullIsResumedByTheNextOne) {
  Fixture fx;
  auto first = interrupted_pull(fx);
  ASSERT_FALSE(first.ok());
  EXPECT_EQ(first.error().code, ErrorCode::unavailable);
  EXPECT_NE(first.error().message.find("run the same command to resume"), std::string::npos)
      << first.error().message;
  EXPECT_EQ(fs::file_size(fx.path("llama-spm-tiny-q4_0.gguf.partial")), 1u << 20);
  EXPECT_FALSE(fs::exists(fx.path("llama-spm-tiny-q4_0.gguf")));
  auto partials = fx.store.partial_downloads();
  ASSERT_EQ(partials->size(), 1u);
  EXPECT_EQ((*partials)[0].bytes, 1u << 20);

  auto second = fx.pull(kRepo + ":" + kFile);
  ASSERT_TRUE(second.ok()) << second.error().message;
  EXPECT_EQ(second->resumed_from, 1u << 20);
  EXPECT_EQ(test::read_bytes(second->path.string()), model_bytes());
  EXPECT_TRUE(fx.noted("resuming the earlier download"));
  EXPECT_TRUE(fx.store.partial_downloads()->empty());
}

TEST(Pull, AServerThatIgnoresRangesMakesItStartOver) {
  Fixture fx;
  ASSERT_FALSE(interrupted_pull(fx).ok());
  fx.hub.set_ignore_range(kRepo, kFile, true);
  auto r = fx.pull(kRepo + ":" + kFile);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->resumed_from, 0u);
  EXPECT_EQ(test::read_bytes(r->path.string()), model_bytes());
  EXPECT_TRUE(fx.noted("cannot resume downloads: starting over"));
}

TEST(Pull, AWholePartialFileIsFinishedWithoutDownloadingAgain) {
  Fixture fx;
  fx.hub.add(kRepo, kFile, tiny());
  fs::create_directories(fx.store.dir());
  const fs::path model = fx.path("llama-spm-tiny-q4_0.gguf");
  test::write_file(partial_path(model).string(),
                   std::vector<uint8_t>(model_bytes().begin(), model_bytes().end()));
  ModelSource src{kRepo, kFile, "main", "u", "", false, 0, ""};
  ASSERT_TRUE(write_model_source(partial_source_path(model), src).ok());
  auto r = fx.pull(kRepo + ":" + kFile);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->resumed_from, model_bytes().size());
  EXPECT_EQ(r->published_sha256, r->sha256);
  const auto cdn = fx.hub.cdn().requests();
  ASSERT_EQ(cdn.size(), 1u);
  EXPECT_EQ(cdn[0].header("range"), "bytes=" + std::to_string(model_bytes().size()) + "-");
}

TEST(Pull, APartialOfAnotherFileIsNotContinued) {
  Fixture fx;
  fx.hub.add(kRepo, kFile, tiny());
  fs::create_directories(fx.store.dir());
  const fs::path model = fx.path("llama-spm-tiny-q4_0.gguf");
  test::write_file(partial_path(model).string(), std::vector<uint8_t>(1000, 0xee));
  ModelSource other{"someone/else", kFile, "main", "u", "", false, 0, ""};
  ASSERT_TRUE(write_model_source(partial_source_path(model), other).ok());
  auto r = fx.pull(kRepo + ":" + kFile);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->resumed_from, 0u);
  EXPECT_EQ(fx.hub.cdn().requests()[0].header("range"), "");
}

TEST(Pull, AFileChangedOnTheServerSinceThePartialIsStartedAgain) {
  Fixture fx;
  ASSERT_FALSE(interrupted_pull(fx).ok());
  std::string changed = model_bytes();
  changed[changed.size() - 1] ^= 1;
  fx.hub.set_bytes(kRepo, kFile, changed);
  auto r = fx.pull(kRepo + ":" + kFile);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->resumed_from, 0u);
  EXPECT_EQ(test::read_bytes(r->path.string()), changed);
  EXPECT_TRUE(fx.noted("the file changed on the server"));
}

TEST(Pull, AWrongHashDeletesTheDownload) {
  Fixture fx;
  FakeFile f = tiny();
  f.published_sha = test::sha256_of("something else");
  fx.hub.add(kRepo, kFile, f);
  auto r = fx.pull(kRepo + ":" + kFile);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::malformed);
  EXPECT_NE(r.error().message.find(f.published_sha), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find(test::sha256_of(model_bytes())), std::string::npos);
  EXPECT_TRUE(fx.files().empty()) << fx.files()[0];
}

TEST(Pull, HashFromTheTreeOrNoneAtAll) {
  Fixture fx;
  fx.hub.add(kRepo, "a.gguf", tiny(HashIn::tree));
  fx.hub.add(kRepo, "b.gguf", tiny(HashIn::nowhere));
  auto a = fx.pull(kRepo + ":a.gguf");
  ASSERT_TRUE(a.ok()) << a.error().message;
  EXPECT_EQ(a->published_sha256, a->sha256);
  auto b = fx.pull(kRepo + ":b.gguf");
  ASSERT_TRUE(b.ok()) << b.error().message;
  EXPECT_EQ(b->published_sha256, "");
  EXPECT_EQ(b->sha256, test::sha256_of(model_bytes()));
  auto src = read_model_source(source_path(b->path));
  ASSERT_TRUE(src.ok());
  EXPECT_FALSE(src->verified);
  EXPECT_EQ(src->sha256, b->sha256);
}

TEST(Pull, NotAGgufFileIsNotKept) {
  Fixture fx;
  FakeFile f;
  f.bytes = "<html>Sign in to continue</html>";
  fx.hub.add(kRepo, "login.gguf", f);
  auto r = fx.pull(kRepo + ":login.gguf");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::malformed);
  EXPECT_NE(r.error().message.find("not a readable GGUF"), std::string::npos) << r.error().message;
  EXPECT_TRUE(fx.files().empty());
}

TEST(Pull, PullingAgainIsUpToDateAndReplacesANewerVersion) {
  Fixture fx;
  fx.hub.add(kRepo, kFile, tiny());
  ASSERT_TRUE(fx.pull(kRepo + ":" + kFile).ok());
  const size_t cdn_before = fx.hub.cdn().requests().size();
  auto again = fx.pull(kRepo + ":" + kFile);
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_TRUE(again->up_to_date);
  EXPECT_EQ(fx.hub.cdn().requests().size(), cdn_before);  // nothing downloaded
  std::string changed = model_bytes();
  changed[changed.size() - 1] ^= 1;
  fx.hub.set_bytes(kRepo, kFile, changed);
  auto newer = fx.pull(kRepo + ":" + kFile);
  ASSERT_TRUE(newer.ok()) << newer.error().message;
  EXPECT_FALSE(newer->up_to_date);
  EXPECT_EQ(test::read_bytes(newer->path.string()), changed);
}

TEST(Pull, AModelFromElsewhereIsNeverOverwritten) {
  Fixture fx;
  fx.hub.add(kRepo, kFile, tiny());
  fs::create_directories(fx.store.dir());
  test::write_file(fx.path("llama-spm-tiny-q4_0.gguf").string(), {1, 2, 3});
  auto r = fx.pull(kRepo + ":" + kFile);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::invalid_argument);
  EXPECT_NE(r.error().message.find("not pulled by tessera"), std::string::npos);
  EXPECT_NE(r.error().message.find("--name"), std::string::npos);
  EXPECT_EQ(fs::file_size(fx.path("llama-spm-tiny-q4_0.gguf")), 3u);
}

TEST(Pull, RefusalsNameTheRepositoryAndFile) {
  Fixture fx;
  FakeFile gated = tiny();
  gated.status = 401;
  fx.hub.add(kRepo, "gated.gguf", gated);
  FakeFile broken = tiny();
  broken.status = 500;
  fx.hub.add(kRepo, "busy.gguf", broken);
  auto g = fx.pull(kRepo + ":gated.gguf");
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.error().code, ErrorCode::not_found);
  EXPECT_NE(g.error().message.find("HTTP 401"), std::string::npos) << g.error().message;
  EXPECT_NE(g.error().message.find("set HF_TOKEN"), std::string::npos);
  PullOptions with_token = fx.options();
  with_token.http.bearer_token = "hf_wrong";
  auto g2 = fx.pull(kRepo + ":gated.gguf", with_token);
  ASSERT_FALSE(g2.ok());
  EXPECT_NE(g2.error().message.find("the token in HF_TOKEN was refused"), std::string::npos);
  EXPECT_EQ(g2.error().message.find("hf_wrong"), std::string::npos);  // never printed
  auto missing = fx.pull(kRepo + ":missing.gguf");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::not_found);
  EXPECT_NE(missing.error().message.find("file 'missing.gguf' in repository '" + kRepo + "'"),
            std::string::npos)
      << missing.error().message;
  EXPECT_NE(missing.error().message.find("Entry not found"), std::string::npos);
  auto busy = fx.pull(kRepo + ":busy.gguf");
  ASSERT_FALSE(busy.ok());
  EXPECT_EQ(busy.error().code, ErrorCode::unavailable);
  EXPECT_NE(busy.error().message.find("HTTP 500"), std::string::npos);
  EXPECT_TRUE(fx.files().empty());
}

TEST(Pull, NoServerGivesACleanErrorQuickly) {
  Fixture fx;
  PullOptions o = fx.options();
  o.base_url = "http://127.0.0.1:" + std::to_string(test::closed_port());
  const auto start = std::chrono::steady_clock::now();
  auto r = fx.pull(kRepo + ":" + kFile, o);
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::unavailable);
  EXPECT_NE(r.error().message.find(o.base_url + "/" + kRepo + "/resolve/main/" + kFile),
            std::string::npos)
      << r.error().message;
  EXPECT_NE(r.error().message.find("connection refused"), std::string::npos);
  EXPECT_NE(r.error().message.find("HF_ENDPOINT"), std::string::npos);
  EXPECT_LT(secs, 2.0);
  EXPECT_TRUE(fx.files().empty());
}

TEST(Pull, AHostThatDoesNotResolveIsNamed) {
  Fixture fx;
  PullOptions o = fx.options();
  o.base_url = "http://no-such-host.invalid";
  auto r = fx.pull(kRepo + ":" + kFile, o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::unavailable);
  EXPECT_NE(r.error().message.find("cannot resolve the host name 'no-such-host.invalid'"),
            std::string::npos)
      << r.error().message;
}

TEST(Pull, AServerThatNeverAnswersTimesOut) {
  Fixture fx;
  FakeFile f = tiny();
  f.hang = true;
  fx.hub.add(kRepo, kFile, f);
  PullOptions o = fx.options();
  o.http.read_timeout = std::chrono::milliseconds(300);
  const auto start = std::chrono::steady_clock::now();
  auto r = fx.pull(kRepo + ":" + kFile, o);
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::unavailable);
  EXPECT_NE(r.error().message.find("sent nothing for 0.3 s"), std::string::npos)
      << r.error().message;
  EXPECT_LT(secs, 2.0);
}

TEST(Pull, TwoPullsOfOneNameDoNotInterleave) {
  Fixture fx;
  fx.hub.add(kRepo, kFile, tiny());
  fs::create_directories(fx.store.dir());
  auto held = NameLock::acquire(fx.store.dir(), "llama-spm-tiny-q4_0");
  ASSERT_TRUE(held.ok());
  auto r = fx.pull(kRepo + ":" + kFile);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::unavailable);
  EXPECT_NE(r.error().message.find("another tessera process"), std::string::npos);
  EXPECT_TRUE(fx.hub.cdn().requests().empty());
}

TEST(Pull, AStoreThatCannotBeWrittenIsAnIoError) {
  Fixture fx;
  fx.hub.add(kRepo, kFile, tiny());
  // /proc refuses new files even to root.
  ModelStore proc("/proc/tessera-test/models");
  auto ref = parse_pull_ref(kRepo + ":" + kFile);
  auto r = pull_model(proc, *ref, fx.options());
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(fx.hub.hub().requests().empty());
  EXPECT_EQ(r.error().code, ErrorCode::io_error);
  EXPECT_NE(r.error().message.find("/proc/tessera-test"), std::string::npos) << r.error().message;
}

TEST(Pull, AReadOnlyModelsFolderIsAnIoError) {
  if (geteuid() == 0) GTEST_SKIP() << "root may write into read-only folders";
  Fixture fx;
  fx.hub.add(kRepo, kFile, tiny());
  fs::create_directories(fx.store.dir());
  fs::permissions(fx.store.dir(), fs::perms::owner_read | fs::perms::owner_exec);
  auto ro = fx.pull(kRepo + ":" + kFile);
  fs::permissions(fx.store.dir(), fs::perms::owner_all);
  ASSERT_FALSE(ro.ok());
  EXPECT_EQ(ro.error().code, ErrorCode::io_error);
  EXPECT_NE(ro.error().message.find("Permission denied"), std::string::npos);
}

TEST(Pull, BadRevisionsAreRefusedBeforeAnyRequest) {
  Fixture fx;
  PullOptions o = fx.options();
  o.revision = "../../x";
  auto r = fx.pull(kRepo + ":" + kFile, o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::invalid_argument);
  EXPECT_TRUE(fx.hub.hub().requests().empty());
}

TEST(HttpGet, ContentRangeHeaders) {
  auto r = parse_content_range("bytes 100-199/1000");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->has_range);
  EXPECT_EQ(r->start, 100u);
  EXPECT_EQ(r->end, 199u);
  EXPECT_EQ(r->total, 1000u);
  r = parse_content_range("bytes */1000");
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->has_range);
  EXPECT_EQ(r->total, 1000u);
  r = parse_content_range("bytes 0-9/*");
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->has_total);
  for (const char* bad : {"", "bytes", "bytes 5-4/10", "bytes 0-10/10", "items 0-1/2", "bytes */*",
                          "bytes 1-2/3x", "bytes 99999999999999999999-1/2", "bytes -1/2"}) {
    EXPECT_FALSE(parse_content_range(bad).ok()) << bad;
  }
}

TEST(HttpGet, RedirectLoopsEnd) {
  test::HttpFixture loop([](const test::FixtureRequest&) {
    test::FixtureResponse r;
    r.status = 302;
    r.headers.emplace_back("Location", "/again");
    return r;
  });
  HttpOptions o;
  o.max_redirects = 3;
  auto r = http_get(loop.url() + "/start", {}, o, nullptr, nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::unavailable);
  EXPECT_NE(r.error().message.find("more than 3 redirects"), std::string::npos);
  EXPECT_EQ(loop.requests().size(), 4u);
}

TEST(HttpGet, ABadLocationIsAnError) {
  test::HttpFixture bad([](const test::FixtureRequest&) {
    test::FixtureResponse r;
    r.status = 302;
    r.headers.emplace_back("Location", "ftp://elsewhere/x");
    return r;
  });
  auto r = http_get(bad.url() + "/", {}, HttpOptions{}, nullptr, nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("redirected to a bad Location"), std::string::npos);
}

TEST(HttpGet, TextBodiesAreBounded) {
  test::HttpFixture big([](const test::FixtureRequest&) {
    test::FixtureResponse r;
    r.body = std::string(5000, 'x');
    return r;
  });
  auto r = http_get_text(big.url() + "/", {}, HttpOptions{}, 1000);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::out_of_range);
  auto ok = http_get_text(big.url() + "/", {}, HttpOptions{}, 10000);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->body.size(), 5000u);
}

}  // namespace
}  // namespace tessera::runtime
