// Rows of the K/V cache: how one token's keys (or values) of one layer are stored in a cell.
// A cell row holds n_kv_heads * head_dim values ([n_kv_heads][head_dim]) in a KvType; cells
// are rows back to back ([n_cells][n_kv_heads][head_dim]). The cache memory is the caller's.
#pragma once

#include <cstddef>
#include <cstdint>

#include "backend/cpu/thread_pool.h"
#include "backend/ops.h"
#include "util/result.h"

namespace tessera::backend::cpu {

using backend::kv_type_name;
using backend::KvType;  // ops.h: f16 (default), f32, q8_0

using backend::check_kv_layout;

// Bytes of one cell row of `n_values` values (for q8_0 a multiple of 32).
size_t kv_row_bytes(KvType type, int64_t n_values);

// Stores n_rows f32 rows of row_len values (rows: [n_rows][row_len] contiguous) into the
// cells cells[i] of `cache` (rows of kv_row_bytes(type, row_len) bytes). Cells must be
// distinct and inside the cache (not checked: the caller's allocator owns them). Threads
// split the rows; no allocation.
void kv_store(KvType type, const float* rows, int64_t n_rows, int64_t row_len, const int32_t* cells,
              void* cache, ThreadPool* pool);

// Converts values [first, first + n) of one stored row (`row` points at its first byte) to
// f32. For q8_0, first and n are multiples of 32. Thread-safe, no allocation.
void kv_load(KvType type, const void* row, int64_t first, int64_t n, float* out);

}  // namespace tessera::backend::cpu
