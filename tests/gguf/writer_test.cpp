// The GGUF writer: argument checks, atomic files, streaming producers.
#include "gguf/writer.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "gguf/reader.h"
#include "support/test_support.h"

namespace tessera::gguf {
namespace {

TEST(GgufWriter, RejectsBadTensors) {
  Writer w;
  std::vector<uint8_t> d(64);
  EXPECT_FALSE(w.add_tensor("", TensorType::F32, {16}, d).ok());
  EXPECT_FALSE(w.add_tensor(std::string(64, 'x'), TensorType::F32, {16}, d).ok());
  EXPECT_FALSE(w.add_tensor("a", TensorType::F32, {}, d).ok());
  EXPECT_FALSE(w.add_tensor("a", TensorType::F32, {1, 1, 1, 1, 16}, d).ok());
  EXPECT_FALSE(w.add_tensor("a", TensorType::F32, {-16}, d).ok());
  auto e = w.add_tensor("a", TensorType::Q4_K, {128}, d);
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.error().message.find("not a multiple of the Q4_K block size 256"), std::string::npos);
  EXPECT_TRUE(w.add_tensor("a", TensorType::F32, {16}, d).ok());
  EXPECT_FALSE(w.add_tensor("a", TensorType::F32, {16}, d).ok());  // duplicate
}

TEST(GgufWriter, DataOfTheWrongSizeFailsTheWrite) {
  Writer w;
  std::vector<uint8_t> d(10);
  ASSERT_TRUE(w.add_tensor("a", TensorType::F32, {16}, d).ok());
  auto r = w.write_to_buffer();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("10 bytes given, 64 expected"), std::string::npos);
}

TEST(GgufWriter, FailedWriteLeavesNoFile) {
  test::TempDir dir;
  const std::string path = dir.file("m.gguf");
  Writer w;
  ASSERT_TRUE(w.add_tensor("a", TensorType::F32, {4}, [](std::span<uint8_t>) -> Status {
                 return make_error(ErrorCode::io_error, "producer failed");
               }).ok());
  auto st = w.write(path);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().message, "producer failed");
  EXPECT_FALSE(std::filesystem::exists(path));
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
}

TEST(GgufWriter, WritesFilesTheReaderOpens) {
  test::TempDir dir;
  const std::string path = dir.file("m.gguf");
  Writer w;
  w.set_string("general.architecture", "llama");
  w.set_u32("x", 1);
  w.set_u32("x", 2);  // replaces in place
  int calls = 0;
  ASSERT_TRUE(w.add_tensor("a", TensorType::F16, {8, 3}, [&](std::span<uint8_t> out) -> Status {
                 ++calls;
                 EXPECT_EQ(out.size(), 48u);
                 for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<uint8_t>(i);
                 return {};
               }).ok());
  ASSERT_TRUE(w.write(path).ok());
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(std::filesystem::file_size(path), w.file_size());
  auto f = GgufFile::open(path);
  ASSERT_TRUE(f.ok()) << f.error().message;
  EXPECT_EQ(f->metadata().size(), 2u);
  EXPECT_EQ(*f->get_uint("x"), 2u);
  EXPECT_EQ(f->tensors()[0].data[47], 47);
  EXPECT_FALSE(Writer().write(dir.file("no/such/dir.gguf")).ok());
}

TEST(GgufWriter, SparseFilesHaveTheFullSizeAndZeroData) {
  test::TempDir dir;
  const std::string path = dir.file("s.gguf");
  Writer w;
  w.set_string("general.architecture", "llama");
  int calls = 0;
  // 64 MiB of tensor data that is never produced.
  ASSERT_TRUE(w.add_tensor("big", TensorType::F32, {4096, 4096}, [&](std::span<uint8_t>) -> Status {
                 ++calls;
                 return {};
               }).ok());
  ASSERT_TRUE(w.write_sparse(path).ok());
  EXPECT_EQ(calls, 0);
  EXPECT_EQ(std::filesystem::file_size(path), w.file_size());
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
  auto f = GgufFile::open(path);
  ASSERT_TRUE(f.ok()) << f.error().message;
  const TensorInfo& t = f->tensors()[0];
  EXPECT_EQ(t.n_bytes, uint64_t{64} << 20);
  EXPECT_EQ(t.data[0], 0);
  EXPECT_EQ(t.data[t.n_bytes - 1], 0);
  EXPECT_FALSE(Writer().write_sparse(dir.file("no/such/dir.gguf")).ok());
}

}  // namespace
}  // namespace tessera::gguf
