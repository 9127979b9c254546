// The CUDA backend against the CPU backend, op by op: each test writes the same random inputs
// to both, runs the op on each stream, reads the results back and compares them with a
// tolerance suited to the op (below). Then what the interface promises beyond the numbers: bad
// index arrays reported by synchronize() with the stream usable afterwards, the memory account
// and its limit, steps recorded with begin_graph() / end_graph() and replayed with new inputs,
// and results of a row or query that do not depend on the batch around it.
//
// Every test skips where there is no CUDA backend (cuda_test_util.h). Outputs are filled with
// NaNs before each op, so an element an op forgets to write fails the comparison.
//
// Tolerances (the CPU result is the reference; |d| = |cuda - cpu|):
//   get_rows            |d| <= 1e-6 * max |row|: the same dequantization; a fused multiply-add
//                       may round the K-quants' d * scale * q - min once instead of twice.
//   gather_rows, add, mul, scale, add_row, kv_store (f16, f32): bit for bit (one IEEE
//                       operation or conversion per value, round to nearest even).
//   kv_store (q8_0)     dequantized values within one quantization step of their block, and at
//                       most 1% of the codes different (x / d against x * (1 / d) rounding).
//   matmul              |d| <= tol * sqrt(sum_c (w[r][c] x[t][c])^2), the scale of rounding
//                       errors in one dot product (w dequantized); unlike max |row| it holds
//                       for a single output row (rows = 1). Activations are rounded on both
//                       sides: cuBLAS takes them in f16 / bf16 (and quantized weights
//                       dequantized to f16), the decode kernels quantize them to int8 per 32
//                       values for quantized weights, the CPU to Q8_0 / Q8_K blocks for some
//                       types. Each rounding adds a random relative error per product, whose
//                       sum is that scale times the rounding's rms (2.8e-4 f16, 2.3e-3 bf16,
//                       ~4e-3 8-bit blocks). Emulating those CUDA paths against the CPU kernels
//                       on these shapes gives at most 8e-4 (F16), 6.6e-3 (BF16), 2.4e-2
//                       (Q4_K..Q6_K, both sides quantizing); tol: F32 / F16 5e-3, BF16 2.5e-2,
//                       quantized types 4e-2.
//   rms_norm, layer_norm |d| <= 1e-5 * max |row|: sums in another order, rsqrt within 2 ulp.
//   rope                |d| <= 1e-3 * max |row| (positions < 2048): angles of up to 2048 rad,
//                       where one f32 ulp is up to 2.4e-4 rad, and sin / cos within a few ulp
//                       of a reduced argument; the dimensions past n_rot bit for bit unchanged.
//   gelu, silu, swiglu  |d| <= 1e-5 * |ref| + 2e-6: exp / tanh within a few ulp; gelu in its
//                       tanh form or as x * sigmoid(2z), the same function.
//   softmax             |d| <= 1e-5 * |ref| + 1e-12 (exp within a few ulp, sums in another
//                       order); an all -inf row exactly zeros.
//   attention           |d| <= 2e-3 (f16 / f32 caches), 5e-3 (q8_0) absolute, with V values in
//                       [-1, 1] (outputs are convex combinations of them). An f32 kernel lands
//                       far inside; the bound leaves room for one that rounds Q and the softmax
//                       weights to f16 (2^-11 relative each) or, for a q8_0 cache, quantizes Q
//                       to 8 bits for integer dot products as the reference engine does. A
//                       query that sees no cell: exactly zeros.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

#include "backend/cpu/cpu_backend.h"
#include "backend_test_util.h"
#include "cuda_test_util.h"
#include "gguf/tensor_type.h"
#include "util/half.h"
#include "util/random.h"

namespace tessera::backend {
namespace {

using cpu::test::random_floats;
using cpu::test::random_weight;
using cpu::test::weight_types;
using gguf::TensorType;

constexpr int kCpu = 0;
constexpr int kGpu = 1;
constexpr int kSides[] = {kCpu, kGpu};
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

const char* side_name(int side) {
  return side == kCpu ? "cpu" : "cuda";
}

std::string type_name(TensorType type) {
  return gguf::tensor_type_name(type);
}

// Values per block of a weight type (1 for F32 / F16 / BF16).
int64_t block_size(TensorType type) {
  return gguf::tensor_type_info(type)->block_size;
}

// ---------------------------------------------------------------------------------------------
// The two backends side by side.

// One tensor on each backend: [kCpu] and [kGpu]. Default: absent on both.
struct Twin {
  std::array<Tensor, 2> t{};
  const Tensor& operator[](int side) const { return t[static_cast<size_t>(side)]; }
  Twin rows(int64_t first, int64_t n) const {
    Twin r;
    for (int s : kSides) r.t[s] = t[s].slice_rows(first, n);
    return r;
  }
};

// The CPU backend (the reference) and a CUDA backend, a stream on each, and the buffers of the
// tensors a test makes on both (kept until the pair is destroyed).
class Pair {
 public:
  explicit Pair(std::shared_ptr<Backend> cuda) {
    be_[kCpu] = make_cpu_backend();
    be_[kGpu] = std::move(cuda);
    for (int s : kSides) st_[s] = new_stream(s);
  }

  bool ok() const { return st_[kCpu] != nullptr && st_[kGpu] != nullptr; }
  Backend& backend(int side) { return *be_[side]; }
  Stream& stream(int side) { return *st_[side]; }

  std::unique_ptr<Stream> new_stream(int side) {
    auto st = be_[side]->create_stream(StreamOptions{});
    if (!st.ok()) {
      ADD_FAILURE() << side_name(side) << ": create_stream: " << st.error().message;
      return nullptr;
    }
    return std::move(st).value();
  }

  // A zeroed tensor on both backends.
  Twin alloc(TensorType type, int64_t rows, int64_t cols) {
    Twin out;
    for (int s : kSides) out.t[s] = alloc_on(s, type, rows, cols);
    return out;
  }
  Tensor alloc_on(int side, TensorType type, int64_t rows, int64_t cols) {
    const Tensor shape{type, nullptr, rows, cols};
    auto b = be_[side]->alloc(std::max<size_t>(shape.bytes(), 1), "test tensor");
    if (!b.ok()) {
      ADD_FAILURE() << side_name(side) << ": alloc " << shape.bytes() << ": " << b.error().message;
      return Tensor{};
    }
    const Tensor t = (*b)->tensor(type, 0, rows, cols);
    bufs_.push_back(std::move(b).value());
    return t;
  }

  // A tensor holding `host` (t.bytes() bytes) on both backends, written through the streams.
  Twin upload(TensorType type, int64_t rows, int64_t cols, const void* host) {
    Twin out = alloc(type, rows, cols);
    for (int s : kSides) st_[s]->write(out[s], host);
    return out;
  }
  template <class T>
  Twin upload(TensorType type, int64_t rows, int64_t cols, const std::vector<T>& host) {
    const Tensor shape{type, nullptr, rows, cols};
    EXPECT_EQ(host.size() * sizeof(T), shape.bytes()) << "host data of the wrong size";
    return upload(type, rows, cols, static_cast<const void*>(host.data()));
  }
  Twin upload_f32(int64_t rows, int64_t cols, const std::vector<float>& host) {
    return upload(TensorType::F32, rows, cols, host);
  }
  Twin upload_i32(int64_t rows, int64_t cols, const std::vector<int32_t>& host) {
    return upload(TensorType::I32, rows, cols, host);
  }
  // An f32 output, filled with NaNs so that an element the op does not write shows.
  Twin output(int64_t rows, int64_t cols) {
    return upload_f32(rows, cols, std::vector<float>(static_cast<size_t>(rows * cols), kNaN));
  }

  // Weight bytes imported as models import them (import_host: the CPU uses them in place, the
  // GPU copies them); the host copy lives as long as the pair.
  Twin import(TensorType type, int64_t rows, int64_t cols, const std::vector<uint8_t>& bytes) {
    host_.push_back(std::make_unique<std::vector<uint8_t>>(bytes));
    Twin out;
    for (int s : kSides) {
      auto b = be_[s]->import_host(host_.back()->data(), host_.back()->size(), "test weights");
      if (!b.ok()) {
        ADD_FAILURE() << side_name(s) << ": import_host: " << b.error().message;
        continue;
      }
      out.t[s] = (*b)->tensor(type, 0, rows, cols);
      bufs_.push_back(std::move(b).value());
    }
    return out;
  }

  // `w` as backend `side` prepares a matmul weight (its own arrangement, or w itself).
  Tensor prepare(int side, const Tensor& w) {
    auto p = be_[side]->prepare_weight(w, "test weights");
    if (!p.ok()) {
      ADD_FAILURE() << side_name(side) << ": prepare_weight: " << p.error().message;
      return w;
    }
    if (p->buffer != nullptr) bufs_.push_back(std::move(p->buffer));
    return p->tensor;
  }

  // Runs f(stream, side) on both backends.
  template <class F>
  void run(F&& f) {
    for (int s : kSides) f(*st_[s], s);
  }

  // Reads `t` from backend `side` (f32) after synchronizing; a stream error fails the test.
  std::vector<float> read_on(int side, const Tensor& t) {
    std::vector<float> v(t.bytes() / sizeof(float), kNaN);
    st_[side]->read(t, v.data());
    const Status s = st_[side]->synchronize();
    EXPECT_TRUE(s.ok()) << side_name(side) << ": " << (s.ok() ? "" : s.error().message);
    return v;
  }
  std::array<std::vector<float>, 2> read(const Twin& t) {
    return {read_on(kCpu, t[kCpu]), read_on(kGpu, t[kGpu])};
  }
  std::array<std::vector<uint8_t>, 2> read_bytes(const Twin& t) {
    std::array<std::vector<uint8_t>, 2> out;
    for (int s : kSides) {
      out[s].assign(t[s].bytes(), 0xee);
      st_[s]->read(t[s], out[s].data());
      const Status st = st_[s]->synchronize();
      EXPECT_TRUE(st.ok()) << side_name(s) << ": " << (st.ok() ? "" : st.error().message);
    }
    return out;
  }

 private:
  std::array<std::shared_ptr<Backend>, 2> be_;
  std::array<std::unique_ptr<Stream>, 2> st_;
  std::vector<std::unique_ptr<Buffer>> bufs_;
  std::vector<std::unique_ptr<std::vector<uint8_t>>> host_;
};

// Each test gets a CUDA backend (or is skipped) and a Pair over it.
class CudaOpsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    TESSERA_CUDA_BACKEND_OR_SKIP(cuda);
    cuda_ = cuda;
    pair_ = std::make_unique<Pair>(cuda);
    ASSERT_TRUE(pair_->ok());
  }
  Pair& p() { return *pair_; }
  // The weight types both backends read (the CUDA backend's supports_weight_type()).
  std::vector<TensorType> shared_weight_types() const {
    std::vector<TensorType> types;
    for (TensorType t : weight_types()) {
      if (cuda_->supports_weight_type(t)) types.push_back(t);
    }
    return types;
  }

  std::shared_ptr<Backend> cuda_;
  std::unique_ptr<Pair> pair_;
};

// ---------------------------------------------------------------------------------------------
// Comparisons. Each reports the worst element once (row, column, both values, the bound).

// |got[i] - want[i]| <= bound(i) for every i (a NaN fails).
template <class Bound>
void expect_within(const std::vector<float>& want, const std::vector<float>& got, int64_t cols,
                   Bound bound, const std::string& what) {
  ASSERT_EQ(want.size(), got.size()) << what;
  double worst = 0.0;
  size_t at = 0;
  bool failed = false;
  for (size_t i = 0; i < want.size(); ++i) {
    const double d = std::fabs(static_cast<double>(got[i]) - static_cast<double>(want[i]));
    const double b = bound(i);
    if (!(d <= b)) {  // NaN too
      const double excess = std::isnan(d) ? kInf : d / std::max(b, 1e-300);
      if (!failed || excess > worst) {
        worst = excess;
        at = i;
      }
      failed = true;
    }
  }
  if (failed) {
    ADD_FAILURE() << what << ": row " << at / static_cast<size_t>(cols) << " col "
                  << at % static_cast<size_t>(cols) << ": cuda " << got[at] << ", cpu " << want[at]
                  << ", allowed " << bound(at) << " (worst excess x" << worst << ")";
  }
}

// Per row of `cols` values: |got - want| <= tol * max |want in the row|.
void expect_rows_close(const std::vector<float>& want, const std::vector<float>& got, int64_t cols,
                       double tol, const std::string& what) {
  std::vector<double> row_max(want.size() / static_cast<size_t>(cols) + 1, 0.0);
  for (size_t i = 0; i < want.size(); ++i) {
    double& m = row_max[i / static_cast<size_t>(cols)];
    m = std::max(m, std::fabs(static_cast<double>(want[i])));
  }
  expect_within(
      want, got, cols,
      [&](size_t i) { return tol * row_max[i / static_cast<size_t>(cols)] + 1e-30; }, what);
}

// |got - want| <= rel * |want| + abs.
void expect_close(const std::vector<float>& want, const std::vector<float>& got, int64_t cols,
                  double rel, double abs, const std::string& what) {
  expect_within(
      want, got, cols, [&](size_t i) { return rel * std::fabs(double{want[i]}) + abs; }, what);
}

template <class T>
void expect_same_bits(const std::vector<T>& want, const std::vector<T>& got,
                      const std::string& what) {
  ASSERT_EQ(want.size(), got.size()) << what;
  for (size_t i = 0; i < want.size(); ++i) {
    if (std::memcmp(&want[i], &got[i], sizeof(T)) != 0) {
      ADD_FAILURE() << what << ": element " << i << " differs: " << +want[i] << " against "
                    << +got[i];
      return;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// get_rows, gather_rows

// Token ids for a table of `rows` rows: the first and the last row, repeats, the rest random.
std::vector<int32_t> token_ids(int64_t n, int64_t rows, uint64_t seed) {
  SplitMix64 rng(seed);
  std::vector<int32_t> ids(static_cast<size_t>(n));
  for (auto& id : ids) id = static_cast<int32_t>(rng.next() % static_cast<uint64_t>(rows));
  if (n > 0) ids[0] = static_cast<int32_t>(rows - 1);
  if (n > 1) ids[1] = 0;
  if (n > 3) ids[3] = ids[2];
  return ids;
}

TEST_F(CudaOpsTest, GetRowsOfEveryWeightType) {
  int tested = 0;
  for (TensorType type : shared_weight_types()) {
    const int64_t bs = std::max<int64_t>(block_size(type), 32);
    for (const int64_t cols : {bs, 2 * bs * 3}) {  // one block, six blocks
      const int64_t rows = 301, n = 40;
      const std::string what = type_name(type) + " cols " + std::to_string(cols);
      const Twin table = p().import(type, rows, cols, random_weight(type, rows, cols, 11));
      const Twin ids = p().upload_i32(1, n, token_ids(n, rows, 12));
      const Twin out = p().output(n, cols);
      p().run([&](Stream& s, int i) { s.get_rows(table[i], ids[i], out[i]); });
      const auto r = p().read(out);
      expect_rows_close(r[kCpu], r[kGpu], cols, 1e-6, "get_rows " + what);
      ++tested;
    }
  }
  EXPECT_GT(tested, 0) << "the CUDA backend reads no weight type";
}

TEST_F(CudaOpsTest, GatherRowsCopiesRowsExactly) {
  for (const int64_t cols : {int64_t{1}, int64_t{70}, int64_t{4096}}) {
    const int64_t rows = 50, n = 23;
    const Twin src = p().upload_f32(rows, cols, random_floats(21, rows * cols, 3.0));
    const Twin idx = p().upload_i32(1, n, token_ids(n, rows, 22));
    const Twin out = p().output(n, cols);
    p().run([&](Stream& s, int i) { s.gather_rows(src[i], idx[i], out[i]); });
    const auto r = p().read(out);
    expect_same_bits(r[kCpu], r[kGpu], "gather_rows cols " + std::to_string(cols));
  }
}

// ---------------------------------------------------------------------------------------------
// matmul

double matmul_tolerance(TensorType type) {
  switch (type) {
    case TensorType::F32:
    case TensorType::F16:
      return 5e-3;
    case TensorType::BF16:
      return 2.5e-2;
    default:
      return 4e-2;
  }
}

// sqrt(sum_c (w[r][c] x[t][c])^2) for each y[t][r]: w rows x cols, x n x cols.
std::vector<double> dot_scales(const std::vector<float>& w, const std::vector<float>& x,
                               int64_t rows, int64_t cols, int64_t n) {
  std::vector<double> s(static_cast<size_t>(n * rows));
  std::vector<double> x2(static_cast<size_t>(cols));
  for (int64_t t = 0; t < n; ++t) {
    for (int64_t c = 0; c < cols; ++c) {
      const double v = x[static_cast<size_t>(t * cols + c)];
      x2[static_cast<size_t>(c)] = v * v;
    }
    for (int64_t r = 0; r < rows; ++r) {
      const float* wr = w.data() + r * cols;
      double acc = 0.0;
      for (int64_t c = 0; c < cols; ++c) acc += double{wr[c]} * wr[c] * x2[static_cast<size_t>(c)];
      s[static_cast<size_t>(t * rows + r)] = std::sqrt(acc);
    }
  }
  return s;
}

// A weight on both backends: natural (both) and as the CUDA backend prepares it, with its
// dequantized values for the error scale.
struct TestWeight {
  TensorType type;
  int64_t rows, cols;
  Twin natural;
  Tensor cuda_prepared;
  std::vector<float> values;
};

TestWeight make_weight(Pair& p, TensorType type, int64_t rows, int64_t cols, uint64_t seed) {
  const std::vector<uint8_t> bytes = random_weight(type, rows, cols, seed);
  TestWeight w{type,     rows,
               cols,     p.import(type, rows, cols, bytes),
               Tensor{}, cpu::test::dequantized(type, bytes, rows * cols)};
  w.cuda_prepared = p.prepare(kGpu, w.natural[kGpu]);
  return w;
}

// y = w x (+ bias) for n random rows on both backends, the CUDA backend with the natural and
// the prepared weight; both CUDA results compared with the CPU's.
void check_matmul(Pair& p, const TestWeight& w, int64_t n, bool with_bias, uint64_t seed) {
  const std::string what = type_name(w.type) + " " + std::to_string(w.rows) + "x" +
                           std::to_string(w.cols) + " n " + std::to_string(n) +
                           (with_bias ? " +bias" : "");
  const std::vector<float> xs = random_floats(seed, static_cast<size_t>(n * w.cols));
  const Twin x = p.upload_f32(n, w.cols, xs);
  const Twin bias =
      with_bias ? p.upload_f32(1, w.rows, random_floats(seed + 1, w.rows, 2.0)) : Twin{};
  const Twin y = p.output(n, w.rows);
  const Tensor y_prepared = p.alloc_on(kGpu, TensorType::F32, n, w.rows);
  p.stream(kCpu).matmul(w.natural[kCpu], x[kCpu], y[kCpu], bias[kCpu]);
  p.stream(kGpu).matmul(w.natural[kGpu], x[kGpu], y[kGpu], bias[kGpu]);
  p.stream(kGpu).matmul(w.cuda_prepared, x[kGpu], y_prepared, bias[kGpu]);
  const auto r = p.read(y);
  const std::vector<float> got_prepared = p.read_on(kGpu, y_prepared);
  const std::vector<double> scale = dot_scales(w.values, xs, w.rows, w.cols, n);
  const double tol = matmul_tolerance(w.type);
  const auto bound = [&](size_t i) { return tol * scale[i] + 2e-6 * std::fabs(r[kCpu][i]); };
  expect_within(r[kCpu], r[kGpu], w.rows, bound, "matmul " + what);
  expect_within(r[kCpu], got_prepared, w.rows, bound, "matmul (prepared weight) " + what);
}

// Every batch size around the decode path's limit (n <= 8) and the cuBLAS path's tiles.
TEST_F(CudaOpsTest, MatmulOfEveryWeightTypeAtEveryBatchSize) {
  const int64_t kBatches[] = {1, 2, 3, 7, 8, 9, 16, 33, 100, 512};
  for (TensorType type : shared_weight_types()) {
    const TestWeight w = make_weight(p(), type, 200, 512, 31);
    uint64_t seed = 32;
    for (const int64_t n : kBatches) {
      for (const bool bias : {false, true}) check_matmul(p(), w, n, bias, seed += 2);
    }
  }
}

// Rows 1, 7, 1000 and rows of one or three blocks (K-quants: 256 values, the others 32).
TEST_F(CudaOpsTest, MatmulOddShapes) {
  for (TensorType type : shared_weight_types()) {
    const int64_t bs = std::max<int64_t>(block_size(type), 32);
    uint64_t seed = 41;
    for (const int64_t rows : {int64_t{1}, int64_t{7}, int64_t{1000}}) {
      for (const int64_t cols : {bs, 3 * bs}) {
        const TestWeight w = make_weight(p(), type, rows, cols, seed++);
        for (const int64_t n : {int64_t{1}, int64_t{5}, int64_t{9}, int64_t{100}}) {
          check_matmul(p(), w, n, n % 2 == 1, seed += 2);
        }
      }
    }
  }
}

// F32 / F16 / BF16 rows may have any length (blocks of one value), odd ones included.
TEST_F(CudaOpsTest, MatmulFloatWeightsOfOddWidths) {
  uint64_t seed = 51;
  for (TensorType type : {TensorType::F32, TensorType::F16, TensorType::BF16}) {
    if (!cuda_->supports_weight_type(type)) continue;
    for (const int64_t cols : {int64_t{1}, int64_t{3}, int64_t{35}, int64_t{1001}}) {
      const TestWeight w = make_weight(p(), type, 67, cols, seed++);
      for (const int64_t n : {int64_t{1}, int64_t{3}, int64_t{8}, int64_t{9}, int64_t{40}}) {
        check_matmul(p(), w, n, n == 3, seed += 2);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Norms, rope, elementwise ops, softmax

TEST_F(CudaOpsTest, RmsNormWithAndWithoutWeightAndInPlace) {
  uint64_t seed = 61;
  for (const int64_t cols : {int64_t{64}, int64_t{896}, int64_t{5120}}) {
    for (const int64_t n : {int64_t{1}, int64_t{7}, int64_t{64}}) {
      for (const bool weighted : {false, true}) {
        const std::string what = "rms_norm " + std::to_string(n) + "x" + std::to_string(cols) +
                                 (weighted ? " weighted" : "");
        const std::vector<float> xs = random_floats(seed++, static_cast<size_t>(n * cols), 2.0);
        const Twin x = p().upload_f32(n, cols, xs);
        const Twin w = weighted ? p().upload_f32(1, cols, random_floats(seed++, cols)) : Twin{};
        const Twin y = p().output(n, cols);
        const Twin in_place = p().upload_f32(n, cols, xs);
        p().run([&](Stream& s, int i) {
          s.rms_norm(x[i], w[i], 1e-5f, y[i]);
          s.rms_norm(in_place[i], w[i], 1e-6f, in_place[i]);
        });
        const auto r = p().read(y);
        expect_rows_close(r[kCpu], r[kGpu], cols, 1e-5, what);
        const auto r2 = p().read(in_place);
        expect_rows_close(r2[kCpu], r2[kGpu], cols, 1e-5, what + " in place");
      }
    }
  }
}

TEST_F(CudaOpsTest, LayerNormWithEveryCombinationOfWeightAndBias) {
  uint64_t seed = 71;
  for (const int64_t cols : {int64_t{64}, int64_t{384}, int64_t{4096}}) {
    const int64_t n = 9;
    // An offset of 3 makes the mean matter (x - mean must be formed before squaring).
    std::vector<float> xs = random_floats(seed++, static_cast<size_t>(n * cols));
    for (float& v : xs) v += 3.0f;
    for (const bool weighted : {false, true}) {
      for (const bool biased : {false, true}) {
        for (const float eps : {1e-12f, 1e-5f}) {
          const std::string what = "layer_norm cols " + std::to_string(cols) +
                                   (weighted ? " weight" : "") + (biased ? " bias" : "") + " eps " +
                                   std::to_string(eps);
          const Twin x = p().upload_f32(n, cols, xs);
          const Twin w = weighted ? p().upload_f32(1, cols, random_floats(seed++, cols)) : Twin{};
          const Twin b = biased ? p().upload_f32(1, cols, random_floats(seed++, cols)) : Twin{};
          const Twin y = p().output(n, cols);
          p().run([&](Stream& s, int i) { s.layer_norm(x[i], w[i], b[i], eps, y[i]); });
          const auto r = p().read(y);
          expect_rows_close(r[kCpu], r[kGpu], cols, 1e-5, what);
        }
      }
    }
  }
}

TEST_F(CudaOpsTest, RopeNormalAndNeoxWithAndWithoutFrequencyFactors) {
  uint64_t seed = 81;
  struct Shape {
    int n_heads, head_dim, n_rot;
  };
  for (const Shape sh : {Shape{4, 64, 64}, Shape{2, 128, 128}, Shape{3, 64, 32}, Shape{5, 128, 24},
                         Shape{1, 8, 8}}) {
    for (const RopeStyle style : {RopeStyle::normal, RopeStyle::neox}) {
      for (const bool factors : {false, true}) {
        for (const float freq_scale : {1.0f, 0.25f}) {
          const int64_t n = 11, cols = int64_t{sh.n_heads} * sh.head_dim;
          const std::string what =
              std::string("rope ") + (style == RopeStyle::normal ? "normal" : "neox") + " heads " +
              std::to_string(sh.n_heads) + " hd " + std::to_string(sh.head_dim) + " n_rot " +
              std::to_string(sh.n_rot) + (factors ? " freq_factors" : "") + " freq_scale " +
              std::to_string(freq_scale);
          const std::vector<float> xs = random_floats(seed++, static_cast<size_t>(n * cols));
          std::vector<int32_t> pos = token_ids(n, 2048, seed++);
          pos[2] = 0;
          const Twin x = p().upload_f32(n, cols, xs);
          const Twin positions = p().upload_i32(1, n, pos);
          RopeOp op;
          op.style = style;
          op.n_rot = sh.n_rot;
          op.freq_base = factors ? 500000.0f : 10000.0f;
          op.freq_scale = freq_scale;
          Twin ff;
          if (factors) {
            std::vector<float> f = random_floats(seed++, static_cast<size_t>(sh.n_rot / 2));
            for (float& v : f) v = 1.0f + 4.0f * std::fabs(v);  // divisors in [1, 5]
            ff = p().upload_f32(1, sh.n_rot / 2, f);
          }
          p().run([&](Stream& s, int i) {
            RopeOp o = op;
            o.freq_factors = ff[i];
            s.rope(x[i], sh.n_heads, positions[i], o);
          });
          const auto r = p().read(x);
          expect_rows_close(r[kCpu], r[kGpu], sh.head_dim, 1e-3, what);
          // Position 0 rotates by nothing; dimensions past n_rot are never touched.
          for (int64_t t = 0; t < n; ++t) {
            for (int h = 0; h < sh.n_heads; ++h) {
              for (int d = 0; d < sh.head_dim; ++d) {
                const size_t k = static_cast<size_t>(t * cols + int64_t{h} * sh.head_dim + d);
                if (d >= sh.n_rot || t == 2) {
                  ASSERT_EQ(f32_bits(r[kGpu][k]), f32_bits(xs[k]))
                      << what << ": token " << t << " head " << h << " dim " << d;
                }
              }
            }
          }
        }
      }
    }
  }
}

// Shapes with odd element counts, so vectorized kernels meet their tails.
constexpr std::array<std::array<int64_t, 2>, 4> kElementwiseShapes = {
    {{1, 1}, {3, 1000}, {64, 4099}, {2, 17}}};

TEST_F(CudaOpsTest, AddMulScaleAndAddRowAreExact) {
  uint64_t seed = 91;
  for (const auto& [n, cols] : kElementwiseShapes) {
    const std::string shape =
        std::string(" ").append(std::to_string(n)).append("x").append(std::to_string(cols));
    const size_t count = static_cast<size_t>(n * cols);
    const std::vector<float> as = random_floats(seed++, count, 4.0);
    const std::vector<float> bs = random_floats(seed++, count, 4.0);
    const Twin a = p().upload_f32(n, cols, as);
    const Twin b = p().upload_f32(n, cols, bs);
    const Twin row = p().upload_f32(1, cols, random_floats(seed++, cols, 4.0));
    const Twin sum = p().output(n, cols), prod = p().output(n, cols), scaled = p().output(n, cols),
               rows = p().output(n, cols);
    const Twin in_place = p().upload_f32(n, cols, as);
    p().run([&](Stream& s, int i) {
      s.add(a[i], b[i], sum[i]);
      s.mul(a[i], b[i], prod[i]);
      s.scale(a[i], -0.37f, scaled[i]);
      s.add_row(a[i], row[i], rows[i]);
      s.add(in_place[i], b[i], in_place[i]);  // out = a
      s.mul(in_place[i], in_place[i], in_place[i]);
    });
    for (const auto& [t, name] :
         {std::pair{sum, "add"}, std::pair{prod, "mul"}, std::pair{scaled, "scale"},
          std::pair{rows, "add_row"}, std::pair{in_place, "add, mul in place"}}) {
      const auto r = p().read(t);
      expect_same_bits(r[kCpu], r[kGpu], name + shape);
    }
  }
}

TEST_F(CudaOpsTest, GeluSiluSwiglu) {
  uint64_t seed = 101;
  for (const auto& [n, cols] : kElementwiseShapes) {
    const std::string shape =
        std::string(" ").append(std::to_string(n)).append("x").append(std::to_string(cols));
    const size_t count = static_cast<size_t>(n * cols);
    const Twin x = p().upload_f32(n, cols, random_floats(seed++, count, 6.0));
    const Twin up = p().upload_f32(n, cols, random_floats(seed++, count, 3.0));
    const Twin g = p().output(n, cols), s_ = p().output(n, cols), sw = p().output(n, cols);
    p().run([&](Stream& s, int i) {
      s.gelu(x[i], g[i]);
      s.silu(x[i], s_[i]);
      s.swiglu(x[i], up[i], sw[i]);
    });
    for (const auto& [t, name] :
         {std::pair{g, "gelu"}, std::pair{s_, "silu"}, std::pair{sw, "swiglu"}}) {
      const auto r = p().read(t);
      expect_close(r[kCpu], r[kGpu], cols, 1e-5, 2e-6, name + shape);
    }
  }
}

TEST_F(CudaOpsTest, SoftmaxIncludingMaskedAndAllMinusInfinityRows) {
  uint64_t seed = 111;
  for (const int64_t cols : {int64_t{1}, int64_t{7}, int64_t{1024}, int64_t{32000}}) {
    const int64_t n = 6;
    std::vector<float> xs = random_floats(seed++, static_cast<size_t>(n * cols), 10.0);
    auto row = [&](int64_t r) { return xs.begin() + r * cols; };
    std::fill(row(1), row(2), -kInf);                          // all -inf: zeros
    for (int64_t c = 0; c < cols; c += 3) row(2)[c] = -kInf;   // masked entries
    for (int64_t c = 0; c < cols; ++c) row(3)[c] += 1000.0f;   // exp would overflow unshifted
    for (int64_t c = 1; c < cols; ++c) row(4)[c] = row(4)[0];  // all equal
    const Twin x = p().upload_f32(n, cols, xs);
    const Twin y = p().output(n, cols);
    p().run([&](Stream& s, int i) { s.softmax(x[i], y[i]); });
    const auto r = p().read(y);
    expect_close(r[kCpu], r[kGpu], cols, 1e-5, 1e-12, "softmax cols " + std::to_string(cols));
    for (int64_t c = 0; c < cols; ++c) {
      ASSERT_EQ(r[kGpu][static_cast<size_t>(cols + c)], 0.0f) << "all -inf row, col " << c;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// K/V cache: kv_store and attention

// The bytes of `rows` cache rows of `width` values in a cache of `type`.
std::vector<uint8_t> cache_bytes(KvType type, const std::vector<float>& values, int64_t rows,
                                 int64_t width) {
  const Tensor shape{kv_tensor_type(type), nullptr, rows, width};
  std::vector<uint8_t> bytes(shape.bytes());
  EXPECT_TRUE(gguf::quantize(kv_tensor_type(type), values.data(), bytes.data(), rows * width).ok());
  return bytes;
}

std::vector<KvType> kv_types_for(int head_dim) {
  std::vector<KvType> types = {KvType::f16, KvType::f32};
  if (check_kv_layout(KvType::q8_0, 1, head_dim).ok()) types.push_back(KvType::q8_0);
  return types;
}

// Distinct cells of a cache of n_cells, in random order.
std::vector<int32_t> random_cells(int64_t n, int64_t n_cells, uint64_t seed) {
  std::vector<int32_t> all(static_cast<size_t>(n_cells));
  std::iota(all.begin(), all.end(), 0);
  SplitMix64 rng(seed);
  for (size_t i = all.size(); i > 1; --i) std::swap(all[i - 1], all[rng.next() % i]);
  all.resize(static_cast<size_t>(n));
  return all;
}

TEST_F(CudaOpsTest, KvStoreIntoScatteredCells) {
  uint64_t seed = 121;
  for (const KvType type : {KvType::f16, KvType::f32, KvType::q8_0}) {
    const int64_t n_cells = 100, width = 2 * 64, n = 13;
    const std::string what = std::string("kv_store ") + kv_type_name(type);
    const TensorType tt = kv_tensor_type(type);
    // A cache full of earlier values, then n rows stored into scattered cells.
    const Twin cache =
        p().upload(tt, n_cells, width,
                   cache_bytes(type, random_floats(seed++, n_cells * width), n_cells, width));
    const std::vector<int32_t> cell_ids = random_cells(n, n_cells, seed++);
    const Twin cells = p().upload_i32(1, n, cell_ids);
    const Twin rows = p().upload_f32(n, width, random_floats(seed++, n * width, 3.0));
    p().run([&](Stream& s, int i) { s.kv_store(rows[i], cells[i], cache[i]); });
    const auto r = p().read_bytes(cache);
    if (type != KvType::q8_0) {
      expect_same_bits(r[kCpu], r[kGpu], what);
      continue;
    }
    // q8_0: blocks of 34 bytes (f16 scale d, 32 int8 codes).
    const size_t blocks = r[kCpu].size() / 34;
    size_t codes_differing = 0;
    for (size_t b = 0; b < blocks; ++b) {
      const uint8_t* c = r[kCpu].data() + b * 34;
      const uint8_t* g = r[kGpu].data() + b * 34;
      uint16_t dc, dg;
      std::memcpy(&dc, c, 2);
      std::memcpy(&dg, g, 2);
      const double d_cpu = f16_to_f32(dc), d_gpu = f16_to_f32(dg);
      ASSERT_LE(std::fabs(d_cpu - d_gpu), 1e-3 * std::fabs(d_cpu)) << what << " block " << b;
      const double step = std::max(std::fabs(d_cpu), std::fabs(d_gpu));
      for (int k = 0; k < 32; ++k) {
        const auto qc = static_cast<int8_t>(c[2 + k]), qg = static_cast<int8_t>(g[2 + k]);
        codes_differing += qc != qg;
        ASSERT_LE(std::fabs(d_cpu * qc - d_gpu * qg), 1.001 * step + 1e-9)
            << what << " block " << b << " value " << k;
      }
    }
    EXPECT_LE(codes_differing, static_cast<size_t>(n * width) / 100) << what;
    // Cells that were not stored into keep their bytes.
    const size_t row_bytes = r[kCpu].size() / n_cells;
    for (int32_t cell = 0; cell < n_cells; ++cell) {
      if (std::find(cell_ids.begin(), cell_ids.end(), cell) != cell_ids.end()) continue;
      ASSERT_EQ(0, std::memcmp(r[kCpu].data() + cell * row_bytes, r[kGpu].data() + cell * row_bytes,
                               row_bytes))
          << what << ": cell " << cell << " was not stored into but changed";
    }
  }
}

// One attention run: a cache (values and cell table) and a batch of queries.
struct AttentionCase {
  KvType kv = KvType::f16;
  AttentionShape shape;
  std::vector<int32_t> cell_seq, cell_pos;
  std::vector<AttentionQuery> queries;
  uint64_t seed = 1;
  double q_amp = 2.0;  // larger: sharper softmax

  int64_t n_cells() const { return static_cast<int64_t>(cell_seq.size()); }
  int64_t n() const { return static_cast<int64_t>(queries.size()); }
  int64_t width() const { return int64_t{shape.n_heads} * shape.head_dim; }
  int64_t kv_width() const { return int64_t{shape.n_kv_heads} * shape.head_dim; }
  std::string name() const {
    return std::string(kv_type_name(kv)) + " heads " + std::to_string(shape.n_heads) + "/" +
           std::to_string(shape.n_kv_heads) + " hd " + std::to_string(shape.head_dim) + " cells " +
           std::to_string(n_cells()) + " queries " + std::to_string(n());
  }
  // Whether query t sees at least one cell.
  bool sees_a_cell(int64_t t) const {
    const AttentionQuery& q = queries[static_cast<size_t>(t)];
    for (int32_t c = q.cell_begin; c < q.cell_end; ++c) {
      if (cell_seq[static_cast<size_t>(c)] == q.seq && cell_pos[static_cast<size_t>(c)] <= q.pos) {
        return true;
      }
    }
    return false;
  }
};

double attention_tolerance(KvType kv) {
  return kv == KvType::q8_0 ? 5e-3 : 2e-3;
}

// The cache, queries and q of `c` on both backends.
struct AttentionInputs {
  Twin q, queries, out;
  std::array<KvLayer, 2> kv;
};

AttentionInputs upload_attention(Pair& p, const AttentionCase& c) {
  const int64_t cells = c.n_cells(), kvw = c.kv_width();
  const TensorType tt = kv_tensor_type(c.kv);
  const Twin k =
      p.upload(tt, cells, kvw, cache_bytes(c.kv, random_floats(c.seed, cells * kvw), cells, kvw));
  const Twin v = p.upload(tt, cells, kvw,
                          cache_bytes(c.kv, random_floats(c.seed + 1, cells * kvw), cells, kvw));
  const Twin seq = p.upload_i32(1, cells, c.cell_seq);
  const Twin pos = p.upload_i32(1, cells, c.cell_pos);
  AttentionInputs in;
  in.q = p.upload_f32(c.n(), c.width(), random_floats(c.seed + 2, c.n() * c.width(), c.q_amp));
  in.queries = p.upload(TensorType::I32, c.n(), 4, c.queries);
  in.out = p.output(c.n(), c.width());
  for (int s : kSides) in.kv[s] = KvLayer{k[s], v[s], seq[s], pos[s]};
  return in;
}

void check_attention(Pair& p, const AttentionCase& c) {
  const AttentionInputs in = upload_attention(p, c);
  p.run(
      [&](Stream& s, int i) { s.attention(in.q[i], in.queries[i], in.kv[i], c.shape, in.out[i]); });
  const auto r = p.read(in.out);
  expect_close(r[kCpu], r[kGpu], c.shape.head_dim, 0.0, attention_tolerance(c.kv),
               "attention " + c.name());
  for (int64_t t = 0; t < c.n(); ++t) {
    if (c.sees_a_cell(t)) continue;
    for (int64_t j = 0; j < c.width(); ++j) {
      ASSERT_EQ(r[kGpu][static_cast<size_t>(t * c.width() + j)], 0.0f)
          << c.name() << ": query " << t << " sees no cell, so its output must be zeros";
    }
  }
}

// A cache of sequences 0, 1, 2 in interleaved cells (cell c mostly of sequence c % 3), with
// empty cells and cells of sequence 9, which no query reads; each sequence's positions are a
// permutation of 0..count-1 when `shuffled`, else increasing with the cell. Queries see
// everything, a prefix of positions, their sequence's span only, a window narrower than the
// sequence, or nothing (a sequence without cells, an empty window).
AttentionCase interleaved_case(KvType kv, int n_heads, int n_kv_heads, int head_dim,
                               int64_t n_cells, bool shuffled, uint64_t seed) {
  AttentionCase c;
  c.kv = kv;
  c.shape = AttentionShape{n_heads, n_kv_heads, head_dim, 0.0f};
  c.seed = seed;
  c.cell_seq.resize(static_cast<size_t>(n_cells));
  c.cell_pos.resize(static_cast<size_t>(n_cells));
  std::array<int32_t, 3> count{};
  std::array<int32_t, 3> first{-1, -1, -1}, last{};
  for (int64_t cell = 0; cell < n_cells; ++cell) {
    int32_t s = static_cast<int32_t>(cell % 3);
    if (cell % 17 == 5) s = -1;
    if (cell % 23 == 7) s = 9;
    c.cell_seq[static_cast<size_t>(cell)] = s;
    if (s >= 0 && s < 3) {
      c.cell_pos[static_cast<size_t>(cell)] = count[s]++;
      if (first[s] < 0) first[s] = static_cast<int32_t>(cell);
      last[s] = static_cast<int32_t>(cell);
    } else {
      c.cell_pos[static_cast<size_t>(cell)] = static_cast<int32_t>(cell % 5);
    }
  }
  if (shuffled) {
    SplitMix64 rng(seed + 3);
    for (int s = 0; s < 3; ++s) {
      std::vector<size_t> cells;
      for (size_t i = 0; i < c.cell_seq.size(); ++i) {
        if (c.cell_seq[i] == s) cells.push_back(i);
      }
      for (size_t i = cells.size(); i > 1; --i) {
        std::swap(c.cell_pos[cells[i - 1]], c.cell_pos[cells[rng.next() % i]]);
      }
    }
  }
  const auto cells = static_cast<int32_t>(n_cells);
  for (int32_t s = 0; s < 3; ++s) {
    c.queries.push_back({s, count[s] - 1, 0, cells});               // everything
    c.queries.push_back({s, count[s] / 2, 0, cells});               // a prefix
    c.queries.push_back({s, count[s] - 1, first[s], last[s] + 1});  // its span
    c.queries.push_back({s, count[s] - 1, cells / 4, cells / 2});   // narrower
    c.queries.push_back({s, 0, 0, cells});                          // one cell
  }
  c.queries.push_back({5, 100, 0, cells});                   // a sequence with no cells: zeros
  c.queries.push_back({1, 1000, 10, 10});                    // an empty window: zeros
  c.queries.push_back({2, count[2] - 1, cells - 1, cells});  // the last cell only
  return c;
}

TEST_F(CudaOpsTest, AttentionGqaHeadSizesAndCacheTypes) {
  uint64_t seed = 131;
  for (const int ratio : {1, 2, 4, 7}) {
    for (const int hd : {8, 32, 64, 128}) {
      for (const KvType kv : kv_types_for(hd)) {
        const bool shuffled = (ratio + hd) % 2 == 0 || kv == KvType::f32;
        check_attention(p(), interleaved_case(kv, 2 * ratio, 2, hd, 257, shuffled, seed += 4));
      }
    }
  }
}

TEST_F(CudaOpsTest, AttentionWithAnExplicitScale) {
  AttentionCase c = interleaved_case(KvType::f16, 8, 2, 64, 100, false, 141);
  c.shape.scale = 0.3f;
  check_attention(p(), c);
}

// Decode: one query over a cache of 1536 cells, 1200 of them its sequence's.
TEST_F(CudaOpsTest, AttentionDecodeOverALongCache) {
  uint64_t seed = 151;
  struct Shape {
    int n_heads, n_kv_heads, head_dim;
  };
  for (const Shape sh : {Shape{32, 8, 128}, Shape{14, 2, 64}, Shape{4, 4, 32}}) {
    for (const KvType kv : kv_types_for(sh.head_dim)) {
      AttentionCase c;
      c.kv = kv;
      c.shape = AttentionShape{sh.n_heads, sh.n_kv_heads, sh.head_dim, 0.0f};
      c.seed = seed += 4;
      c.q_amp = 3.0;
      const int32_t n_cells = 1536, mine = 1200;
      for (int32_t cell = 0; cell < n_cells; ++cell) {
        c.cell_seq.push_back(cell < mine ? 0 : 1);
        c.cell_pos.push_back(cell < mine ? cell : cell - mine);
      }
      c.queries = {{0, mine - 1, 0, mine}};
      check_attention(p(), c);
      c.queries = {{1, n_cells - mine - 1, mine, n_cells}};
      check_attention(p(), c);
      c.queries = {{0, 700, 0, n_cells}};  // a position in the middle: causal cut
      check_attention(p(), c);
    }
  }
}

// Prefill: 150 new tokens of sequence 0 (after 40 cached ones) and 110 of sequence 1 in one
// batch, their cells alternating; each token sees its sequence's cells up to its position.
TEST_F(CudaOpsTest, AttentionPrefillOfTwoSequencesInOneBatch) {
  uint64_t seed = 161;
  struct Shape {
    int n_heads, n_kv_heads, head_dim;
  };
  for (const Shape sh : {Shape{8, 2, 64}, Shape{7, 1, 128}, Shape{4, 2, 32}}) {
    for (const KvType kv : kv_types_for(sh.head_dim)) {
      AttentionCase c;
      c.kv = kv;
      c.shape = AttentionShape{sh.n_heads, sh.n_kv_heads, sh.head_dim, 0.0f};
      c.seed = seed += 4;
      c.q_amp = 3.0;
      for (int32_t i = 0; i < 40; ++i) {
        c.cell_seq.push_back(0);
        c.cell_pos.push_back(i);
      }
      std::vector<AttentionQuery> first, second;
      int32_t p0 = 40, p1 = 0;
      while (p0 < 190 || p1 < 110) {
        if (p0 < 190) {
          c.cell_seq.push_back(0);
          c.cell_pos.push_back(p0);
          first.push_back({0, p0++, 0, 0});
        }
        if (p1 < 110) {
          c.cell_seq.push_back(1);
          c.cell_pos.push_back(p1);
          second.push_back({1, p1++, 0, 0});
        }
      }
      for (int i = 0; i < 20; ++i) {
        c.cell_seq.push_back(-1);
        c.cell_pos.push_back(0);
      }
      c.queries = first;
      c.queries.insert(c.queries.end(), second.begin(), second.end());
      for (auto& q : c.queries) q.cell_end = static_cast<int32_t>(c.n_cells() - 20);
      check_attention(p(), c);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Bad index arrays: the op is reported by synchronize(), and the stream works afterwards.

// Runs get_rows with valid ids on the CUDA stream and checks the rows against the host copy.
void expect_stream_works(Pair& p, const Twin& table, const std::vector<float>& table_values,
                         int64_t cols) {
  const std::vector<int32_t> ids = {2, 0, 1};
  const Twin id = p.upload_i32(1, 3, ids);
  const Twin out = p.output(3, cols);
  p.stream(kGpu).get_rows(table[kGpu], id[kGpu], out[kGpu]);
  const std::vector<float> got = p.read_on(kGpu, out[kGpu]);
  for (size_t i = 0; i < ids.size(); ++i) {
    for (int64_t c = 0; c < cols; ++c) {
      ASSERT_EQ(got[i * static_cast<size_t>(cols) + static_cast<size_t>(c)],
                table_values[static_cast<size_t>(ids[i] * cols + c)])
          << "after an error the stream must work again";
    }
  }
  EXPECT_TRUE(p.stream(kGpu).synchronize().ok()) << "the error was reported once";
}

// synchronize() on the CUDA stream fails, naming `op`.
void expect_error(Pair& p, const std::string& op, const std::string& what) {
  const Status s = p.stream(kGpu).synchronize();
  ASSERT_FALSE(s.ok()) << what << ": synchronize() should report the bad index";
  EXPECT_NE(s.error().message.find(op), std::string::npos)
      << what << ": the message should name " << op << ": " << s.error().message;
}

TEST_F(CudaOpsTest, BadIndicesAreReportedAndTheStreamRecovers) {
  const int64_t rows = 4, cols = 32;
  const std::vector<float> values = random_floats(171, rows * cols);
  const Twin table = p().upload_f32(rows, cols, values);
  const Twin out = p().output(2, cols);

  for (const int32_t bad : {int32_t{4}, int32_t{-1}, int32_t{1 << 30}}) {
    const std::string what = "token id " + std::to_string(bad);
    const Twin ids = p().upload_i32(1, 2, std::vector<int32_t>{1, bad});
    p().stream(kGpu).get_rows(table[kGpu], ids[kGpu], out[kGpu]);
    expect_error(p(), "get_rows", what);
    expect_stream_works(p(), table, values, cols);
  }
  {
    const Twin idx = p().upload_i32(1, 2, std::vector<int32_t>{0, 4});
    p().stream(kGpu).gather_rows(table[kGpu], idx[kGpu], out[kGpu]);
    expect_error(p(), "gather_rows", "row index past the source");
    expect_stream_works(p(), table, values, cols);
  }
  const int64_t n_cells = 8, kvw = 32;
  const Twin k = p().alloc(TensorType::F16, n_cells, kvw);
  const Twin v = p().alloc(TensorType::F16, n_cells, kvw);
  const Twin seq = p().upload_i32(1, n_cells, std::vector<int32_t>(n_cells, 0));
  const Twin pos = p().upload_i32(1, n_cells, std::vector<int32_t>{0, 1, 2, 3, 4, 5, 6, 7});
  for (const int32_t bad : {int32_t{8}, int32_t{-3}}) {
    const Twin cells = p().upload_i32(1, 2, std::vector<int32_t>{0, bad});
    const Twin rows2 = p().upload_f32(2, kvw, random_floats(172, 2 * kvw));
    p().stream(kGpu).kv_store(rows2[kGpu], cells[kGpu], k[kGpu]);
    expect_error(p(), "kv_store", "cell " + std::to_string(bad));
    expect_stream_works(p(), table, values, cols);
  }
  const KvLayer kv{k[kGpu], v[kGpu], seq[kGpu], pos[kGpu]};
  const Twin q = p().upload_f32(2, kvw, random_floats(173, 2 * kvw));
  const Twin att = p().output(2, kvw);
  for (const AttentionQuery bad :
       {AttentionQuery{0, 7, 0, 9}, AttentionQuery{0, 7, -1, 8}, AttentionQuery{0, 7, 9, 12}}) {
    const std::vector<AttentionQuery> qs = {{0, 3, 0, 8}, bad};
    const Twin queries = p().upload(TensorType::I32, 2, 4, qs);
    p().stream(kGpu).attention(q[kGpu], queries[kGpu], kv, AttentionShape{1, 1, kvw, 0.0f},
                               att[kGpu]);
    expect_error(p(), "attention",
                 "window [" + std::to_string(bad.cell_begin) + ", " + std::to_string(bad.cell_end) +
                     ") of a cache of 8 cells");
    expect_stream_works(p(), table, values, cols);
  }
}

// ---------------------------------------------------------------------------------------------
// Memory: the account, its limit, zeroed buffers, imports.

class CudaBackendTest : public ::testing::Test {
 protected:
  void SetUp() override {
    TESSERA_CUDA_BACKEND_OR_SKIP(cuda);
    be_ = cuda;
    auto st = be_->create_stream(StreamOptions{});
    ASSERT_TRUE(st.ok()) << st.error().message;
    st_ = std::move(st).value();
  }
  std::unique_ptr<Buffer> alloc(size_t bytes) {
    auto b = be_->alloc(bytes, "test");
    EXPECT_TRUE(b.ok()) << (b.ok() ? "" : b.error().message);
    return b.ok() ? std::move(b).value() : nullptr;
  }
  std::vector<uint8_t> read(const Buffer& b) {
    std::vector<uint8_t> host(b.size(), 0xee);
    st_->read(b.tensor(TensorType::I8, 0, 1, static_cast<int64_t>(b.size())), host.data());
    const Status s = st_->synchronize();
    EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error().message);
    return host;
  }
  std::shared_ptr<Backend> be_;
  std::unique_ptr<Stream> st_;
};

// The account's counters are unchanged (the peak too, unless `peak_may_rise`: a backend may
// reserve the bytes before asking the device for them).
void expect_same_account(const MemoryStats& a, const MemoryStats& b, const std::string& what,
                         bool peak_may_rise = false) {
  EXPECT_EQ(a.allocated, b.allocated) << what;
  EXPECT_EQ(a.imported, b.imported) << what;
  if (!peak_may_rise) {
    EXPECT_EQ(a.peak, b.peak) << what;
  }
  EXPECT_EQ(a.limit, b.limit) << what;
}

TEST_F(CudaBackendTest, NamesItsDeviceAndReadsTheCommonWeightTypes) {
  EXPECT_EQ(be_->name(), "cuda:0");
  EXPECT_EQ(be_->kind(), DeviceKind::cuda);
  std::string types;
  for (TensorType t : weight_types()) {
    if (be_->supports_weight_type(t)) types.append(" ").append(type_name(t));
  }
  std::printf("[ cuda     ] %s reads weight types:%s\n", std::string(be_->name()).c_str(),
              types.c_str());
  EXPECT_TRUE(be_->supports_weight_type(TensorType::F32));
  EXPECT_TRUE(be_->supports_weight_type(TensorType::F16));
  EXPECT_FALSE(be_->supports_weight_type(TensorType::I32));
}

TEST_F(CudaBackendTest, BuffersStartZeroedEvenWhenMemoryIsReused) {
  const size_t bytes = (4u << 20) + 12;
  const std::vector<uint8_t> pattern(bytes, 0xab);
  for (int round = 0; round < 3; ++round) {
    auto b = alloc(bytes);
    ASSERT_NE(b, nullptr);
    const std::vector<uint8_t> got = read(*b);
    ASSERT_EQ(got, std::vector<uint8_t>(bytes, 0)) << "round " << round << ": not zeroed";
    st_->write(b->tensor(TensorType::I8, 0, 1, static_cast<int64_t>(bytes)), pattern.data());
    ASSERT_EQ(read(*b), pattern);
  }  // freed dirty: the next round may get the same memory back
}

TEST_F(CudaBackendTest, WritesAndReadsRoundTripAtAnyOffset) {
  auto b = alloc(1 << 16);
  ASSERT_NE(b, nullptr);
  for (const size_t offset : {size_t{0}, size_t{4}, size_t{260}, size_t{4096}}) {
    for (const int64_t n : {int64_t{1}, int64_t{3}, int64_t{1001}}) {
      const std::vector<float> in = random_floats(offset + n, static_cast<size_t>(n));
      std::vector<float> out(in.size());
      const Tensor t = b->tensor(TensorType::F32, offset, 1, n);
      st_->write(t, in.data());
      st_->read(t, out.data());
      ASSERT_TRUE(st_->synchronize().ok());
      ASSERT_EQ(in, out) << "offset " << offset << " n " << n;
    }
  }
}

TEST_F(CudaBackendTest, AnAllocationOverTheLimitFailsAndLeavesTheAccountAlone) {
  const uint64_t base = be_->memory().in_use();
  be_->set_memory_limit(base + (1u << 20));  // 1 MiB more than in use
  auto held = alloc(600 << 10);
  ASSERT_NE(held, nullptr);
  const MemoryStats before = be_->memory();
  auto refused = be_->alloc(600 << 10, "KV cache");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::out_of_range);
  EXPECT_NE(refused.error().message.find("KV cache"), std::string::npos) << refused.error().message;
  EXPECT_NE(refused.error().message.find("does not fit"), std::string::npos)
      << refused.error().message;
  expect_same_account(before, be_->memory(), "after a refused alloc");
  const std::vector<uint8_t> host(600 << 10, 1);
  auto imported = be_->import_host(host.data(), host.size(), "weights");
  ASSERT_FALSE(imported.ok());
  EXPECT_EQ(imported.error().code, ErrorCode::out_of_range);
  expect_same_account(before, be_->memory(), "after a refused import");
  held.reset();
  EXPECT_EQ(be_->memory().in_use(), base);
  EXPECT_TRUE(be_->alloc(600 << 10, "KV cache").ok()) << "fits once the first is freed";
  EXPECT_EQ(be_->memory().in_use(), base);
}

TEST_F(CudaBackendTest, AnAllocationLargerThanTheDeviceFails) {
  const MemoryStats before = be_->memory();
  auto huge = be_->alloc(uint64_t{1} << 50, "KV cache");  // 1 PiB
  ASSERT_FALSE(huge.ok());
  EXPECT_EQ(huge.error().code, ErrorCode::out_of_range);
  EXPECT_NE(huge.error().message.find("KV cache"), std::string::npos) << huge.error().message;
  expect_same_account(before, be_->memory(), "after a refused alloc", true);
  auto ok = alloc(1 << 20);  // the device is fine afterwards
  ASSERT_NE(ok, nullptr);
  EXPECT_EQ(read(*ok), std::vector<uint8_t>(1 << 20, 0));
}

TEST_F(CudaBackendTest, AllocFreeCyclesReturnTheAccountToItsStart) {
  const MemoryStats start = be_->memory();
  const size_t sizes[] = {1, 100, 4096, 4097, 1 << 20, (3 << 20) + 7, 64 << 20};
  const std::vector<uint8_t> host(1 << 20, 5);
  std::vector<std::unique_ptr<Buffer>> held;
  SplitMix64 rng(181);
  for (int i = 0; i < 300; ++i) {
    const size_t bytes = i == 1 ? sizes[6] : sizes[rng.next() % std::size(sizes)];
    if (i % 7 == 3) {
      auto b = be_->import_host(host.data(), 1 + rng.next() % host.size(), "weights");
      ASSERT_TRUE(b.ok()) << b.error().message;
      held.push_back(std::move(b).value());
    } else {
      held.push_back(alloc(bytes));
      ASSERT_NE(held.back(), nullptr);
    }
    EXPECT_GE(be_->memory().in_use(), start.in_use() + held.back()->size());
    if (held.size() > 5) {  // free one from the middle
      held.erase(held.begin() + static_cast<std::ptrdiff_t>(rng.next() % held.size()));
    }
  }
  held.clear();
  EXPECT_EQ(be_->memory().allocated, start.allocated);
  EXPECT_EQ(be_->memory().in_use(), start.in_use());
  EXPECT_GE(be_->memory().peak, start.in_use() + (64u << 20));
}

TEST_F(CudaBackendTest, ImportHostCopiesTheBytes) {
  std::vector<uint8_t> host(10000);
  for (size_t i = 0; i < host.size(); ++i) host[i] = static_cast<uint8_t>(i * 7);
  const std::vector<uint8_t> original = host;
  const uint64_t before = be_->memory().in_use();
  {
    auto b = be_->import_host(host.data(), host.size(), "weights");
    ASSERT_TRUE(b.ok()) << b.error().message;
    EXPECT_GE(be_->memory().in_use(), before + host.size());
    std::fill(host.begin(), host.end(), 0);  // the device has its own copy
    EXPECT_EQ(read(**b), original);
  }
  EXPECT_EQ(be_->memory().in_use(), before);
}

TEST_F(CudaBackendTest, BuffersMayOutliveTheirBackendObject) {
  auto b = alloc(1 << 20);
  ASSERT_NE(b, nullptr);
  const uint64_t before = be_->memory().allocated;
  EXPECT_GE(before, uint64_t{1} << 20);
  st_.reset();
  be_.reset();
  b.reset();  // releases into the shared account; the device memory is freed
}

// ---------------------------------------------------------------------------------------------
// Steps recorded with begin_graph() / end_graph()

// A decode-like step's tensors on one backend: token ids, embedding lookup, rms_norm, the Q, K
// and V projections, rope, the K/V store and attention over a cache shared by sequences.
struct DecodeRig {
  static constexpr int64_t kVocab = 500, kEmbd = 256, kCells = 256, kMaxTokens = 4;
  static constexpr int kHeads = 4, kKvHeads = 2, kHeadDim = 64;
  static constexpr int64_t kWidth = int64_t{kHeads} * kHeadDim;
  static constexpr int64_t kKvWidth = int64_t{kKvHeads} * kHeadDim;

  Tensor table, norm, wq, wk, wv;
  Tensor ids, pos, cells, queries, x, xn, q, k, v, out;
  KvLayer kv;
  std::vector<std::unique_ptr<Buffer>> bufs;
};

// The host side of the rig: weights, the first cache contents, the cell table.
struct DecodeHost {
  TensorType type;
  std::vector<uint8_t> table, wq, wk, wv;
  std::vector<float> norm;
  std::vector<uint8_t> k_cache, v_cache;
};

DecodeHost make_decode_host(TensorType type) {
  using R = DecodeRig;
  DecodeHost h;
  h.type = type;
  h.table = random_weight(type, R::kVocab, R::kEmbd, 191);
  h.wq = random_weight(type, R::kWidth, R::kEmbd, 192);
  h.wk = random_weight(type, R::kKvWidth, R::kEmbd, 193);
  h.wv = random_weight(type, R::kKvWidth, R::kEmbd, 194);
  h.norm = std::vector<float>(R::kEmbd, 0.1f);  // keeps q and k near 1
  h.k_cache =
      cache_bytes(KvType::f16, random_floats(195, R::kCells * R::kKvWidth), R::kCells, R::kKvWidth);
  h.v_cache =
      cache_bytes(KvType::f16, random_floats(196, R::kCells * R::kKvWidth), R::kCells, R::kKvWidth);
  return h;
}

// Allocates the rig on `be`, importing and preparing the weights and writing the first cache.
bool make_decode_rig(Backend& be, Stream& st, const DecodeHost& h, DecodeRig& r) {
  using R = DecodeRig;
  auto buffer = [&](size_t bytes) -> void* {
    auto b = be.alloc(bytes, "rig");
    if (!b.ok()) {
      ADD_FAILURE() << b.error().message;
      return nullptr;
    }
    void* p = (*b)->data();
    r.bufs.push_back(std::move(b).value());
    return p;
  };
  auto tensor = [&](TensorType type, int64_t rows, int64_t cols) {
    Tensor t{type, nullptr, rows, cols};
    t.data = buffer(t.bytes());
    return t;
  };
  auto weight = [&](const std::vector<uint8_t>& bytes, int64_t rows, int64_t cols, bool prepare) {
    auto b = be.import_host(bytes.data(), bytes.size(), "rig weights");
    if (!b.ok()) {
      ADD_FAILURE() << b.error().message;
      return Tensor{};
    }
    Tensor t = (*b)->tensor(h.type, 0, rows, cols);
    r.bufs.push_back(std::move(b).value());
    if (!prepare) return t;
    auto p = be.prepare_weight(t, "rig weights");
    if (!p.ok()) {
      ADD_FAILURE() << p.error().message;
      return t;
    }
    if (p->buffer != nullptr) r.bufs.push_back(std::move(p->buffer));
    return p->tensor;
  };
  r.table = weight(h.table, R::kVocab, R::kEmbd, false);
  r.wq = weight(h.wq, R::kWidth, R::kEmbd, true);
  r.wk = weight(h.wk, R::kKvWidth, R::kEmbd, true);
  r.wv = weight(h.wv, R::kKvWidth, R::kEmbd, true);
  r.norm = tensor(TensorType::F32, 1, R::kEmbd);
  r.ids = tensor(TensorType::I32, 1, R::kMaxTokens);
  r.pos = tensor(TensorType::I32, 1, R::kMaxTokens);
  r.cells = tensor(TensorType::I32, 1, R::kMaxTokens);
  r.queries = tensor(TensorType::I32, R::kMaxTokens, 4);
  r.x = tensor(TensorType::F32, R::kMaxTokens, R::kEmbd);
  r.xn = tensor(TensorType::F32, R::kMaxTokens, R::kEmbd);
  r.q = tensor(TensorType::F32, R::kMaxTokens, R::kWidth);
  r.k = tensor(TensorType::F32, R::kMaxTokens, R::kKvWidth);
  r.v = tensor(TensorType::F32, R::kMaxTokens, R::kKvWidth);
  r.out = tensor(TensorType::F32, R::kMaxTokens, R::kWidth);
  r.kv = KvLayer{tensor(TensorType::F16, R::kCells, R::kKvWidth),
                 tensor(TensorType::F16, R::kCells, R::kKvWidth),
                 tensor(TensorType::I32, 1, R::kCells), tensor(TensorType::I32, 1, R::kCells)};
  for (const Tensor* t :
       {&r.table, &r.wq, &r.wk, &r.wv, &r.norm, &r.out, &r.kv.k, &r.kv.cell_pos}) {
    if (t->data == nullptr) return false;
  }
  st.write(r.norm, h.norm.data());
  st.write(r.kv.k, h.k_cache.data());
  st.write(r.kv.v, h.v_cache.data());
  return st.synchronize().ok();
}

// One step's inputs: tokens, their positions, cells and queries, and the whole cell table.
struct StepInput {
  std::vector<int32_t> ids, pos, cells;
  std::vector<AttentionQuery> queries;
  std::vector<int32_t> cell_seq, cell_pos;
};

// Issues one step on `st` (between begin_graph() and end_graph() when `graph`), reads the
// attention output. Every host array is overwritten right after its write(), which the
// interface allows.
std::vector<float> decode_step(Stream& st, DecodeRig& r, const StepInput& in, bool graph) {
  const auto n = static_cast<int64_t>(in.ids.size());
  auto row = [](const Tensor& t, int64_t n_cols) {
    Tensor s = t;
    s.cols = n_cols;
    return s;
  };
  const Tensor ids = row(r.ids, n), pos = row(r.pos, n), cells = row(r.cells, n);
  const Tensor queries = r.queries.slice_rows(0, n), x = r.x.slice_rows(0, n),
               xn = r.xn.slice_rows(0, n), q = r.q.slice_rows(0, n), k = r.k.slice_rows(0, n),
               v = r.v.slice_rows(0, n), out = r.out.slice_rows(0, n);
  auto write = [&](const Tensor& t, auto host) {  // a copy, scribbled over once written
    st.write(t, host.data());
    std::fill(host.begin(), host.end(), typename decltype(host)::value_type{});
  };
  if (graph) st.begin_graph();
  write(ids, in.ids);
  write(pos, in.pos);
  write(cells, in.cells);
  write(queries, in.queries);
  write(r.kv.cell_seq, in.cell_seq);
  write(r.kv.cell_pos, in.cell_pos);
  st.get_rows(r.table, ids, x);
  st.rms_norm(x, r.norm, 1e-5f, xn);
  st.matmul(r.wq, xn, q, Tensor{});
  st.matmul(r.wk, xn, k, Tensor{});
  st.matmul(r.wv, xn, v, Tensor{});
  const RopeOp rope{RopeStyle::normal, DecodeRig::kHeadDim, 10000.0f, 1.0f, Tensor{}};
  st.rope(q, DecodeRig::kHeads, pos, rope);
  st.rope(k, DecodeRig::kKvHeads, pos, rope);
  st.kv_store(k, cells, r.kv.k);
  st.kv_store(v, cells, r.kv.v);
  st.attention(q, queries, r.kv,
               AttentionShape{DecodeRig::kHeads, DecodeRig::kKvHeads, DecodeRig::kHeadDim, 0.0f},
               out);
  if (graph) st.end_graph();
  std::vector<float> host(static_cast<size_t>(n * DecodeRig::kWidth), kNaN);
  st.read(out, host.data());
  const Status s = st.synchronize();
  EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error().message);
  return host;
}

// The steps: sequences 0 and 1 decoding one token each (their windows and positions moving,
// new cells each step), then a third sequence joins (other shapes), the order flips, one alone.
std::vector<StepInput> decode_steps() {
  using R = DecodeRig;
  std::vector<int32_t> cell_seq(R::kCells, -1), cell_pos(R::kCells, 0);
  for (int32_t c = 0; c < 100; ++c) {
    cell_seq[c] = 0;
    cell_pos[c] = c;
  }
  for (int32_t c = 100; c < 140; ++c) {
    cell_seq[c] = 1;
    cell_pos[c] = c - 100;
  }
  std::array<int32_t, 3> next_pos = {100, 40, 0};
  std::array<int32_t, 3> window_begin = {0, 100, -1};  // sequence 2: from its first cell
  int32_t next_cell = 140;
  SplitMix64 rng(197);
  const std::vector<std::vector<int32_t>> batches = {{0, 1}, {0, 1},    {0, 1}, {0, 1}, {0, 1},
                                                     {0, 1}, {0, 1, 2}, {1, 0}, {2},    {0, 1}};
  std::vector<StepInput> steps;
  for (const auto& seqs : batches) {
    StepInput in;
    for (const int32_t s : seqs) {
      const int32_t cell = next_cell++;
      const int32_t p = next_pos[s]++;
      cell_seq[cell] = s;
      cell_pos[cell] = p;
      if (window_begin[s] < 0) window_begin[s] = cell;
      in.ids.push_back(static_cast<int32_t>(rng.next() % R::kVocab));
      in.pos.push_back(p);
      in.cells.push_back(cell);
    }
    for (size_t i = 0; i < seqs.size(); ++i) {
      const int32_t s = seqs[i];
      in.queries.push_back({s, in.pos[i], window_begin[s], next_cell});
    }
    in.cell_seq = cell_seq;
    in.cell_pos = cell_pos;
    steps.push_back(in);
  }
  return steps;
}

TEST_F(CudaOpsTest, DecodeStepsReplayedAsAGraphMatchTheOpsRunOneByOne) {
  TensorType type = TensorType::F32;
  for (TensorType t : {TensorType::Q8_0, TensorType::F16}) {
    if (cuda_->supports_weight_type(t)) {
      type = t;
      break;
    }
  }
  const DecodeHost host = make_decode_host(type);
  // Three rigs with their own caches: CUDA with graph marks, CUDA without, the CPU.
  std::unique_ptr<Stream> plain_stream = p().new_stream(kGpu);
  ASSERT_NE(plain_stream, nullptr);
  DecodeRig graph, plain, reference;
  ASSERT_TRUE(make_decode_rig(p().backend(kGpu), p().stream(kGpu), host, graph));
  ASSERT_TRUE(make_decode_rig(p().backend(kGpu), *plain_stream, host, plain));
  ASSERT_TRUE(make_decode_rig(p().backend(kCpu), p().stream(kCpu), host, reference));
  const std::vector<StepInput> steps = decode_steps();
  for (size_t i = 0; i < steps.size(); ++i) {
    const std::string what =
        "step " + std::to_string(i) + " (" + std::to_string(steps[i].ids.size()) + " tokens)";
    const std::vector<float> got = decode_step(p().stream(kGpu), graph, steps[i], true);
    const std::vector<float> want = decode_step(*plain_stream, plain, steps[i], false);
    const std::vector<float> cpu = decode_step(p().stream(kCpu), reference, steps[i], false);
    expect_same_bits(want, got, "graph against no graph, " + what);
    expect_close(cpu, want, DecodeRig::kHeadDim, 0.0, 5e-2, "cuda against cpu, " + what);
  }
  // The caches the steps stored into are the same too.
  std::vector<uint8_t> a(graph.kv.k.bytes()), b(plain.kv.k.bytes());
  p().stream(kGpu).read(graph.kv.k, a.data());
  plain_stream->read(plain.kv.k, b.data());
  ASSERT_TRUE(p().stream(kGpu).synchronize().ok());
  ASSERT_TRUE(plain_stream->synchronize().ok());
  EXPECT_EQ(a, b) << "the K cache after the steps";
}

// ---------------------------------------------------------------------------------------------
// Batch independence: a row (query) computed alone is the same bits inside a batch of 2 to 8.

TEST_F(CudaOpsTest, MatmulRowsDoNotDependOnTheBatchUpToEight) {
  for (TensorType type : shared_weight_types()) {
    const TestWeight w = make_weight(p(), type, 200, 512, 201);
    const Twin x = p().upload_f32(8, 512, random_floats(202, 8 * 512));
    const Twin bias = p().upload_f32(1, 200, random_floats(203, 200));
    for (const Tensor& wt : {w.natural[kGpu], w.cuda_prepared}) {
      const std::string what =
          type_name(type) + (wt.data == w.natural[kGpu].data ? "" : " (prepared)");
      std::vector<std::vector<float>> alone;
      for (int64_t i = 0; i < 8; ++i) {
        const Tensor y = p().alloc_on(kGpu, TensorType::F32, 1, 200);
        p().stream(kGpu).matmul(wt, x[kGpu].slice_rows(i, 1), y, bias[kGpu]);
        alone.push_back(p().read_on(kGpu, y));
      }
      for (int64_t n = 2; n <= 8; ++n) {
        const Tensor y = p().alloc_on(kGpu, TensorType::F32, n, 200);
        p().stream(kGpu).matmul(wt, x[kGpu].slice_rows(0, n), y, bias[kGpu]);
        const std::vector<float> batch = p().read_on(kGpu, y);
        for (int64_t i = 0; i < n; ++i) {
          const std::vector<float> row(batch.begin() + i * 200, batch.begin() + (i + 1) * 200);
          expect_same_bits(
              alone[static_cast<size_t>(i)], row,
              what + ": row " + std::to_string(i) + " in a batch of " + std::to_string(n));
        }
      }
    }
  }
}

TEST_F(CudaOpsTest, AttentionQueriesDoNotDependOnTheBatch) {
  for (const KvType kv : {KvType::f16, KvType::f32, KvType::q8_0}) {
    AttentionCase c = interleaved_case(kv, 8, 2, 64, 300, false, 211);
    c.queries.resize(8);  // sequences 0 and 1, several windows
    const AttentionInputs in = upload_attention(p(), c);
    const KvLayer& layer = in.kv[kGpu];
    auto run = [&](int64_t first, int64_t n) {
      const Tensor out = p().alloc_on(kGpu, TensorType::F32, n, c.width());
      p().stream(kGpu).attention(in.q[kGpu].slice_rows(first, n),
                                 in.queries[kGpu].slice_rows(first, n), layer, c.shape, out);
      return p().read_on(kGpu, out);
    };
    const std::vector<float> eight = run(0, 8), three = run(0, 3);
    for (int64_t i = 0; i < 8; ++i) {
      const std::vector<float> alone = run(i, 1);
      const auto w = static_cast<size_t>(c.width());
      const std::string what = std::string(kv_type_name(kv)) + " query " + std::to_string(i);
      expect_same_bits(alone,
                       std::vector<float>(eight.begin() + i * w, eight.begin() + (i + 1) * w),
                       what + " in a batch of 8");
      if (i < 3) {
        expect_same_bits(alone,
                         std::vector<float>(three.begin() + i * w, three.begin() + (i + 1) * w),
                         what + " in a batch of 3");
      }
    }
  }
}

}  // namespace
}  // namespace tessera::backend
