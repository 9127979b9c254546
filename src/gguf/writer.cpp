#include "gguf/writer.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

namespace tessera::gguf {
namespace {

uint64_t pad_to(uint64_t n, uint64_t a) {
  return (a - n % a) % a;
}

uint64_t value_size(const MetaValue& v) {
  switch (v.type()) {
    case MetaType::string:
      return 8 + v.as_string()->size();
    case MetaType::array: {
      uint64_t n = 12;
      if (v.array_type() == MetaType::string) {
        for (auto s : v.strings()) n += 8 + s.size();
      } else if (v.array_type() == MetaType::array) {
        for (uint64_t i = 0; i < v.array_size(); ++i) n += value_size(v.array_item(i));
      } else {
        n += v.array_size() * meta_scalar_size(v.array_type());
      }
      return n;
    }
    default:
      return meta_scalar_size(v.type());
  }
}

}  // namespace

Writer::Writer(uint32_t alignment) : alignment_(alignment) {
  if (alignment_ != kDefaultAlignment) set_u32("general.alignment", alignment_);
}

std::string_view Writer::keep(std::string_view s) {
  arena_.emplace_back(s);
  return arena_.back();
}

const uint8_t* Writer::keep_bytes(const void* p, size_t n) {
  arena_.emplace_back(static_cast<const char*>(p), n);
  return reinterpret_cast<const uint8_t*>(arena_.back().data());
}

void Writer::set(std::string_view key, const MetaValue& value) {
  for (auto& e : metadata_) {
    if (e.key == key) {
      e.value = value;
      return;
    }
  }
  metadata_.push_back(MetaEntry{keep(key), value});
}

bool Writer::has(std::string_view key) const {
  for (const auto& e : metadata_) {
    if (e.key == key) return true;
  }
  return false;
}

void Writer::set_scalar(std::string_view key, MetaType t, const void* p, size_t n) {
  set(key, MetaValue::scalar(t, keep_bytes(p, n)));
}

void Writer::set_u8(std::string_view key, uint8_t v) {
  set_scalar(key, MetaType::u8, &v, 1);
}
void Writer::set_i8(std::string_view key, int8_t v) {
  set_scalar(key, MetaType::i8, &v, 1);
}
void Writer::set_u16(std::string_view key, uint16_t v) {
  set_scalar(key, MetaType::u16, &v, 2);
}
void Writer::set_i16(std::string_view key, int16_t v) {
  set_scalar(key, MetaType::i16, &v, 2);
}
void Writer::set_u32(std::string_view key, uint32_t v) {
  set_scalar(key, MetaType::u32, &v, 4);
}
void Writer::set_i32(std::string_view key, int32_t v) {
  set_scalar(key, MetaType::i32, &v, 4);
}
void Writer::set_u64(std::string_view key, uint64_t v) {
  set_scalar(key, MetaType::u64, &v, 8);
}
void Writer::set_i64(std::string_view key, int64_t v) {
  set_scalar(key, MetaType::i64, &v, 8);
}
void Writer::set_f32(std::string_view key, float v) {
  set_scalar(key, MetaType::f32, &v, 4);
}
void Writer::set_f64(std::string_view key, double v) {
  set_scalar(key, MetaType::f64, &v, 8);
}
void Writer::set_bool(std::string_view key, bool v) {
  const uint8_t b = v ? 1 : 0;
  set_scalar(key, MetaType::boolean, &b, 1);
}
void Writer::set_string(std::string_view key, std::string_view v) {
  set(key, MetaValue::string(keep(v)));
}
void Writer::set_string_array(std::string_view key, const std::vector<std::string>& items) {
  std::vector<std::string_view> views;
  views.reserve(items.size());
  for (const auto& s : items) views.push_back(keep(s));
  set(key, MetaValue::string_array(std::move(views)));
}
void Writer::set_i32_array(std::string_view key, const std::vector<int32_t>& items) {
  set(key, MetaValue::scalar_array(MetaType::i32, keep_bytes(items.data(), items.size() * 4),
                                   items.size()));
}
void Writer::set_f32_array(std::string_view key, const std::vector<float>& items) {
  set(key, MetaValue::scalar_array(MetaType::f32, keep_bytes(items.data(), items.size() * 4),
                                   items.size()));
}

Status Writer::add_tensor(std::string_view name, TensorType type, const std::vector<int64_t>& ne,
                          Producer produce) {
  const std::string where = "tensor '" + std::string(name) + "'";
  const TensorTypeInfo* info = tensor_type_info(type);
  if (name.empty() || name.size() > kMaxNameBytes) {
    return make_error(ErrorCode::invalid_argument,
                      where + ": a name needs 1 to " + std::to_string(kMaxNameBytes) + " bytes");
  }
  if (info == nullptr) return make_error(ErrorCode::invalid_argument, where + ": unknown type");
  if (ne.empty() || ne.size() > kMaxDims) {
    return make_error(ErrorCode::invalid_argument, where + ": needs 1 to 4 dimensions");
  }
  uint64_t n = 1;
  for (int64_t d : ne) {
    if (d < 0) return make_error(ErrorCode::invalid_argument, where + ": negative dimension");
    n *= static_cast<uint64_t>(d);
  }
  if (ne[0] % info->block_size != 0) {
    return make_error(ErrorCode::invalid_argument, where + ": row length " + std::to_string(ne[0]) +
                                                       " is not a multiple of the " + info->name +
                                                       " block size " +
                                                       std::to_string(info->block_size));
  }
  for (const auto& t : tensors_) {
    if (t.name == name) return make_error(ErrorCode::invalid_argument, "duplicate " + where);
  }
  const uint64_t n_bytes = n / info->block_size * info->block_bytes;
  tensors_.push_back(Tensor{std::string(name), type, ne, n_bytes, data_bytes_, std::move(produce)});
  data_bytes_ += n_bytes + pad_to(n_bytes, alignment_);
  return {};
}

Status Writer::add_tensor(std::string_view name, TensorType type, const std::vector<int64_t>& ne,
                          std::span<const uint8_t> data) {
  const std::string where = "tensor '" + std::string(name) + "'";
  return add_tensor(name, type, ne, [data, where](std::span<uint8_t> out) -> Status {
    if (out.size() != data.size()) {
      return make_error(ErrorCode::invalid_argument, where + ": " + std::to_string(data.size()) +
                                                         " bytes given, " +
                                                         std::to_string(out.size()) + " expected");
    }
    if (!data.empty()) std::memcpy(out.data(), data.data(), data.size());
    return {};
  });
}

uint64_t Writer::header_size() const {
  uint64_t n = 4 + 4 + 8 + 8;
  for (const auto& e : metadata_) n += 8 + e.key.size() + 4 + value_size(e.value);
  for (const auto& t : tensors_) n += 8 + t.name.size() + 4 + 8 * t.ne.size() + 4 + 8;
  return n;
}

uint64_t Writer::file_size() const {
  const uint64_t h = header_size();
  return h + pad_to(h, alignment_) + data_bytes_;
}

namespace {

// Little-endian encoder of header fields into a sink.
class Encoder {
 public:
  using Sink = std::function<Status(const void*, size_t)>;
  explicit Encoder(const Sink& sink) : sink_(sink) {}

  Status u32(uint32_t v) { return sink_(&v, 4); }
  Status u64(uint64_t v) { return sink_(&v, 8); }
  Status str(std::string_view s) {
    TESSERA_TRY(u64(s.size()));
    return s.empty() ? Status{} : sink_(s.data(), s.size());
  }
  Status value(const MetaValue& v) {
    switch (v.type()) {
      case MetaType::string:
        return str(*v.as_string());
      case MetaType::array: {
        TESSERA_TRY(u32(static_cast<uint32_t>(v.array_type())));
        TESSERA_TRY(u64(v.array_size()));
        if (v.array_type() == MetaType::string) {
          for (auto s : v.strings()) TESSERA_TRY(str(s));
          return {};
        }
        if (v.array_type() == MetaType::array) {
          for (uint64_t i = 0; i < v.array_size(); ++i) TESSERA_TRY(value(v.array_item(i)));
          return {};
        }
        const size_t n = v.array_size() * meta_scalar_size(v.array_type());
        return n == 0 ? Status{} : sink_(v.raw(), n);
      }
      default:
        return sink_(v.raw(), meta_scalar_size(v.type()));
    }
  }
  Status zeros(uint64_t n) {
    static const uint8_t kZeros[64] = {};
    while (n > 0) {
      const size_t k = n < sizeof kZeros ? static_cast<size_t>(n) : sizeof kZeros;
      TESSERA_TRY(sink_(kZeros, k));
      n -= k;
    }
    return {};
  }

 private:
  const Sink& sink_;
};

}  // namespace

Status Writer::emit_header(const Sink& sink) const {
  Encoder enc(sink);
  TESSERA_TRY(sink("GGUF", 4));
  TESSERA_TRY(enc.u32(version_));
  TESSERA_TRY(enc.u64(tensors_.size()));
  TESSERA_TRY(enc.u64(metadata_.size()));
  for (const auto& e : metadata_) {
    TESSERA_TRY(enc.str(e.key));
    TESSERA_TRY(enc.u32(static_cast<uint32_t>(e.value.type())));
    TESSERA_TRY(enc.value(e.value));
  }
  for (const auto& t : tensors_) {
    TESSERA_TRY(enc.str(t.name));
    TESSERA_TRY(enc.u32(static_cast<uint32_t>(t.ne.size())));
    for (int64_t d : t.ne) TESSERA_TRY(enc.u64(static_cast<uint64_t>(d)));
    TESSERA_TRY(enc.u32(static_cast<uint32_t>(t.type)));
    TESSERA_TRY(enc.u64(t.offset));
  }
  return enc.zeros(pad_to(header_size(), alignment_));
}

Status Writer::emit(const Sink& sink) const {
  TESSERA_TRY(emit_header(sink));
  Encoder enc(sink);
  std::vector<uint8_t> buf;
  for (const auto& t : tensors_) {
    buf.assign(t.n_bytes, 0);
    TESSERA_TRY(t.produce(std::span<uint8_t>(buf)));
    if (!buf.empty()) TESSERA_TRY(sink(buf.data(), buf.size()));
    TESSERA_TRY(enc.zeros(pad_to(t.n_bytes, alignment_)));
  }
  return {};
}

Status Writer::write(const std::string& path) const {
  return write_file(path, false);
}

Status Writer::write_sparse(const std::string& path) const {
  return write_file(path, true);
}

Status Writer::write_file(const std::string& path, bool sparse) const {
  const std::string tmp = path + ".tmp";
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(tmp.c_str(), "wb"), &std::fclose);
  if (!f) {
    return make_error(ErrorCode::io_error, tmp + ": cannot create: " + std::strerror(errno));
  }
  std::setvbuf(f.get(), nullptr, _IOFBF, 1 << 20);
  const Sink to_file = [&](const void* p, size_t n) -> Status {
    if (std::fwrite(p, 1, n, f.get()) != n) {
      return make_error(ErrorCode::io_error, tmp + ": write failed: " + std::strerror(errno));
    }
    return {};
  };
  Status st = sparse ? emit_header(to_file) : emit(to_file);
  if (st.ok() && std::fflush(f.get()) != 0) {
    st = make_error(ErrorCode::io_error, tmp + ": write failed: " + std::strerror(errno));
  }
  // The tensor data of a sparse file: a hole up to the full size, read back as zeros.
  if (st.ok() && sparse && ftruncate(fileno(f.get()), static_cast<off_t>(file_size())) != 0) {
    st = make_error(ErrorCode::io_error, tmp + ": cannot extend to " + std::to_string(file_size()) +
                                             " bytes: " + std::strerror(errno));
  }
  FILE* raw = f.release();
  if (std::fclose(raw) != 0 && st.ok()) {
    st = make_error(ErrorCode::io_error, tmp + ": close failed: " + std::strerror(errno));
  }
  if (st.ok() && std::rename(tmp.c_str(), path.c_str()) != 0) {
    st = make_error(ErrorCode::io_error,
                    path + ": cannot rename from " + tmp + ": " + std::strerror(errno));
  }
  if (!st.ok()) std::remove(tmp.c_str());
  return st;
}

Result<std::vector<uint8_t>> Writer::write_to_buffer() const {
  std::vector<uint8_t> out;
  out.reserve(file_size());
  TESSERA_TRY(emit([&](const void* p, size_t n) -> Status {
    const auto* b = static_cast<const uint8_t*>(p);
    out.insert(out.end(), b, b + n);
    return {};
  }));
  return out;
}

}  // namespace tessera::gguf
