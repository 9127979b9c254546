#include "engine/model_synth.h"

#include <cstring>
#include <map>
#include <vector>

#include "gguf/reader.h"
#include "gguf/writer.h"
#include "util/parallel.h"
#include "util/random.h"

namespace tessera::engine {
namespace {

using gguf::TensorType;

Error bad(const std::string& what) {
  return make_error(ErrorCode::invalid_argument, what);
}

// general.file_type for a model whose matrices are mostly `t` (llama.cpp's llama_ftype).
uint32_t file_type_of(TensorType t) {
  switch (t) {
    case TensorType::F32:
      return 0;
    case TensorType::F16:
      return 1;
    case TensorType::Q4_0:
      return 2;
    case TensorType::Q4_1:
      return 3;
    case TensorType::Q8_0:
      return 7;
    case TensorType::Q5_0:
      return 8;
    case TensorType::Q5_1:
      return 9;
    case TensorType::Q4_K:
      return 14;  // Q4_K_S: all matrices Q4_K
    case TensorType::Q5_K:
      return 16;  // Q5_K_S
    case TensorType::Q6_K:
      return 18;
    case TensorType::BF16:
      return 32;
    default:
      return 0;
  }
}

Result<ModelShape> resolve_shape(const SynthOptions& o, const ArchSpec** spec_out) {
  const ShapePreset* preset = find_shape(o.shape);
  if (preset == nullptr) {
    std::string names;
    for (const auto& s : shape_presets())
      names += (names.empty() ? "" : ", ") + std::string(s.name);
    return bad("unknown shape '" + o.shape + "'; known shapes: " + names);
  }
  std::string arch = o.arch.empty() ? std::string(preset->arch) : o.arch;
  if (arch.empty()) {
    return bad("shape '" + o.shape +
               "' is a generic test shape: name the architecture with "
               "--arch (llama, qwen2 or bert)");
  }
  if (!preset->arch.empty() && arch != preset->arch) {
    return bad("shape '" + o.shape + "' is a " + std::string(preset->arch) + " model; --arch " +
               arch + " does not match (omit --arch)");
  }
  const ArchSpec* spec = find_architecture(arch);
  if (spec == nullptr) return bad("unknown architecture '" + arch + "'; known: llama, qwen2, bert");
  ModelShape s = preset->shape;
  s.arch = arch;
  if (spec->kind == ModelKind::encoder) s.n_head_kv = s.n_head;
  *spec_out = spec;
  return s;
}

// Deterministic weights: row r of tensor `name` is drawn from a stream seeded by
// (seed, name, r), so the bytes do not depend on the number of threads.
class WeightFiller {
 public:
  WeightFiller(uint64_t seed, bool pool, int threads)
      : seed_(seed), pool_(pool), threads_(threads) {}

  void fill(const TensorPlan& t, TensorType type, std::span<uint8_t> out) {
    const gguf::TensorTypeInfo& info = *gguf::tensor_type_info(type);
    if (pool_ && t.ne.size() > 1) return tile_pool(t.name, info, out);
    const int64_t row = t.ne[0];
    const uint64_t row_bytes = *gguf::row_bytes(info, static_cast<uint64_t>(row));
    const int64_t rows = row_bytes == 0 ? 0 : static_cast<int64_t>(out.size() / row_bytes);
    parallel_for(rows, threads_, [&](int64_t begin, int64_t end) {
      std::vector<float> values(static_cast<size_t>(row));
      for (int64_t r = begin; r < end; ++r) {
        draw(seed_for(seed_, t.name, static_cast<uint64_t>(r)), t.init, values.data(), row);
        info.quantize(values.data(), out.data() + static_cast<uint64_t>(r) * row_bytes, row);
      }
    });
  }

 private:
  static void draw(uint64_t seed, TensorInit init, float* out, int64_t n) {
    SplitMix64 rng(seed);
    for (int64_t i = 0; i < n; i += 2) {
      double a, b;
      rng.normal_pair(a, b);
      out[i] = static_cast<float>(init.mean + init.std * a);
      if (i + 1 < n) out[i + 1] = static_cast<float>(init.mean + init.std * b);
    }
  }

  // Timing-only fill: one pool of encoded random blocks per type, copied through the tensor
  // from a name-dependent block offset.
  void tile_pool(const std::string& name, const gguf::TensorTypeInfo& info,
                 std::span<uint8_t> out) {
    constexpr int64_t kPoolValues = int64_t{1} << 21;  // a multiple of every block size
    auto& pool = pools_[static_cast<uint32_t>(info.type)];
    if (pool.empty()) {
      std::vector<float> values(kPoolValues);
      draw(seed_for(seed_, "pool"), TensorInit{0.0, 0.02}, values.data(), kPoolValues);
      pool.resize(*gguf::row_bytes(info, kPoolValues));
      info.quantize(values.data(), pool.data(), kPoolValues);
    }
    const uint64_t blocks = pool.size() / info.block_bytes;
    uint64_t pos = seed_for(seed_, name) % blocks * info.block_bytes;
    for (uint64_t done = 0; done < out.size();) {
      const uint64_t take = std::min<uint64_t>(out.size() - done, pool.size() - pos);
      std::memcpy(out.data() + done, pool.data() + pos, take);
      done += take;
      pos = 0;
    }
  }

  uint64_t seed_;
  bool pool_;
  int threads_;
  std::map<uint32_t, std::vector<uint8_t>> pools_;
};

}  // namespace

TensorType synth_matrix_type(TensorType wanted, int64_t row) {
  const gguf::TensorTypeInfo* info = gguf::tensor_type_info(wanted);
  if (row % info->block_size == 0) return wanted;
  switch (wanted) {
    case TensorType::Q4_K:
      return synth_matrix_type(TensorType::Q5_0, row);
    case TensorType::Q5_K:
      return synth_matrix_type(TensorType::Q5_1, row);
    case TensorType::Q6_K:
      return synth_matrix_type(TensorType::Q8_0, row);
    default:
      return TensorType::F16;
  }
}

Result<SynthReport> synthesize_model(const SynthOptions& o) {
  const ArchSpec* spec = nullptr;
  auto shape = resolve_shape(o, &spec);
  if (!shape.ok()) return shape.error();
  const gguf::TensorTypeInfo* type = gguf::tensor_type_info(o.type);
  if (type == nullptr || type->quantize == nullptr || o.type == TensorType::Q8_K) {
    return bad(std::string("cannot write weights of type ") + (type ? type->name : "unknown") +
               "; use F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K or Q6_K");
  }
  auto vocab = gguf::GgufFile::open(o.vocab_path);
  if (!vocab.ok()) return vocab.error();
  auto tokens = vocab->get_array("tokenizer.ggml.tokens");
  if (!tokens.ok()) {
    return bad(o.vocab_path +
               ": no tokenizer.ggml.tokens array; --vocab needs a GGUF file "
               "with a tokenizer (a model or a vocab-only file)");
  }
  ModelShape& s = *shape;
  s.n_vocab = static_cast<int64_t>((*tokens)->array_size());

  gguf::Writer w;
  w.set_string("general.architecture", s.arch);
  w.set_string("general.type", "model");
  w.set_string("general.name", o.name.empty() ? o.shape : o.name);
  w.set_u32("general.file_type", file_type_of(o.type));
  if (type->block_size > 1) w.set_u32("general.quantization_version", 2);
  spec->write_hparams(s, w);
  for (const auto& e : vocab->metadata()) {
    if (e.key.starts_with("tokenizer.")) w.set(e.key, e.value);
  }
  if (spec->kind == ModelKind::encoder) {
    w.set_u32("tokenizer.ggml.token_type_count", static_cast<uint32_t>(s.n_token_types));
  }

  SynthReport report;
  report.shape = s;
  WeightFiller filler(o.seed, o.pool_fill, o.threads);
  uint64_t written = 0;
  uint64_t total = 0;
  const std::vector<TensorPlan> plan = spec->tensor_plan(s);
  for (const TensorPlan& t : plan) {
    TensorType type_of_t = TensorType::F32;
    if (t.ne.size() > 1 && !t.fixed_f32) {
      type_of_t = synth_matrix_type(o.type, t.ne[0]);
      if (type_of_t != o.type) ++report.fallback_tensors;
    }
    uint64_t n = 1;
    for (int64_t d : t.ne) n *= static_cast<uint64_t>(d);
    report.n_params += n;
    // The producers run inside w.write() below, while `plan` and these locals are alive.
    TESSERA_TRY(w.add_tensor(t.name, type_of_t, t.ne,
                             [&, tp = &t, ty = type_of_t](std::span<uint8_t> out) -> Status {
                               filler.fill(*tp, ty, out);
                               written += out.size();
                               if (o.progress) o.progress(tp->name, written, total);
                               return {};
                             }));
  }
  report.n_tensors = plan.size();
  report.file_bytes = w.file_size();
  total = report.file_bytes;
  TESSERA_TRY(o.sparse ? w.write_sparse(o.out_path) : w.write(o.out_path));
  return report;
}

}  // namespace tessera::engine
