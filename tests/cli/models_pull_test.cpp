// `tessera models`, `tessera models rm` and `tessera pull` as a user runs them: the binary
// against a fake Hub served from this test process on 127.0.0.1 (support/fake_hub.h).
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "support/fake_hub.h"
#include "support/test_support.h"

namespace tessera {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const std::string kRepo = "tessera-test/Tiny-GGUF";
const std::string kFile = "llama-spm-tiny-q4_0.gguf";

// Runs the binary without the caller's Hugging Face settings, stderr merged.
test::CommandResult tessera_cmd(const std::string& args) {
  return test::run_command("env -u HF_TOKEN -u HF_ENDPOINT -u TESSERA_DATA_DIR " +
                           std::string(TESSERA_BIN) + " " + args + " 2>&1");
}

std::string quoted(const std::string& s) {
  return "'" + s + "'";
}

struct CliHub {
  test::FakeHub hub;
  test::TempDir dir;

  CliHub() {
    test::FakeFile f;
    f.bytes = test::read_bytes(test::testdata("models/" + kFile));
    hub.add(kRepo, kFile, f);
  }
  std::string data() const { return "--data-dir " + quoted(dir.path()); }
  fs::path models() const { return fs::path(dir.path()) / "models"; }
  test::CommandResult pull(const std::string& args) {
    return tessera_cmd("pull " + args + " --base-url " + hub.base_url() + " " + data());
  }
};

TEST(ModelsCommand, AnEmptyStore) {
  test::TempDir dir;
  auto r = tessera_cmd("models --data-dir " + quoted(dir.path()));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("no models in " + dir.path() + "/models"), std::string::npos) << r.output;
  auto j = tessera_cmd("models --json --data-dir " + quoted(dir.path()));
  ASSERT_EQ(j.exit_code, 0) << j.output;
  json doc = json::parse(j.output);
  EXPECT_EQ(doc["schema"], "tessera.models.v1");
  EXPECT_EQ(doc["directory"], dir.path() + "/models");
  EXPECT_TRUE(doc["models"].empty());
  EXPECT_TRUE(doc["partial_downloads"].empty());
}

TEST(PullCommand, PullListRemove) {
  CliHub h;
  auto p = h.pull(kRepo + ":" + kFile);
  ASSERT_EQ(p.exit_code, 0) << p.output;
  EXPECT_NE(p.output.find("pulled llama-spm-tiny-q4_0"), std::string::npos) << p.output;
  EXPECT_NE(p.output.find("sha256 " +
                          test::sha256_of(test::read_bytes(test::testdata("models/" + kFile))) +
                          ": verified"),
            std::string::npos)
      << p.output;
  EXPECT_EQ(p.output.find("\r"), std::string::npos);  // no progress bar without a terminal
  EXPECT_TRUE(fs::exists(h.models() / "llama-spm-tiny-q4_0.gguf"));

  auto again = h.pull(kRepo + ":" + kFile);
  ASSERT_EQ(again.exit_code, 0) << again.output;
  EXPECT_NE(again.output.find("is up to date"), std::string::npos) << again.output;

  auto list = tessera_cmd("models " + h.data());
  ASSERT_EQ(list.exit_code, 0) << list.output;
  for (const char* col : {"NAME", "SIZE", "MODIFIED", "ARCH", "PARAMS", "QUANT", "STATUS"}) {
    EXPECT_NE(list.output.find(col), std::string::npos) << col;
  }
  EXPECT_NE(list.output.find("llama-spm-tiny-q4_0"), std::string::npos);
  EXPECT_NE(list.output.find("just now"), std::string::npos);
  EXPECT_NE(list.output.find("llama"), std::string::npos);

  auto j = tessera_cmd("models --json " + h.data());
  ASSERT_EQ(j.exit_code, 0) << j.output;
  json doc = json::parse(j.output);
  ASSERT_EQ(doc["models"].size(), 1u);
  const json& m = doc["models"][0];
  EXPECT_EQ(m["name"], "llama-spm-tiny-q4_0");
  EXPECT_EQ(m["status"], "ok");
  EXPECT_EQ(m["reason"], nullptr);
  EXPECT_EQ(m["architecture"], "llama");
  EXPECT_EQ(m["kind"], "decoder");
  EXPECT_GT(m["parameters"].get<uint64_t>(), 0u);
  EXPECT_EQ(m["size_bytes"], fs::file_size(h.models() / "llama-spm-tiny-q4_0.gguf"));
  EXPECT_EQ(m["source"]["repo"], kRepo);
  EXPECT_EQ(m["source"]["verified"], true);

  auto rm = tessera_cmd("models rm llama-spm-tiny-q4_0 " + h.data());
  ASSERT_EQ(rm.exit_code, 0) << rm.output;
  EXPECT_NE(rm.output.find("deleted llama-spm-tiny-q4_0"), std::string::npos) << rm.output;
  EXPECT_FALSE(fs::exists(h.models() / "llama-spm-tiny-q4_0.gguf"));
  auto gone = tessera_cmd("models rm llama-spm-tiny-q4_0 " + h.data());
  EXPECT_EQ(gone.exit_code, 3) << gone.output;
  EXPECT_NE(gone.output.find("tessera: error: no model named 'llama-spm-tiny-q4_0'"),
            std::string::npos)
      << gone.output;
}

TEST(ModelsCommand, BrokenFilesAreListedWithTheirReason) {
  test::TempDir dir;
  const fs::path models = fs::path(dir.path()) / "models";
  fs::create_directories(models);
  const std::string good = test::read_bytes(test::testdata("models/" + kFile));
  test::write_file((models / "cut.gguf").string(),
                   std::vector<uint8_t>(good.begin(), good.begin() + 1000));
  test::write_file((models / "junk.gguf").string(), {'h', 'e', 'l', 'l', 'o'});
  auto r = tessera_cmd("models --data-dir " + quoted(dir.path()));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("cut is broken: "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("junk is broken: "), std::string::npos) << r.output;
  auto j = tessera_cmd("models --json --data-dir " + quoted(dir.path()));
  ASSERT_EQ(j.exit_code, 0) << j.output;
  json doc = json::parse(j.output);
  ASSERT_EQ(doc["models"].size(), 2u);
  for (const json& m : doc["models"]) {
    EXPECT_EQ(m["status"], "broken");
    EXPECT_TRUE(m["reason"].is_string());
    EXPECT_EQ(m["architecture"], nullptr);
  }
}

TEST(ModelsCommand, RmRefusesNamesWithPathsInThem) {
  test::TempDir dir;
  fs::create_directories(fs::path(dir.path()) / "models");
  test::write_file(dir.file("x.gguf"), {1});
  for (const char* name : {"../x", "a/b", "..", "''", "/etc/passwd"}) {
    auto r = tessera_cmd(std::string("models rm ") + name + " --data-dir " + quoted(dir.path()));
    EXPECT_EQ(r.exit_code, 2) << name << ": " << r.output;
    EXPECT_NE(r.output.find("tessera: error: model name"), std::string::npos) << r.output;
  }
  EXPECT_TRUE(fs::exists(dir.file("x.gguf")));
}

TEST(PullCommand, FailuresHaveCleanMessagesAndExitCodes) {
  CliHub h;
  auto missing = h.pull(kRepo + ":nothing.gguf");
  EXPECT_EQ(missing.exit_code, 3) << missing.output;
  EXPECT_NE(missing.output.find("tessera: error: GET "), std::string::npos) << missing.output;

  auto bad_ref = h.pull("../etc:passwd.gguf");
  EXPECT_EQ(bad_ref.exit_code, 2) << bad_ref.output;

  auto bad_name = h.pull(kRepo + ":" + kFile + " --name ../up");
  EXPECT_EQ(bad_name.exit_code, 2) << bad_name.output;

  const auto start = std::chrono::steady_clock::now();
  auto offline = tessera_cmd("pull " + kRepo + ":" + kFile + " --base-url http://127.0.0.1:" +
                             std::to_string(test::closed_port()) + " " + h.data());
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(offline.exit_code, 8) << offline.output;
  EXPECT_NE(offline.output.find("connection refused"), std::string::npos) << offline.output;
  EXPECT_LT(secs, 5.0);

  auto readonly = tessera_cmd("pull " + kRepo + ":" + kFile + " --base-url " + h.hub.base_url() +
                              " --data-dir /proc/tessera-test");
  EXPECT_EQ(readonly.exit_code, 4) << readonly.output;
  EXPECT_NE(readonly.output.find("/proc/tessera-test/models"), std::string::npos)
      << readonly.output;
}

TEST(PullCommand, HfEndpointChoosesTheServer) {
  CliHub h;
  auto r =
      test::run_command("env -u HF_TOKEN HF_ENDPOINT=" + h.hub.base_url() + " " +
                        std::string(TESSERA_BIN) + " pull " + kRepo + " " + h.data() + " 2>&1");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("listing the files of " + kRepo), std::string::npos) << r.output;
  EXPECT_TRUE(fs::exists(h.models() / "llama-spm-tiny-q4_0.gguf"));
}

}  // namespace
}  // namespace tessera
