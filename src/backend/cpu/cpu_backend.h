// The CPU implementation of the compute-backend interface (backend/backend.h): buffers in
// host memory (64-byte aligned, committed when allocated: every page resident before alloc()
// returns, so a context's KV cache is held from its creation, as on a GPU, and not as it
// fills), weights used in place from the mapped file (import_host does not copy), and a
// Stream whose ops run the kernels of this folder on the stream's own ThreadPool before
// returning.
#pragma once

#include <memory>

#include "backend/backend.h"

namespace tessera::backend {

struct CpuBackendOptions {
  // Copy matmul weights into the arrangement the fastest kernels read (prepare_weight). Off:
  // weights are only ever read in place from the file (slower; no copies; the memory a GPU
  // would hold, which is what the scheduler's tests want of a stand-in GPU).
  bool rearrange_weights = true;
};

// A new CPU backend with its own memory account (no limit until set_memory_limit).
std::shared_ptr<Backend> make_cpu_backend(const CpuBackendOptions& options = {});

}  // namespace tessera::backend
