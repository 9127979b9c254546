// Helpers of the runtime tests: the golden files, base64, loading test models, argmax.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <functional>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>
#include <span>
#include <sstream>
#include <string>
#include <vector>

#include "engine/llm/llm.h"
#include "gguf/writer.h"
#include "support/test_support.h"

namespace tessera::test {

inline std::string model_path(const std::string& name) {
  return testdata("models/" + name + ".gguf");
}

inline nlohmann::json read_golden(const std::string& name) {
  std::ifstream f(testdata("golden/" + name + ".json"));
  std::stringstream ss;
  ss << f.rdbuf();
  return nlohmann::json::parse(ss.str());
}

// Standard base64 (with '=' padding) to bytes.
inline std::vector<uint8_t> base64_decode(const std::string& s) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::vector<uint8_t> out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : s) {
    const int v = value(c);
    if (v < 0) continue;  // padding, whitespace
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<uint8_t>((acc >> bits) & 0xff));
    }
  }
  return out;
}

inline std::vector<float> base64_floats(const std::string& s) {
  const std::vector<uint8_t> bytes = base64_decode(s);
  std::vector<float> f(bytes.size() / 4);
  std::memcpy(f.data(), bytes.data(), f.size() * 4);
  return f;
}

// Index of the largest value (lowest index on ties).
inline int32_t argmax(std::span<const float> v) {
  size_t best = 0;
  for (size_t i = 1; i < v.size(); ++i) {
    if (v[i] > v[best]) best = i;
  }
  return static_cast<int32_t>(best);
}

inline std::shared_ptr<const engine::LlmModel> load_model_file(const std::string& path,
                                                               int n_threads = 2) {
  auto m = engine::LlmModel::load(path, {.n_threads = n_threads, .backend = nullptr});
  EXPECT_TRUE(m.ok()) << (m.ok() ? "" : m.error().message);
  return m.ok() ? *m : nullptr;
}

inline std::shared_ptr<const engine::LlmModel> load_model(const std::string& name,
                                                          int n_threads = 2) {
  return load_model_file(model_path(name), n_threads);
}

inline std::unique_ptr<engine::LlmContext> make_context(
    std::shared_ptr<const engine::LlmModel> model, int n_threads = 2, int64_t n_ctx = 256,
    int32_t n_seq = 1) {
  engine::ContextOptions o;
  o.n_ctx = n_ctx;
  o.n_seq_max = n_seq;
  o.kv_type = backend::KvType::f32;
  o.n_threads = n_threads;
  auto c = engine::LlmContext::create(std::move(model), o);
  EXPECT_TRUE(c.ok()) << (c.ok() ? "" : c.error().message);
  return c.ok() ? std::move(c).value() : nullptr;
}

// Copies `src` into `dst`, letting `edit` drop (return false) or reshape a tensor.
using TensorEdit = std::function<bool(const gguf::TensorInfo& t, std::vector<int64_t>& ne)>;

// `nan_tensor` (F32) is written full of NaNs.
inline void copy_model(const std::string& src, const std::string& dst, const TensorEdit& edit,
                       const std::string& nan_tensor = "") {
  auto file = gguf::GgufFile::open(src);
  ASSERT_TRUE(file.ok());
  gguf::Writer w(file->alignment());
  for (const auto& e : file->metadata()) w.set(e.key, e.value);
  std::vector<std::vector<uint8_t>> zeros;
  for (const auto& t : file->tensors()) {
    std::vector<int64_t> ne(t.ne.begin(), t.ne.begin() + t.n_dims);
    if (!edit(t, ne)) continue;
    uint64_t n = 1;
    for (int64_t d : ne) n *= static_cast<uint64_t>(d);
    if (t.name == nan_tensor) {
      std::vector<float> nans(n, std::numeric_limits<float>::quiet_NaN());
      zeros.emplace_back(reinterpret_cast<const uint8_t*>(nans.data()),
                         reinterpret_cast<const uint8_t*>(nans.data() + n));
      ASSERT_TRUE(w.add_tensor(t.name, t.type, ne, zeros.back()).ok());
    } else if (n == t.n_elements) {
      ASSERT_TRUE(w.add_tensor(t.name, t.type, ne, {t.data, t.n_bytes}).ok());
    } else {
      const auto* info = gguf::tensor_type_info(t.type);
      zeros.emplace_back(n / info->block_size * info->block_bytes, 0);
      ASSERT_TRUE(w.add_tensor(t.name, t.type, ne, zeros.back()).ok());
    }
  }
  ASSERT_TRUE(w.write(dst).ok());
}

}  // namespace tessera::test
