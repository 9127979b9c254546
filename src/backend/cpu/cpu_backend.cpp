// CpuBackend, CpuBuffer and CpuStream: the interface of backend.h over the kernels of
// backend/cpu. Each Stream op checks its tensors' types and shapes, then calls one kernel.
#include "backend/cpu/cpu_backend.h"

#include <cstdlib>
#include <cstring>
#include <new>
#include <optional>
#include <string>
#include <thread>
#include <utility>

#include "backend/cpu/attention.h"
#include "backend/cpu/elementwise.h"
#include "backend/cpu/kv_rows.h"
#include "backend/cpu/matmul.h"
#include "backend/cpu/norm.h"
#include "backend/cpu/packed_gemm.h"
#include "backend/cpu/rope.h"
#include "backend/cpu/rows32_gemm.h"
#include "backend/cpu/thread_pool.h"
#include "backend/cpu/weight.h"
#include "backend/cpu/weight_repack.h"
#include "backend/op_checks.h"
#include "util/host_memory.h"

namespace tessera::backend {
namespace {

using gguf::TensorType;
constexpr std::string_view kName = "cpu";

class CpuBuffer final : public Buffer {
 public:
  // `memory` owned (alloc; util/host_memory.h), or empty for imported host memory.
  CpuBuffer(void* data, size_t size, HostMemory memory, std::shared_ptr<MemoryAccount> account)
      : Buffer(data, size),
        memory_(std::move(memory)),
        account_(std::move(account)),
        charged_(size) {}
  ~CpuBuffer() override {
    const bool imported = memory_.data() == nullptr;
    memory_ = HostMemory();
    account_->release(charged_, imported);
  }
  void* host_data() const override { return data(); }
  void uncharge(size_t bytes) override {
    if (memory_.data() != nullptr) return;  // owned memory stays charged until freed
    const size_t n = std::min(bytes, charged_);
    account_->release(n, true);
    charged_ -= n;
  }

 private:
  HostMemory memory_;
  std::shared_ptr<MemoryAccount> account_;
  size_t charged_;  // what the account counts for this buffer
};

float* f32(const Tensor& t) {
  return static_cast<float*>(t.data);
}
const int32_t* i32(const Tensor& t) {
  return static_cast<const int32_t*>(t.data);
}
int64_t elements(const Tensor& t) {
  return t.rows * t.cols;
}

cpu::WeightView weight_view(const Tensor& t) {
  return {t.type, t.data, t.rows, t.cols, t.layout};
}
bool is_weight(const Tensor& t) {
  return cpu::check_weight(weight_view(t), "weight").ok();
}

class CpuStream final : public Stream {
 public:
  explicit CpuStream(int n_threads) {
    if (n_threads > 1) pool_ = std::make_unique<cpu::ThreadPool>(n_threads);
  }
  std::string_view device_name() const override { return kName; }

  void get_rows(const Tensor& table, const Tensor& ids, const Tensor& out) override {
    if (!fits("get_rows", check_get_rows(table, is_weight(table), ids, out))) return;
    record(cpu::get_rows(weight_view(table), i32(ids), ids.cols, f32(out), pool()));
  }

  void gather_rows(const Tensor& src, const Tensor& rows, const Tensor& out) override {
    if (!fits("gather_rows", check_gather_rows(src, rows, out))) return;
    const size_t row_bytes = src.row_bytes();
    for (int64_t i = 0; i < rows.cols; ++i) {
      const int32_t r = i32(rows)[i];
      if (!expect(r >= 0 && r < src.rows, "gather_rows", "row index out of range")) return;
      std::memmove(static_cast<uint8_t*>(out.data) + static_cast<size_t>(i) * row_bytes,
                   static_cast<const uint8_t*>(src.data) + static_cast<size_t>(r) * row_bytes,
                   row_bytes);
    }
  }

  void matmul(const Tensor& w, const Tensor& x, const Tensor& y, const Tensor& bias) override {
    if (!fits("matmul", check_matmul(w, is_weight(w), x, y, bias))) return;
    cpu::matmul(weight_view(w), f32(x), x.rows, f32(y), bias.present() ? f32(bias) : nullptr,
                pool());
  }

  void rms_norm(const Tensor& x, const Tensor& weight, float eps, const Tensor& y) override {
    if (!fits("rms_norm", check_rms_norm(x, weight, y))) return;
    cpu::rms_norm(f32(x), weight.present() ? f32(weight) : nullptr, eps, x.rows, x.cols, f32(y),
                  pool());
  }

  void layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, float eps,
                  const Tensor& y) override {
    if (!fits("layer_norm", check_layer_norm(x, weight, bias, y))) return;
    cpu::layer_norm(f32(x), weight.present() ? f32(weight) : nullptr,
                    bias.present() ? f32(bias) : nullptr, eps, x.rows, x.cols, f32(y), pool());
  }

  void rope(const Tensor& x, int n_heads, const Tensor& pos, const RopeOp& op) override {
    if (!fits("rope", check_rope(x, n_heads, pos, op))) return;
    const int head_dim = static_cast<int>(x.cols / n_heads);
    const cpu::RopeParams p{op.style, op.n_rot, op.freq_base, op.freq_scale,
                            op.freq_factors.present() ? f32(op.freq_factors) : nullptr};
    cpu::rope(f32(x), x.rows, n_heads, head_dim, i32(pos), p, pool());
  }

  void add(const Tensor& a, const Tensor& b, const Tensor& out) override {
    if (binary(a, b, out, "add")) cpu::add(f32(a), f32(b), f32(out), elements(a));
  }
  void mul(const Tensor& a, const Tensor& b, const Tensor& out) override {
    if (binary(a, b, out, "mul")) cpu::mul(f32(a), f32(b), f32(out), elements(a));
  }
  void scale(const Tensor& x, float s, const Tensor& out) override {
    if (unary(x, out, "scale")) cpu::scale(f32(x), s, f32(out), elements(x));
  }
  void gelu(const Tensor& x, const Tensor& out) override {
    if (unary(x, out, "gelu")) cpu::gelu(f32(x), f32(out), elements(x), pool());
  }
  void silu(const Tensor& x, const Tensor& out) override {
    if (unary(x, out, "silu")) cpu::silu(f32(x), f32(out), elements(x), pool());
  }
  void swiglu(const Tensor& gate, const Tensor& up, const Tensor& out) override {
    if (binary(gate, up, out, "swiglu")) {
      cpu::swiglu(f32(gate), f32(up), f32(out), elements(gate), pool());
    }
  }
  void add_row(const Tensor& a, const Tensor& row, const Tensor& out) override {
    if (!fits("add_row", check_add_row(a, row, out))) return;
    cpu::add_row(f32(a), f32(row), f32(out), a.rows, a.cols);
  }
  void softmax(const Tensor& x, const Tensor& out) override {
    if (unary(x, out, "softmax")) cpu::softmax(f32(x), f32(out), x.rows, x.cols, pool());
  }

  void kv_store(const Tensor& rows, const Tensor& cells, const Tensor& cache) override {
    if (!fits("kv_store", check_kv_store(rows, cells, cache))) return;
    const KvType kv = *kv_type_of(cache.type);
    for (int64_t i = 0; i < rows.rows; ++i) {
      if (!expect(i32(cells)[i] >= 0 && i32(cells)[i] < cache.rows, "kv_store",
                  "cell index out of range")) {
        return;
      }
    }
    cpu::kv_store(kv, f32(rows), rows.rows, rows.cols, i32(cells), cache.data, pool());
  }

  void attention(const Tensor& q, const Tensor& queries, const KvLayer& kv,
                 const AttentionShape& shape, const Tensor& out) override {
    if (!fits("attention", check_attention(q, queries, kv, shape, out))) return;
    const KvType type = *kv_type_of(kv.k.type);
    const int64_t n_cells = kv.k.rows;
    const auto* qs = static_cast<const AttentionQuery*>(queries.data);
    for (int64_t t = 0; t < q.rows; ++t) {
      if (!expect(qs[t].cell_begin >= 0 && qs[t].cell_begin <= qs[t].cell_end &&
                      qs[t].cell_end <= n_cells,
                  "attention", "a query's cell window is outside the cache")) {
        return;
      }
    }
    const cpu::KvCacheView view{type,    kv.k.data,        kv.v.data,
                                n_cells, i32(kv.cell_seq), i32(kv.cell_pos)};
    cpu::attention(f32(q), q.rows, qs, view, shape, f32(out), pool());
  }

  void write(const Tensor& t, const void* host) override {
    if (expect(t.data != nullptr || t.rows == 0, "write", "no tensor")) {
      std::memcpy(t.data, host, t.bytes());
    }
  }
  void read(const Tensor& t, void* host) override {
    if (expect(t.data != nullptr || t.rows == 0, "read", "no tensor")) {
      std::memcpy(host, t.data, t.bytes());
    }
  }

  Status synchronize() override {
    if (!error_) return {};
    Error e = std::move(*error_);
    error_.reset();
    return e;
  }

 private:
  cpu::ThreadPool* pool() { return pool_.get(); }

  // False (and the op is skipped) when an earlier error is pending or `ok` is false; the
  // first failure is kept for synchronize().
  bool expect(bool ok, const char* op, const char* contract) {
    if (error_) return false;
    if (!ok) {
      error_ =
          make_error(ErrorCode::invalid_argument, std::string("cpu stream: ") + op +
                                                      ": bad tensors (expected " + contract + ")");
    }
    return ok;
  }
  void record(Status s) {
    if (!s.ok() && !error_) error_ = s.error();
  }
  // False (and the op is skipped) when an earlier error is pending or the op's tensors break
  // its contract (`violated`: op_checks.h).
  bool fits(const char* op, const char* violated) {
    return expect(violated == nullptr, op, violated);
  }
  bool unary(const Tensor& x, const Tensor& out, const char* op) {
    return fits(op, check_unary(x, out));
  }
  bool binary(const Tensor& a, const Tensor& b, const Tensor& out, const char* op) {
    return fits(op, check_binary(a, b, out));
  }

  std::unique_ptr<cpu::ThreadPool> pool_;
  std::optional<Error> error_;
};

class CpuBackend final : public Backend {
 public:
  explicit CpuBackend(const CpuBackendOptions& options) : options_(options) {}
  std::string_view name() const override { return kName; }
  DeviceKind kind() const override { return DeviceKind::cpu; }
  bool supports_weight_type(gguf::TensorType type) const override {
    return cpu::weight_type_supported(type);
  }

  // Matmul weights in the arrangement the CPU's fastest kernels read: Q8_0 / Q4_0 / Q5_0 in
  // rows8 (AVX-512 VNNI integer kernels), F16 / BF16 in rows32 (AVX2 or AVX-512); other
  // weights stay as they are.
  Result<PreparedWeight> prepare_weight(const Tensor& w, std::string_view what) override {
    Layout layout = Layout::natural;
    if (w.layout != Layout::natural || !options_.rearrange_weights)
      return PreparedWeight{w, nullptr};
    if (cpu::rows8_supported(w.type) && cpu::find_packed_gemm(w.type) != nullptr) {
      layout = Layout::rows8;
    } else if (cpu::rows32_supported(w.type) && cpu::find_rows32_gemm() != nullptr) {
      layout = Layout::rows32;
    } else {
      return PreparedWeight{w, nullptr};
    }
    TESSERA_TRY(check_tensor(w, std::string(what).c_str()));
    const size_t bytes = layout == Layout::rows8 ? cpu::rows8_bytes(w.type, w.rows, w.cols)
                                                 : cpu::rows32_bytes(w.rows, w.cols);
    TESSERA_TRY_ASSIGN(buf, alloc(bytes, what));
    const auto* src = static_cast<const uint8_t*>(w.data);
    auto* dst = static_cast<uint8_t*>(buf->data());
    if (layout == Layout::rows8) {
      cpu::repack_rows8(w.type, src, w.rows, w.cols, dst);
    } else {
      cpu::repack_rows32(src, w.rows, w.cols, dst);
    }
    Tensor t = w;
    t.data = buf->data();
    t.layout = layout;
    return PreparedWeight{t, std::move(buf)};
  }

  Result<std::unique_ptr<Buffer>> alloc(size_t bytes, std::string_view what) override {
    TESSERA_TRY(account_->reserve(bytes, false, what, kName));
    // Committed now, as a GPU's memory is: what the account says is in use is what the
    // process holds (a KV cache is resident from the context's creation, not as it fills).
    HostMemory memory = HostMemory::allocate(bytes);
    if (memory.data() == nullptr || !memory.commit()) {
      account_->release(bytes, false);
      return make_error(ErrorCode::out_of_range, std::string(what) + ": the system refused " +
                                                     std::to_string(bytes) + " bytes of memory");
    }
    void* p = memory.data();
    return std::unique_ptr<Buffer>(new CpuBuffer(p, bytes, std::move(memory), account_));
  }

  Result<std::unique_ptr<Buffer>> import_host(const void* host, size_t bytes,
                                              std::string_view what) override {
    TESSERA_TRY(account_->reserve(bytes, true, what, kName));
    return std::unique_ptr<Buffer>(
        new CpuBuffer(const_cast<void*>(host), bytes, HostMemory(), account_));
  }

  Result<std::unique_ptr<Stream>> create_stream(const StreamOptions& options) override {
    if (options.n_threads < 0) {
      return make_error(ErrorCode::invalid_argument,
                        "thread count " + std::to_string(options.n_threads) + " is negative");
    }
    int threads = options.n_threads;
    if (threads == 0) threads = static_cast<int>(std::thread::hardware_concurrency());
    return std::unique_ptr<Stream>(new CpuStream(threads > 0 ? threads : 1));
  }

 private:
  CpuBackendOptions options_;
};

}  // namespace

std::shared_ptr<Backend> make_cpu_backend(const CpuBackendOptions& options) {
  return std::make_shared<CpuBackend>(options);
}

}  // namespace tessera::backend
