#include "backend/cpu/weight_repack.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <algorithm>
#include <cstring>
#include <thread>
#include <vector>

#include "gguf/quant_kernels.h"

namespace tessera::backend::cpu {
namespace {

using gguf::TensorType;

constexpr int64_t kBlock = 32;
constexpr int kRows = 8;

// Unsigned codes (0..255 for Q8_0 + 128, 0..15 Q4_0, 0..31 Q5_0) of one natural block.
void block_codes(TensorType type, const uint8_t* blk, uint8_t codes[kBlock]) {
  int c[kBlock];
  if (type == TensorType::Q8_0) {
    gguf::kernels::q8_0_codes(blk, c);
    for (int& v : c) v += 128;
  } else if (type == TensorType::Q4_0) {
    gguf::kernels::q4_0_codes(blk, c);
  } else {
    gguf::kernels::q5_0_codes(blk, c);
  }
  for (int k = 0; k < kBlock; ++k) codes[k] = static_cast<uint8_t>(c[k]);
}

// Q4_0-style steps of 32 codes (0..15) of row i: value 4s + k in the low nibble and value
// 16 + 4s + k in the high nibble of byte 32s + 4i + k.
template <class Code>
void nibble_steps(const Code* codes, int i, uint8_t* out) {
  for (int k = 0; k < kBlock; ++k) {
    const int s = k / 4, step = s % 4;
    out[32 * step + 4 * i + k % 4] |= static_cast<uint8_t>((codes[k] & 0x0F) << (s < 4 ? 0 : 4));
  }
}

// One group block from 8 rows' blocks (null: a padding row).
void group_block(TensorType type, const uint8_t* const blks[kRows], uint8_t* out, size_t bytes) {
  std::memset(out, 0, bytes);
  uint8_t codes[kRows][kBlock] = {};
  for (int i = 0; i < kRows; ++i) {
    if (blks[i] == nullptr) continue;
    std::memcpy(out + 2 * i, blks[i], 2);
    block_codes(type, blks[i], codes[i]);
  }
  uint8_t* body = out + 16;
  for (int i = 0; i < kRows; ++i) {
    if (type != TensorType::Q8_0) nibble_steps(codes[i], i, body);  // the low 4 bits
    for (int k = 0; k < kBlock; ++k) {
      const uint8_t c = codes[i][k];
      const int s = k / 4, lane = 4 * i + k % 4;
      if (type == TensorType::Q8_0) {
        body[32 * s + lane] = c;
      } else if (type == TensorType::Q5_0 && (c & 0x10) != 0) {
        body[128 + 4 * s + lane / 8] |= 1u << (lane % 8);
      }
    }
  }
}

constexpr int64_t kSuper = 256;
constexpr size_t kQ4KGroupBlock = 1184;

void repack_q4_k(const uint8_t* src, int64_t rows, int64_t cols, uint8_t* dst) {
  const size_t row_bytes = static_cast<size_t>(cols / kSuper) * 144;
  for (int64_t r0 = 0; r0 < rows; r0 += kRows) {
    for (int64_t b = 0; b < cols / kSuper; ++b, dst += kQ4KGroupBlock) {
      std::memset(dst, 0, kQ4KGroupBlock);
      for (int i = 0; i < kRows && r0 + i < rows; ++i) {
        uint16_t d, dmin;
        int scales[8], mins[8], codes[kSuper];
        gguf::kernels::q4_k_parts(src + static_cast<size_t>(r0 + i) * row_bytes + b * 144, &d,
                                  &dmin, scales, mins, codes);
        std::memcpy(dst + 2 * i, &d, 2);
        std::memcpy(dst + 16 + 2 * i, &dmin, 2);
        for (int j = 0; j < 8; ++j) {
          dst[32 + 8 * j + i] = static_cast<uint8_t>(scales[j]);
          dst[96 + 8 * j + i] = static_cast<uint8_t>(mins[j]);
          nibble_steps(codes + kBlock * j, i, dst + 160 + 128 * j);
        }
      }
    }
  }
}

void repack_rows8_serial(TensorType type, const uint8_t* src, int64_t rows, int64_t cols,
                         uint8_t* dst) {
  if (type == TensorType::Q4_K) {
    repack_q4_k(src, rows, cols, dst);
    return;
  }
  const size_t block_bytes = gguf::tensor_type_info(type)->block_bytes;
  const int64_t nb = cols / kBlock;
  const size_t row_bytes = static_cast<size_t>(nb) * block_bytes;
  const size_t group_block_bytes = kRows * block_bytes;
  for (int64_t r0 = 0; r0 < rows; r0 += kRows) {
    for (int64_t b = 0; b < nb; ++b, dst += group_block_bytes) {
      const uint8_t* blks[kRows];
      for (int i = 0; i < kRows; ++i) {
        blks[i] = r0 + i < rows ? src + static_cast<size_t>(r0 + i) * row_bytes +
                                      static_cast<size_t>(b) * block_bytes
                                : nullptr;
      }
      group_block(type, blks, dst, group_block_bytes);
    }
  }
}

// 8 rows x 8 columns of 2-byte values: in[i] + 2k (row i) to out + 64k + 2i (column k).
void transpose8x8(const uint8_t* const in[8], uint8_t* out) {
#if defined(__SSE2__)
  __m128i r[8];
  for (int i = 0; i < 8; ++i) r[i] = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in[i]));
  __m128i a[8], b[8];
  for (int i = 0; i < 4; ++i) {  // pairs of rows, 16-bit interleave
    a[2 * i] = _mm_unpacklo_epi16(r[2 * i], r[2 * i + 1]);
    a[2 * i + 1] = _mm_unpackhi_epi16(r[2 * i], r[2 * i + 1]);
  }
  for (int i = 0; i < 2; ++i) {  // quads of rows, 32-bit interleave
    for (int h = 0; h < 2; ++h) {
      b[4 * i + 2 * h] = _mm_unpacklo_epi32(a[4 * i + h], a[4 * i + 2 + h]);
      b[4 * i + 2 * h + 1] = _mm_unpackhi_epi32(a[4 * i + h], a[4 * i + 2 + h]);
    }
  }
  for (int k = 0; k < 4; ++k) {  // all 8 rows, 64-bit interleave: columns 2q + (0, 1)...
    const __m128i lo = _mm_unpacklo_epi64(b[k], b[4 + k]);
    const __m128i hi = _mm_unpackhi_epi64(b[k], b[4 + k]);
    const int col = k / 2 * 4 + k % 2 * 2;  // b[k] holds columns 2k' and 2k'+1 of its quads
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + 64 * col), lo);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + 64 * (col + 1)), hi);
  }
#else
  for (int i = 0; i < 8; ++i) {
    for (int k = 0; k < 8; ++k) std::memcpy(out + 64 * k + 2 * i, in[i] + 2 * k, 2);
  }
#endif
}

void repack_rows32_serial(const uint8_t* src, int64_t rows, int64_t cols, uint8_t* dst) {
  const auto row_bytes = static_cast<size_t>(cols) * 2;
  static const uint8_t kZero[16] = {};
  for (int64_t r0 = 0; r0 < rows; r0 += 32) {
    uint8_t* group = dst + static_cast<size_t>(r0) * row_bytes;
    const int64_t n = rows - r0 < 32 ? rows - r0 : 32;
    int64_t k0 = 0;
    for (; k0 + 8 <= cols; k0 += 8) {
      for (int64_t i0 = 0; i0 < 32; i0 += 8) {
        const uint8_t* in[8];
        for (int64_t i = 0; i < 8; ++i) {
          in[i] = i0 + i < n ? src + static_cast<size_t>(r0 + i0 + i) * row_bytes + k0 * 2 : kZero;
        }
        transpose8x8(in, group + (k0 * 32 + i0) * 2);
      }
    }
    for (; k0 < cols; ++k0) {  // the last columns of widths that are not multiples of 8
      for (int64_t i = 0; i < 32; ++i) {
        uint16_t v = 0;
        if (i < n) std::memcpy(&v, src + static_cast<size_t>(r0 + i) * row_bytes + k0 * 2, 2);
        std::memcpy(group + (k0 * 32 + i) * 2, &v, 2);
      }
    }
  }
}

// Model loading arranges every matmul weight: the rows are split, in whole groups, over up to
// one thread per core (large tensors only; the arrangement of a group depends on its rows only).
template <class Fn>
void split_rows(int64_t rows, int64_t cols, int64_t group, Fn&& fn) {
  const int64_t groups = (rows + group - 1) / group;
  const int64_t cores = std::max(1u, std::thread::hardware_concurrency());
  const int64_t threads =
      rows * cols < (int64_t{1} << 20) ? 1 : std::min({cores, groups, int64_t{16}});
  if (threads <= 1) {
    fn(int64_t{0}, rows);
    return;
  }
  const int64_t per = (groups + threads - 1) / threads * group;
  std::vector<std::thread> pool;
  for (int64_t r0 = per; r0 < rows; r0 += per) {
    pool.emplace_back([&fn, r0, per, rows] { fn(r0, std::min(rows, r0 + per) - r0); });
  }
  fn(int64_t{0}, std::min(rows, per));
  for (std::thread& t : pool) t.join();
}

}  // namespace

bool rows8_supported(TensorType type) {
  return type == TensorType::Q8_0 || type == TensorType::Q4_0 || type == TensorType::Q5_0 ||
         type == TensorType::Q4_K;
}

size_t rows8_bytes(TensorType type, int64_t rows, int64_t cols) {
  const size_t groups = static_cast<size_t>((rows + kRows - 1) / kRows);
  if (type == TensorType::Q4_K) return groups * static_cast<size_t>(cols / kSuper) * kQ4KGroupBlock;
  return groups * static_cast<size_t>(cols / kBlock) * kRows *
         gguf::tensor_type_info(type)->block_bytes;
}

bool rows32_supported(TensorType type) {
  return type == TensorType::F16 || type == TensorType::BF16;
}

size_t rows32_bytes(int64_t rows, int64_t cols) {
  return static_cast<size_t>((rows + 31) / 32) * 32 * static_cast<size_t>(cols) * 2;
}

void repack_rows8(TensorType type, const uint8_t* src, int64_t rows, int64_t cols, uint8_t* dst) {
  const size_t src_row =
      gguf::row_bytes(*gguf::tensor_type_info(type), static_cast<uint64_t>(cols)).value();
  const size_t dst_group = rows8_bytes(type, kRows, cols);
  split_rows(rows, cols, kRows, [&](int64_t r0, int64_t n) {
    repack_rows8_serial(type, src + static_cast<size_t>(r0) * src_row, n, cols,
                        dst + static_cast<size_t>(r0 / kRows) * dst_group);
  });
}

void repack_rows32(const uint8_t* src, int64_t rows, int64_t cols, uint8_t* dst) {
  const auto row = static_cast<size_t>(cols) * 2;
  split_rows(rows, cols, 32, [&](int64_t r0, int64_t n) {
    repack_rows32_serial(src + static_cast<size_t>(r0) * row, n, cols,
                         dst + static_cast<size_t>(r0) * row);
  });
}

}  // namespace tessera::backend::cpu
