#include "runtime/sha256.h"

#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "support/test_support.h"

namespace tessera::runtime {
namespace {

// Test vectors of FIPS 180-2.
TEST(Sha256, KnownVectors) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  Sha256 h;
  const std::string a(1000, 'a');
  for (int i = 0; i < 1000; ++i) h.update(a.data(), a.size());
  EXPECT_EQ(h.hex(), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256, FilesAndTheirErrors) {
  test::TempDir dir;
  const std::string path = dir.file("f");
  {
    std::ofstream out(path, std::ios::binary);
    for (int i = 0; i < 3000; ++i) out << "abcdefghij";
  }
  uint64_t last = 0;
  auto h = sha256_file(path, [&](uint64_t done, uint64_t total) {
    last = done;
    EXPECT_EQ(total, 30000u);
  });
  ASSERT_TRUE(h.ok());
  std::string all;
  for (int i = 0; i < 3000; ++i) all += "abcdefghij";
  EXPECT_EQ(*h, sha256_hex(all));
  EXPECT_EQ(last, 30000u);
  auto missing = sha256_file(dir.file("missing"));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::not_found);
  EXPECT_NE(missing.error().message.find("missing"), std::string::npos);
  auto a_dir = sha256_file(dir.path());
  EXPECT_FALSE(a_dir.ok());
}

}  // namespace
}  // namespace tessera::runtime
