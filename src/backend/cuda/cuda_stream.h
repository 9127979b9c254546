// CudaStream: the Stream interface (backend/backend.h) on one CUDA stream of one device.
//
// Ops check their tensors (backend/op_checks.h) and enqueue kernels; nothing waits until
// synchronize(). Failures: a bad shape, a launch error or a device error word set by a kernel
// (an index array pointing outside its tensor) is kept and reported by the next synchronize(),
// and the ops after a known error are skipped.
//
// Transfers go through pinned staging memory (host_staging.h): write() copies the caller's
// bytes there before it returns; read() lands there and synchronize() copies to the caller.
//
// Graph steps (begin_graph / end_graph): the ops of a step are recorded as closures along with
// a signature of every argument (step_graphs.h). At end_graph the CUDA graph captured for an
// equal signature is replayed, else the closures are captured into a new graph (kept in a
// small cache) and launched. A step's writes and reads go through a fixed pinned block at the
// same offsets every step, so a replayed graph copies the new index arrays. synchronize() inside
// a step runs what was recorded without a graph.
//
// Scratch (quantized activations, f16 copies for cuBLAS, attention partials, the cuBLAS
// workspace) is device memory of the backend's pool, grown on demand and counted like any
// buffer; a grown scratch retires the old one until the stream is idle.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include <array>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "backend/cuda/cuda_memory.h"
#include "backend/cuda/host_staging.h"
#include "backend/cuda/step_graphs.h"

namespace tessera::cuda {

class CudaStream final : public backend::Stream {
 public:
  static Result<std::unique_ptr<backend::Stream>> create(const DevicePool& pool);
  ~CudaStream() override;

  std::string_view device_name() const override { return pool_.name; }

  using Tensor = backend::Tensor;
  void get_rows(const Tensor& table, const Tensor& ids, const Tensor& out) override;
  void gather_rows(const Tensor& src, const Tensor& rows, const Tensor& out) override;
  void matmul(const Tensor& w, const Tensor& x, const Tensor& y, const Tensor& bias) override;
  void rms_norm(const Tensor& x, const Tensor& weight, float eps, const Tensor& y) override;
  void layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, float eps,
                  const Tensor& y) override;
  void rope(const Tensor& x, int n_heads, const Tensor& pos, const backend::RopeOp& op) override;
  void add(const Tensor& a, const Tensor& b, const Tensor& out) override;
  void mul(const Tensor& a, const Tensor& b, const Tensor& out) override;
  void scale(const Tensor& x, float s, const Tensor& out) override;
  void gelu(const Tensor& x, const Tensor& out) override;
  void silu(const Tensor& x, const Tensor& out) override;
  void swiglu(const Tensor& gate, const Tensor& up, const Tensor& out) override;
  void add_row(const Tensor& a, const Tensor& row, const Tensor& out) override;
  void softmax(const Tensor& x, const Tensor& out) override;
  void kv_store(const Tensor& rows, const Tensor& cells, const Tensor& cache) override;
  void attention(const Tensor& q, const Tensor& queries, const backend::KvLayer& kv,
                 const backend::AttentionShape& shape, const Tensor& out) override;

  void write(const Tensor& t, const void* host) override;
  void read(const Tensor& t, void* host) override;
  Status synchronize() override;

  void begin_graph() override;
  void end_graph() override;

 private:
  enum Scratch { kQuantActivations, kHalfActivations, kHalfWeights, kAttention, kScratchCount };
  using Launch = std::function<void(cudaStream_t)>;

  explicit CudaStream(DevicePool pool);

  // False (the op is skipped) when an error is pending or `violated` (a contract) is set.
  bool fits(const char* op, const char* violated);
  void record(Error e);
  // Adds an op's identity and arguments to the step signature (inside a step only).
  void sign(uint64_t op, std::initializer_list<const Tensor*> tensors,
            std::initializer_list<uint64_t> words = {});
  // Runs `launch` on the stream now, or records it inside a step; checks the launch.
  void enqueue(const char* op, Launch launch);
  // Pinned host memory for transferring t: inside a step at the step block's next offset (the
  // offset signed as op `op`; `in_step` set), else staging; null when none (error recorded).
  uint8_t* stage(const Tensor& t, uint64_t op, const char* what, bool& in_step);
  // Device scratch of at least `bytes` for `slot`, or null (error recorded).
  void* scratch(Scratch slot, size_t bytes, const char* op);
  // Runs the recorded closures of the current step directly on the stream (no graph).
  void flush_step();
  void launch_recorded_step();
  void complete_reads(bool step_block_only);
  // Rows of a matmul weight dequantized per cuBLAS call (cuda_matmul.cpp).
  void matmul_gemm(const Tensor& w, const Tensor& x, const Tensor& y);

  DevicePool pool_;
  cudaStream_t stream_ = nullptr;
  cublasHandle_t cublas_ = nullptr;
  std::unique_ptr<backend::Buffer> cublas_workspace_;
  std::unique_ptr<backend::Buffer> error_word_;  // unsigned, device
  unsigned* error_host_ = nullptr;               // pinned copy of it
  std::optional<Error> error_;

  std::unique_ptr<HostStaging> staging_;
  struct PendingRead {
    void* dst;
    const void* src;  // pinned staging
    size_t bytes;
    bool step_block;
  };
  std::vector<PendingRead> reads_;

  std::array<std::unique_ptr<backend::Buffer>, kScratchCount> scratch_;
  std::vector<std::unique_ptr<backend::Buffer>> retired_;
  uint64_t scratch_generation_ = 0;

  // Graph steps.
  bool recording_ = false;
  std::vector<Launch> recorded_;
  StepSignature signature_;
  StepStaging step_staging_;
  uint8_t* step_block_ = nullptr;  // pinned, step_staging_.capacity() bytes
  cudaEvent_t step_done_ = nullptr;
  bool step_issued_ = false;
  std::unique_ptr<GraphCache<cudaGraphExec_t>> graphs_;
};

}  // namespace tessera::cuda
