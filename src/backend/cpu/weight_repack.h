// The `rows8` arrangement of Q8_0, Q4_0, Q5_0 and Q4_K weights (backend::Layout::rows8), which the
// AVX-512 VNNI matmul kernels read (packed_gemm.h): rows in groups of 8 (the last group padded
// with zero rows), and per group, block by block (32 values), a group block of 8 x the type's
// block bytes:
//   bytes [0, 16)  the 8 rows' f16 scales (row i at 2i)
//   Q8_0: [16, 272)  step s (0..7) at 16 + 32s: row i's codes of values 4s..4s+3 at + 4i, as
//                    unsigned bytes (code + 128)
//   Q4_0: [16, 144)  s (0..3) at 16 + 32s, byte 4i + k: code of value 4s + k (low nibble) and
//                    of value 16 + 4s + k (high nibble), codes 0..15 as stored
//   Q5_0: as Q4_0 for the low 4 bits, then [144, 176): step s's 32 high bits at 144 + 4s,
//         bit 4i + k = bit 4 of row i's code of value 4s + k
//   Q4_K: per super-block (256 values), a group block of 1184 bytes:
//         [0, 16) the rows' f16 d, [16, 32) their f16 dmin, [32, 96) scales (sub-block j,
//         row i at 32 + 8j + i), [96, 160) mins (96 + 8j + i), then sub-block j's 32 codes
//         at 160 + 128j arranged as a Q4_0 block above
// So one 32-byte load holds one step of 8 rows (lanes = rows) and 4 bytes of a row broadcast
// make its step for a group of tokens (lanes = tokens). Group g starts at g * (cols / 32) *
// group block bytes.
#pragma once

#include <cstddef>
#include <cstdint>

#include "gguf/tensor_type.h"

namespace tessera::backend::cpu {

// The `rows32` arrangement of F16 and BF16 weights (backend::Layout::rows32), which the
// rows32 matmul kernels read (rows32_gemm.h): rows in groups of 32 (the last group padded with
// zero rows), and per group, column by column, the 32 rows' values: row 32g + i, column k at
// ((g * cols + k) * 32 + i) * 2 bytes. So a column of a group is one 64-byte line, and the
// group reads as one stream.
bool rows32_supported(gguf::TensorType type);
size_t rows32_bytes(int64_t rows, int64_t cols);
void repack_rows32(const uint8_t* src, int64_t rows, int64_t cols, uint8_t* dst);

// Whether `type` has a rows8 arrangement (Q8_0, Q4_0, Q5_0, Q4_K).
bool rows8_supported(gguf::TensorType type);

// Bytes of the rows8 arrangement of rows x cols (rows rounded up to 8).
size_t rows8_bytes(gguf::TensorType type, int64_t rows, int64_t cols);

// Arranges `rows` natural GGUF rows of `cols` values at `src` into `dst` (rows8_bytes).
void repack_rows8(gguf::TensorType type, const uint8_t* src, int64_t rows, int64_t cols,
                  uint8_t* dst);

}  // namespace tessera::backend::cpu
