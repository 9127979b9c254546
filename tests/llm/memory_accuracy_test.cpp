// The CPU memory estimate (engine/memory_estimate.h) against what the process really holds.
//
// Measured: the growth of the process's resident memory (anonymous + file-backed pages,
// /proc/self/status) from just before the model is opened to the end of one decode of a full
// micro-batch, in a child process forked per configuration (the child's heap trimmed first,
// so that what earlier runs left in the allocator does not count). The figure is the peak
// (VmHWM, reset through /proc/self/clear_refs just before the decode), so the compute buffers
// an encoder frees when embed() returns count, as does everything allocated or mapped at load
// that stays. Before the decode the child reads every page of the token embedding table (bert:
// the position and token-type tables too): get_rows reads only the rows of the tokens it
// sees, and a server sees the whole vocabulary in time, which the estimate plans for. The KV
// cache needs nothing of the kind: the CPU backend commits what it allocates.
//
// The parent first loads and runs a decoder of each weight type and an encoder once, so that
// what a process pays once for the runtime (code pages, static tables, the kernels' choice, the
// BPE pre-tokenizer's regular expression engine) is not charged to the first model measured.
//
// Every model of the shared test data and synthesized models of the qwen2.5-0.5b (Q8_0, tied
// output: the CPU keeps a copy of the embedding table for the output projection) and
// tinyllama-1.1b (Q4_K) shapes, at contexts 512 and 4096 per sequence with 1 and 4 parallel
// sequences (encoders: their context, one pass of whole texts): |estimate - measured| must be
// within 10% of measured. The table goes to stdout.
#include <fcntl.h>
#include <malloc.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <fstream>

#include "backend/cpu/cpu_backend.h"
#include "backend/cpu/weight_repack.h"
#include "memory_test_util.h"

namespace tessera::test {
namespace {

constexpr int kThreads = 2;

struct ProcMemory {
  uint64_t rss = 0, peak = 0, anon = 0, file = 0;
};

ProcMemory read_proc_memory() {
  ProcMemory m;
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line)) {
    const auto field = [&](const char* name, uint64_t& out) {
      const size_t n = std::strlen(name);
      if (line.compare(0, n, name) == 0) out = std::stoull(line.substr(n)) * 1024;
    };
    field("VmRSS:", m.rss);
    field("VmHWM:", m.peak);
    field("RssAnon:", m.anon);
    field("RssFile:", m.file);
  }
  return m;
}

// The peak resident size starts again from the current one.
bool reset_peak() {
  const int fd = open("/proc/self/clear_refs", O_WRONLY);
  if (fd < 0) return false;
  const bool ok = write(fd, "5", 1) == 1;
  close(fd);
  return ok;
}

// Reads a byte of every page of a tensor of the mapped file.
void touch_tensor(const gguf::GgufFile& f, const char* name) {
  const gguf::TensorInfo* t = f.find_tensor(name);
  if (t == nullptr || t->n_bytes == 0) return;
  volatile uint8_t sink = 0;
  for (uint64_t at = 0; at < t->n_bytes; at += 4096) sink = sink + t->data[at];
  sink = sink + t->data[t->n_bytes - 1];
}

// What a child reports (plain bytes through a pipe).
struct Footprint {
  bool ok = false;
  ProcMemory before;  // before the model is opened
  ProcMemory after;   // after the decode (peak: the highest during it)
  char error[512] = {};
};

void fail(Footprint& out, const std::string& what) {
  std::snprintf(out.error, sizeof(out.error), "%s", what.c_str());
}

void run_decoder(const MemoryConfig& c, Footprint& out) {
  auto m = engine::LlmModel::load(c.path,
                                  {.n_threads = kThreads, .backend = backend::make_cpu_backend()});
  if (!m.ok()) return fail(out, m.error().message);
  auto ctx = engine::LlmContext::create(*m, memory_context(c, kThreads));
  if (!ctx.ok()) return fail(out, ctx.error().message);
  touch_tensor((*m)->file(), "token_embd.weight");
  if (!reset_peak()) return fail(out, "cannot write /proc/self/clear_refs");
  if (Status s = (*ctx)->decode(full_micro_batch(c, (*m)->n_vocab())); !s.ok()) {
    return fail(out, s.error().message);
  }
  out.after = read_proc_memory();
  out.ok = true;
}

void run_encoder(const MemoryConfig& c, Footprint& out) {
  auto m = engine::EncoderModel::load(
      c.path, {.n_threads = kThreads, .backend = backend::make_cpu_backend()});
  if (!m.ok()) return fail(out, m.error().message);
  for (const char* t : {"token_embd.weight", "position_embd.weight", "token_types.weight"}) {
    touch_tensor((*m)->file(), t);
  }
  if (!reset_peak()) return fail(out, "cannot write /proc/self/clear_refs");
  auto e = (*m)->embed_tokens(full_encoder_pass(c, (*m)->hparams().n_vocab),
                              {.pooling = engine::Pooling::mean});
  if (!e.ok()) return fail(out, e.error().message);
  out.after = read_proc_memory();
  out.ok = true;
}

// Runs the configuration in a child process.
Footprint measure(const MemoryConfig& c) {
  Footprint result;
  int fds[2];
  if (pipe(fds) != 0) {
    fail(result, "pipe failed");
    return result;
  }
  const pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    Footprint out;
    malloc_trim(0);
    out.before = read_proc_memory();
    if (c.encoder) {
      run_encoder(c, out);
    } else {
      run_decoder(c, out);
    }
    const ssize_t n = write(fds[1], &out, sizeof(out));
    _exit(n == static_cast<ssize_t>(sizeof(out)) ? 0 : 1);
  }
  close(fds[1]);
  if (pid < 0) {
    close(fds[0]);
    fail(result, "fork failed");
    return result;
  }
  size_t got = 0;
  auto* p = reinterpret_cast<char*>(&result);
  while (got < sizeof(result)) {
    const ssize_t n = read(fds[0], p + got, sizeof(result) - got);
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (got != sizeof(result)) {
    result = Footprint{};
    fail(result, "the child process died (wait status " + std::to_string(status) + ")");
  }
  return result;
}

// What a process pays once for the runtime: every weight type's kernels, both tokenizer
// families, the encoder.
void warm_up() {
  static bool done = false;
  if (done) return;
  done = true;
  for (const char* name : {"llama-spm-tiny", "llama-spm-tiny-q4_0", "qwen2-tiny", "llama-kq-tiny",
                           "llama-kq-tiny-Q4_K_M", "llama-kq-tiny-Q3_K_M", "llama-kq-tiny-Q2_K"}) {
    auto m = load_model(name, kThreads, backend::make_cpu_backend());
    ASSERT_NE(m, nullptr);
    auto ctx = make_context(m, kThreads, 64);
    ASSERT_NE(ctx, nullptr);
    engine::Batch b;
    for (int32_t p = 0; p < 8; ++p) b.add(1 + p, 0, p, p == 7);
    ASSERT_TRUE(ctx->decode(b).ok()) << name;
  }
  auto e = load_encoder_model("bert-tiny", backend::make_cpu_backend());
  ASSERT_NE(e, nullptr);
  ASSERT_TRUE(e->embed({"warm up"}).ok());
}

void check_on_cpu(const std::vector<MemoryConfig>& configs) {
  ASSERT_FALSE(configs.empty());
  warm_up();
  print_memory_header("resident MiB");
  for (const MemoryConfig& c : configs) {
    const engine::MemoryEstimate e = estimate_for(c, engine::MemoryDevice::cpu);
    const Footprint f = measure(c);
    ASSERT_TRUE(f.ok) << c.label << ": " << f.error;
    const uint64_t measured = f.after.peak - f.before.rss;
    check_memory_row(c, e, measured,
                     " | measured: anon " + mib_text(f.after.anon - f.before.anon) + ", file " +
                         mib_text(f.after.file - f.before.file));
  }
}

TEST(CpuMemoryEstimate, TestdataModelsWithinTenPercentOfResidentMemory) {
  check_on_cpu(testdata_memory_configs());
}

TEST(CpuMemoryEstimate, Qwen25HalfBShapedQ8_0ModelWithinTenPercent) {
  TempDir dir;
  check_on_cpu(synthesized_configs(dir, "qwen2.5-0.5b", gguf::TensorType::Q8_0, "qwen2-tiny"));
}

TEST(CpuMemoryEstimate, TinyLlamaShapedQ4_KModelWithinTenPercent) {
  TempDir dir;
  check_on_cpu(
      synthesized_configs(dir, "tinyllama-1.1b", gguf::TensorType::Q4_K, "llama-spm-tiny"));
}

// The estimate's table of the CPU's rearranged copies is the backend's (weight_repack.h), and
// which instruction sets copy which types is the backend's choice.
TEST(CpuMemoryEstimate, CopySizesAreTheCpuBackendsSizes) {
  using engine::CpuKernels;
  using gguf::TensorType;
  for (int64_t rows : {1, 7, 8, 9, 31, 32, 33, 100}) {
    for (int64_t cols : {256, 512, 2048}) {
      for (TensorType t :
           {TensorType::Q8_0, TensorType::Q4_0, TensorType::Q5_0, TensorType::Q4_K}) {
        EXPECT_EQ(engine::cpu_weight_copy_bytes(t, rows, cols, CpuKernels::avx512vnni),
                  backend::cpu::rows8_bytes(t, rows, cols))
            << gguf::tensor_type_info(t)->name << " " << rows << " x " << cols;
        EXPECT_EQ(engine::cpu_weight_copy_bytes(t, rows, cols, CpuKernels::avx2), 0u);
      }
      for (TensorType t : {TensorType::F16, TensorType::BF16}) {
        EXPECT_EQ(engine::cpu_weight_copy_bytes(t, rows, cols, CpuKernels::avx2),
                  backend::cpu::rows32_bytes(rows, cols));
        EXPECT_EQ(engine::cpu_weight_copy_bytes(t, rows, cols, CpuKernels::avx512vnni),
                  backend::cpu::rows32_bytes(rows, cols));
        EXPECT_EQ(engine::cpu_weight_copy_bytes(t, rows, cols, CpuKernels::scalar), 0u);
      }
      for (TensorType t : {TensorType::F32, TensorType::Q6_K, TensorType::Q2_K, TensorType::Q4_1}) {
        EXPECT_EQ(engine::cpu_weight_copy_bytes(t, rows, cols), 0u);
      }
    }
  }
}

// The copies the estimate plans for this machine's CPU are the ones the CPU backend allocates
// at load: the backend's memory account right after load against the copies' sizes (the
// estimate's weight_copies counts only what they add to the mapped weights).
TEST(CpuMemoryEstimate, PlannedCopiesAreWhatTheBackendAllocatesAtLoad) {
  const engine::CpuKernels kernels = engine::host_cpu_kernels();
  for (const MemoryConfig& c : testdata_memory_configs()) {
    if (c.ctx != 512 || c.parallel != 1) continue;  // one configuration per model
    const engine::ModelInfo info = model_info_of(c.path);
    uint64_t planned = 0;
    bool tied = !c.encoder;
    for (const engine::TensorSummary& t : info.tensors) {
      const bool matmul =
          t.n_dims == 2 && ((t.name.starts_with("blk.") && t.name.ends_with(".weight")) ||
                            t.name == "output.weight");
      if (matmul) planned += engine::cpu_weight_copy_bytes(t.type, t.rows, t.cols, kernels);
      if (t.name == "output.weight") tied = false;
    }
    for (const engine::TensorSummary& t : info.tensors) {
      if (tied && t.name == "token_embd.weight") {
        planned += engine::cpu_weight_copy_bytes(t.type, t.rows, t.cols, kernels);
      }
    }
    auto be = backend::make_cpu_backend();
    if (c.encoder) {
      auto m = engine::EncoderModel::load(c.path, {.n_threads = 1, .backend = be});
      ASSERT_TRUE(m.ok()) << m.error().message;
      EXPECT_EQ(be->memory().allocated, planned) << c.label;
    } else {
      auto m = engine::LlmModel::load(c.path, {.n_threads = 1, .backend = be});
      ASSERT_TRUE(m.ok()) << m.error().message;
      EXPECT_EQ(be->memory().allocated, planned) << c.label;
    }
  }
}

// The KV cache, activations, index arrays and logits a context allocates are the estimate's
// KV cache and compute, but for the matmul's converted activations (thread-local scratch of
// the decoding thread, outside the backend).
TEST(CpuMemoryEstimate, ContextBuffersAreTheEstimatesKvCacheAndCompute) {
  for (const MemoryConfig& c : testdata_memory_configs()) {
    if (c.encoder || c.ctx != 512) continue;
    SCOPED_TRACE(c.label + " x " + std::to_string(c.parallel));
    const engine::MemoryEstimate e = estimate_for(c, engine::MemoryDevice::cpu);
    auto m = load_model_file(c.path, kThreads, backend::make_cpu_backend());
    ASSERT_NE(m, nullptr);
    auto ctx = engine::LlmContext::create(m, memory_context(c, kThreads));
    ASSERT_TRUE(ctx.ok()) << ctx.error().message;
    ASSERT_TRUE((*ctx)->decode(full_micro_batch(c, m->n_vocab())).ok());
    const auto ub = static_cast<uint64_t>(e.micro_batch);
    const auto widest = static_cast<uint64_t>(std::max(m->hparams().n_embd, m->hparams().n_ff));
    EXPECT_EQ((*ctx)->backend_bytes(), e.kv_cache + e.compute - ub * widest * 5 / 4);
  }
}

}  // namespace
}  // namespace tessera::test
