// Reading GGUF files (versions 2 and 3), memory-mapped.
//
// GgufFile::open maps the file and parses the header, every metadata entry and the tensor
// table; tensor data is not read (pages are touched only when a caller reads them). Every
// length, count and offset is checked against the file's size before it is used, so a
// truncated, corrupt or hostile file yields an Error (code malformed/unsupported, message
// "<file>: at byte <offset>: <what was expected>") and never a crash or a huge allocation.
//
// A GgufFile is immutable after open and safe to read from many threads. Views it hands out
// (keys, strings, tensor names, tensor data) live as long as the GgufFile.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "gguf/metadata.h"
#include "gguf/tensor_type.h"
#include "util/mapped_file.h"
#include "util/result.h"

namespace tessera::gguf {

inline constexpr uint32_t kMaxDims = 4;        // ggml tensors have at most 4 dimensions
inline constexpr uint32_t kMaxNameBytes = 63;  // ggml's GGML_MAX_NAME - 1
inline constexpr uint32_t kDefaultAlignment = 32;
inline constexpr uint32_t kMaxArrayDepth = 8;  // arrays of arrays nested deeper are refused

struct TensorInfo {
  std::string_view name;
  TensorType type;
  uint32_t n_dims;
  std::array<int64_t, kMaxDims> ne;  // ne[0] is the contiguous (row) dimension; unused = 1
  uint64_t n_elements;
  uint64_t n_bytes;
  uint64_t offset;       // from the start of the data section
  uint64_t file_offset;  // from the start of the file
  const uint8_t* data;   // the tensor's bytes inside the mapping

  int64_t rows() const { return static_cast<int64_t>(n_elements) / ne[0]; }
};

class GgufFile {
 public:
  // Maps and parses `path`. Errors name the file, the byte offset and what was expected.
  static Result<GgufFile> open(const std::string& path);
  // Parses a buffer the caller keeps alive for the GgufFile's lifetime (fuzzing, tests).
  // `name` stands in for the file name in error messages.
  static Result<GgufFile> parse(const uint8_t* data, size_t size, std::string name);

  GgufFile(GgufFile&&) noexcept = default;
  GgufFile& operator=(GgufFile&&) noexcept = default;

  const std::string& name() const { return name_; }
  uint32_t version() const { return version_; }
  uint32_t alignment() const { return alignment_; }
  uint64_t data_offset() const { return data_offset_; }  // start of the data section
  uint64_t file_size() const { return size_; }
  // The tensor data section (from data_offset() to the end of the file), inside the mapping.
  const uint8_t* tensor_data() const {
    return base_ + (data_offset_ < size_ ? data_offset_ : size_);
  }
  uint64_t tensor_data_size() const { return data_offset_ < size_ ? size_ - data_offset_ : 0; }
  // Gives back the memory of mapped bytes the caller copied and will not read again
  // (MappedFile::release); nothing for a parsed buffer.
  void release_pages(const void* p, size_t n) const { map_.release(p, n); }

  // Metadata in file order, and lookup by key (nullptr when absent).
  const std::vector<MetaEntry>& metadata() const { return metadata_; }
  const MetaValue* find(std::string_view key) const;

  // Typed accessors. Errors: not_found (absent key), malformed (present with the wrong type,
  // message names the key, its type and the type expected).
  Result<uint64_t> get_uint(std::string_view key) const;
  Result<int64_t> get_int(std::string_view key) const;
  Result<double> get_float(std::string_view key) const;
  Result<bool> get_bool(std::string_view key) const;
  Result<std::string_view> get_string(std::string_view key) const;
  Result<const MetaValue*> get_array(std::string_view key) const;
  // Same, with a default for an absent key (a present key of the wrong type is still an error).
  Result<uint64_t> get_uint_or(std::string_view key, uint64_t fallback) const;
  Result<double> get_float_or(std::string_view key, double fallback) const;
  Result<bool> get_bool_or(std::string_view key, bool fallback) const;
  Result<std::string_view> get_string_or(std::string_view key, std::string_view fallback) const;

  // Tensors in file order, and lookup by name (nullptr when absent).
  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  const TensorInfo* find_tensor(std::string_view name) const;

  // Dequantizes a whole tensor to f32. Errors: unsupported type.
  Result<std::vector<float>> read_f32(const TensorInfo& t) const;

 private:
  GgufFile() = default;
  friend class Parser;

  std::string name_;
  MappedFile map_;  // empty when parsing a caller's buffer
  const uint8_t* base_ = nullptr;
  uint64_t size_ = 0;
  uint32_t version_ = 0;
  uint32_t alignment_ = kDefaultAlignment;
  uint64_t data_offset_ = 0;
  std::vector<MetaEntry> metadata_;
  std::unordered_map<std::string_view, size_t> meta_index_;
  std::vector<TensorInfo> tensors_;
  std::unordered_map<std::string_view, size_t> tensor_index_;
};

}  // namespace tessera::gguf
