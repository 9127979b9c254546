// CudaStream's machinery: creation, errors, transfers, scratch and graph steps. The ops are in
// cuda_stream_ops.cpp and cuda_matmul.cpp.
#include "backend/cuda/cuda_stream.h"

#include <cstring>

#include "backend/cuda/cuda_status.h"

namespace tessera::cuda {
namespace {

constexpr size_t kCublasWorkspace = size_t{32} << 20;  // what cuBLAS asks for on Hopper
constexpr size_t kStepBlock = size_t{4} << 20;         // a step's transfers (index arrays, logits)
constexpr size_t kGraphsKept = 16;                     // e.g. one per decode batch size in use

void* pinned_alloc(size_t bytes) {
  void* p = nullptr;
  if (cudaHostAlloc(&p, bytes, cudaHostAllocDefault) != cudaSuccess) {
    cudaGetLastError();
    return nullptr;
  }
  return p;
}

}  // namespace

CudaStream::CudaStream(DevicePool pool) : pool_(std::move(pool)) {}

Result<std::unique_ptr<backend::Stream>> CudaStream::create(const DevicePool& pool) {
  DeviceScope scope(pool.device);
  std::unique_ptr<CudaStream> s(new CudaStream(pool));
  if (cudaError_t e = cudaStreamCreateWithFlags(&s->stream_, cudaStreamNonBlocking);
      e != cudaSuccess) {
    return cuda_error(e, "creating a stream on " + pool.name);
  }
  if (cudaError_t e = cudaEventCreateWithFlags(&s->step_done_, cudaEventDisableTiming);
      e != cudaSuccess) {
    return cuda_error(e, "creating an event on " + pool.name);
  }
  if (cublasStatus_t c = cublasCreate(&s->cublas_); c != CUBLAS_STATUS_SUCCESS) {
    return cublas_error(c, "creating a cuBLAS handle on " + pool.name);
  }
  TESSERA_TRY_ASSIGN(workspace, device_alloc(pool, kCublasWorkspace, "cuBLAS workspace"));
  s->cublas_workspace_ = std::move(workspace);
  if (cublasSetStream(s->cublas_, s->stream_) != CUBLAS_STATUS_SUCCESS ||
      cublasSetWorkspace(s->cublas_, s->cublas_workspace_->data(), kCublasWorkspace) !=
          CUBLAS_STATUS_SUCCESS) {
    return make_error(ErrorCode::io_error,
                      "cuBLAS refused its stream or workspace on " + pool.name);
  }
  TESSERA_TRY_ASSIGN(word, device_alloc(pool, 256, "stream error word"));
  s->error_word_ = std::move(word);
  s->error_host_ = static_cast<unsigned*>(pinned_alloc(sizeof(unsigned)));
  s->step_block_ = static_cast<uint8_t*>(pinned_alloc(kStepBlock));
  if (s->error_host_ == nullptr || s->step_block_ == nullptr) {
    return make_error(ErrorCode::out_of_range,
                      "the system refused pinned host memory for a stream on " + pool.name);
  }
  s->step_staging_ = StepStaging(kStepBlock);
  s->staging_ = std::make_unique<HostStaging>(pinned_alloc, [](void* p) { cudaFreeHost(p); });
  s->graphs_ = std::make_unique<GraphCache<cudaGraphExec_t>>(
      kGraphsKept, [](cudaGraphExec_t g) { cudaGraphExecDestroy(g); });
  return std::unique_ptr<backend::Stream>(s.release());
}

CudaStream::~CudaStream() {
  DeviceScope scope(pool_.device);
  if (stream_ != nullptr) cudaStreamSynchronize(stream_);
  graphs_.reset();
  staging_.reset();
  if (step_block_ != nullptr) cudaFreeHost(step_block_);
  if (error_host_ != nullptr) cudaFreeHost(error_host_);
  if (cublas_ != nullptr) cublasDestroy(cublas_);
  if (step_done_ != nullptr) cudaEventDestroy(step_done_);
  if (stream_ != nullptr) cudaStreamDestroy(stream_);
}

bool CudaStream::fits(const char* op, const char* violated) {
  if (error_) return false;
  if (violated != nullptr) {
    error_ =
        make_error(ErrorCode::invalid_argument,
                   "cuda stream: " + std::string(op) + ": bad tensors (expected " + violated + ")");
    return false;
  }
  return true;
}

void CudaStream::record(Error e) {
  if (!error_) error_ = std::move(e);
}

void CudaStream::sign(uint64_t op, std::initializer_list<const Tensor*> tensors,
                      std::initializer_list<uint64_t> words) {
  if (!recording_) return;
  signature_.add(op);
  signature_.add(scratch_generation_);
  for (const Tensor* t : tensors) {
    signature_.add(static_cast<uint64_t>(t->type));
    signature_.add_pointer(t->data);
    signature_.add(static_cast<uint64_t>(t->rows));
    signature_.add(static_cast<uint64_t>(t->cols));
    signature_.add(static_cast<uint64_t>(t->layout));
  }
  for (uint64_t w : words) signature_.add(w);
}

void CudaStream::enqueue(const char* op, Launch launch) {
  if (recording_) {
    recorded_.push_back(std::move(launch));
    return;
  }
  DeviceScope scope(pool_.device);
  launch(stream_);
  if (cudaError_t e = cudaGetLastError(); e != cudaSuccess) {
    record(cuda_error(e, std::string("cuda stream: ") + op));
  }
}

void* CudaStream::scratch(Scratch slot, size_t bytes, const char* op) {
  std::unique_ptr<backend::Buffer>& buf = scratch_[slot];
  if (buf != nullptr && buf->size() >= bytes) return buf->data();
  // Grow by half again, so a slowly growing need does not reallocate each time.
  const size_t want = bytes + bytes / 2;
  auto made = device_alloc(pool_, want, std::string("cuda stream scratch for ") + op);
  if (!made.ok()) {
    record(made.error());
    return nullptr;
  }
  if (buf != nullptr) retired_.push_back(std::move(buf));  // closures may still point at it
  buf = std::move(*made);
  ++scratch_generation_;
  return buf->data();
}

uint8_t* CudaStream::stage(const Tensor& t, uint64_t op, const char* what, bool& in_step) {
  const size_t bytes = t.bytes();
  if (recording_) {
    const int64_t at = step_staging_.take(bytes);
    if (at >= 0) {
      sign(op, {&t}, {static_cast<uint64_t>(at)});
      in_step = true;
      return step_block_ + at;
    }
    flush_step();  // the step's transfers outgrew the block: the rest runs without a graph
  }
  in_step = false;
  auto* p = static_cast<uint8_t*>(staging_->take(bytes));
  if (p == nullptr) {
    record(make_error(ErrorCode::out_of_range, std::string("cuda stream: ") + what +
                                                   ": no pinned host memory for " + mib(bytes)));
  }
  return p;
}

void CudaStream::write(const Tensor& t, const void* host) {
  if (!fits("write", t.data != nullptr || t.rows == 0 ? nullptr : "a tensor")) return;
  const size_t bytes = t.bytes();
  if (bytes == 0) return;
  bool in_step = false;
  uint8_t* src = stage(t, 101, "write", in_step);
  if (src == nullptr) return;
  std::memcpy(src, host, bytes);
  void* dst = t.data;
  enqueue("write",
          [=](cudaStream_t s) { cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, s); });
}

void CudaStream::read(const Tensor& t, void* host) {
  if (!fits("read", t.data != nullptr || t.rows == 0 ? nullptr : "a tensor")) return;
  const size_t bytes = t.bytes();
  if (bytes == 0) return;
  bool in_step = false;
  uint8_t* dst = stage(t, 102, "read", in_step);
  if (dst == nullptr) return;
  const void* src = t.data;
  enqueue("read",
          [=](cudaStream_t s) { cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, s); });
  reads_.push_back({host, dst, bytes, in_step});
}

void CudaStream::complete_reads(bool step_block_only) {
  std::vector<PendingRead> kept;
  for (const PendingRead& r : reads_) {
    if (step_block_only && !r.step_block) {
      kept.push_back(r);
    } else {
      std::memcpy(r.dst, r.src, r.bytes);
    }
  }
  reads_ = std::move(kept);
}

Status CudaStream::synchronize() {
  DeviceScope scope(pool_.device);
  if (recording_) flush_step();
  cudaMemcpyAsync(error_host_, error_word_->data(), sizeof(unsigned), cudaMemcpyDeviceToHost,
                  stream_);
  cudaMemsetAsync(error_word_->data(), 0, sizeof(unsigned), stream_);
  if (cudaError_t e = cudaStreamSynchronize(stream_); e != cudaSuccess) {
    record(cuda_error(e, "cuda stream: running the queued ops on " + pool_.name));
  } else if (*error_host_ != 0) {
    record(make_error(ErrorCode::invalid_argument, device_error_message(*error_host_)));
  }
  complete_reads(false);
  staging_->restart();
  retired_.clear();
  step_issued_ = false;
  if (!error_) return {};
  Error e = std::move(*error_);
  error_.reset();
  return e;
}

void CudaStream::begin_graph() {
  if (recording_) return;  // steps do not nest
  DeviceScope scope(pool_.device);
  if (step_issued_) {
    // The previous step's copies read and write the step block: let them finish first.
    if (cudaError_t e = cudaEventSynchronize(step_done_); e != cudaSuccess) {
      record(cuda_error(e, "cuda stream: waiting for the previous step"));
    }
    complete_reads(true);
    step_issued_ = false;
  }
  recording_ = true;
  recorded_.clear();
  signature_.clear();
  step_staging_.restart();
}

void CudaStream::flush_step() {
  recording_ = false;
  std::vector<Launch> ops = std::move(recorded_);
  recorded_.clear();
  for (Launch& op : ops) enqueue("step", std::move(op));
  cudaEventRecord(step_done_, stream_);
  step_issued_ = true;
}

void CudaStream::end_graph() {
  if (!recording_) return;
  DeviceScope scope(pool_.device);
  if (error_) {  // ops were skipped: the step is incomplete; run nothing more
    recording_ = false;
    recorded_.clear();
    return;
  }
  launch_recorded_step();
}

void CudaStream::launch_recorded_step() {
  recording_ = false;
  if (const cudaGraphExec_t* cached = graphs_->find(signature_)) {
    if (cudaError_t e = cudaGraphLaunch(*cached, stream_); e != cudaSuccess) {
      record(cuda_error(e, "cuda stream: replaying a step"));
    }
  } else {
    cudaGraph_t graph = nullptr;
    cudaGraphExec_t exec = nullptr;
    bool captured =
        cudaStreamBeginCapture(stream_, cudaStreamCaptureModeThreadLocal) == cudaSuccess;
    if (captured) {
      for (Launch& op : recorded_) op(stream_);
      captured = cudaStreamEndCapture(stream_, &graph) == cudaSuccess && graph != nullptr;
    }
    if (captured) captured = cudaGraphInstantiate(&exec, graph, 0) == cudaSuccess;
    if (graph != nullptr) cudaGraphDestroy(graph);
    if (captured && cudaGraphLaunch(exec, stream_) == cudaSuccess) {
      graphs_->insert(signature_, exec);
    } else {
      // The step cannot be a graph here (a capture refused by the driver): run it directly.
      if (exec != nullptr) cudaGraphExecDestroy(exec);
      cudaGetLastError();
      for (Launch& op : recorded_) enqueue("step", std::move(op));
    }
  }
  recorded_.clear();
  if (cudaError_t e = cudaGetLastError(); e != cudaSuccess) {
    record(cuda_error(e, "cuda stream: a step"));
  }
  cudaEventRecord(step_done_, stream_);
  step_issued_ = true;
}

}  // namespace tessera::cuda
