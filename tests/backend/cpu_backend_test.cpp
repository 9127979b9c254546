// The compute-backend interface on the CPU: memory accounting and limits, buffers, transfers,
// error reporting through synchronize(), and ops that give the kernels' results.
#include "backend/cpu/cpu_backend.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "backend/cpu/attention.h"
#include "backend/cpu/matmul.h"
#include "backend/cpu/packed_gemm.h"
#include "backend/cpu/rows32_gemm.h"
#include "backend/cpu/weight_repack.h"
#include "backend_test_util.h"

namespace tessera::backend {
namespace {

using cpu::test::random_floats;
using cpu::test::random_weight;
using gguf::TensorType;

std::unique_ptr<Stream> stream(Backend& be, int threads = 2) {
  auto s = be.create_stream({threads});
  EXPECT_TRUE(s.ok());
  return std::move(s).value();
}

std::unique_ptr<Buffer> alloc(Backend& be, size_t bytes) {
  auto b = be.alloc(bytes, "test");
  EXPECT_TRUE(b.ok()) << (b.ok() ? "" : b.error().message);
  return std::move(b).value();
}

TEST(CpuBackendTest, AccountsForEveryBufferAndItsRelease) {
  auto be = make_cpu_backend();
  EXPECT_EQ(be->name(), "cpu");
  EXPECT_EQ(be->kind(), DeviceKind::cpu);
  std::vector<uint8_t> host(1000, 7);
  {
    auto a = alloc(*be, 4096);
    auto imported = be->import_host(host.data(), host.size(), "weights");
    ASSERT_TRUE(imported.ok());
    EXPECT_EQ((*imported)->data(), host.data());  // in place, no copy
    EXPECT_EQ((*imported)->host_data(), host.data());
    const MemoryStats m = be->memory();
    EXPECT_EQ(m.allocated, 4096u);
    EXPECT_EQ(m.imported, 1000u);
    EXPECT_EQ(m.peak, 5096u);
    // Zero-initialized and 64-byte aligned.
    const auto* p = static_cast<const uint8_t*>(a->host_data());
    EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % 64, 0u);
    for (size_t i = 0; i < 4096; ++i) ASSERT_EQ(p[i], 0);
  }
  EXPECT_EQ(be->memory().in_use(), 0u);
  EXPECT_EQ(be->memory().peak, 5096u);
}

TEST(CpuBackendTest, ALimitTurnsAnAllocationThatDoesNotFitIntoAnError) {
  auto be = make_cpu_backend();
  be->set_memory_limit(10000);
  auto a = alloc(*be, 6000);
  auto b = be->alloc(6000, "KV cache");
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.error().code, ErrorCode::out_of_range);
  EXPECT_NE(b.error().message.find("KV cache"), std::string::npos) << b.error().message;
  EXPECT_NE(b.error().message.find("does not fit"), std::string::npos) << b.error().message;
  EXPECT_EQ(be->memory().allocated, 6000u);  // the failed one took nothing
  a.reset();
  EXPECT_TRUE(be->alloc(6000, "KV cache").ok());
}

TEST(CpuBackendTest, BuffersMayOutliveTheirBackendObject) {
  auto be = make_cpu_backend();
  auto buf = alloc(*be, 128);
  be.reset();
  static_cast<uint8_t*>(buf->host_data())[127] = 1;
  buf.reset();  // releases into the shared account without touching the backend
}

TEST(CpuBackendTest, WriteAndReadRoundTrip) {
  auto be = make_cpu_backend();
  auto st = stream(*be);
  auto buf = alloc(*be, 1024);
  const Tensor t = buf->tensor(TensorType::F32, 64, 3, 5);
  const std::vector<float> in = random_floats(1, 15);
  std::vector<float> out(15);
  st->write(t, in.data());
  st->read(t, out.data());
  ASSERT_TRUE(st->synchronize().ok());
  EXPECT_EQ(in, out);
  EXPECT_EQ(t.slice_rows(1, 2).data, static_cast<uint8_t*>(t.data) + 5 * sizeof(float));
}

TEST(CpuBackendTest, ABadShapeIsReportedBySynchronizeAndLaterOpsAreSkipped) {
  auto be = make_cpu_backend();
  auto st = stream(*be);
  auto buf = alloc(*be, 4096);
  const Tensor a = buf->tensor(TensorType::F32, 0, 2, 4);
  const Tensor b = buf->tensor(TensorType::F32, 64, 2, 3);  // a different width
  const Tensor c = buf->tensor(TensorType::F32, 128, 2, 4);
  const std::vector<float> ones(8, 1.0f);
  st->write(a, ones.data());
  st->add(a, b, c);
  st->add(a, a, a);  // skipped: an error is pending
  Status s = st->synchronize();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::invalid_argument);
  EXPECT_NE(s.error().message.find("add"), std::string::npos) << s.error().message;
  std::vector<float> back(8);
  st->read(a, back.data());
  ASSERT_TRUE(st->synchronize().ok());  // the stream is usable again
  EXPECT_EQ(back, ones);
}

TEST(CpuBackendTest, AnEmbeddingIdOutsideTheTableIsAnError) {
  auto be = make_cpu_backend();
  auto st = stream(*be);
  auto buf = alloc(*be, 4096);
  const Tensor table = buf->tensor(TensorType::F32, 0, 4, 8);
  const Tensor ids = buf->tensor(TensorType::I32, 256, 1, 2);
  const Tensor out = buf->tensor(TensorType::F32, 512, 2, 8);
  const int32_t bad[2] = {1, 4};
  st->write(ids, bad);
  st->get_rows(table, ids, out);
  Status s = st->synchronize();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::out_of_range);
}

TEST(CpuBackendTest, MatmulThroughTheStreamEqualsTheKernel) {
  auto be = make_cpu_backend();
  auto st = stream(*be, 3);
  const int64_t rows = 37, cols = 256, n = 5;
  for (TensorType type : {TensorType::F16, TensorType::Q4_K, TensorType::Q8_0}) {
    const std::vector<uint8_t> w = random_weight(type, rows, cols, 3);
    auto weights = be->import_host(w.data(), w.size(), "w");
    ASSERT_TRUE(weights.ok());
    auto buf = alloc(*be, 16384);
    const Tensor W = (*weights)->tensor(type, 0, rows, cols);
    const Tensor x = buf->tensor(TensorType::F32, 0, n, cols);
    const Tensor y = buf->tensor(TensorType::F32, 8192, n, rows);
    const Tensor bias = buf->tensor(TensorType::F32, 12288, 1, rows);
    const std::vector<float> xs = random_floats(4, n * cols), bs = random_floats(5, rows);
    st->write(x, xs.data());
    st->write(bias, bs.data());
    st->matmul(W, x, y, bias);
    std::vector<float> got(static_cast<size_t>(n * rows)), want(got.size());
    st->read(y, got.data());
    ASSERT_TRUE(st->synchronize().ok());
    cpu::matmul({type, w.data(), rows, cols}, xs.data(), n, want.data(), bs.data(), nullptr);
    EXPECT_EQ(got, want) << gguf::tensor_type_name(type);
  }
}

// prepare_weight: Q8_0 / Q4_0 / Q5_0 become rows8 copies where the CPU has the integer kernels,
// F16 / BF16 rows32 copies where it has AVX2 (counted in the account, released with the
// buffer); matmul on them is close to the natural tensor's, get_rows refuses them; other types
// come back unchanged.
TEST(CpuBackendTest, PreparedWeightsMultiplyLikeTheOriginals) {
  auto be = make_cpu_backend();
  auto st = stream(*be, 2);
  const int64_t rows = 21, cols = 256, n = 9;
  for (TensorType type : {TensorType::Q8_0, TensorType::Q4_0, TensorType::Q5_0, TensorType::F16,
                          TensorType::BF16, TensorType::Q4_K}) {
    const std::vector<uint8_t> w = random_weight(type, rows, cols, 7);
    auto weights = be->import_host(w.data(), w.size(), "w");
    ASSERT_TRUE(weights.ok());
    const Tensor W = (*weights)->tensor(type, 0, rows, cols);
    const uint64_t before = be->memory().allocated;
    auto prepared = be->prepare_weight(W, "w");
    ASSERT_TRUE(prepared.ok()) << prepared.error().message;
    const bool rows8 = cpu::rows8_supported(type) && cpu::find_packed_gemm(type) != nullptr;
    const bool rows32 = cpu::rows32_supported(type) && cpu::find_rows32_gemm() != nullptr;
    const bool arranged = rows8 || rows32;
    ASSERT_EQ(prepared->buffer != nullptr, arranged) << gguf::tensor_type_name(type);
    ASSERT_EQ(prepared->tensor.layout, rows8    ? Layout::rows8
                                       : rows32 ? Layout::rows32
                                                : Layout::natural);
    if (arranged) {
      EXPECT_EQ(be->memory().allocated - before,
                rows8 ? cpu::rows8_bytes(type, rows, cols) : cpu::rows32_bytes(rows, cols));
    }
    auto buf = alloc(*be, 65536);
    const Tensor x = buf->tensor(TensorType::F32, 0, n, cols);
    const Tensor y = buf->tensor(TensorType::F32, 12288, n, rows);
    const Tensor y2 = buf->tensor(TensorType::F32, 16384, n, rows);
    const std::vector<float> xs = random_floats(8, n * cols);
    st->write(x, xs.data());
    st->matmul(W, x, y, Tensor{});
    st->matmul(prepared->tensor, x, y2, Tensor{});
    std::vector<float> natural(static_cast<size_t>(n * rows)), fast(natural.size());
    st->read(y, natural.data());
    st->read(y2, fast.data());
    ASSERT_TRUE(st->synchronize().ok());
    // Both paths round activations to 8 bits for the integer types: about 0.3% of each
    // product's scale, adding up as the square root of the row length.
    const double tolerance = 0.005 * std::sqrt(static_cast<double>(cols));
    for (size_t k = 0; k < natural.size(); ++k) {
      EXPECT_NEAR(fast[k], natural[k], tolerance * (1.0 + std::fabs(natural[k])))
          << gguf::tensor_type_name(type) << " " << k;
    }
    if (arranged) {
      const Tensor ids = buf->tensor(TensorType::I32, 32768, 1, 1);
      const int32_t id = 0;
      st->write(ids, &id);
      st->get_rows(prepared->tensor, ids, buf->tensor(TensorType::F32, 40960, 1, cols));
      EXPECT_FALSE(st->synchronize().ok()) << "get_rows must refuse an arranged table";
      prepared->buffer.reset();
      EXPECT_EQ(be->memory().allocated, before + 65536);
    }
  }
}

TEST(CpuBackendTest, AttentionThroughTheStreamEqualsTheKernel) {
  auto be = make_cpu_backend();
  auto st = stream(*be);
  const int n_heads = 4, n_kv = 2, hd = 8, n_cells = 6, n = 3;
  const AttentionShape shape{n_heads, n_kv, hd, 0.0f};
  auto buf = alloc(*be, 16384);
  const Tensor rows = buf->tensor(TensorType::F32, 0, n_cells, n_kv * hd);
  const Tensor cells = buf->tensor(TensorType::I32, 1024, 1, n_cells);
  KvLayer kv{buf->tensor(TensorType::F16, 2048, n_cells, n_kv * hd),
             buf->tensor(TensorType::F16, 4096, n_cells, n_kv * hd),
             buf->tensor(TensorType::I32, 6144, 1, n_cells),
             buf->tensor(TensorType::I32, 6400, 1, n_cells)};
  const Tensor q = buf->tensor(TensorType::F32, 7168, n, n_heads * hd);
  const Tensor queries = buf->tensor(TensorType::I32, 8192, n, 4);
  const Tensor out = buf->tensor(TensorType::F32, 9216, n, n_heads * hd);
  const std::vector<int32_t> cell_ids = {0, 1, 2, 3, 4, 5};
  const std::vector<int32_t> seq = {0, 0, 1, 0, 1, -1}, pos = {0, 1, 0, 2, 1, 0};
  const std::vector<AttentionQuery> qs = {{0, 2, 0, 6}, {1, 1, 0, 6}, {0, 0, 0, 6}};
  const std::vector<float> kd = random_floats(6, n_cells * n_kv * hd);
  const std::vector<float> vd = random_floats(7, n_cells * n_kv * hd);
  const std::vector<float> qd = random_floats(8, n * n_heads * hd);
  st->write(cells, cell_ids.data());
  st->write(kv.cell_seq, seq.data());
  st->write(kv.cell_pos, pos.data());
  st->write(rows, kd.data());
  st->kv_store(rows, cells, kv.k);
  st->write(rows, vd.data());
  st->kv_store(rows, cells, kv.v);
  st->write(q, qd.data());
  st->write(queries, qs.data());
  st->attention(q, queries, kv, shape, out);
  std::vector<float> got(static_cast<size_t>(n * n_heads * hd));
  st->read(out, got.data());
  ASSERT_TRUE(st->synchronize().ok());

  std::vector<uint8_t> kc(kv.k.bytes()), vc(kv.v.bytes());
  cpu::kv_store(KvType::f16, kd.data(), n_cells, n_kv * hd, cell_ids.data(), kc.data(), nullptr);
  cpu::kv_store(KvType::f16, vd.data(), n_cells, n_kv * hd, cell_ids.data(), vc.data(), nullptr);
  std::vector<float> want(got.size());
  const cpu::KvCacheView view{KvType::f16, kc.data(), vc.data(), n_cells, seq.data(), pos.data()};
  cpu::attention(qd.data(), n, qs.data(), view, shape, want.data(), nullptr);
  EXPECT_EQ(got, want);
}

TEST(CpuBackendTest, AQueryWindowOutsideTheCacheIsAnError) {
  auto be = make_cpu_backend();
  auto st = stream(*be);
  auto buf = alloc(*be, 4096);
  KvLayer kv{buf->tensor(TensorType::F32, 0, 2, 8), buf->tensor(TensorType::F32, 128, 2, 8),
             buf->tensor(TensorType::I32, 256, 1, 2), buf->tensor(TensorType::I32, 320, 1, 2)};
  const Tensor q = buf->tensor(TensorType::F32, 512, 1, 8);
  const Tensor queries = buf->tensor(TensorType::I32, 1024, 1, 4);
  const AttentionQuery bad{0, 0, 0, 3};
  st->write(queries, &bad);
  st->attention(q, queries, kv, {1, 1, 8, 0.0f}, buf->tensor(TensorType::F32, 2048, 1, 8));
  EXPECT_FALSE(st->synchronize().ok());
}

}  // namespace
}  // namespace tessera::backend
