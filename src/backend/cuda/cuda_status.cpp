#include "backend/cuda/cuda_status.h"

#include <cstdio>

#include "backend/cuda/device_errors.h"

namespace tessera::cuda {

namespace {

// Errors after which the CUDA context of the process is unusable.
bool context_lost(cudaError_t e) {
  switch (e) {
    case cudaErrorIllegalAddress:
    case cudaErrorLaunchFailure:
    case cudaErrorIllegalInstruction:
    case cudaErrorMisalignedAddress:
    case cudaErrorInvalidAddressSpace:
    case cudaErrorInvalidPc:
    case cudaErrorHardwareStackError:
    case cudaErrorAssert:
    case cudaErrorECCUncorrectable:
    case cudaErrorLaunchTimeout:
      return true;
    default:
      return false;
  }
}

}  // namespace

Error cuda_error(cudaError_t e, std::string_view what) {
  std::string m =
      std::string(what) + ": " + cudaGetErrorName(e) + " (" + cudaGetErrorString(e) + ")";
  if (context_lost(e)) {
    m += "; the GPU context of this process is lost: restart the process (tessera doctor checks "
         "the device)";
  }
  const ErrorCode code =
      e == cudaErrorMemoryAllocation ? ErrorCode::out_of_range : ErrorCode::io_error;
  return Error{code, std::move(m)};
}

Error cublas_error(cublasStatus_t s, std::string_view what) {
  const ErrorCode code =
      s == CUBLAS_STATUS_ALLOC_FAILED ? ErrorCode::out_of_range : ErrorCode::io_error;
  return Error{code, std::string(what) + ": cuBLAS " + cublasGetStatusName(s) + " (" +
                         cublasGetStatusString(s) + ")"};
}

std::string device_error_message(unsigned flags) {
  std::string m;
  const auto add = [&](unsigned flag, const char* text) {
    if ((flags & flag) == 0) return;
    if (!m.empty()) m += "; ";
    m += text;
  };
  add(kErrTokenId, "get_rows: a token id is outside the table");
  add(kErrRowIndex, "gather_rows: a row index is outside the source");
  add(kErrCellIndex, "kv_store: a cell index is outside the cache");
  add(kErrQueryWindow, "attention: a query's cell window is outside the cache");
  if (m.empty()) m = "unknown device error flags " + std::to_string(flags);
  return "cuda stream: " + m + " (those rows were skipped)";
}

std::string mib(size_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(bytes) / (1024.0 * 1024.0));
  return buf;
}

}  // namespace tessera::cuda
