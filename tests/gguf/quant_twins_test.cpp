// Real quantized tensors against their unquantized twins: every tensor of the llama-quantize
// outputs llama-kq-tiny-{Q4_K_M,Q3_K_M,Q2_K}.gguf must dequantize close to the same tensor of
// llama-kq-tiny.gguf, and llama-spm-tiny-q4_0.gguf close to the F32 weights mkgguf.py draws for
// it (regenerated here). Bounds are per type and tight enough that a misread layout (swapped
// nibbles, permuted scales) fails, which LayoutMistakesBreakTheBounds demonstrates.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "gguf/reader.h"
#include "gguf/tensor_type.h"

namespace tessera::gguf {
namespace {

using T = TensorType;

const std::string kModels = std::string(TESSERA_TESTDATA_DIR) + "/models/";

bool measuring() {
  return std::getenv("TESSERA_QUANT_MEASURE") != nullptr;
}

GgufFile open_or_die(const std::string& path) {
  auto f = GgufFile::open(path);
  if (!f.ok()) {
    ADD_FAILURE() << f.error().message;
    std::abort();
  }
  return std::move(f).value();
}

std::vector<float> read_or_fail(const GgufFile& f, const TensorInfo& t) {
  auto v = f.read_f32(t);
  EXPECT_TRUE(v.ok()) << (v.ok() ? "" : v.error().message);
  return v.ok() ? std::move(v).value() : std::vector<float>(t.n_elements, NAN);
}

// Error of `deq` against `ref`: rms(deq - ref) / rms(ref) and max|deq - ref| / max|ref|.
struct TwinError {
  double rel_rmse = 0;
  double rel_max = 0;
};

TwinError twin_error(const std::vector<float>& deq, const std::vector<float>& ref) {
  double se = 0, sr = 0, emax = 0, rmax = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    const double e = static_cast<double>(deq[i]) - ref[i];
    se += e * e;
    sr += static_cast<double>(ref[i]) * ref[i];
    emax = std::max(emax, std::fabs(e));
    rmax = std::max(rmax, static_cast<double>(std::fabs(ref[i])));
    if (std::isnan(e)) return {INFINITY, INFINITY};
  }
  return {std::sqrt(se / sr), emax / rmax};
}

// Per-type bounds on TwinError. Measured = worst over every tensor of that type in the files
// (the values are very even across tensors: random normal weights); set ~10-20% above. A layout
// slip costs far more (LayoutMistakesBreakTheBounds: 0.36 and up).
//
// | type | measured rel RMSE / max | set            | found in                             |
// | Q2_K | 0.297 / 0.299           | 0.33 / 0.36    | Q2_K                                 |
// | Q3_K | 0.151 / 0.136           | 0.17 / 0.17    | Q3_K_M, Q2_K                         |
// | Q4_K | 0.0716 / 0.063          | 0.08 / 0.08    | Q4_K_M, Q3_K_M                       |
// | Q5_K | 0.0363 / 0.029          | 0.042 / 0.04   | Q3_K_M (attn_v)                      |
// | Q6_K | 0.0178 / 0.0154         | 0.021 / 0.02   | all three (output), Q4_K_M (layer 1) |
// | Q4_0 | 0.0893 / 0.0912         | 0.10 / 0.11    | llama-spm-tiny-q4_0                  |
// | Q8_0 | 0.0054 / 0.0039         | 0.0065 / 0.0045 | llama-spm-tiny-q4_0 (output)        |
struct TwinBound {
  double rel_rmse;
  double rel_max;
};

const std::map<T, TwinBound>& twin_bounds() {
  static const std::map<T, TwinBound> bounds = {
      {T::Q2_K, {0.33, 0.36}},     {T::Q3_K, {0.17, 0.17}},  {T::Q4_K, {0.08, 0.08}},
      {T::Q5_K, {0.042, 0.04}},    {T::Q6_K, {0.021, 0.02}}, {T::Q4_0, {0.10, 0.11}},
      {T::Q8_0, {0.0065, 0.0045}},
  };
  return bounds;
}

// Checks one tensor against its twin; same-typed twins (F32 norms) must be identical.
void expect_close_to_twin(const GgufFile& quant, const TensorInfo& t, const GgufFile& base,
                          const std::string& file) {
  SCOPED_TRACE(file + ": " + std::string(t.name) + " (" + tensor_type_name(t.type) + ")");
  const TensorInfo* twin = base.find_tensor(t.name);
  ASSERT_NE(twin, nullptr) << "no twin";
  ASSERT_EQ(t.n_elements, twin->n_elements);
  ASSERT_EQ(t.ne, twin->ne);
  const std::vector<float> deq = read_or_fail(quant, t);
  const std::vector<float> ref = read_or_fail(base, *twin);
  if (t.type == twin->type) {
    EXPECT_EQ(std::memcmp(deq.data(), ref.data(), deq.size() * sizeof(float)), 0);
    return;
  }
  const auto bound = twin_bounds().find(t.type);
  ASSERT_NE(bound, twin_bounds().end()) << "no bound for this type";
  const TwinError err = twin_error(deq, ref);
  if (measuring()) {
    std::printf("%-28s %-40s %-5s rel_rmse %.4f rel_max %.4f\n", file.c_str(),
                std::string(t.name).c_str(), tensor_type_name(t.type), err.rel_rmse, err.rel_max);
  }
  EXPECT_LE(err.rel_rmse, bound->second.rel_rmse);
  EXPECT_LE(err.rel_max, bound->second.rel_max);
}

class KQuantTwins : public ::testing::TestWithParam<const char*> {};

TEST_P(KQuantTwins, EveryTensorMatchesItsTwin) {
  const std::string file = GetParam();
  const GgufFile base = open_or_die(kModels + "llama-kq-tiny.gguf");
  const GgufFile quant = open_or_die(kModels + file);
  ASSERT_EQ(quant.tensors().size(), base.tensors().size());
  for (const TensorInfo& t : quant.tensors()) expect_close_to_twin(quant, t, base, file);
}

INSTANTIATE_TEST_SUITE_P(LlamaQuantizeFiles, KQuantTwins,
                         ::testing::Values("llama-kq-tiny-Q4_K_M.gguf", "llama-kq-tiny-Q3_K_M.gguf",
                                           "llama-kq-tiny-Q2_K.gguf"),
                         [](const ::testing::TestParamInfo<const char*>& p) {
                           std::string name = p.param;
                           name = name.substr(std::strlen("llama-kq-tiny-"));
                           return name.substr(0, name.find('.'));
                         });

// The files carry every K-quant type (README "K-quant models"); make sure none went missing.
TEST(KQuantTwins, FilesCoverEveryKQuantType) {
  std::map<T, int> seen;
  for (const char* file :
       {"llama-kq-tiny-Q4_K_M.gguf", "llama-kq-tiny-Q3_K_M.gguf", "llama-kq-tiny-Q2_K.gguf"}) {
    const GgufFile f = open_or_die(kModels + file);
    for (const TensorInfo& t : f.tensors()) ++seen[t.type];
  }
  for (T type : {T::Q2_K, T::Q3_K, T::Q4_K, T::Q5_K, T::Q6_K}) {
    EXPECT_GT(seen[type], 0) << tensor_type_name(type);
  }
}

// ---------------------------------------------------------------- layout mistakes

// The smallest tensor of `type` in `file` (quick, yet thousands of blocks), with its twin.
struct Sample {
  std::vector<uint8_t> bytes;
  std::vector<float> ref;
  int64_t n = 0;
};

Sample sample_of(const std::string& file, T type) {
  const GgufFile base = open_or_die(kModels + "llama-kq-tiny.gguf");
  const GgufFile quant = open_or_die(kModels + file);
  const TensorInfo* smallest = nullptr;
  for (const TensorInfo& t : quant.tensors()) {
    if (t.type == type && (smallest == nullptr || t.n_elements < smallest->n_elements)) {
      smallest = &t;
    }
  }
  if (smallest == nullptr) {
    ADD_FAILURE() << "no " << tensor_type_name(type) << " tensor in " << file;
    return {};
  }
  Sample s;
  s.bytes.assign(smallest->data, smallest->data + smallest->n_bytes);
  s.ref = read_or_fail(base, *base.find_tensor(smallest->name));
  s.n = static_cast<int64_t>(smallest->n_elements);
  return s;
}

double rel_rmse_of(T type, const Sample& s, const std::vector<uint8_t>& bytes) {
  std::vector<float> deq(static_cast<size_t>(s.n));
  EXPECT_TRUE(dequantize(type, bytes.data(), deq.data(), s.n).ok());
  return twin_error(deq, s.ref).rel_rmse;
}

// Applies `mutate` to every block (its bytes) of the sample.
template <class F>
std::vector<uint8_t> mutate_blocks(T type, const Sample& s, F mutate) {
  std::vector<uint8_t> out = s.bytes;
  const size_t bytes = tensor_type_info(type)->block_bytes;
  for (size_t at = 0; at < out.size(); at += bytes) mutate(out.data() + at);
  return out;
}

void swap_nibbles(uint8_t* p, size_t n) {
  for (size_t i = 0; i < n; ++i) p[i] = static_cast<uint8_t>((p[i] >> 4) | (p[i] << 4));
}

// Exchanges the first and second half of a byte range (e.g. two sub-blocks' scales).
void swap_halves(uint8_t* p, size_t n) {
  std::swap_ranges(p, p + n / 2, p + n / 2);
}

struct Mistake {
  const char* file;
  T type;
  const char* what;
  void (*mutate)(uint8_t* block);
};

const Mistake kMistakes[] = {
    {"llama-kq-tiny-Q2_K.gguf", T::Q2_K, "scale/min nibbles swapped",
     [](uint8_t* b) { swap_nibbles(b, 16); }},
    {"llama-kq-tiny-Q2_K.gguf", T::Q2_K, "2-bit planes of halves swapped",
     [](uint8_t* b) { swap_halves(b + 16, 64); }},
    {"llama-kq-tiny-Q2_K.gguf", T::Q2_K, "d and dmin swapped",
     [](uint8_t* b) { swap_halves(b + 80, 4); }},
    {"llama-kq-tiny-Q3_K_M.gguf", T::Q3_K, "hmask halves swapped",
     [](uint8_t* b) { swap_halves(b, 32); }},
    {"llama-kq-tiny-Q3_K_M.gguf", T::Q3_K, "scale low nibbles swapped",
     [](uint8_t* b) { swap_nibbles(b + 96, 8); }},
    {"llama-kq-tiny-Q3_K_M.gguf", T::Q3_K, "2-bit planes of halves swapped",
     [](uint8_t* b) { swap_halves(b + 32, 64); }},
    {"llama-kq-tiny-Q4_K_M.gguf", T::Q4_K, "code nibbles swapped",
     [](uint8_t* b) { swap_nibbles(b + 16, 128); }},
    {"llama-kq-tiny-Q4_K_M.gguf", T::Q4_K, "scales and mins swapped",
     [](uint8_t* b) { swap_halves(b + 4, 8); }},
    {"llama-kq-tiny-Q4_K_M.gguf", T::Q4_K, "d and dmin swapped",
     [](uint8_t* b) { swap_halves(b, 4); }},
    {"llama-kq-tiny-Q3_K_M.gguf", T::Q5_K, "code nibbles swapped",
     [](uint8_t* b) { swap_nibbles(b + 48, 128); }},
    {"llama-kq-tiny-Q3_K_M.gguf", T::Q5_K, "high-bit bytes halves swapped",
     [](uint8_t* b) { swap_halves(b + 16, 32); }},
    {"llama-kq-tiny-Q3_K_M.gguf", T::Q5_K, "packed high scale bits swapped",
     [](uint8_t* b) { swap_nibbles(b + 12, 4); }},
    {"llama-kq-tiny-Q4_K_M.gguf", T::Q6_K, "low nibbles swapped",
     [](uint8_t* b) { swap_nibbles(b, 128); }},
    {"llama-kq-tiny-Q4_K_M.gguf", T::Q6_K, "qh halves swapped",
     [](uint8_t* b) { swap_halves(b + 128, 64); }},
    {"llama-kq-tiny-Q4_K_M.gguf", T::Q6_K, "sub-block scales of halves swapped",
     [](uint8_t* b) { swap_halves(b + 192, 16); }},
};

TEST(KQuantTwins, LayoutMistakesBreakTheBounds) {
  for (const Mistake& m : kMistakes) {
    SCOPED_TRACE(std::string(tensor_type_name(m.type)) + ": " + m.what);
    const Sample s = sample_of(m.file, m.type);
    const double bound = twin_bounds().at(m.type).rel_rmse;
    ASSERT_LE(rel_rmse_of(m.type, s, s.bytes), bound);  // the intact data passes
    const double broken = rel_rmse_of(m.type, s, mutate_blocks(m.type, s, m.mutate));
    if (measuring())
      std::printf("%-5s %-36s rel_rmse %.3f\n", tensor_type_name(m.type), m.what, broken);
    EXPECT_GT(broken, bound);
  }
}

// ---------------------------------------------------------------- our quantizers on real data

// Our K-quant quantizers are our own search, not llama-quantize's; on the same weights they
// must be about as accurate (measured: ours is 0.95-0.99x of llama-quantize's error). The two
// 8M-value tensors (token_embd, output) are left out to keep the test quick.
TEST(KQuantTwins, OurQuantizersMatchLlamaQuantizeAccuracy) {
  const GgufFile base = open_or_die(kModels + "llama-kq-tiny.gguf");
  for (const char* file : {"llama-kq-tiny-Q4_K_M.gguf", "llama-kq-tiny-Q3_K_M.gguf"}) {
    const GgufFile quant = open_or_die(kModels + file);
    for (const TensorInfo& t : quant.tensors()) {
      if (t.type != T::Q4_K && t.type != T::Q5_K && t.type != T::Q6_K) continue;
      if (t.n_elements > (1u << 20)) continue;
      SCOPED_TRACE(std::string(file) + ": " + std::string(t.name));
      const std::vector<float> ref = read_or_fail(base, *base.find_tensor(t.name));
      const std::vector<float> theirs = read_or_fail(quant, t);
      std::vector<uint8_t> blocks(t.n_bytes);
      const auto n = static_cast<int64_t>(ref.size());
      ASSERT_TRUE(quantize(t.type, ref.data(), blocks.data(), n).ok());
      std::vector<float> ours(ref.size());
      ASSERT_TRUE(dequantize(t.type, blocks.data(), ours.data(), n).ok());
      const double e_ours = twin_error(ours, ref).rel_rmse;
      const double e_theirs = twin_error(theirs, ref).rel_rmse;
      if (measuring()) {
        std::printf("%-28s %-28s %-5s ours %.4f llama-quantize %.4f\n", file,
                    std::string(t.name).c_str(), tensor_type_name(t.type), e_ours, e_theirs);
      }
      EXPECT_LE(e_ours, 1.1 * e_theirs);
    }
  }
}

// ---------------------------------------------------------------- llama-spm-tiny-q4_0

// Regenerates the F32 weights llama-spm-tiny-q4_0.gguf was quantized from (same preset and
// seed, every matrix F32) once for the suite, in a temporary directory.
class SpmQ4_0Twins : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (std::system("python3 --version > /dev/null 2>&1") != 0) return;
    dir_ = std::filesystem::temp_directory_path() /
           ("tessera-quant-twins-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    const std::string out = (dir_ / "llama-spm-tiny-f32.gguf").string();
    const std::string cmd =
        "python3 '" + std::string(TESSERA_SHARED_TOOLS_DIR) + "/mkgguf.py' gen " +
        "--preset llama-spm-tiny-q4_0 " +
        "--config '{\"type\": \"F32\", \"type_token_embd\": \"F32\", \"type_output\": \"F32\"}' " +
        "--vocab-dir '" + std::string(TESSERA_TESTDATA_DIR) + "/vocab' -o '" + out +
        "' > /dev/null 2>&1";
    if (std::system(cmd.c_str()) == 0) f32_path_ = out;
  }
  static void TearDownTestSuite() {
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }
  void SetUp() override {
    if (f32_path_.empty()) GTEST_SKIP() << "python3 missing or mkgguf.py gen failed";
  }

  static inline std::filesystem::path dir_;
  static inline std::string f32_path_;
};

TEST_F(SpmQ4_0Twins, EveryTensorMatchesTheF32Weights) {
  const GgufFile base = open_or_die(f32_path_);
  const std::string file = "llama-spm-tiny-q4_0.gguf";
  const GgufFile quant = open_or_die(kModels + file);
  ASSERT_EQ(quant.tensors().size(), base.tensors().size());
  for (const TensorInfo& t : quant.tensors()) expect_close_to_twin(quant, t, base, file);
}

// mkgguf.py quantized these tensors with ggml's reference rules, which ours follow exactly.
TEST_F(SpmQ4_0Twins, OurQuantizersReproduceTheFileBytes) {
  const GgufFile base = open_or_die(f32_path_);
  const GgufFile quant = open_or_die(kModels + "llama-spm-tiny-q4_0.gguf");
  int checked = 0;
  for (const TensorInfo& t : quant.tensors()) {
    if (t.type != T::Q4_0 && t.type != T::Q8_0) continue;
    SCOPED_TRACE(std::string(t.name));
    const std::vector<float> ref = read_or_fail(base, *base.find_tensor(t.name));
    std::vector<uint8_t> blocks(t.n_bytes);
    ASSERT_TRUE(quantize(t.type, ref.data(), blocks.data(), static_cast<int64_t>(ref.size())).ok());
    EXPECT_EQ(std::memcmp(blocks.data(), t.data, t.n_bytes), 0);
    ++checked;
  }
  EXPECT_EQ(checked, 1 + 2 * 7 + 1);  // token_embd, 7 matrices per layer, output
}

}  // namespace
}  // namespace tessera::gguf
