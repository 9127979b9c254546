#include "gguf/reader.h"

#include <algorithm>
#include <cstring>
#include <limits>

namespace tessera::gguf {

// Reads the file front to back. Every read first checks that the bytes exist; every error
// says where (byte offset) and what was expected there.
class Parser {
 public:
  Parser(GgufFile& f) : f_(f) {}  // NOLINT

  Status run() {
    TESSERA_TRY(header());
    TESSERA_TRY(metadata());
    TESSERA_TRY(alignment());
    TESSERA_TRY(tensor_infos());
    return check_tensor_layout();
  }

 private:
  uint64_t left() const { return f_.size_ - pos_; }

  Error fail(uint64_t at, const std::string& what, ErrorCode code = ErrorCode::malformed) const {
    return make_error(code, f_.name_ + ": at byte " + std::to_string(at) + ": " + what);
  }

  Status need(uint64_t n, const std::string& what) const {
    if (n <= left()) return {};
    return fail(pos_, "expected " + what + " (" + std::to_string(n) +
                          " bytes), but the file ends after " + std::to_string(left()) +
                          " more bytes; the file is truncated (download or copy it again)");
  }

  template <class T>
  Result<T> read(const std::string& what) {
    TESSERA_TRY(need(sizeof(T), what));
    T v;
    std::memcpy(&v, f_.base_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }

  Result<std::string_view> string(const std::string& what) {
    const uint64_t at = pos_;
    auto len = read<uint64_t>("the byte length of " + what);
    if (!len.ok()) return len.error();
    if (*len > left()) {
      return fail(at, what + " claims " + std::to_string(*len) + " bytes, but only " +
                          std::to_string(left()) +
                          " bytes follow in the file; the file is truncated or corrupt");
    }
    std::string_view s(reinterpret_cast<const char*>(f_.base_ + pos_), *len);
    pos_ += *len;
    return s;
  }

  Status header() {
    if (f_.size_ < 4 || std::memcmp(f_.base_, "GGUF", 4) != 0) {
      std::string found = "the file is shorter than 4 bytes";
      if (f_.size_ >= 4) {
        std::string_view m(reinterpret_cast<const char*>(f_.base_), 4);
        if (m == "lmgg" || m == "fmgg" || m == "tjgg" || m == "algg") {
          return fail(0,
                      "this is a pre-GGUF (GGML/GGJT) model file; convert it to GGUF with "
                      "a current converter",
                      ErrorCode::unsupported);
        }
        char hex[40];
        std::snprintf(hex, sizeof hex, "found bytes %02x %02x %02x %02x", f_.base_[0], f_.base_[1],
                      f_.base_[2], f_.base_[3]);
        found = hex;
      }
      return fail(0, "expected the GGUF magic \"GGUF\" (47 47 55 46), " + found +
                         "; this is not a GGUF model file");
    }
    pos_ = 4;
    auto version = read<uint32_t>("the format version (u32)");
    if (!version.ok()) return version.error();
    const uint32_t v = *version;
    if (v == 0x02000000u || v == 0x03000000u) {
      return fail(4,
                  "this is a big-endian GGUF file; only little-endian files are supported "
                  "(convert it on a little-endian machine)",
                  ErrorCode::unsupported);
    }
    if (v == 1) {
      return fail(4,
                  "GGUF version 1 is not supported (this build reads versions 2 and 3); "
                  "convert the model again with a current converter",
                  ErrorCode::unsupported);
    }
    if (v != 2 && v != 3) {
      return fail(
          4,
          "unsupported GGUF version " + std::to_string(v) + " (this build reads versions 2 and 3)",
          ErrorCode::unsupported);
    }
    f_.version_ = v;
    auto n_tensors = read<uint64_t>("the tensor count (u64)");
    if (!n_tensors.ok()) return n_tensors.error();
    auto n_kv = read<uint64_t>("the metadata entry count (u64)");
    if (!n_kv.ok()) return n_kv.error();
    n_tensors_ = *n_tensors;
    n_kv_ = *n_kv;
    // Smallest encodings: a metadata entry takes >= 13 bytes (key length, type, one byte);
    // a tensor info >= 32 (name length, n_dims, one dim, type, offset).
    if (n_kv_ > left() / 13) {
      return fail(16, "metadata entry count " + std::to_string(n_kv_) +
                          " cannot fit in the rest of the file (" + std::to_string(left()) +
                          " bytes); the file is truncated or corrupt");
    }
    if (n_tensors_ > left() / 32) {
      return fail(8, "tensor count " + std::to_string(n_tensors_) +
                         " cannot fit in the rest of the file (" + std::to_string(left()) +
                         " bytes); the file is truncated or corrupt");
    }
    return {};
  }

  Status metadata() {
    f_.metadata_.reserve(n_kv_);
    for (uint64_t i = 0; i < n_kv_; ++i) {
      const uint64_t at = pos_;
      auto key = string("the key of metadata entry " + std::to_string(i));
      if (!key.ok()) return key.error();
      const std::string where = "metadata key '" + std::string(*key) + "'";
      auto type = read<uint32_t>("the value type (u32) of " + where);
      if (!type.ok()) return type.error();
      auto value = this->value(*type, where, 0);
      if (!value.ok()) return value.error();
      if (!f_.meta_index_.emplace(*key, f_.metadata_.size()).second) {
        return fail(at, "duplicate " + where + "; each key may appear once");
      }
      f_.metadata_.push_back(MetaEntry{*key, std::move(value.value())});
    }
    return {};
  }

  Result<MetaValue> value(uint32_t type_id, const std::string& where, uint32_t depth) {
    if (!meta_type_valid(type_id)) {
      return fail(pos_ - 4, "unknown value type " + std::to_string(type_id) + " for " + where +
                                " (expected 0..12)");
    }
    const auto type = static_cast<MetaType>(type_id);
    if (type == MetaType::string) {
      auto s = string("the string value of " + where);
      if (!s.ok()) return s.error();
      return MetaValue::string(*s);
    }
    if (type != MetaType::array) {
      const uint32_t size = meta_scalar_size(type);
      TESSERA_TRY(need(size, std::string("the ") + meta_type_name(type) + " value of " + where));
      MetaValue v = MetaValue::scalar(type, f_.base_ + pos_);
      pos_ += size;
      return v;
    }
    return array(where, depth);
  }

  Result<MetaValue> array(const std::string& where, uint32_t depth) {
    if (depth >= kMaxArrayDepth) {
      return fail(pos_, "arrays nested deeper than " + std::to_string(kMaxArrayDepth) +
                            " levels in " + where);
    }
    auto elem_id = read<uint32_t>("the element type (u32) of the array " + where);
    if (!elem_id.ok()) return elem_id.error();
    if (!meta_type_valid(*elem_id)) {
      return fail(pos_ - 4, "unknown array element type " + std::to_string(*elem_id) + " in " +
                                where + " (expected 0..12)");
    }
    const uint64_t count_at = pos_;
    auto count = read<uint64_t>("the element count (u64) of the array " + where);
    if (!count.ok()) return count.error();
    const auto elem = static_cast<MetaType>(*elem_id);
    // Minimum bytes per element: its size, a string's length field, an array's header.
    const uint64_t min_size = elem == MetaType::string  ? 8
                              : elem == MetaType::array ? 12
                                                        : meta_scalar_size(elem);
    if (*count > left() / min_size) {
      return fail(count_at, "the array " + where + " claims " + std::to_string(*count) + " " +
                                meta_type_name(elem) + " elements, more than the " +
                                std::to_string(left()) +
                                " bytes left in the file can hold; the file is truncated or "
                                "corrupt");
    }
    if (elem == MetaType::string) {
      std::vector<std::string_view> items;
      items.reserve(*count);
      for (uint64_t i = 0; i < *count; ++i) {
        auto s = string("element " + std::to_string(i) + " of " + where);
        if (!s.ok()) return s.error();
        items.push_back(*s);
      }
      return MetaValue::string_array(std::move(items));
    }
    if (elem == MetaType::array) {
      std::vector<MetaValue> items;
      items.reserve(*count);
      for (uint64_t i = 0; i < *count; ++i) {
        auto item = array("element " + std::to_string(i) + " of " + where, depth + 1);
        if (!item.ok()) return item.error();
        items.push_back(std::move(item.value()));
      }
      return MetaValue::nested_array(elem, std::move(items));
    }
    MetaValue v = MetaValue::scalar_array(elem, f_.base_ + pos_, *count);
    pos_ += *count * min_size;
    return v;
  }

  Status alignment() {
    const MetaValue* a = f_.find("general.alignment");
    if (a == nullptr) return {};
    const auto v = a->as_uint();
    if (a->type() != MetaType::u32 || !v || *v == 0 || (*v & (*v - 1)) != 0) {
      return make_error(ErrorCode::malformed,
                        f_.name_ +
                            ": metadata key 'general.alignment' must be a u32 power of "
                            "two, found " +
                            std::string(meta_type_name(a->type())) + " " + a->to_display());
    }
    f_.alignment_ = static_cast<uint32_t>(*v);
    return {};
  }

  Status tensor_infos() {
    f_.tensors_.reserve(n_tensors_);
    for (uint64_t i = 0; i < n_tensors_; ++i) {
      TESSERA_TRY(tensor_info(i));
    }
    const uint64_t a = f_.alignment_;
    f_.data_offset_ = pos_ + (a - pos_ % a) % a;
    for (auto& t : f_.tensors_) {
      t.file_offset = f_.data_offset_ + t.offset;
      t.data = f_.base_ + std::min<uint64_t>(t.file_offset, f_.size_);
    }
    return {};
  }

  Status tensor_info(uint64_t i) {
    const uint64_t at = pos_;
    auto name = string("the name of tensor " + std::to_string(i));
    if (!name.ok()) return name.error();
    const std::string where = "tensor '" + std::string(*name) + "'";
    if (name->size() > kMaxNameBytes) {
      return fail(at, where + ": names are limited to " + std::to_string(kMaxNameBytes) +
                          " bytes, this one has " + std::to_string(name->size()));
    }
    auto n_dims = read<uint32_t>("the dimension count (u32) of " + where);
    if (!n_dims.ok()) return n_dims.error();
    if (*n_dims < 1 || *n_dims > kMaxDims) {
      return fail(pos_ - 4, where + " has " + std::to_string(*n_dims) +
                                " dimensions (expected 1 to " + std::to_string(kMaxDims) + ")");
    }
    TensorInfo t{};
    t.name = *name;
    t.n_dims = *n_dims;
    t.ne.fill(1);
    uint64_t n_elements = 1;
    for (uint32_t d = 0; d < *n_dims; ++d) {
      auto ne = read<int64_t>("dimension " + std::to_string(d) + " (i64) of " + where);
      if (!ne.ok()) return ne.error();
      if (*ne < 0) {
        return fail(pos_ - 8, where + " has a negative size " + std::to_string(*ne) +
                                  " in dimension " + std::to_string(d));
      }
      if (*ne != 0 && n_elements > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) /
                                       static_cast<uint64_t>(*ne)) {
        return fail(pos_ - 8, where + " has more elements than a 64-bit count can hold");
      }
      n_elements *= static_cast<uint64_t>(*ne);
      t.ne[d] = *ne;
    }
    t.n_elements = n_elements;
    auto type_id = read<uint32_t>("the element type (u32) of " + where);
    if (!type_id.ok()) return type_id.error();
    const TensorTypeInfo* info = tensor_type_info(*type_id);
    if (info == nullptr) {
      return fail(pos_ - 4,
                  where + " has unknown tensor type " + std::to_string(*type_id) +
                      "; the file may need a newer Tessera, or it is corrupt",
                  ErrorCode::unsupported);
    }
    t.type = info->type;
    if (t.ne[0] % info->block_size != 0) {
      return fail(at, where + ": row length " + std::to_string(t.ne[0]) +
                          " is not a multiple of the " + info->name + " block size " +
                          std::to_string(info->block_size));
    }
    // n_elements < 2^63 and block_bytes / block_size <= 8, so this cannot overflow.
    t.n_bytes = n_elements / info->block_size * info->block_bytes;
    auto offset = read<uint64_t>("the data offset (u64) of " + where);
    if (!offset.ok()) return offset.error();
    if (*offset % f_.alignment_ != 0) {
      return fail(pos_ - 8, where + " has data offset " + std::to_string(*offset) +
                                ", not a multiple of the alignment " +
                                std::to_string(f_.alignment_));
    }
    t.offset = *offset;
    if (!f_.tensor_index_.emplace(t.name, f_.tensors_.size()).second) {
      return fail(at, "duplicate " + where + "; each tensor name may appear once");
    }
    f_.tensors_.push_back(t);
    return {};
  }

  // Tensor data must lie inside the file and tensors must not overlap.
  Status check_tensor_layout() const {
    std::vector<const TensorInfo*> by_offset;
    by_offset.reserve(f_.tensors_.size());
    for (const auto& t : f_.tensors_) {
      if (t.offset > f_.size_ || t.n_bytes > f_.size_ || t.file_offset > f_.size_ - t.n_bytes) {
        return make_error(ErrorCode::malformed,
                          f_.name_ + ": tensor '" + std::string(t.name) + "' has its " +
                              std::to_string(t.n_bytes) + " bytes of data at byte " +
                              std::to_string(t.offset > f_.size_ ? t.offset : t.file_offset) +
                              ", past the end of the file (" + std::to_string(f_.size_) +
                              " bytes); the file is truncated (download or copy it again)");
      }
      by_offset.push_back(&t);
    }
    std::sort(by_offset.begin(), by_offset.end(),
              [](const TensorInfo* a, const TensorInfo* b) { return a->offset < b->offset; });
    for (size_t i = 1; i < by_offset.size(); ++i) {
      const TensorInfo& prev = *by_offset[i - 1];
      const TensorInfo& cur = *by_offset[i];
      if (prev.n_bytes > 0 && cur.n_bytes > 0 && prev.offset + prev.n_bytes > cur.offset) {
        return make_error(ErrorCode::malformed,
                          f_.name_ + ": at byte " + std::to_string(cur.file_offset) +
                              ": the data of tensor '" + std::string(cur.name) +
                              "' overlaps the data of tensor '" + std::string(prev.name) +
                              "' (bytes " + std::to_string(prev.file_offset) + " to " +
                              std::to_string(prev.file_offset + prev.n_bytes) + ")");
      }
    }
    return {};
  }

  GgufFile& f_;
  uint64_t pos_ = 0;
  uint64_t n_tensors_ = 0;
  uint64_t n_kv_ = 0;
};

Result<GgufFile> GgufFile::open(const std::string& path) {
  auto map = MappedFile::open(path);
  if (!map.ok()) return map.error();
  GgufFile f;
  f.map_ = std::move(map.value());
  f.name_ = path;
  f.base_ = f.map_.data();
  f.size_ = f.map_.size();
  TESSERA_TRY(Parser(f).run());
  return f;
}

Result<GgufFile> GgufFile::parse(const uint8_t* data, size_t size, std::string name) {
  GgufFile f;
  f.name_ = std::move(name);
  f.base_ = data;
  f.size_ = size;
  TESSERA_TRY(Parser(f).run());
  return f;
}

const MetaValue* GgufFile::find(std::string_view key) const {
  auto it = meta_index_.find(key);
  return it == meta_index_.end() ? nullptr : &metadata_[it->second].value;
}

const TensorInfo* GgufFile::find_tensor(std::string_view name) const {
  auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

namespace {

Error wrong_type(const std::string& file, std::string_view key, const MetaValue& v,
                 const char* expected) {
  return make_error(ErrorCode::malformed, file + ": metadata key '" + std::string(key) + "' is " +
                                              meta_type_name(v.type()) + " " + v.to_display(4, 40) +
                                              ", expected " + expected);
}

Error missing(const std::string& file, std::string_view key) {
  return make_error(ErrorCode::not_found,
                    file + ": metadata key '" + std::string(key) + "' is missing");
}

}  // namespace

Result<uint64_t> GgufFile::get_uint(std::string_view key) const {
  const MetaValue* v = find(key);
  if (v == nullptr) return missing(name_, key);
  auto u = v->as_uint();
  if (!u) return wrong_type(name_, key, *v, "a non-negative integer");
  return *u;
}

Result<int64_t> GgufFile::get_int(std::string_view key) const {
  const MetaValue* v = find(key);
  if (v == nullptr) return missing(name_, key);
  auto i = v->as_int();
  if (!i) return wrong_type(name_, key, *v, "an integer");
  return *i;
}

Result<double> GgufFile::get_float(std::string_view key) const {
  const MetaValue* v = find(key);
  if (v == nullptr) return missing(name_, key);
  auto d = v->as_double();
  if (!d) return wrong_type(name_, key, *v, "a number");
  return *d;
}

Result<bool> GgufFile::get_bool(std::string_view key) const {
  const MetaValue* v = find(key);
  if (v == nullptr) return missing(name_, key);
  auto b = v->as_bool();
  if (!b) return wrong_type(name_, key, *v, "a bool");
  return *b;
}

Result<std::string_view> GgufFile::get_string(std::string_view key) const {
  const MetaValue* v = find(key);
  if (v == nullptr) return missing(name_, key);
  auto s = v->as_string();
  if (!s) return wrong_type(name_, key, *v, "a string");
  return *s;
}

Result<const MetaValue*> GgufFile::get_array(std::string_view key) const {
  const MetaValue* v = find(key);
  if (v == nullptr) return missing(name_, key);
  if (!v->is_array()) return wrong_type(name_, key, *v, "an array");
  return v;
}

Result<uint64_t> GgufFile::get_uint_or(std::string_view key, uint64_t fallback) const {
  if (find(key) == nullptr) return fallback;
  return get_uint(key);
}

Result<double> GgufFile::get_float_or(std::string_view key, double fallback) const {
  if (find(key) == nullptr) return fallback;
  return get_float(key);
}

Result<bool> GgufFile::get_bool_or(std::string_view key, bool fallback) const {
  if (find(key) == nullptr) return fallback;
  return get_bool(key);
}

Result<std::string_view> GgufFile::get_string_or(std::string_view key,
                                                 std::string_view fallback) const {
  if (find(key) == nullptr) return fallback;
  return get_string(key);
}

Result<std::vector<float>> GgufFile::read_f32(const TensorInfo& t) const {
  std::vector<float> out(t.n_elements);
  auto st = dequantize(t.type, t.data, out.data(), static_cast<int64_t>(t.n_elements));
  if (!st.ok()) {
    return make_error(st.error().code,
                      name_ + ": tensor '" + std::string(t.name) + "': " + st.error().message);
  }
  return out;
}

}  // namespace tessera::gguf
