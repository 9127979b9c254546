// What the memory-estimate checks share (memory_accuracy_test.cpp on the CPU,
// cuda_memory_test.cpp on a GPU): the configurations (every test model at contexts 512 and
// 4096 per sequence with 1 and 4 parallel sequences, encoders at their context), the work
// that must be covered (one decode of a full micro-batch, one encoder pass of whole texts),
// synthesized models of real shapes, and the table the figures are printed in.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "backend/cpu/cpu_isa.h"
#include "engine/llm/host_kernels.h"
#include "engine/memory_estimate.h"
#include "engine/model_info.h"
#include "engine/model_synth.h"
#include "llm_test_util.h"

namespace tessera::test {

inline constexpr double kEstimateTolerance = 0.10;  // |estimate - measured| / measured

struct MemoryConfig {
  std::string label;
  std::string path;
  bool encoder = false;
  int64_t ctx = 0;  // per sequence; encoders: their context
  int64_t parallel = 1;
};

inline engine::ModelInfo model_info_of(const std::string& path) {
  auto f = gguf::GgufFile::open(path);
  EXPECT_TRUE(f.ok()) << (f.ok() ? "" : f.error().message);
  if (!f.ok()) return {};
  auto info = engine::read_model_info(*f);
  EXPECT_TRUE(info.ok()) << (info.ok() ? "" : info.error().message);
  return info.ok() ? *info : engine::ModelInfo{};
}

// Decoders at contexts 512 and 4096 x 1 and 4 sequences; an encoder at its context.
inline std::vector<MemoryConfig> memory_configs(const std::string& label, const std::string& path) {
  const engine::ModelInfo info = model_info_of(path);
  if (info.kind == engine::ModelKind::encoder) return {{label, path, true, info.n_ctx_train, 1}};
  std::vector<MemoryConfig> out;
  for (int64_t ctx : {512, 4096}) {
    for (int64_t parallel : {1, 4}) out.push_back({label, path, false, ctx, parallel});
  }
  return out;
}

inline std::vector<MemoryConfig> testdata_memory_configs() {
  std::vector<MemoryConfig> out;
  for (const std::string& name : testdata_models()) {
    for (const MemoryConfig& c : memory_configs(name, model_path(name))) out.push_back(c);
  }
  return out;
}

inline engine::ContextOptions memory_context(const MemoryConfig& c, int n_threads) {
  engine::ContextOptions o;
  o.n_ctx = c.ctx * c.parallel;  // the runtime's n_ctx counts the cells of all sequences
  o.n_seq_max = static_cast<int32_t>(c.parallel);
  o.n_threads = n_threads;
  return o;
}

// One full micro-batch (min(512, cells) tokens) spread over the sequences, logits for each
// sequence's last token (what MemoryEstimate assumes).
inline engine::Batch full_micro_batch(const MemoryConfig& c, int64_t n_vocab) {
  const int64_t ub = std::min(engine::kMicroBatch, c.ctx * c.parallel);
  const int64_t per_seq = ub / c.parallel;
  engine::Batch b;
  for (int32_t s = 0; s < c.parallel; ++s) {
    for (int32_t p = 0; p < per_seq; ++p) {
      b.add(static_cast<engine::TokenId>((7919 * (s * per_seq + p) + 13) % n_vocab), s, p,
            p + 1 == per_seq);
    }
  }
  return b;
}

// Texts of the whole context, as many as one encoder pass takes together (512 tokens).
inline std::vector<std::vector<engine::TokenId>> full_encoder_pass(const MemoryConfig& c,
                                                                   int64_t n_vocab) {
  const int64_t n = c.ctx;
  const int64_t texts = std::max<int64_t>(1, engine::kMicroBatch / n);
  std::vector<std::vector<engine::TokenId>> ids(static_cast<size_t>(texts));
  for (int64_t t = 0; t < texts; ++t) {
    for (int64_t i = 0; i < n; ++i) {
      ids[static_cast<size_t>(t)].push_back(
          static_cast<engine::TokenId>((7919 * (t * n + i) + 13) % n_vocab));
    }
  }
  return ids;
}

// A model of a real shape (random weights tiled from a pool: quick to write, the same size)
// in `dir`; its configurations.
inline std::vector<MemoryConfig> synthesized_configs(const TempDir& dir, const std::string& shape,
                                                     gguf::TensorType type,
                                                     const std::string& vocab_model) {
  const std::string path = dir.file(shape + ".gguf");
  engine::SynthOptions o;
  o.shape = shape;
  o.type = type;
  o.vocab_path = model_path(vocab_model);
  o.out_path = path;
  o.pool_fill = true;
  auto r = engine::synthesize_model(o);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  if (!r.ok()) return {};
  return memory_configs(shape + " " + gguf::tensor_type_info(type)->name, path);
}

inline std::string mib_text(uint64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.2f", static_cast<double>(bytes) / (1 << 20));
  return buf;
}

inline void print_memory_header(const char* measured) {
  std::printf("%-24s %5s %3s %12s %12s %7s  %s\n", "model", "ctx", "par", "estimate MiB", measured,
              "error", "parts of the estimate (MiB)");
}

// Prints one row and checks the tolerance.
inline void check_memory_row(const MemoryConfig& c, const engine::MemoryEstimate& e,
                             uint64_t measured, const std::string& extra = "") {
  const double error = (static_cast<double>(e.total) - static_cast<double>(measured)) /
                       static_cast<double>(measured);
  std::printf(
      "%-24s %5lld %3lld %12s %12s %6.1f%%  w %s + copies %s + kv %s + compute %s + "
      "overhead %s%s\n",
      c.label.c_str(), static_cast<long long>(c.ctx), static_cast<long long>(c.parallel),
      mib_text(e.total).c_str(), mib_text(measured).c_str(), 100 * error,
      mib_text(e.weights).c_str(), mib_text(e.weight_copies).c_str(), mib_text(e.kv_cache).c_str(),
      mib_text(e.compute).c_str(), mib_text(e.overhead).c_str(), extra.c_str());
  std::fflush(stdout);
  EXPECT_LE(std::abs(error), kEstimateTolerance)
      << c.label << " ctx " << c.ctx << " x " << c.parallel << ": estimate " << e.total
      << " bytes, measured " << measured;
}

inline engine::MemoryEstimate estimate_for(const MemoryConfig& c, engine::MemoryDevice device) {
  engine::MemoryOptions o;
  o.n_ctx = c.ctx;
  o.n_parallel = c.parallel;
  o.device = device;
  o.cpu_kernels = engine::host_cpu_kernels();
  auto e = engine::estimate_memory(model_info_of(c.path), o);
  EXPECT_TRUE(e.ok()) << (e.ok() ? "" : e.error().message);
  return e.ok() ? *e : engine::MemoryEstimate{};
}

}  // namespace tessera::test
