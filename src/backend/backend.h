// The compute-backend interface: what the model runtime (engine/) sees of a device.
//
//   Backend — one device (the CPU, a GPU, later a GPU slice): owns memory and accounts for
//             it against an optional hard limit (the scheduler gives each model a budget),
//             and makes Streams.
//   Buffer  — a block of the backend's memory; freed (and its bytes returned to the
//             backend's account) when destroyed.
//   Stream  — an ordered queue of ops over Tensors (tensor.h) in its backend's memory: the ops
//             a transformer needs, plus host transfers. A CPU stream runs each op before the
//             call returns on its own thread pool; a GPU stream may enqueue and return at once.
//             Results reach the host through read() and are valid after synchronize().
//
// Errors: allocation returns an error value (out_of_range, "does not fit", with the sizes)
// instead of aborting. Ops do not return errors: a bad argument or a failure on the device is
// recorded, the stream skips its later ops, and the next synchronize() returns the first
// error (then the stream is usable again). Shapes are checked by every op (cheap integer
// compares): a mismatch is a programming error in the caller, reported that way.
//
// Threads: a Backend is thread-safe (allocation, accounting, stream creation). A Stream is used
// by one thread at a time. Weights (imported once per model) are shared read-only by all the
// streams of their backend.
//
// Determinism contract for every backend: an output element is computed with the same
// arithmetic whatever the batch around it and the thread count, so a sequence's results do
// not depend on the other sequences in the batch.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "backend/ops.h"
#include "backend/tensor.h"
#include "util/result.h"

namespace tessera::backend {

// The version of this interface (Backend, Stream, Buffer, the op structs): a backend built as a
// plugin (the CUDA one) must have been compiled against the same version as its loader. Bump it
// with any change to these classes' layout or virtual functions.
inline constexpr int kBackendInterfaceVersion = 1;

enum class DeviceKind { cpu, cuda };
const char* device_kind_name(DeviceKind kind);

// Bytes a backend holds. `allocated`: its own buffers (activations, KV caches, weights copied
// to a device); `imported`: host memory it uses in place (weights mapped from the file on the
// CPU). The limit, when set, bounds allocated + imported.
struct MemoryStats {
  uint64_t allocated = 0;
  uint64_t imported = 0;
  uint64_t peak = 0;   // highest allocated + imported seen
  uint64_t limit = 0;  // 0 = no limit
  uint64_t in_use() const { return allocated + imported; }
};

// The account of one backend's memory, shared with its buffers (so a buffer may outlive the
// Backend object that made it). Thread-safe.
class MemoryAccount {
 public:
  // Reserves `bytes` of the given kind. Errors: out_of_range when the limit would be passed
  // ("<what>: <bytes> does not fit: <in use> of <limit> in use on <device>").
  Status reserve(uint64_t bytes, bool imported, std::string_view what, std::string_view device);
  void release(uint64_t bytes, bool imported);
  void set_limit(uint64_t limit);
  MemoryStats stats() const;

 private:
  mutable std::mutex mu_;
  MemoryStats stats_;
};

class Buffer {
 public:
  virtual ~Buffer() = default;
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;

  void* data() const { return data_; }  // backend address space
  size_t size() const { return size_; }
  // The same bytes as a host pointer when the host can use them directly (CPU memory), else
  // null (the Stream's read/write transfer them).
  virtual void* host_data() const = 0;
  // A tensor at `offset` bytes into the buffer (must fit; checked with an assert).
  Tensor tensor(gguf::TensorType type, size_t offset, int64_t rows, int64_t cols) const;
  // Host memory this buffer uses in place (import_host) whose pages the caller gave back to
  // the system while the buffer lives (a weight read from a copy from now on): `bytes` of it
  // stop counting in the backend's account (at most what the buffer still counts). A no-op
  // for buffers that hold their own memory.
  virtual void uncharge(size_t bytes) { (void)bytes; }

 protected:
  Buffer(void* data, size_t size) : data_(data), size_(size) {}

 private:
  void* data_;
  size_t size_;
};

struct StreamOptions {
  int n_threads = 0;  // CPU: threads of the stream's pool, the caller's included (0 = cores)
};

class Stream {
 public:
  virtual ~Stream() = default;
  virtual std::string_view device_name() const = 0;

  // ---- ops. F32 tensors unless stated; "n" is the number of rows (tokens) of the input.
  // out[i] = table[ids[i]] as f32. ids: I32 1 x n, each in [0, table.rows).
  virtual void get_rows(const Tensor& table, const Tensor& ids, const Tensor& out) = 0;
  // out[i] = src[rows[i]], f32 rows; rows: I32 1 x n.
  virtual void gather_rows(const Tensor& src, const Tensor& rows, const Tensor& out) = 0;
  // y[t][r] = sum_c w[r][c] * x[t][c] (+ bias[r]). w: any weight type the backend supports,
  // rows x cols; x: n x cols; y: n x w.rows; bias: 1 x w.rows or absent. y must not overlap x.
  virtual void matmul(const Tensor& w, const Tensor& x, const Tensor& y, const Tensor& bias) = 0;
  // Row normalizations (y may equal x); weight / bias: 1 x cols or absent.
  virtual void rms_norm(const Tensor& x, const Tensor& weight, float eps, const Tensor& y) = 0;
  virtual void layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, float eps,
                          const Tensor& y) = 0;
  // In place on x: n x (n_heads * head_dim); token t at position pos[t] (I32 1 x n).
  virtual void rope(const Tensor& x, int n_heads, const Tensor& pos, const RopeOp& op) = 0;
  // Elementwise, same shapes (out may equal an input).
  virtual void add(const Tensor& a, const Tensor& b, const Tensor& out) = 0;
  virtual void mul(const Tensor& a, const Tensor& b, const Tensor& out) = 0;
  virtual void scale(const Tensor& x, float s, const Tensor& out) = 0;
  virtual void gelu(const Tensor& x, const Tensor& out) = 0;
  virtual void silu(const Tensor& x, const Tensor& out) = 0;
  virtual void swiglu(const Tensor& gate, const Tensor& up, const Tensor& out) = 0;
  // out[r] = a[r] + row (row: 1 x cols).
  virtual void add_row(const Tensor& a, const Tensor& row, const Tensor& out) = 0;
  // Softmax of each row (stable; an all -inf row gives zeros).
  virtual void softmax(const Tensor& x, const Tensor& out) = 0;
  // Stores n f32 rows of (n_kv_heads * head_dim) values into cells cells[i] (I32 1 x n,
  // distinct, < cache.rows) of one cache tensor (K or V of a KvLayer).
  virtual void kv_store(const Tensor& rows, const Tensor& cells, const Tensor& cache) = 0;
  // Causal attention of n query tokens over a KV layer: q, out: n x (n_heads * head_dim);
  // queries: I32 n x 4 (AttentionQuery). GQA; online softmax, no score matrix; a query that sees
  // no cell gets zeros. Store the batch's own K/V first.
  virtual void attention(const Tensor& q, const Tensor& queries, const KvLayer& kv,
                         const AttentionShape& shape, const Tensor& out) = 0;

  // ---- transfers (whole tensors).
  // Copies t.bytes() host bytes into t; `host` may be reused as soon as the call returns.
  virtual void write(const Tensor& t, const void* host) = 0;
  // Copies t into host (t.bytes()); the bytes are there after synchronize().
  virtual void read(const Tensor& t, void* host) = 0;
  // Waits for every op so far; returns the first error recorded since the last call.
  virtual Status synchronize() = 0;

  // ---- steps (optional). The ops issued from begin_graph() to end_graph() form one step (a
  // decode step) that a GPU stream may record once as a graph and replay while later steps
  // issue the same ops with the same arguments; the contents of tensors, index arrays written
  // with write() inside the step included, may change between steps. Results are the same as
  // without the marks. The CPU runs the ops as usual. Steps do not nest.
  virtual void begin_graph() {}
  virtual void end_graph() {}
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string_view name() const = 0;  // "cpu", "cuda:0", ...
  virtual DeviceKind kind() const = 0;
  // Whether matmul / get_rows accept weights of `type`.
  virtual bool supports_weight_type(gguf::TensorType type) const = 0;

  // A zero-initialized buffer of `bytes`. Errors: out_of_range when it does not fit the
  // limit or the device (sizes in the message); `what` names the use ("KV cache").
  virtual Result<std::unique_ptr<Buffer>> alloc(size_t bytes, std::string_view what) = 0;
  // Host memory usable as backend memory, e.g. a model file's tensor data. The CPU wraps it in
  // place (the host bytes must outlive the buffer and stay unchanged); a GPU copies it to the
  // device. Counted against the limit either way.
  virtual Result<std::unique_ptr<Buffer>> import_host(const void* host, size_t bytes,
                                                      std::string_view what) = 0;
  virtual Result<std::unique_ptr<Stream>> create_stream(const StreamOptions& options) = 0;

  // A matmul weight in the arrangement this backend multiplies fastest: either `w` itself
  // (buffer null) or a copy in a new buffer the caller keeps alive as long as the tensor.
  // The copy is for matmul only (get_rows reads natural tensors). Counted like alloc().
  struct PreparedWeight {
    Tensor tensor;
    std::unique_ptr<Buffer> buffer;
  };
  virtual Result<PreparedWeight> prepare_weight(const Tensor& w, std::string_view what) {
    (void)what;
    return PreparedWeight{w, nullptr};
  }

  MemoryStats memory() const { return account_->stats(); }
  // Hard cap on allocated + imported bytes (0 = none). Lowering it below what is in use only
  // makes later allocations fail.
  void set_memory_limit(uint64_t bytes) { account_->set_limit(bytes); }

 protected:
  std::shared_ptr<MemoryAccount> account_ = std::make_shared<MemoryAccount>();
};

}  // namespace tessera::backend
