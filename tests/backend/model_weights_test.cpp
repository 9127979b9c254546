// matmul and get_rows on the real weights of the shared test models, read through the GGUF
// reader, against a double product of the same tensors dequantized by GgufFile::read_f32.
// Budget as in matmul_test: |y - ref| <= 1e-5 * sum_c |W[r][c] x[c]|.
//
// The K-quant models are also compared with their unquantized twin (llama-kq-tiny.gguf):
// the relative RMS difference of the products must stay within the quantization error each
// type is known for (loose bounds: they catch a wrong block layout, not a precision loss).
#include <gtest/gtest.h>

#include <cctype>
#include <cmath>
#include <string>
#include <vector>

#include "backend/cpu/matmul.h"
#include "backend_test_util.h"
#include "gguf/reader.h"
#include "support/test_support.h"

namespace tessera::backend::cpu {
namespace {

// The tensor's bytes: the data section start plus the tensor's offset inside it.
WeightView view_of(const gguf::GgufFile& f, const gguf::TensorInfo& t) {
  EXPECT_EQ(t.file_offset, f.data_offset() + t.offset);
  return WeightView{t.type, t.data, t.rows(), t.ne[0]};
}

std::vector<float> product(const gguf::GgufFile& f, const gguf::TensorInfo& t,
                           const std::vector<float>& x, int64_t n_tokens, ThreadPool* pool) {
  std::vector<float> y(n_tokens * t.rows());
  matmul_reference(view_of(f, t), x.data(), n_tokens, y.data(), nullptr, pool);
  return y;
}

class ModelWeights : public ::testing::TestWithParam<std::string> {};

TEST_P(ModelWeights, MatmulMatchesTheDequantizedTensor) {
  auto file = gguf::GgufFile::open(tessera::test::testdata("models/" + GetParam() + ".gguf"));
  ASSERT_TRUE(file.ok()) << file.error().message;
  ThreadPool pool(3);
  int checked = 0;
  for (const gguf::TensorInfo& t : file->tensors()) {
    if (t.n_dims != 2 || !weight_type_supported(t.type)) continue;
    SCOPED_TRACE(std::string(t.name) + " " + gguf::tensor_type_info(t.type)->name);
    ASSERT_TRUE(check_weight(view_of(*file, t), "w").ok());
    const int64_t cols = t.ne[0], rows = t.rows(), n_tokens = 3;
    auto wd = file->read_f32(t);
    ASSERT_TRUE(wd.ok());
    const std::vector<float> x = test::random_floats(checked + 1, n_tokens * cols);
    const std::vector<float> y = product(*file, t, x, n_tokens, &pool);
    for (int64_t tok = 0; tok < n_tokens; ++tok) {
      for (int64_t r = 0; r < rows; ++r) {
        double ref = 0, mag = 0;
        for (int64_t c = 0; c < cols; ++c) {
          const double p = static_cast<double>((*wd)[r * cols + c]) * x[tok * cols + c];
          ref += p;
          mag += std::fabs(p);
        }
        ASSERT_NEAR(y[tok * rows + r], ref, 1e-5 * mag + 1e-30) << "row " << r;
      }
    }
    const std::vector<int32_t> ids = {0, static_cast<int32_t>(rows - 1)};
    std::vector<float> got(2 * cols);
    ASSERT_TRUE(get_rows(view_of(*file, t), ids.data(), 2, got.data(), nullptr).ok());
    for (int64_t c = 0; c < cols; ++c) {
      ASSERT_EQ(got[c], (*wd)[c]);
      ASSERT_EQ(got[cols + c], (*wd)[(rows - 1) * cols + c]);
    }
    ++checked;
  }
  EXPECT_GT(checked, 0);
}

INSTANTIATE_TEST_SUITE_P(TestModels, ModelWeights,
                         ::testing::Values("llama-kq-tiny-Q4_K_M", "llama-kq-tiny-Q3_K_M",
                                           "llama-kq-tiny-Q2_K", "llama-kq-tiny",
                                           "llama-spm-tiny-q4_0", "qwen2-tiny"),
                         [](const auto& param_info) {
                           std::string s = param_info.param;
                           for (char& ch : s)
                             ch = std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
                           return s;
                         });

// Largest relative RMS difference from the f32 twin allowed per weight type: about 1.5x what
// the test models show (Q2_K 0.33, Q3_K 0.16, Q4_K 0.078, Q5_K 0.039, Q6_K 0.018).
double twin_budget(gguf::TensorType type) {
  switch (type) {
    case gguf::TensorType::Q2_K:
      return 0.45;
    case gguf::TensorType::Q3_K:
      return 0.25;
    case gguf::TensorType::Q4_K:
      return 0.12;
    case gguf::TensorType::Q5_K:
      return 0.06;
    case gguf::TensorType::Q6_K:
      return 0.03;
    case gguf::TensorType::Q8_0:
      return 0.01;
    default:
      return 1e-6;
  }
}

TEST(ModelWeights, KQuantProductsStayCloseToTheUnquantizedTwin) {
  auto twin = gguf::GgufFile::open(tessera::test::testdata("models/llama-kq-tiny.gguf"));
  ASSERT_TRUE(twin.ok()) << twin.error().message;
  for (const char* name : {"llama-kq-tiny-Q4_K_M", "llama-kq-tiny-Q3_K_M", "llama-kq-tiny-Q2_K"}) {
    auto file =
        gguf::GgufFile::open(tessera::test::testdata(std::string("models/") + name + ".gguf"));
    ASSERT_TRUE(file.ok()) << file.error().message;
    int compared = 0;
    for (const gguf::TensorInfo& t : file->tensors()) {
      const gguf::TensorInfo* ref = twin->find_tensor(t.name);
      if (t.n_dims != 2 || ref == nullptr || ref->ne != t.ne) continue;
      const int64_t n_tokens = 2;
      const std::vector<float> x = test::random_floats(3, n_tokens * t.ne[0]);
      const std::vector<float> yq = product(*file, t, x, n_tokens, nullptr);
      const std::vector<float> yf = product(*twin, *ref, x, n_tokens, nullptr);
      double diff = 0, norm = 0;
      for (size_t i = 0; i < yq.size(); ++i) {
        diff += (static_cast<double>(yq[i]) - yf[i]) * (static_cast<double>(yq[i]) - yf[i]);
        norm += static_cast<double>(yf[i]) * yf[i];
      }
      const double rel = std::sqrt(diff / norm);
      EXPECT_LE(rel, twin_budget(t.type))
          << name << " " << t.name << " " << gguf::tensor_type_info(t.type)->name;
      ++compared;
    }
    EXPECT_GT(compared, 0) << name;
  }
}

}  // namespace
}  // namespace tessera::backend::cpu
