// Writes small valid inputs for a fuzz target into a folder, so fuzzing starts from files
// that reach deep into the parser: `make_fuzz_seeds TARGET DIR`.
#include <cstdio>
#include <string>
#include <vector>

#include "gguf/writer.h"

namespace {

using namespace tessera;

std::vector<uint8_t> zeros_of(gguf::TensorType t, int64_t n) {
  const auto* info = gguf::tensor_type_info(t);
  return std::vector<uint8_t>(*gguf::row_bytes(*info, static_cast<uint64_t>(n)), 0x11);
}

bool save(const std::string& dir, const std::string& name, const gguf::Writer& w) {
  auto bytes = w.write_to_buffer();
  if (!bytes.ok()) return false;
  FILE* f = std::fopen((dir + "/" + name).c_str(), "wb");
  if (f == nullptr) return false;
  const bool ok = std::fwrite(bytes->data(), 1, bytes->size(), f) == bytes->size();
  return std::fclose(f) == 0 && ok;
}

gguf::Writer model_like(uint32_t alignment) {
  gguf::Writer w(alignment);
  w.set_string("general.architecture", "llama");
  w.set_string("general.name", "seed");
  w.set_u32("general.file_type", 15);
  w.set_u32("llama.context_length", 256);
  w.set_u32("llama.embedding_length", 256);
  w.set_u32("llama.block_count", 2);
  w.set_u32("llama.feed_forward_length", 512);
  w.set_u32("llama.attention.head_count", 4);
  w.set_u32("llama.attention.head_count_kv", 2);
  w.set_f32("llama.rope.freq_base", 10000.0f);
  w.set_string("tokenizer.ggml.model", "llama");
  w.set_string_array("tokenizer.ggml.tokens", {"<unk>", "<s>", "</s>", "a", "b"});
  w.set_f32_array("tokenizer.ggml.scores", {0, 0, 0, -1, -2});
  w.set_i32_array("tokenizer.ggml.token_type", {2, 3, 3, 1, 1});
  w.set_u32("tokenizer.ggml.bos_token_id", 1);
  w.set_string("tokenizer.chat_template", "{{ messages }}");
  return w;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: make_fuzz_seeds TARGET DIR\n");
    return 2;
  }
  const std::string dir = argv[2];
  using T = gguf::TensorType;
  bool ok = true;

  // every value type, nested arrays, several tensor types
  gguf::Writer all;
  all.set_u8("t.u8", 1);
  all.set_i8("t.i8", -1);
  all.set_u16("t.u16", 2);
  all.set_i16("t.i16", -2);
  all.set_u32("t.u32", 3);
  all.set_i32("t.i32", -3);
  all.set_u64("t.u64", 4);
  all.set_i64("t.i64", -4);
  all.set_f32("t.f32", 0.5f);
  all.set_f64("t.f64", 0.25);
  all.set_bool("t.bool", true);
  all.set_string("t.str", "hello");
  all.set_string_array("t.strs", {"a", "bc", ""});
  all.set_i32_array("t.i32s", {1, 2, 3});
  all.set(std::string_view("t.nested"), gguf::MetaValue::nested_array(gguf::MetaType::array, {}));
  const T types[] = {T::F32,  T::F16,  T::BF16, T::Q8_0, T::Q4_0, T::Q4_1, T::Q5_0,
                     T::Q5_1, T::Q2_K, T::Q3_K, T::Q4_K, T::Q5_K, T::Q6_K};
  std::vector<std::vector<uint8_t>> data;
  for (T t : types) data.push_back(zeros_of(t, 256));
  for (size_t i = 0; i < std::size(types); ++i) {
    ok &= all.add_tensor("t" + std::to_string(i), types[i], {256}, data[i]).ok();
  }
  ok &= save(dir, "all-types.gguf", all);

  gguf::Writer model = model_like(32);
  auto q4k = zeros_of(T::Q4_K, 256 * 4);
  auto f32 = zeros_of(T::F32, 256);
  ok &= model.add_tensor("blk.0.attn_q.weight", T::Q4_K, {256, 4}, q4k).ok();
  ok &= model.add_tensor("blk.0.attn_norm.weight", T::F32, {256}, f32).ok();
  ok &= save(dir, "model-like.gguf", model);

  gguf::Writer v2 = model_like(64);
  v2.set_version(2);
  auto q8 = zeros_of(T::Q8_0, 1024);
  ok &= v2.add_tensor("token_embd.weight", T::Q8_0, {256, 4}, q8).ok();
  ok &= save(dir, "v2-align64.gguf", v2);

  if (!ok) {
    std::fprintf(stderr, "make_fuzz_seeds: could not write the seeds into %s\n", dir.c_str());
    return 1;
  }
  return 0;
}
