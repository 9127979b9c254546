#include "util/mapped_file.h"

#include <gtest/gtest.h>

#include <vector>

#include "support/test_support.h"

namespace tessera {
namespace {

TEST(MappedFile, MapsContentsAndMoves) {
  test::TempDir dir;
  test::write_file(dir.file("a"), {1, 2, 3});
  auto m = MappedFile::open(dir.file("a"));
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->size(), 3u);
  EXPECT_EQ(m->data()[2], 3);
  MappedFile moved = std::move(m.value());
  EXPECT_EQ(moved.size(), 3u);
  EXPECT_EQ(moved.data()[0], 1);
}

TEST(MappedFile, EmptyAndMissingFiles) {
  test::TempDir dir;
  test::write_file(dir.file("empty"), {});
  auto e = MappedFile::open(dir.file("empty"));
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->size(), 0u);
  auto missing = MappedFile::open(dir.file("missing"));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::not_found);
  EXPECT_NE(missing.error().message.find("missing: cannot open"), std::string::npos);
  auto folder = MappedFile::open(dir.path());
  ASSERT_FALSE(folder.ok());
  EXPECT_EQ(folder.error().code, ErrorCode::io_error);
}

// Released pages read back the file's bytes; ranges outside the mapping are ignored.
TEST(MappedFile, ReleasedBytesStayReadable) {
  test::TempDir dir;
  std::vector<uint8_t> bytes(5 * 4096 + 123);
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<uint8_t>(i * 31 + 7);
  test::write_file(dir.file("b"), bytes);
  auto m = MappedFile::open(dir.file("b"));
  ASSERT_TRUE(m.ok());
  for (size_t i = 0; i < bytes.size(); ++i) ASSERT_EQ(m->data()[i], bytes[i]);  // all touched
  m->release(m->data() + 100, 3 * 4096 + 5);
  m->release(m->data(), m->size());
  m->release(bytes.data(), bytes.size());   // not in the mapping: nothing happens
  m->release(m->data() + 4000, m->size());  // runs past the end: nothing happens
  for (size_t i = 0; i < bytes.size(); ++i) ASSERT_EQ(m->data()[i], bytes[i]) << i;
}

}  // namespace
}  // namespace tessera
