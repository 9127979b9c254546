// Helpers shared by the tests: paths of the shared test data, temporary folders, running a
// command, and a byte builder for hand-made (often deliberately broken) GGUF files.
#pragma once

#include <unistd.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

namespace tessera::test {

// A file of the shared test data: below TESSERA_TESTDATA_DIR as configured, or below the folder
// the environment variable TESSERA_TESTDATA names (a GPU machine that got a copy of it).
inline std::string testdata(const std::string& rel) {
  const char* moved = std::getenv("TESSERA_TESTDATA");
  return std::string(moved != nullptr && *moved != 0 ? moved : TESSERA_TESTDATA_DIR) + "/" + rel;
}

inline std::string shared_tool(const std::string& name) {
  return std::string(TESSERA_SHARED_TOOLS_DIR) + "/" + name;
}

// The model files of shared/testdata/models, by name.
inline const std::vector<std::string>& testdata_models() {
  static const std::vector<std::string> kModels = {"llama-spm-tiny",
                                                   "llama-spm-tiny-q4_0",
                                                   "llama-bpe-tiny",
                                                   "qwen2-tiny",
                                                   "bert-tiny",
                                                   "bert-rerank-tiny",
                                                   "llama-kq-tiny",
                                                   "llama-kq-tiny-Q4_K_M",
                                                   "llama-kq-tiny-Q3_K_M",
                                                   "llama-kq-tiny-Q2_K"};
  return kModels;
}

// The vocabulary files of shared/testdata/vocab, by name (ggml-vocab-<name>.gguf).
inline const std::vector<std::string>& testdata_vocabs() {
  static const std::vector<std::string> kVocabs = {
      "llama-spm",    "phi-3",          "llama-bpe", "qwen2",     "gpt-2",
      "deepseek-llm", "deepseek-coder", "falcon",    "starcoder", "bert-bge"};
  return kVocabs;
}

// A fresh temporary folder, removed with its contents at the end of the scope.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "tessera-test-XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr) std::abort();
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout (stderr too when merged by the command)
};

// Runs a shell command, capturing its standard output.
inline CommandResult run_command(const std::string& cmd) {
  CommandResult r;
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return r;
  std::array<char, 4096> buf{};
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.output.append(buf.data(), n);
  const int status = pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

#ifdef TESSERA_BIN
// Runs the built `tessera` binary with a shell argument string; stderr is merged into the
// output or dropped.
inline CommandResult tessera(const std::string& args, bool merge_stderr = false) {
  return run_command(std::string(TESSERA_BIN) + " " + args +
                     (merge_stderr ? " 2>&1" : " 2>/dev/null"));
}
#endif

inline void write_file(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream f(path, std::ios::binary);
  f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

// Little-endian byte builder for hand-made GGUF files.
class Bytes {
 public:
  Bytes& raw(std::string_view s) {
    b_.insert(b_.end(), s.begin(), s.end());
    return *this;
  }
  Bytes& u8(uint8_t v) { return put(&v, 1); }
  Bytes& u32(uint32_t v) { return put(&v, 4); }
  Bytes& u64(uint64_t v) { return put(&v, 8); }
  Bytes& i64(int64_t v) { return put(&v, 8); }
  Bytes& f32(float v) { return put(&v, 4); }
  Bytes& str(std::string_view s) { return u64(s.size()).raw(s); }
  Bytes& zeros(size_t n) {
    b_.insert(b_.end(), n, 0);
    return *this;
  }
  Bytes& pad_to(size_t alignment) { return zeros((alignment - b_.size() % alignment) % alignment); }
  // GGUF header: magic, version, tensor count, metadata count.
  Bytes& header(uint32_t version, uint64_t n_tensors, uint64_t n_kv) {
    return raw("GGUF").u32(version).u64(n_tensors).u64(n_kv);
  }
  // A u32 metadata entry.
  Bytes& kv_u32(std::string_view key, uint32_t v) { return str(key).u32(4).u32(v); }
  Bytes& kv_str(std::string_view key, std::string_view v) { return str(key).u32(8).str(v); }
  // A tensor info: name, dims, type, offset.
  Bytes& tensor(std::string_view name, std::vector<int64_t> ne, uint32_t type, uint64_t offset) {
    str(name).u32(static_cast<uint32_t>(ne.size()));
    for (int64_t d : ne) i64(d);
    return u32(type).u64(offset);
  }
  size_t size() const { return b_.size(); }
  const std::vector<uint8_t>& data() const { return b_; }

 private:
  Bytes& put(const void* p, size_t n) {
    const auto* c = static_cast<const uint8_t*>(p);
    b_.insert(b_.end(), c, c + n);
    return *this;
  }
  std::vector<uint8_t> b_;
};

}  // namespace tessera::test
