// Writing GGUF v3 files (v2 on request, for tests): metadata in insertion order, tensor
// infos, then each tensor's data padded to the alignment. Used by `tessera model synth`,
// tests and tools.
//
// Tensor data is produced on demand, one tensor at a time, while the file is written, so a
// many-gigabyte model never needs to be in memory at once. A file is written to
// "<path>.tmp" and renamed over <path> only when complete: a failed write leaves no partial
// model behind. Not thread-safe; one Writer per file.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "gguf/metadata.h"
#include "gguf/reader.h"
#include "gguf/tensor_type.h"
#include "util/result.h"

namespace tessera::gguf {

class Writer {
 public:
  // Fills `out` (exactly the tensor's byte size) with the tensor's data.
  using Producer = std::function<Status(std::span<uint8_t> out)>;

  explicit Writer(uint32_t alignment = kDefaultAlignment);

  // Metadata. Setting a key that exists replaces its value in place (keeps its position).
  // Values are copied into the writer, except set(key, MetaValue): that one keeps the views
  // of `value` (e.g. into a GgufFile), whose owner must outlive write().
  void set_u8(std::string_view key, uint8_t v);
  void set_i8(std::string_view key, int8_t v);
  void set_u16(std::string_view key, uint16_t v);
  void set_i16(std::string_view key, int16_t v);
  void set_u32(std::string_view key, uint32_t v);
  void set_i32(std::string_view key, int32_t v);
  void set_u64(std::string_view key, uint64_t v);
  void set_i64(std::string_view key, int64_t v);
  void set_f32(std::string_view key, float v);
  void set_f64(std::string_view key, double v);
  void set_bool(std::string_view key, bool v);
  void set_string(std::string_view key, std::string_view v);
  void set_string_array(std::string_view key, const std::vector<std::string>& items);
  void set_i32_array(std::string_view key, const std::vector<int32_t>& items);
  void set_f32_array(std::string_view key, const std::vector<float>& items);
  void set(std::string_view key, const MetaValue& value);
  bool has(std::string_view key) const;

  // Tensors, in file order. Errors (invalid_argument): empty, long or duplicate name, no or
  // more than 4 dimensions, negative sizes, a row length not a multiple of the type's block.
  Status add_tensor(std::string_view name, TensorType type, const std::vector<int64_t>& ne,
                    Producer produce);
  // Same, with data the caller keeps alive until write() returns.
  Status add_tensor(std::string_view name, TensorType type, const std::vector<int64_t>& ne,
                    std::span<const uint8_t> data);

  // Total bytes the file will have.
  uint64_t file_size() const;
  // Writes the file (atomically, see above). Errors: io_error, or a producer's error.
  Status write(const std::string& path) const;
  // Writes the header and leaves the tensor data a hole: the file has its full size and reads
  // as all-zero tensors, but takes (on file systems with sparse files) no space and no time.
  // Producers are not called. For tests and capacity planning with the file of a real model's
  // size and shape. Errors: io_error.
  Status write_sparse(const std::string& path) const;
  // Writes into memory (for tests and fuzz seeds).
  Result<std::vector<uint8_t>> write_to_buffer() const;

  // The format version written (3 by default; 2 is the same layout).
  void set_version(uint32_t v) { version_ = v; }

 private:
  struct Tensor {
    std::string name;
    TensorType type;
    std::vector<int64_t> ne;
    uint64_t n_bytes;
    uint64_t offset;
    Producer produce;
  };
  using Sink = std::function<Status(const void* data, size_t n)>;

  std::string_view keep(std::string_view s);
  const uint8_t* keep_bytes(const void* p, size_t n);
  void set_scalar(std::string_view key, MetaType t, const void* p, size_t n);
  uint64_t header_size() const;
  Status emit_header(const Sink& sink) const;  // metadata, tensor infos, padding
  Status emit(const Sink& sink) const;         // the whole file
  Status write_file(const std::string& path, bool sparse) const;

  uint32_t alignment_;
  uint32_t version_ = 3;
  std::deque<std::string> arena_;  // owns copied keys, strings and scalar payloads
  std::vector<MetaEntry> metadata_;
  std::vector<Tensor> tensors_;
  uint64_t data_bytes_ = 0;
};

}  // namespace tessera::gguf
