#include "gguf/tensor_type.h"

#include <array>
#include <cctype>
#include <string>

#include "gguf/quant_kernels.h"

namespace tessera::gguf {
namespace {

namespace k = kernels;
using T = TensorType;

// One row per type: id, name, values per block, bytes per block, converters.
// Block sizes are ggml's (ggml-common.h); QK_K = 256.
constexpr std::array kTypes = {
    TensorTypeInfo{T::F32, "F32", 1, 4, k::dequantize_f32, k::quantize_f32},
    TensorTypeInfo{T::F16, "F16", 1, 2, k::dequantize_f16, k::quantize_f16},
    TensorTypeInfo{T::Q4_0, "Q4_0", 32, 18, k::dequantize_q4_0, k::quantize_q4_0},
    TensorTypeInfo{T::Q4_1, "Q4_1", 32, 20, k::dequantize_q4_1, k::quantize_q4_1},
    TensorTypeInfo{T::Q5_0, "Q5_0", 32, 22, k::dequantize_q5_0, k::quantize_q5_0},
    TensorTypeInfo{T::Q5_1, "Q5_1", 32, 24, k::dequantize_q5_1, k::quantize_q5_1},
    TensorTypeInfo{T::Q8_0, "Q8_0", 32, 34, k::dequantize_q8_0, k::quantize_q8_0},
    TensorTypeInfo{T::Q8_1, "Q8_1", 32, 36, nullptr, nullptr},
    TensorTypeInfo{T::Q2_K, "Q2_K", 256, 84, k::dequantize_q2_k, nullptr},
    TensorTypeInfo{T::Q3_K, "Q3_K", 256, 110, k::dequantize_q3_k, nullptr},
    TensorTypeInfo{T::Q4_K, "Q4_K", 256, 144, k::dequantize_q4_k, k::quantize_q4_k},
    TensorTypeInfo{T::Q5_K, "Q5_K", 256, 176, k::dequantize_q5_k, k::quantize_q5_k},
    TensorTypeInfo{T::Q6_K, "Q6_K", 256, 210, k::dequantize_q6_k, k::quantize_q6_k},
    TensorTypeInfo{T::Q8_K, "Q8_K", 256, 292, k::dequantize_q8_k, k::quantize_q8_k},
    TensorTypeInfo{T::IQ2_XXS, "IQ2_XXS", 256, 66, nullptr, nullptr},
    TensorTypeInfo{T::IQ2_XS, "IQ2_XS", 256, 74, nullptr, nullptr},
    TensorTypeInfo{T::IQ3_XXS, "IQ3_XXS", 256, 98, nullptr, nullptr},
    TensorTypeInfo{T::IQ1_S, "IQ1_S", 256, 50, nullptr, nullptr},
    TensorTypeInfo{T::IQ4_NL, "IQ4_NL", 32, 18, nullptr, nullptr},
    TensorTypeInfo{T::IQ3_S, "IQ3_S", 256, 110, nullptr, nullptr},
    TensorTypeInfo{T::IQ2_S, "IQ2_S", 256, 82, nullptr, nullptr},
    TensorTypeInfo{T::IQ4_XS, "IQ4_XS", 256, 136, nullptr, nullptr},
    TensorTypeInfo{T::I8, "I8", 1, 1, nullptr, nullptr},
    TensorTypeInfo{T::I16, "I16", 1, 2, nullptr, nullptr},
    TensorTypeInfo{T::I32, "I32", 1, 4, nullptr, nullptr},
    TensorTypeInfo{T::I64, "I64", 1, 8, nullptr, nullptr},
    TensorTypeInfo{T::F64, "F64", 1, 8, nullptr, nullptr},
    TensorTypeInfo{T::IQ1_M, "IQ1_M", 256, 56, nullptr, nullptr},
    TensorTypeInfo{T::BF16, "BF16", 1, 2, k::dequantize_bf16, k::quantize_bf16},
    TensorTypeInfo{T::TQ1_0, "TQ1_0", 256, 54, nullptr, nullptr},
    TensorTypeInfo{T::TQ2_0, "TQ2_0", 256, 66, nullptr, nullptr},
    TensorTypeInfo{T::MXFP4, "MXFP4", 32, 17, nullptr, nullptr},
};

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::toupper(static_cast<unsigned char>(a[i])) !=
        std::toupper(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

Status check_count(const TensorTypeInfo& info, int64_t n) {
  if (n < 0 || n % info.block_size != 0) {
    return make_error(ErrorCode::invalid_argument,
                      std::to_string(n) + " values is not a whole number of " + info.name +
                          " blocks of " + std::to_string(info.block_size));
  }
  return {};
}

}  // namespace

const TensorTypeInfo* tensor_type_info(uint32_t id) {
  for (const auto& t : kTypes) {
    if (static_cast<uint32_t>(t.type) == id) return &t;
  }
  return nullptr;
}

const TensorTypeInfo* tensor_type_by_name(std::string_view name) {
  for (const auto& t : kTypes) {
    if (iequals(t.name, name)) return &t;
  }
  return nullptr;
}

const char* tensor_type_name(TensorType t) {
  const TensorTypeInfo* info = tensor_type_info(t);
  return info != nullptr ? info->name : nullptr;
}

std::optional<uint64_t> row_bytes(const TensorTypeInfo& info, uint64_t n) {
  if (n % info.block_size != 0) return std::nullopt;
  return n / info.block_size * info.block_bytes;
}

Status dequantize(TensorType type, const void* blocks, float* out, int64_t n) {
  const TensorTypeInfo* info = tensor_type_info(type);
  if (info == nullptr || info->dequantize == nullptr) {
    return make_error(ErrorCode::unsupported, std::string("cannot convert tensor type ") +
                                                  (info ? info->name : "unknown") + " to f32");
  }
  TESSERA_TRY(check_count(*info, n));
  if (n > 0) info->dequantize(blocks, out, n);
  return {};
}

Status quantize(TensorType type, const float* in, void* blocks, int64_t n) {
  const TensorTypeInfo* info = tensor_type_info(type);
  if (info == nullptr || info->quantize == nullptr) {
    return make_error(ErrorCode::unsupported,
                      std::string("cannot write tensor type ") + (info ? info->name : "unknown") +
                          "; writable types: F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, "
                          "Q4_K, Q5_K, Q6_K, Q8_K");
  }
  TESSERA_TRY(check_count(*info, n));
  if (n > 0) info->quantize(in, blocks, n);
  return {};
}

}  // namespace tessera::gguf
