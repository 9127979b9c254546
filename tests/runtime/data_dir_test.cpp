#include "runtime/data_dir.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <optional>
#include <string>

namespace tessera::runtime {
namespace {

// Sets or unsets an environment variable for one test and restores it afterwards.
class EnvVar {
 public:
  EnvVar(const char* name, const char* value) : name_(name) {
    if (const char* old = getenv(name)) old_ = old;
    if (value) {
      setenv(name, value, 1);
    } else {
      unsetenv(name);
    }
  }
  ~EnvVar() {
    if (old_) {
      setenv(name_, old_->c_str(), 1);
    } else {
      unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

TEST(DataDir, ExplicitPathWinsOverTheEnvironment) {
  EnvVar a("TESSERA_DATA_DIR", "/srv/other");
  auto d = resolve_data_dir("/srv/tessera/");
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_EQ(d->root, "/srv/tessera/");
  EXPECT_EQ(d->source, "--data-dir");
  EXPECT_EQ(d->models(), "/srv/tessera/models");
}

TEST(DataDir, OrderOfTheFallbacks) {
  EnvVar a("TESSERA_DATA_DIR", nullptr);
  EnvVar b("XDG_DATA_HOME", "/x/data");
  EnvVar c("HOME", "/home/u");
  auto d = resolve_data_dir(std::nullopt);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->root, "/x/data/tessera");
  EXPECT_EQ(d->source, "XDG_DATA_HOME");
  {
    EnvVar rel("XDG_DATA_HOME", "relative/not/allowed");  // the XDG spec ignores relative paths
    auto h = resolve_data_dir(std::nullopt);
    ASSERT_TRUE(h.ok());
    EXPECT_EQ(h->root, "/home/u/.local/share/tessera");
  }
  EnvVar t("TESSERA_DATA_DIR", "/t");
  EXPECT_EQ(resolve_data_dir(std::nullopt)->root, "/t");
}

TEST(DataDir, EmptyValuesAndNoHomeAreExplained) {
  {
    EnvVar a("TESSERA_DATA_DIR", "");
    auto d = resolve_data_dir(std::nullopt);
    ASSERT_FALSE(d.ok());
    EXPECT_NE(d.error().message.find("TESSERA_DATA_DIR is empty"), std::string::npos);
  }
  EnvVar a("TESSERA_DATA_DIR", nullptr);
  EnvVar b("XDG_DATA_HOME", nullptr);
  EnvVar c("HOME", nullptr);
  auto d = resolve_data_dir(std::nullopt);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error().code, ErrorCode::invalid_argument);
  EXPECT_NE(d.error().message.find("--data-dir"), std::string::npos);
}

TEST(DataDir, EnsureDirectoryCreatesAndRefusesFiles) {
  const std::string base = testing::TempDir() + "data_dir_test";
  std::filesystem::remove_all(base);
  ASSERT_TRUE(ensure_directory(base + "/a/b").ok());
  EXPECT_TRUE(std::filesystem::is_directory(base + "/a/b"));
  ASSERT_TRUE(ensure_directory(base + "/a/b").ok());  // idempotent
  {
    std::FILE* f = std::fopen((base + "/file").c_str(), "w");
    std::fclose(f);
  }
  auto s = ensure_directory(base + "/file");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("not a directory"), std::string::npos);
  std::filesystem::remove_all(base);
}

}  // namespace
}  // namespace tessera::runtime
