#include "runtime/model_store.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "runtime/name_lock.h"
#include "support/fake_hub.h"
#include "support/test_support.h"

namespace tessera::runtime {
namespace {

namespace fs = std::filesystem;

const std::string kModel = "models/llama-spm-tiny-q4_0.gguf";

void put(const fs::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

const ModelEntry* find(const std::vector<ModelEntry>& list, const std::string& name) {
  for (const auto& e : list) {
    if (e.name == name) return &e;
  }
  return nullptr;
}

TEST(ModelStore, AMissingOrEmptyDirectoryIsAnEmptyStore) {
  test::TempDir dir;
  ModelStore missing(fs::path(dir.path()) / "models");
  auto l = missing.list();
  ASSERT_TRUE(l.ok());
  EXPECT_TRUE(l->empty());
  EXPECT_FALSE(fs::exists(missing.dir()));  // listing creates nothing
  put(fs::path(dir.path()) / "file", "x");
  auto not_dir = ModelStore(fs::path(dir.path()) / "file").list();
  ASSERT_FALSE(not_dir.ok());
  EXPECT_EQ(not_dir.error().code, ErrorCode::io_error);
}

TEST(ModelStore, ListsModelsWithWhatTheFileSays) {
  test::TempDir dir;
  ModelStore store(dir.path());
  fs::copy_file(test::testdata(kModel), fs::path(dir.path()) / "tiny.gguf");
  put(fs::path(dir.path()) / "README.txt", "not a model");
  put(fs::path(dir.path()) / "tiny.gguf.lock", "");
  auto l = store.list();
  ASSERT_TRUE(l.ok());
  ASSERT_EQ(l->size(), 1u);
  const ModelEntry& e = (*l)[0];
  EXPECT_EQ(e.name, "tiny");
  EXPECT_EQ(e.status, ModelStatus::ok) << e.reason;
  EXPECT_EQ(e.reason, "");
  EXPECT_EQ(e.architecture, "llama");
  EXPECT_EQ(e.kind, engine::ModelKind::decoder);
  EXPECT_GT(e.parameters, 0u);
  EXPECT_FALSE(e.quantization.empty());
  EXPECT_GT(e.context_length, 0);
  EXPECT_EQ(e.size, fs::file_size(test::testdata(kModel)));
  EXPECT_GT(e.modified, 0);
  EXPECT_FALSE(e.source.has_value());
}

// A corrupt or truncated file is listed as broken with the reader's reason; never a crash.
TEST(ModelStore, BrokenFilesAreListedWithTheReason) {
  test::TempDir dir;
  const fs::path d = dir.path();
  ModelStore store(d);
  const std::string good = test::read_bytes(test::testdata(kModel));
  put(d / "truncated.gguf", good.substr(0, good.size() / 2));
  put(d / "header-only.gguf", good.substr(0, 30));
  put(d / "garbage.gguf", "this is not a GGUF file at all, just text");
  put(d / "empty.gguf", "");
  put(d / "my model.gguf", good);
  fs::create_directory(d / "folder.gguf");
  fs::create_symlink(d / "nowhere.gguf", d / "dangling.gguf");
  fs::copy_file(test::testdata("vocab/ggml-vocab-llama-spm.gguf"), d / "vocab.gguf");
  auto l = store.list();
  ASSERT_TRUE(l.ok());
  ASSERT_EQ(l->size(), 8u);
  for (const char* name :
       {"truncated", "header-only", "garbage", "empty", "my model", "folder", "dangling"}) {
    const ModelEntry* e = find(*l, name);
    ASSERT_NE(e, nullptr) << name;
    EXPECT_EQ(e->status, ModelStatus::broken) << name;
    EXPECT_FALSE(e->reason.empty()) << name;
  }
  EXPECT_NE(find(*l, "truncated")->reason.find("past the end"), std::string::npos)
      << find(*l, "truncated")->reason;
  EXPECT_NE(find(*l, "garbage")->reason.find("garbage.gguf"), std::string::npos);
  EXPECT_NE(find(*l, "my model")->reason.find("a space at byte 2"), std::string::npos);
  EXPECT_NE(find(*l, "folder")->reason.find("not a regular file"), std::string::npos);
  const ModelEntry* vocab = find(*l, "vocab");
  EXPECT_EQ(vocab->status, ModelStatus::unsupported);
  EXPECT_NE(vocab->reason.find("vocabulary-only"), std::string::npos);
}

TEST(ModelStore, PartialDownloadsAreListedApart) {
  test::TempDir dir;
  const fs::path d = dir.path();
  put(d / "half.gguf.partial", "12345");
  put(d / "..gguf.partial", "x");  // not a valid name: not offered
  ModelSource src{"o/r", "half.gguf", "main", "http://h/o/r/resolve/main/half.gguf",
                  "",    false,       0,      ""};
  ASSERT_TRUE(write_model_source(d / "half.gguf.partial.json", src).ok());
  ModelStore store(d);
  EXPECT_TRUE(store.list()->empty());
  auto p = store.partial_downloads();
  ASSERT_TRUE(p.ok());
  ASSERT_EQ(p->size(), 1u);
  EXPECT_EQ((*p)[0].name, "half");
  EXPECT_EQ((*p)[0].bytes, 5u);
  ASSERT_TRUE((*p)[0].source.has_value());
  EXPECT_EQ((*p)[0].source->repo, "o/r");
}

TEST(ModelStore, ResolveFindsModelsAndSuggestsCloseNames) {
  test::TempDir dir;
  ModelStore store(dir.path());
  fs::copy_file(test::testdata(kModel), fs::path(dir.path()) / "qwen2-tiny.gguf");
  auto p = store.resolve("qwen2-tiny");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(*p, fs::path(dir.path()) / "qwen2-tiny.gguf");
  auto typo = store.resolve("qwen2-tyni");
  ASSERT_FALSE(typo.ok());
  EXPECT_EQ(typo.error().code, ErrorCode::not_found);
  EXPECT_NE(typo.error().message.find("did you mean 'qwen2-tiny'"), std::string::npos)
      << typo.error().message;
  auto bad = store.resolve("../qwen2-tiny");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::invalid_argument);
  auto empty = ModelStore(fs::path(dir.path()) / "none").resolve("x");
  ASSERT_FALSE(empty.ok());
  EXPECT_NE(empty.error().message.find("the store is empty"), std::string::npos);
}

TEST(ModelStore, RemoveDeletesTheModelItsSidecarAndItsPartialDownload) {
  test::TempDir dir;
  const fs::path d = dir.path();
  ModelStore store(d);
  put(d / "m.gguf", "0123456789");
  put(d / "m.gguf.json", "{}");
  put(d / "m.gguf.partial", "01234");
  put(d / "m.gguf.partial.json", "{}");
  put(d / "keep.gguf", "x");
  auto r = store.remove("m");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(r->model);
  EXPECT_TRUE(r->partial);
  EXPECT_EQ(r->bytes, 15u);
  for (const char* f :
       {"m.gguf", "m.gguf.json", "m.gguf.partial", "m.gguf.partial.json", "m.gguf.lock"}) {
    EXPECT_FALSE(fs::exists(d / f)) << f;
  }
  EXPECT_TRUE(fs::exists(d / "keep.gguf"));
  auto again = store.remove("m");
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, ErrorCode::not_found);
}

// Names with path separators, dot-dot, NUL, nothing or too much are refused before any file
// is touched: nothing outside the models directory can be deleted.
TEST(ModelStore, RemoveRefusesNamesThatCouldLeaveTheDirectory) {
  test::TempDir dir;
  const fs::path models = fs::path(dir.path()) / "models";
  fs::create_directory(models);
  put(fs::path(dir.path()) / "x.gguf", "outside");
  put(fs::path(dir.path()) / "secret", "outside");
  ModelStore store(models);
  for (const std::string& name :
       {std::string("../x"), std::string("../secret"), std::string("a/b"), std::string(".."),
        std::string("."), std::string(""), std::string(200, 'a'), std::string("x\0y", 3),
        std::string("..\\x"), std::string("/etc/passwd")}) {
    auto r = store.remove(name);
    ASSERT_FALSE(r.ok()) << name;
    EXPECT_EQ(r.error().code, ErrorCode::invalid_argument) << name;
  }
  EXPECT_TRUE(fs::exists(fs::path(dir.path()) / "x.gguf"));
  EXPECT_TRUE(fs::exists(fs::path(dir.path()) / "secret"));
}

TEST(ModelStore, RemoveDeletesALinkNotWhatItPointsTo) {
  test::TempDir dir;
  const fs::path models = fs::path(dir.path()) / "models";
  fs::create_directory(models);
  put(fs::path(dir.path()) / "real.gguf", "bytes");
  fs::create_symlink(fs::path(dir.path()) / "real.gguf", models / "linked.gguf");
  auto r = ModelStore(models).remove("linked");
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(fs::exists(models / "linked.gguf"));
  EXPECT_TRUE(fs::exists(fs::path(dir.path()) / "real.gguf"));
}

TEST(ModelStore, RemoveIsRefusedWhileAPullHoldsTheName) {
  test::TempDir dir;
  put(fs::path(dir.path()) / "busy.gguf", "x");
  auto lock = NameLock::acquire(dir.path(), "busy");
  ASSERT_TRUE(lock.ok());
  auto r = ModelStore(dir.path()).remove("busy");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::unavailable);
  EXPECT_NE(r.error().message.find("busy.gguf.lock"), std::string::npos);
  EXPECT_TRUE(fs::exists(fs::path(dir.path()) / "busy.gguf"));
}

TEST(NameLock, OneHolderAtATimeAndTheFileGoesWithIt) {
  test::TempDir dir;
  {
    auto a = NameLock::acquire(dir.path(), "m");
    ASSERT_TRUE(a.ok());
    EXPECT_TRUE(fs::exists(fs::path(dir.path()) / "m.gguf.lock"));
    auto b = NameLock::acquire(dir.path(), "m");
    ASSERT_FALSE(b.ok());
    EXPECT_EQ(b.error().code, ErrorCode::unavailable);
    auto other = NameLock::acquire(dir.path(), "n");
    EXPECT_TRUE(other.ok());
  }
  EXPECT_FALSE(fs::exists(fs::path(dir.path()) / "m.gguf.lock"));
  EXPECT_TRUE(NameLock::acquire(dir.path(), "m").ok());
  auto nowhere = NameLock::acquire(fs::path(dir.path()) / "missing", "m");
  ASSERT_FALSE(nowhere.ok());
  EXPECT_EQ(nowhere.error().code, ErrorCode::io_error);
}

TEST(ModelSource, RoundTripsAndRefusesMalformedSidecars) {
  test::TempDir dir;
  const fs::path p = fs::path(dir.path()) / "m.gguf.json";
  ModelSource s{"o/r",
                "f.gguf",
                "main",
                "http://h/f",
                std::string(64, 'a'),
                true,
                42,
                "2025-01-01T00:00:00Z"};
  ASSERT_TRUE(write_model_source(p, s).ok());
  auto back = read_model_source(p);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->repo, "o/r");
  EXPECT_EQ(back->sha256, s.sha256);
  EXPECT_TRUE(back->verified);
  EXPECT_EQ(back->size, 42u);
  for (const char* bad :
       {"", "[]", "{\"schema\":\"other\"}", R"({"schema":"tessera.model-source.v1","repo":1})",
        R"({"schema":"tessera.model-source.v1","repo":"o","file":"f",
                              "revision":"main","url":"u","sha256":"xyz","size":1})",
        R"({"schema":"tessera.model-source.v1","repo":"o","file":"f",
                              "revision":"main","url":"u","sha256":null,"size":-1})"}) {
    put(p, bad);
    auto r = read_model_source(p);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code, ErrorCode::malformed) << bad;
  }
  put(p, std::string(70000, ' '));
  EXPECT_FALSE(read_model_source(p).ok());
  EXPECT_EQ(read_model_source(fs::path(dir.path()) / "none.json").error().code,
            ErrorCode::not_found);
}

}  // namespace
}  // namespace tessera::runtime
