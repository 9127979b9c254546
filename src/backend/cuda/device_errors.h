// Errors a kernel finds in data it reads from device memory (index arrays the host wrote),
// reported without trusting the data: the kernel skips the bad element and ORs one of these
// flags into the stream's device error word, which synchronize() reads and turns into a
// message naming the op. Plain C++17: included by kernels (nvcc) and the backend (g++).
#pragma once

namespace tessera::cuda {

enum DeviceError : unsigned {
  kErrTokenId = 1u << 0,      // get_rows: a token id outside the table
  kErrRowIndex = 1u << 1,     // gather_rows: a row index outside the source
  kErrCellIndex = 1u << 2,    // kv_store: a cell index outside the cache
  kErrQueryWindow = 1u << 3,  // attention: a query's cell window outside the cache
};

}  // namespace tessera::cuda
