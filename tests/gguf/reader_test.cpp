// The GGUF reader on valid files: every value type, versions 2 and 3, alignment, typed
// accessors, and every shared test file checked against an independent reader
// (shared/tools/mkgguf.py dump).
#include "gguf/reader.h"

#include <gtest/gtest.h>

#include <sstream>

#include "gguf/writer.h"
#include "support/test_support.h"

namespace tessera::gguf {
namespace {

using test::testdata;

GgufFile parse_ok(const std::vector<uint8_t>& bytes) {
  auto f = GgufFile::parse(bytes.data(), bytes.size(), "mem.gguf");
  EXPECT_TRUE(f.ok()) << (f.ok() ? "" : f.error().message);
  return std::move(f.value());
}

TEST(GgufReader, RoundTripsEveryValueType) {
  Writer w;
  w.set_u8("u8", 250);
  w.set_i8("i8", -100);
  w.set_u16("u16", 65000);
  w.set_i16("i16", -32000);
  w.set_u32("u32", 4000000000u);
  w.set_i32("i32", -2000000000);
  w.set_u64("u64", 18000000000000000000ull);
  w.set_i64("i64", -9000000000000000000ll);
  w.set_f32("f32", 1.5f);
  w.set_f64("f64", -2.25);
  w.set_bool("bool", true);
  w.set_string("str", std::string("h\xc3\xa9llo\0x", 8));
  w.set_string("empty", "");
  w.set_string_array("strs", {"a", "", "ccc"});
  w.set_i32_array("i32s", {-1, 0, 7});
  w.set_f32_array("f32s", {0.5f, -0.25f});
  const std::vector<std::string> inner_items = {"x", "y"};
  Writer inner;  // owns the views of the nested value's strings
  inner.set_string_array("inner", inner_items);
  inner.set_i32_array("inner2", {5, 6, 7});
  std::vector<MetaValue> nested;
  auto inner_bytes = inner.write_to_buffer();
  ASSERT_TRUE(inner_bytes.ok());
  GgufFile inner_file = parse_ok(*inner_bytes);
  nested.push_back(*inner_file.find("inner"));
  nested.push_back(*inner_file.find("inner2"));
  w.set("nested", MetaValue::nested_array(MetaType::array, nested));
  auto bytes = w.write_to_buffer();
  ASSERT_TRUE(bytes.ok());
  ASSERT_EQ(bytes->size(), w.file_size());

  GgufFile f = parse_ok(*bytes);
  EXPECT_EQ(f.version(), 3u);
  EXPECT_EQ(f.metadata().size(), 17u);
  EXPECT_EQ(f.metadata()[0].key, "u8");
  EXPECT_EQ(*f.get_uint("u8"), 250u);
  EXPECT_EQ(*f.get_int("i8"), -100);
  EXPECT_EQ(*f.get_uint("u16"), 65000u);
  EXPECT_EQ(*f.get_int("i16"), -32000);
  EXPECT_EQ(*f.get_uint("u32"), 4000000000u);
  EXPECT_EQ(*f.get_int("i32"), -2000000000);
  EXPECT_EQ(*f.get_uint("u64"), 18000000000000000000ull);
  EXPECT_EQ(*f.get_int("i64"), -9000000000000000000ll);
  EXPECT_EQ(*f.get_float("f32"), 1.5);
  EXPECT_EQ(*f.get_float("f64"), -2.25);
  EXPECT_TRUE(*f.get_bool("bool"));
  EXPECT_EQ(*f.get_string("str"), std::string_view("h\xc3\xa9llo\0x", 8));
  EXPECT_EQ(*f.get_string("empty"), "");
  const MetaValue* strs = *f.get_array("strs");
  ASSERT_EQ(strs->array_size(), 3u);
  EXPECT_EQ(strs->array_type(), MetaType::string);
  EXPECT_EQ(strs->strings()[2], "ccc");
  const MetaValue* i32s = *f.get_array("i32s");
  EXPECT_EQ(*i32s->array_item(0).as_int(), -1);
  EXPECT_EQ(*i32s->array_item(2).as_int(), 7);
  EXPECT_EQ(*(*f.get_array("f32s"))->array_item(1).as_double(), -0.25);
  const MetaValue* n = *f.get_array("nested");
  ASSERT_EQ(n->array_type(), MetaType::array);
  ASSERT_EQ(n->array_size(), 2u);
  EXPECT_EQ(n->array_item(0).strings()[1], "y");
  EXPECT_EQ(*n->array_item(1).array_item(2).as_int(), 7);
  EXPECT_EQ(n->to_display(), "[array x 2: [string x 2: \"x\", \"y\"], [i32 x 3: 5, 6, 7]]");
}

TEST(GgufReader, TypedAccessorsExplainWrongTypes) {
  Writer w;
  w.set_string("name", "x");
  w.set_i32("neg", -5);
  w.set_f32("frac", 0.5f);
  w.set_f32("whole", 8.0f);
  auto bytes = w.write_to_buffer();
  GgufFile f = parse_ok(*bytes);
  auto r = f.get_uint("name");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::malformed);
  EXPECT_EQ(r.error().message,
            "mem.gguf: metadata key 'name' is string \"x\", expected a non-negative integer");
  EXPECT_FALSE(f.get_uint("neg").ok());
  EXPECT_EQ(*f.get_int("neg"), -5);
  EXPECT_FALSE(f.get_int("frac").ok());
  EXPECT_EQ(*f.get_uint("whole"), 8u);  // converters sometimes store integers as floats
  EXPECT_EQ(f.get_uint("absent").error().code, ErrorCode::not_found);
  EXPECT_EQ(*f.get_uint_or("absent", 7), 7u);
  EXPECT_FALSE(f.get_uint_or("name", 7).ok());  // present with the wrong type stays an error
  EXPECT_EQ(*f.get_string_or("absent", "d"), "d");
  EXPECT_FALSE(f.get_bool("name").ok());
  EXPECT_FALSE(f.get_array("name").ok());
}

TEST(GgufReader, ReadsVersion2AndCustomAlignment) {
  Writer w(64);
  w.set_version(2);
  std::vector<uint8_t> a(4 * 3, 1);
  std::vector<uint8_t> b(34, 2);
  ASSERT_TRUE(w.add_tensor("a", TensorType::F32, {3}, a).ok());
  ASSERT_TRUE(w.add_tensor("b", TensorType::Q8_0, {32}, b).ok());
  auto bytes = w.write_to_buffer();
  GgufFile f = parse_ok(*bytes);
  EXPECT_EQ(f.version(), 2u);
  EXPECT_EQ(f.alignment(), 64u);
  EXPECT_EQ(f.data_offset() % 64, 0u);
  ASSERT_EQ(f.tensors().size(), 2u);
  const TensorInfo* tb = f.find_tensor("b");
  ASSERT_NE(tb, nullptr);
  EXPECT_EQ(tb->offset, 64u);  // 12 bytes of "a", padded to the alignment
  EXPECT_EQ(tb->file_offset, f.data_offset() + 64);
  EXPECT_EQ(tb->n_bytes, 34u);
  EXPECT_EQ(tb->data[0], 2);
  EXPECT_EQ(f.find_tensor("a")->n_elements, 3u);
  EXPECT_EQ(f.find_tensor("zz"), nullptr);
  EXPECT_EQ(bytes->size(), f.data_offset() + 64 + 64);
}

TEST(GgufReader, ReadsTensorValues) {
  Writer w;
  std::vector<float> v = {1.0f, -2.5f, 3.25f, 0.0f};
  std::vector<uint8_t> raw(16);
  std::memcpy(raw.data(), v.data(), 16);
  ASSERT_TRUE(w.add_tensor("m", TensorType::F32, {2, 2}, raw).ok());
  auto bytes = w.write_to_buffer();
  GgufFile f = parse_ok(*bytes);
  const TensorInfo& t = f.tensors()[0];
  EXPECT_EQ(t.n_dims, 2u);
  EXPECT_EQ(t.rows(), 2);
  auto values = f.read_f32(t);
  ASSERT_TRUE(values.ok());
  EXPECT_EQ(*values, v);
}

// --- every shared test file against mkgguf.py's dump (an independent reader) ---

struct DumpedTensor {
  std::string name, type;
  std::vector<int64_t> ne;
  uint64_t offset;
};
struct Dump {
  uint32_t version = 0;
  uint64_t keys = 0, tensors = 0, data_offset = 0;
  std::vector<DumpedTensor> tensor_list;
};

Dump python_dump(const std::string& path) {
  auto r = test::run_command("python3 " + test::shared_tool("mkgguf.py") + " dump '" + path +
                             "' --arrays 0");
  EXPECT_EQ(r.exit_code, 0);
  Dump d;
  std::istringstream in(r.output);
  std::string line;
  std::getline(in, line);
  const auto at = line.find(": GGUF v");
  EXPECT_NE(at, std::string::npos) << line;
  unsigned long long k = 0, t = 0, off = 0;
  EXPECT_EQ(std::sscanf(line.c_str() + at, ": GGUF v%u, %llu keys, %llu tensors, data at %llu",
                        &d.version, &k, &t, &off),
            4);
  d.keys = k, d.tensors = t, d.data_offset = off;
  while (std::getline(in, line)) {
    if (line.rfind("  tensor ", 0) != 0) continue;
    std::istringstream ls(line.substr(9));
    DumpedTensor dt;
    ls >> dt.name >> dt.type;
    std::string rest;
    std::getline(ls, rest);
    const auto lb = rest.find('['), rb = rest.find(']'), amp = rest.find('@');
    std::istringstream dims(rest.substr(lb + 1, rb - lb - 1));
    std::string dim;
    while (std::getline(dims, dim, ',')) dt.ne.push_back(std::stoll(dim));
    dt.offset = std::stoull(rest.substr(amp + 1));
    d.tensor_list.push_back(dt);
  }
  return d;
}

void expect_matches_dump(const std::string& path) {
  SCOPED_TRACE(path);
  auto f = GgufFile::open(path);
  ASSERT_TRUE(f.ok()) << f.error().message;
  Dump d = python_dump(path);
  EXPECT_EQ(f->version(), d.version);
  EXPECT_EQ(f->metadata().size(), d.keys);
  ASSERT_EQ(f->tensors().size(), d.tensors);
  ASSERT_EQ(d.tensor_list.size(), d.tensors);
  if (d.tensors > 0) {
    EXPECT_EQ(f->data_offset(), d.data_offset);
  }
  for (size_t i = 0; i < d.tensors; ++i) {
    const TensorInfo& t = f->tensors()[i];
    const DumpedTensor& e = d.tensor_list[i];
    EXPECT_EQ(t.name, e.name);
    EXPECT_EQ(tensor_type_name(t.type), e.type);
    ASSERT_EQ(t.n_dims, e.ne.size());
    for (size_t j = 0; j < e.ne.size(); ++j) EXPECT_EQ(t.ne[j], e.ne[j]);
    EXPECT_EQ(t.offset, e.offset);
  }
}

TEST(GgufReader, EveryTestModelMatchesTheReferenceDump) {
  for (const auto& m : test::testdata_models())
    expect_matches_dump(testdata("models/" + m + ".gguf"));
}

TEST(GgufReader, EveryVocabFileMatchesTheReferenceDump) {
  for (const auto& v : test::testdata_vocabs()) {
    expect_matches_dump(testdata("vocab/ggml-vocab-" + v + ".gguf"));
  }
}

TEST(GgufReader, LastTensorEndsInsideTheFile) {
  auto f = GgufFile::open(testdata("models/qwen2-tiny.gguf"));
  ASSERT_TRUE(f.ok());
  const TensorInfo& last = f->tensors().back();
  EXPECT_LE(last.file_offset + last.n_bytes, f->file_size());
  EXPECT_EQ(f->file_size() - (last.file_offset + last.n_bytes), 0u);
}

TEST(GgufReader, ReportsMissingFiles) {
  auto f = GgufFile::open("/nonexistent/model.gguf");
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.error().code, ErrorCode::not_found);
  EXPECT_NE(f.error().message.find("/nonexistent/model.gguf"), std::string::npos);
  auto d = GgufFile::open("/tmp");
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error().code, ErrorCode::io_error);
}

}  // namespace
}  // namespace tessera::gguf
