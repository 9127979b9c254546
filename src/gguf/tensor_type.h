// Tensor element types of GGUF files (ggml's type ids) and their block layouts, as one table.
//
// Every type stores a row as consecutive blocks; a block holds `block_size` values in
// `block_bytes` bytes (1 value per block for plain types). A row's length must be a multiple
// of its type's block size. Types whose layout we know but cannot convert still appear in the
// table (so files using them can be opened and sized); their `dequantize` is null.
//
// Conversions are pure functions over whole blocks, safe to call from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "util/result.h"

namespace tessera::gguf {

// ggml type ids as stored in GGUF tensor infos. Ids 4, 5 (removed Q4_2/Q4_3) and 31-33
// (removed repacked types) are deliberately absent: files with them are rejected.
enum class TensorType : uint32_t {
  F32 = 0,
  F16 = 1,
  Q4_0 = 2,
  Q4_1 = 3,
  Q5_0 = 6,
  Q5_1 = 7,
  Q8_0 = 8,
  Q8_1 = 9,
  Q2_K = 10,
  Q3_K = 11,
  Q4_K = 12,
  Q5_K = 13,
  Q6_K = 14,
  Q8_K = 15,
  IQ2_XXS = 16,
  IQ2_XS = 17,
  IQ3_XXS = 18,
  IQ1_S = 19,
  IQ4_NL = 20,
  IQ3_S = 21,
  IQ2_S = 22,
  IQ4_XS = 23,
  I8 = 24,
  I16 = 25,
  I32 = 26,
  I64 = 27,
  F64 = 28,
  IQ1_M = 29,
  BF16 = 30,
  TQ1_0 = 34,
  TQ2_0 = 35,
  MXFP4 = 39,
};

// Converts `n` values (a multiple of the type's block size) from blocks to f32.
using DequantizeFn = void (*)(const void* blocks, float* out, int64_t n);
// Converts `n` f32 values (a multiple of the type's block size) into blocks.
using QuantizeFn = void (*)(const float* in, void* blocks, int64_t n);

struct TensorTypeInfo {
  TensorType type;
  const char* name;         // "Q4_K", as ggml and llama.cpp print it
  uint32_t block_size;      // values per block
  uint32_t block_bytes;     // bytes per block
  DequantizeFn dequantize;  // null: layout known, conversion not implemented
  QuantizeFn quantize;      // null: we cannot write this type
};

// The table entry of a type id, or nullptr for an id GGUF does not define (or we dropped).
const TensorTypeInfo* tensor_type_info(uint32_t id);
inline const TensorTypeInfo* tensor_type_info(TensorType t) {
  return tensor_type_info(static_cast<uint32_t>(t));
}
// Looks a type up by name, case-insensitive ("q4_k" == "Q4_K"); nullptr if unknown.
const TensorTypeInfo* tensor_type_by_name(std::string_view name);
// Name of a type id, or "type<N>" text for unknown ids is the caller's job: returns nullptr.
const char* tensor_type_name(TensorType t);

// Bytes of a row of `n` values; nullopt if n is not a multiple of the block size.
std::optional<uint64_t> row_bytes(const TensorTypeInfo& info, uint64_t n);

// Converts `n` values; errors: unsupported (no converter for the type), invalid_argument
// (n not a multiple of the block size).
Status dequantize(TensorType type, const void* blocks, float* out, int64_t n);
Status quantize(TensorType type, const float* in, void* blocks, int64_t n);

}  // namespace tessera::gguf
