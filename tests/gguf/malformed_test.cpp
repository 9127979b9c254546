// The GGUF reader on broken and hostile files: each gets an error naming the file, the byte
// offset and what was expected, and never a crash or a huge allocation.
#include <gtest/gtest.h>

#include <limits>

#include "gguf/reader.h"
#include "gguf/writer.h"
#include "support/test_support.h"

namespace tessera::gguf {
namespace {

using test::Bytes;

Error parse_error(const std::vector<uint8_t>& bytes) {
  auto f = GgufFile::parse(bytes.data(), bytes.size(), "bad.gguf");
  EXPECT_FALSE(f.ok()) << "a broken file was accepted";
  return f.ok() ? Error{} : f.error();
}

// Asserts the error names the file and a byte offset, and mentions `what`.
void expect_error(const Bytes& b, const std::string& what, ErrorCode code = ErrorCode::malformed) {
  const Error e = parse_error(b.data());
  EXPECT_EQ(e.code, code) << e.message;
  EXPECT_EQ(e.message.rfind("bad.gguf: ", 0), 0u) << e.message;
  EXPECT_NE(e.message.find(what), std::string::npos) << e.message;
}

// A valid file with metadata of several kinds and three tensors, made by our writer.
std::vector<uint8_t> valid_file() {
  Writer w;
  w.set_string("general.architecture", "llama");
  w.set_u32("llama.block_count", 1);
  w.set_string_array("tokenizer.ggml.tokens", {"a", "b", "c"});
  w.set_f32_array("tokenizer.ggml.scores", {0.f, 1.f, 2.f});
  static const std::vector<uint8_t> f32(4 * 32, 0), q8(34 * 2, 0), q4k(144, 0);
  EXPECT_TRUE(w.add_tensor("a", TensorType::F32, {32}, f32).ok());
  EXPECT_TRUE(w.add_tensor("b", TensorType::Q8_0, {32, 2}, q8).ok());
  EXPECT_TRUE(w.add_tensor("c", TensorType::Q4_K, {256}, q4k).ok());
  return *w.write_to_buffer();
}

TEST(GgufMalformed, EveryTruncationIsAnErrorWithAnOffset) {
  const std::vector<uint8_t> full = valid_file();
  auto whole = GgufFile::parse(full.data(), full.size(), "bad.gguf");
  ASSERT_TRUE(whole.ok());
  // The padding after the last tensor's data may be missing: every byte of data is there.
  const TensorInfo& last = whole->tensors().back();
  const size_t data_end = last.file_offset + last.n_bytes;
  ASSERT_LT(data_end, full.size());
  ASSERT_TRUE(GgufFile::parse(full.data(), data_end, "bad.gguf").ok());
  for (size_t n = 0; n < data_end; ++n) {
    std::vector<uint8_t> cut(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(n));
    SCOPED_TRACE("truncated to " + std::to_string(n) + " bytes");
    const Error e = parse_error(cut);
    EXPECT_EQ(e.message.rfind("bad.gguf: ", 0), 0u) << e.message;
    const bool says_where = e.message.find("at byte ") != std::string::npos ||
                            e.message.find("past the end of the file") != std::string::npos;
    EXPECT_TRUE(says_where) << e.message;
    if (n >= 4) {
      EXPECT_NE(e.message.find("truncated"), std::string::npos) << e.message;
    }
  }
}

TEST(GgufMalformed, BadMagic) {
  expect_error(Bytes().raw("GGUX").u32(3).u64(0).u64(0), "expected the GGUF magic");
  expect_error(Bytes().raw("GG"), "expected the GGUF magic");
  expect_error(Bytes().raw("lmgg").zeros(20), "pre-GGUF", ErrorCode::unsupported);
}

TEST(GgufMalformed, UnsupportedVersions) {
  expect_error(Bytes().header(1, 0, 0), "version 1 is not supported", ErrorCode::unsupported);
  expect_error(Bytes().header(4, 0, 0), "unsupported GGUF version 4", ErrorCode::unsupported);
  expect_error(Bytes().raw("GGUF").u32(0x03000000u).u64(0).u64(0), "big-endian",
               ErrorCode::unsupported);
}

TEST(GgufMalformed, AbsurdCounts) {
  expect_error(Bytes().header(3, 0, 1ull << 62), "metadata entry count");
  expect_error(Bytes().header(3, std::numeric_limits<uint64_t>::max(), 0), "tensor count");
}

TEST(GgufMalformed, AbsurdStringLength) {
  expect_error(Bytes().header(3, 0, 1).u64(1ull << 63).raw("key").zeros(16),
               "claims 9223372036854775808 bytes");
  expect_error(Bytes().header(3, 0, 1).str("k").u32(8).u64(1ull << 63).zeros(16),
               "claims 9223372036854775808 bytes");
}

TEST(GgufMalformed, AbsurdArrayCount) {
  expect_error(Bytes().header(3, 0, 1).str("k").u32(9).u32(4).u64(1ull << 61).zeros(16),
               "claims 2305843009213693952 u32 elements");
  expect_error(Bytes().header(3, 0, 1).str("k").u32(9).u32(8).u64(~0ull).zeros(16),
               "string elements");
}

TEST(GgufMalformed, UnknownValueTypes) {
  expect_error(Bytes().header(3, 0, 1).str("k").u32(13).u32(0), "unknown value type 13");
  expect_error(Bytes().header(3, 0, 1).str("k").u32(9).u32(99).u64(0),
               "unknown array element type 99");
}

TEST(GgufMalformed, DeeplyNestedArrays) {
  Bytes b;
  b.header(3, 0, 1).str("k").u32(9);
  for (int i = 0; i < 20; ++i) b.u32(9).u64(1);
  b.u32(4).u64(0);
  expect_error(b, "nested deeper than 8");
}

TEST(GgufMalformed, DuplicateKeysAndTensors) {
  expect_error(Bytes().header(3, 0, 2).kv_u32("k", 1).kv_u32("k", 2), "duplicate metadata key 'k'");
  Bytes t;
  t.header(3, 2, 0).tensor("w", {32}, 0, 0).tensor("w", {32}, 0, 128).pad_to(32).zeros(256);
  expect_error(t, "duplicate tensor 'w'");
}

TEST(GgufMalformed, BadAlignment) {
  expect_error(Bytes().header(3, 0, 1).kv_u32("general.alignment", 48), "power of two");
  expect_error(Bytes().header(3, 0, 1).kv_u32("general.alignment", 0), "power of two");
  expect_error(Bytes().header(3, 0, 1).kv_str("general.alignment", "32"), "power of two");
}

TEST(GgufMalformed, UnknownTensorType) {
  Bytes b;
  b.header(3, 1, 0).tensor("w", {32}, 4, 0).pad_to(32).zeros(64);  // 4 = removed Q4_2
  expect_error(b, "unknown tensor type 4", ErrorCode::unsupported);
  Bytes c;
  c.header(3, 1, 0).tensor("w", {32}, 1000, 0).pad_to(32).zeros(64);
  expect_error(c, "unknown tensor type 1000", ErrorCode::unsupported);
}

TEST(GgufMalformed, BadTensorShapes) {
  Bytes dims0, dims5, neg, blocks, longname, huge;
  dims0.header(3, 1, 0).tensor("w", {}, 0, 0).zeros(32);
  expect_error(dims0, "has 0 dimensions");
  dims5.header(3, 1, 0).tensor("w", {1, 1, 1, 1, 1}, 0, 0);
  expect_error(dims5, "has 5 dimensions");
  neg.header(3, 1, 0).tensor("w", {4, -2}, 0, 0);
  expect_error(neg, "negative size -2");
  blocks.header(3, 1, 0).tensor("w", {33}, 8, 0).pad_to(32).zeros(64);
  expect_error(blocks, "row length 33 is not a multiple of the Q8_0 block size 32");
  longname.header(3, 1, 0).tensor(std::string(64, 'n'), {1}, 0, 0);
  expect_error(longname, "names are limited to 63 bytes");
  huge.header(3, 1, 0).tensor("w", {1ll << 40, 1ll << 40}, 0, 0);
  expect_error(huge, "more elements than a 64-bit count can hold");
}

TEST(GgufMalformed, TensorDataPastTheEnd) {
  Bytes b;
  b.header(3, 1, 0).tensor("w", {64}, 0, 0).pad_to(32).zeros(100);  // needs 256 bytes
  expect_error(b, "past the end of the file");
  Bytes far;
  far.header(3, 1, 0).tensor("w", {8}, 0, 1ull << 62).pad_to(32).zeros(32);
  expect_error(far, "past the end of the file");
  Bytes wrap;  // offset + size would wrap around 2^64
  wrap.header(3, 1, 0).tensor("w", {8}, 0, ~0ull - 31).pad_to(32).zeros(32);
  expect_error(wrap, "past the end of the file");
}

TEST(GgufMalformed, MisalignedTensorOffset) {
  Bytes b;
  b.header(3, 1, 0).tensor("w", {8}, 0, 4).pad_to(32).zeros(64);
  expect_error(b, "not a multiple of the alignment 32");
}

TEST(GgufMalformed, OverlappingTensors) {
  Bytes b;
  b.header(3, 2, 0).tensor("a", {64}, 0, 0).tensor("b", {64}, 0, 128).pad_to(32).zeros(512);
  expect_error(b, "the data of tensor 'b' overlaps the data of tensor 'a'");
}

TEST(GgufMalformed, ZeroSizedTensorsDoNotOverlap) {
  Bytes b;
  b.header(3, 2, 0).tensor("a", {0}, 0, 0).tensor("b", {8}, 0, 0).pad_to(32).zeros(32);
  EXPECT_TRUE(GgufFile::parse(b.data().data(), b.size(), "ok.gguf").ok());
}

TEST(GgufMalformed, EveryByteFlipParsesOrFailsCleanly) {
  const std::vector<uint8_t> orig = valid_file();
  int rejected = 0;
  for (size_t pos = 0; pos < orig.size(); ++pos) {
    std::vector<uint8_t> b = orig;
    b[pos] ^= 0xff;
    auto f = GgufFile::parse(b.data(), b.size(), "flip.gguf");
    if (!f.ok()) {
      ++rejected;
      EXPECT_EQ(f.error().message.rfind("flip.gguf: ", 0), 0u);
    }
  }
  EXPECT_GT(rejected, 50);  // header bytes; flips inside tensor data still parse
}

}  // namespace
}  // namespace tessera::gguf
