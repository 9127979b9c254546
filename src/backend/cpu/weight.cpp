#include "backend/cpu/weight.h"

#include <string>

namespace tessera::backend::cpu {

bool weight_type_supported(gguf::TensorType type) {
  const gguf::TensorTypeInfo* info = gguf::tensor_type_info(type);
  return info != nullptr && info->dequantize != nullptr;
}

Status check_weight(const WeightView& w, const char* what) {
  const gguf::TensorTypeInfo* info = gguf::tensor_type_info(w.type);
  if (info == nullptr || info->dequantize == nullptr) {
    return make_error(
        ErrorCode::unsupported,
        std::string(what) + ": weight type " +
            (info != nullptr ? info->name : std::to_string(static_cast<uint32_t>(w.type))) +
            " is not supported by the CPU backend");
  }
  if (w.cols <= 0 || w.cols % info->block_size != 0 || w.rows < 0) {
    return make_error(ErrorCode::invalid_argument,
                      std::string(what) + ": shape [" + std::to_string(w.cols) + ", " +
                          std::to_string(w.rows) + "] is not whole rows of " + info->name +
                          " blocks of " + std::to_string(info->block_size));
  }
  if (w.rows > 0 && w.data == nullptr) {
    return make_error(ErrorCode::invalid_argument, std::string(what) + ": no data");
  }
  return {};
}

size_t weight_row_bytes(const WeightView& w) {
  const gguf::TensorTypeInfo* info = gguf::tensor_type_info(w.type);
  return static_cast<size_t>(w.cols / info->block_size) * info->block_bytes;
}

}  // namespace tessera::backend::cpu
