// Reference (scalar) converters between f32 and each GGUF block format, bit-compatible with
// the block layouts ggml defines (ggml-common.h: block_q4_0 ... block_q6_K). They are the
// plain, obviously-correct versions every faster kernel is tested against. Registered in the
// type table (tensor_type.cpp); call them through gguf::dequantize / gguf::quantize.
//
// Contract of every function: `n` is a multiple of the type's block size; `blocks` points to
// n / block_size blocks (unaligned access allowed); thread-safe, no allocation.
#pragma once

#include <cstdint>

namespace tessera::gguf::kernels {

// plain types (quant_float.cpp)
void dequantize_f32(const void* blocks, float* out, int64_t n);
void quantize_f32(const float* in, void* blocks, int64_t n);
void dequantize_f16(const void* blocks, float* out, int64_t n);
void quantize_f16(const float* in, void* blocks, int64_t n);
void dequantize_bf16(const void* blocks, float* out, int64_t n);
void quantize_bf16(const float* in, void* blocks, int64_t n);

// 32-value block types (quant_legacy.cpp)
void dequantize_q4_0(const void* blocks, float* out, int64_t n);
void quantize_q4_0(const float* in, void* blocks, int64_t n);
void dequantize_q4_1(const void* blocks, float* out, int64_t n);
void quantize_q4_1(const float* in, void* blocks, int64_t n);
void dequantize_q5_0(const void* blocks, float* out, int64_t n);
void quantize_q5_0(const float* in, void* blocks, int64_t n);
void dequantize_q5_1(const void* blocks, float* out, int64_t n);
void quantize_q5_1(const float* in, void* blocks, int64_t n);
void dequantize_q8_0(const void* blocks, float* out, int64_t n);
void quantize_q8_0(const float* in, void* blocks, int64_t n);
// The 32 codes of one Q4_0 (0..15), Q5_0 (0..31) or Q8_0 (-128..127) block as stored, before
// the offset (8, 16) and the scale; for kernels that rearrange blocks.
void q4_0_codes(const void* block, int codes[32]);
void q5_0_codes(const void* block, int codes[32]);
void q8_0_codes(const void* block, int codes[32]);

// 256-value super-block K-quants (quant_kquant.cpp)
void dequantize_q2_k(const void* blocks, float* out, int64_t n);
void dequantize_q3_k(const void* blocks, float* out, int64_t n);
void dequantize_q4_k(const void* blocks, float* out, int64_t n);
// The parts of one Q4_K super-block as stored, for kernels that rearrange blocks: value i is
// f16(d) * scales[i / 32] * codes[i] - f16(dmin) * mins[i / 32]; d, dmin as f16 bits,
// scales and mins 0..63, codes 0..15.
void q4_k_parts(const void* block, uint16_t* d, uint16_t* dmin, int scales[8], int mins[8],
                int codes[256]);
void quantize_q4_k(const float* in, void* blocks, int64_t n);
void dequantize_q5_k(const void* blocks, float* out, int64_t n);
void quantize_q5_k(const float* in, void* blocks, int64_t n);
void dequantize_q6_k(const void* blocks, float* out, int64_t n);
void quantize_q6_k(const float* in, void* blocks, int64_t n);
void dequantize_q8_k(const void* blocks, float* out, int64_t n);
void quantize_q8_k(const float* in, void* blocks, int64_t n);

}  // namespace tessera::gguf::kernels
