// Writes small valid inputs for a fuzz target into a folder, so fuzzing starts from files
// that reach deep into the parser: `make_fuzz_seeds TARGET DIR`.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
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

bool save_bytes(const std::string& path, std::string_view bytes) {
  FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return false;
  const bool ok = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
  return std::fclose(f) == 0 && ok;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return std::move(s).str();
}

// Tokenizer inputs: each test text of the vocabulary vectors, for several vocabularies and
// flag bytes (see fuzz_tokenizer.cpp), plus special-token look-alikes.
bool tokenizer_seeds(const std::string& dir) {
  const std::string inp =
      slurp(std::string(TESSERA_TESTDATA_DIR) + "/vocab/ggml-vocab-llama-bpe.gguf.inp");
  const std::string sep = "\n__ggml_vocab_test__\n";
  std::vector<std::string> texts = {"<s> </s> <|endoftext|> <|im_start|>user [CLS] 3.14",
                                    "\xff\xfe broken \xe4\xbd utf-8 \xf0\x9f\x98"};
  for (size_t at = 0, next; (next = inp.find(sep, at)) != std::string::npos;
       at = next + sep.size()) {
    texts.push_back(inp.substr(at, next - at));
  }
  bool ok = !texts.empty();
  for (size_t i = 0; i < texts.size(); ++i) {
    std::string input = {static_cast<char>(i % 8), static_cast<char>(i % 4)};
    ok &= save_bytes(dir + "/text-" + std::to_string(i), input + texts[i]);
  }
  return ok;
}

// Template inputs: the real chat templates of the test data plus small feature samples.
bool jinja_seeds(const std::string& dir) {
  bool ok = true;
  const std::string folder = std::string(TESSERA_TESTDATA_DIR) + "/templates";
  for (const auto& e : std::filesystem::directory_iterator(folder)) {
    if (e.path().extension() != ".jinja") continue;
    ok &= save_bytes(dir + "/" + e.path().filename().string(), slurp(e.path().string()));
  }
  const char* samples[] = {
      "{% for m in messages %}{{ loop.index }}{{ m.role|upper }}{% if loop.last %}!{% endif "
      "%}{% endfor %}",
      "{% set ns = namespace(n=0) %}{% for t in tools %}{% set ns.n = ns.n + 1 %}{% endfor "
      "%}{{ ns.n }}{{ tools|tojson }}",
      "{% macro m(a, b=2) %}{{ a ~ b }}{% endmacro %}{{ m(1) }}{{ m(1, b=3) }}{{ 'x' * 3 }}",
      "{%- if messages[0]['content'] is string -%}{{ messages[0].content.split(' ')|join('|') "
      "}}{%- elif x is defined %}{{ raise_exception('no') }}{% endif %}",
      "{{ messages|selectattr('role', 'equalto', 'user')|map(attribute='content')|list|first "
      "}}{{ strftime_now('%Y-%m-%d') }}{{ [1,2,3][::-1] }}{{ {'a': 1}.items()|list }}",
  };
  for (size_t i = 0; i < std::size(samples); ++i) {
    ok &= save_bytes(dir + "/sample-" + std::to_string(i) + ".jinja", samples[i]);
  }
  return ok;
}

// tessera pull's inputs: the first byte picks the parser (see fuzz_pull_inputs.cpp).
bool pull_seeds(const std::string& dir) {
  const std::pair<char, const char*> samples[] = {
      {0, "https://huggingface.co/Qwen/Q-GGUF/resolve/main/q4.gguf?download=true"},
      {0, "http://[::1]:8080/a%20b/../c"},
      {1, "https://cdn-lfs.example/repos/ab/cd/0123?X-Amz-Signature=1"},
      {1, "../../x/./y?z#f"},
      {1, "//other.example:8443/p"},
      {2, "bytes 100-199/1000"},
      {2, "W/\"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\""},
      {3, "Qwen/Qwen2.5-0.5B-Instruct-GGUF:qwen2.5-0.5b-instruct-q4_k_m.gguf"},
      {3, "bartowski/Llama-3.2-1B-Instruct-GGUF:Q4_K_M"},
      {4, "Qwen2.5-0.5B-Instruct-Q4_K_M"},
      {4, "../etc/passwd"},
      {5, R"({"siblings":[{"rfilename":"a-Q4_K_M.gguf"},{"rfilename":"a-Q4_0.gguf"},)"
          R"({"rfilename":"big-00001-of-00002.gguf"}]})"},
      {6, R"([{"path":"a.gguf","lfs":{"oid":"0123456789abcdef0123456789abcdef0123456789abcdef)"
          R"(0123456789abcdef"}}])"},
      {7, "sub/dir/model.gguf"},
  };
  bool ok = true;
  for (size_t i = 0; i < std::size(samples); ++i) {
    const std::string input = std::string(1, samples[i].first) + samples[i].second;
    ok &= save_bytes(dir + "/sample-" + std::to_string(i), input);
  }
  return ok;
}

bool gguf_seeds(const std::string& dir) {
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

  gguf::Writer bpe = model_like(32);  // byte-level BPE tokenizer metadata
  bpe.set_string("tokenizer.ggml.model", "gpt2");
  bpe.set_string("tokenizer.ggml.pre", "qwen2");
  bpe.set_string_array("tokenizer.ggml.tokens", {"a", "b", "ab", "\xc4\xa0",
                                                 "\xc4\xa0"
                                                 "ab",
                                                 "<|x|>"});
  bpe.set_i32_array("tokenizer.ggml.token_type", {1, 1, 1, 1, 1, 3});
  bpe.set_string_array("tokenizer.ggml.merges", {"a b", "\xc4\xa0 ab"});
  bpe.set_u32("tokenizer.ggml.eos_token_id", 5);
  ok &= save(dir, "bpe-tokenizer.gguf", bpe);

  gguf::Writer wpm = model_like(32);  // WordPiece tokenizer metadata
  wpm.set_string("tokenizer.ggml.model", "bert");
  wpm.set_string_array("tokenizer.ggml.tokens", {"[PAD]", "[UNK]", "[CLS]", "[SEP]",
                                                 "\xe2\x96\x81"
                                                 "a",
                                                 "b"});
  wpm.set_i32_array("tokenizer.ggml.token_type", {3, 2, 3, 3, 1, 1});
  wpm.set_u32("tokenizer.ggml.unknown_token_id", 1);
  wpm.set_u32("tokenizer.ggml.seperator_token_id", 3);
  wpm.set_u32("tokenizer.ggml.bos_token_id", 2);
  ok &= save(dir, "wpm-tokenizer.gguf", wpm);
  return ok;
}

}  // namespace

// Scheduler configs: every key, slices, quotas, model policies, and a few broken ones.
bool scheduler_config_seeds(const std::string& dir) {
  const char* samples[] = {
      "keep_alive: 10m\nmax_loaded_models: 4\nmax_queue: 8\ncontext: 2048\nparallel: 2\n"
      "kv_type: q8_0\ngpu_reserve: 256MiB\nsplit: false\nroom_wait: 2s\n"
      "cpu: {use: always, memory: 4GiB}\n",
      "slices:\n  - name: team-a\n    device: 0\n    memory: 20GiB\n    apps: [bot]\n"
      "  - {name: b, device: MIG-0000, memory: 1.5GiB, models: [qwen]}\n",
      "quotas:\n  - app: bot\n    memory: 8GiB\n    kv_tokens: 8192\n"
      "models:\n  qwen: {pinned: true, keep_alive: -1, context: 8192, parallel: 4}\n",
      "keep_alive: -5m\nslices: {name: a}\n",
      "a: &x [1, *x]\n? [complex, key]\n: value\n",
  };
  bool ok = true;
  for (size_t i = 0; i < std::size(samples); ++i) {
    ok &= save_bytes(dir + "/sample-" + std::to_string(i) + ".yaml", samples[i]);
  }
  return ok;
}

// OpenAI API request bodies: every endpoint's fields, and a few broken ones.
bool openai_request_seeds(const std::string& dir) {
  const char* samples[] = {
      R"({"model":"m","messages":[{"role":"system","content":"be brief"},{"role":"user",)"
      R"("content":[{"type":"text","text":"hi"}]}],"temperature":0.7,"top_p":0.9,)"
      R"("max_tokens":16,"stop":["\n"],"seed":1,"stream":true,)"
      R"("stream_options":{"include_usage":true},"logprobs":true,"top_logprobs":2,)"
      R"("logit_bias":{"5":-100},"n":1,"tools":[{"type":"function"}]})",
      R"({"model":"m","messages":[{"role":"assistant","content":null,"tool_calls":[]},)"
      R"({"role":"tool","content":"1","tool_call_id":"c"}],"max_completion_tokens":4})",
      R"({"model":"m","prompt":["once"],"max_tokens":8,"logprobs":1,"echo":false,)"
      R"("presence_penalty":0.5,"frequency_penalty":-0.5,"top_k":40,"min_p":0.1})",
      R"({"model":"e","input":["a","b"],"encoding_format":"base64","dimensions":8})",
      R"({"model":"r","query":"q","documents":["a",{"text":"b"}],"top_n":1,)"
      R"("return_documents":true})",
      R"({"model":"m","messages":[{"role":"user","content":[{"type":"image_url"}]}],"n":2})",
      R"({"model":"m","messages":[[[[[[{"a":"\u00e9\""}]]]]]]})",
  };
  bool ok = true;
  for (size_t i = 0; i < std::size(samples); ++i) {
    ok &= save_bytes(dir + "/sample-" + std::to_string(i) + ".json", samples[i]);
  }
  return ok;
}

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: make_fuzz_seeds TARGET DIR\n");
    return 2;
  }
  const std::string target = argv[1];
  const std::string dir = argv[2];
  bool ok = false;
  if (target == "fuzz_gguf_reader") {
    ok = gguf_seeds(dir);
  } else if (target == "fuzz_tokenizer") {
    ok = tokenizer_seeds(dir);
  } else if (target == "fuzz_jinja") {
    ok = jinja_seeds(dir);
  } else if (target == "fuzz_scheduler_config") {
    ok = scheduler_config_seeds(dir);
  } else if (target == "fuzz_openai_request") {
    ok = openai_request_seeds(dir);
  } else if (target == "fuzz_pull_inputs") {
    ok = pull_seeds(dir);
  } else {
    std::fprintf(stderr, "make_fuzz_seeds: no seeds for target %s\n", target.c_str());
    return 2;
  }
  if (!ok) {
    std::fprintf(stderr, "make_fuzz_seeds: could not write the seeds into %s\n", dir.c_str());
    return 1;
  }
  return 0;
}
