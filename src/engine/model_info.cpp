#include "engine/model_info.h"

#include <algorithm>
#include <array>
#include <map>
#include <utility>

namespace tessera::engine {
namespace {

// llama.cpp's llama_ftype values, the names its tools print for general.file_type.
constexpr std::array<std::pair<uint64_t, std::string_view>, 34> kFileTypes = {{
    {0, "F32"},      {1, "F16"},      {2, "Q4_0"},       {3, "Q4_1"},          {7, "Q8_0"},
    {8, "Q5_0"},     {9, "Q5_1"},     {10, "Q2_K"},      {11, "Q3_K_S"},       {12, "Q3_K_M"},
    {13, "Q3_K_L"},  {14, "Q4_K_S"},  {15, "Q4_K_M"},    {16, "Q5_K_S"},       {17, "Q5_K_M"},
    {18, "Q6_K"},    {19, "IQ2_XXS"}, {20, "IQ2_XS"},    {21, "Q2_K_S"},       {22, "IQ3_XS"},
    {23, "IQ3_XXS"}, {24, "IQ1_S"},   {25, "IQ4_NL"},    {26, "IQ3_S"},        {27, "IQ3_M"},
    {28, "IQ2_S"},   {29, "IQ2_M"},   {30, "IQ4_XS"},    {31, "IQ1_M"},        {32, "BF16"},
    {36, "TQ1_0"},   {37, "TQ2_0"},   {38, "MXFP4_MOE"}, {4, "Q4_1_SOME_F16"},
}};

// Upper bounds that no real model comes near; past them a file is lying about its shape.
constexpr int64_t kMaxLayers = 4096;
constexpr int64_t kMaxWidth = int64_t{1} << 20;  // n_embd, n_ff
constexpr int64_t kMaxHeads = int64_t{1} << 16;  // heads, head sizes

Error implausible(const gguf::GgufFile& f, const std::string& key, int64_t v, int64_t max) {
  return make_error(ErrorCode::malformed,
                    f.name() + ": metadata key '" + key + "' = " + std::to_string(v) +
                        " is implausible (expected at most " + std::to_string(max) + ")");
}

// A scalar hyperparameter; 0 when absent.
Result<int64_t> hparam(const gguf::GgufFile& f, const std::string& key, int64_t max) {
  auto v = f.get_uint_or(key, 0);
  if (!v.ok()) return v.error();
  if (*v > static_cast<uint64_t>(max)) return implausible(f, key, static_cast<int64_t>(*v), max);
  return static_cast<int64_t>(*v);
}

// A hyperparameter that may be one value or one per layer; empty when absent.
Result<std::vector<int64_t>> per_layer(const gguf::GgufFile& f, const std::string& key,
                                       int64_t n_layer, int64_t max) {
  const gguf::MetaValue* v = f.find(key);
  if (v == nullptr) return std::vector<int64_t>{};
  if (!v->is_array()) {
    auto one = hparam(f, key, max);
    if (!one.ok()) return one.error();
    return std::vector<int64_t>(static_cast<size_t>(n_layer), *one);
  }
  if (v->array_size() != static_cast<uint64_t>(n_layer)) {
    return make_error(ErrorCode::malformed, f.name() + ": metadata key '" + key + "' has " +
                                                std::to_string(v->array_size()) +
                                                " entries, expected one per layer (" +
                                                std::to_string(n_layer) + ")");
  }
  std::vector<int64_t> out;
  for (uint64_t i = 0; i < v->array_size(); ++i) {
    auto x = v->array_item(i).as_uint();
    if (!x) {
      return make_error(ErrorCode::malformed, f.name() + ": metadata key '" + key + "' entry " +
                                                  std::to_string(i) +
                                                  " is not a non-negative integer");
    }
    if (*x > static_cast<uint64_t>(max)) return implausible(f, key, static_cast<int64_t>(*x), max);
    out.push_back(static_cast<int64_t>(*x));
  }
  return out;
}

int64_t max_of(const std::vector<int64_t>& v) {
  return v.empty() ? 0 : *std::max_element(v.begin(), v.end());
}

Status read_shape(const gguf::GgufFile& f, ModelInfo& m) {
  const std::string a = m.arch + ".";
  auto ctx = hparam(f, a + "context_length", int64_t{1} << 40);
  auto embd = hparam(f, a + "embedding_length", kMaxWidth);
  auto layers = hparam(f, a + "block_count", kMaxLayers);
  if (!ctx.ok()) return ctx.error();
  if (!embd.ok()) return embd.error();
  if (!layers.ok()) return layers.error();
  m.n_ctx_train = *ctx;
  m.n_embd = *embd;
  m.n_layer = *layers;
  auto ff = per_layer(f, a + "feed_forward_length", m.n_layer, kMaxWidth);
  auto heads = per_layer(f, a + "attention.head_count", m.n_layer, kMaxHeads);
  auto heads_kv = per_layer(f, a + "attention.head_count_kv", m.n_layer, kMaxHeads);
  if (!ff.ok()) return ff.error();
  if (!heads.ok()) return heads.error();
  if (!heads_kv.ok()) return heads_kv.error();
  m.n_ff = max_of(*ff);
  m.n_head = max_of(*heads);
  // No head_count_kv key means plain multi-head attention: as many KV heads as heads.
  m.n_head_kv_per_layer = heads_kv->empty() ? *heads : *heads_kv;
  m.n_head_kv = max_of(m.n_head_kv_per_layer);
  const int64_t head_dim = m.n_head > 0 ? m.n_embd / m.n_head : 0;
  auto dk = hparam(f, a + "attention.key_length", kMaxHeads);
  auto dv = hparam(f, a + "attention.value_length", kMaxHeads);
  if (!dk.ok()) return dk.error();
  if (!dv.ok()) return dv.error();
  m.head_dim_k = *dk > 0 ? *dk : head_dim;
  m.head_dim_v = *dv > 0 ? *dv : head_dim;
  auto rope = f.get_float_or(a + "rope.freq_base", 0.0);
  if (!rope.ok()) return rope.error();
  m.rope_freq_base = *rope;

  auto causal = f.get_bool_or(a + "attention.causal", true);
  if (!causal.ok()) return causal.error();
  const ArchSpec* spec = find_architecture(m.arch);
  m.known_arch = spec != nullptr;
  m.kind = spec != nullptr ? spec->kind : (*causal ? ModelKind::decoder : ModelKind::encoder);
  return {};
}

void read_tensors(const gguf::GgufFile& f, ModelInfo& m) {
  std::map<std::string, TensorTypeCount> mix;
  for (const auto& t : f.tensors()) {
    m.n_params += t.n_elements;
    m.weight_bytes += t.n_bytes;
    auto& c = mix[gguf::tensor_type_name(t.type)];
    c.type = gguf::tensor_type_name(t.type);
    c.tensors += 1;
    c.elements += t.n_elements;
    c.bytes += t.n_bytes;
    m.tensors.push_back({std::string(t.name), t.type, t.n_dims, t.ne[0],
                         t.ne[0] > 0 ? static_cast<int64_t>(t.n_elements) / t.ne[0] : 0,
                         t.n_bytes});
  }
  m.n_tensors = f.tensors().size();
  m.vocab_only = m.n_tensors == 0;
  for (auto& [name, c] : mix) m.type_mix.push_back(c);
  std::stable_sort(m.type_mix.begin(), m.type_mix.end(),
                   [](const auto& x, const auto& y) { return x.bytes > y.bytes; });
}

}  // namespace

std::string file_type_name(uint64_t file_type) {
  for (const auto& [id, name] : kFileTypes) {
    if (id == file_type) return std::string(name);
  }
  return "";
}

Result<ModelInfo> read_model_info(const gguf::GgufFile& f) {
  ModelInfo m;
  m.path = f.name();
  m.file_size = f.file_size();
  m.gguf_version = f.version();
  m.n_metadata = f.metadata().size();
  m.header_bytes = std::min(f.data_offset(), f.file_size());
  if (f.find("general.architecture") == nullptr) {
    return make_error(ErrorCode::malformed,
                      f.name() +
                          ": metadata key 'general.architecture' is missing; this GGUF "
                          "file does not describe a model");
  }
  auto arch = f.get_string("general.architecture");
  if (!arch.ok()) return arch.error();
  m.arch = std::string(*arch);
  auto name = f.get_string_or("general.name", "");
  if (!name.ok()) return name.error();
  m.name = std::string(*name);
  if (f.find("general.file_type") != nullptr) {
    auto ft = f.get_uint("general.file_type");
    if (!ft.ok()) return ft.error();
    m.file_type = file_type_name(*ft);
  }
  TESSERA_TRY(read_shape(f, m));
  read_tensors(f, m);
  auto tok = read_tokenizer_info(f);
  if (!tok.ok()) return tok.error();
  m.tokenizer = std::move(tok.value());
  if (m.tokenizer.n_tokens > 0) {
    m.n_vocab = static_cast<int64_t>(m.tokenizer.n_tokens);
  } else if (const gguf::TensorInfo* emb = f.find_tensor("token_embd.weight")) {
    m.n_vocab = emb->ne[1];
  } else {
    auto v = hparam(f, m.arch + ".vocab_size", int64_t{1} << 32);
    if (!v.ok()) return v.error();
    m.n_vocab = *v;
  }
  return m;
}

}  // namespace tessera::engine
