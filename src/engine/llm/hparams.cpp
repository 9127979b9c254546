#include "engine/llm/hparams.h"

#include <string>

namespace tessera::engine {
namespace {

constexpr uint64_t kMaxDim = uint64_t{1} << 20;  // any dimension past this is a lie

Error bad(const gguf::GgufFile& f, const std::string& key, const std::string& what) {
  return make_error(ErrorCode::malformed, f.name() + ": " + key + " " + what);
}

Result<int64_t> positive(const gguf::GgufFile& f, const std::string& key, uint64_t max) {
  return read_positive(f, key, max, "a decoder");
}

}  // namespace

Result<int64_t> read_positive(const gguf::GgufFile& f, const std::string& key, uint64_t max,
                              const char* model) {
  auto v = f.get_uint(key);
  if (!v.ok()) {
    if (v.error().code == ErrorCode::not_found) {
      return bad(f, key, std::string("is missing (required for ") + model + ")");
    }
    return v.error();
  }
  if (*v == 0 || *v > max) {
    return bad(f, key,
               "= " + std::to_string(*v) + " is out of range (1.." + std::to_string(max) + ")");
  }
  return static_cast<int64_t>(*v);
}

Result<DecoderHparams> read_decoder_hparams(const gguf::GgufFile& f, std::string_view arch) {
  const std::string a = std::string(arch) + ".";
  DecoderHparams hp;
  TESSERA_TRY_ASSIGN(ctx, positive(f, a + "context_length", uint64_t{1} << 31));
  TESSERA_TRY_ASSIGN(embd, positive(f, a + "embedding_length", kMaxDim));
  TESSERA_TRY_ASSIGN(layers, positive(f, a + "block_count", 4096));
  TESSERA_TRY_ASSIGN(ff, positive(f, a + "feed_forward_length", kMaxDim));
  TESSERA_TRY_ASSIGN(heads, positive(f, a + "attention.head_count", 4096));
  hp.n_ctx_train = ctx;
  hp.n_embd = embd;
  hp.n_layer = layers;
  hp.n_ff = ff;
  hp.n_head = static_cast<int>(heads);
  hp.n_head_kv = hp.n_head;
  if (f.find(a + "attention.head_count_kv") != nullptr) {
    TESSERA_TRY_ASSIGN(kv, positive(f, a + "attention.head_count_kv", 4096));
    hp.n_head_kv = static_cast<int>(kv);
  }
  if (embd % heads != 0) {
    return bad(
        f, a + "attention.head_count",
        "= " + std::to_string(heads) + " does not divide embedding_length " + std::to_string(embd));
  }
  if (hp.n_head % hp.n_head_kv != 0) {
    return bad(f, a + "attention.head_count_kv",
               "= " + std::to_string(hp.n_head_kv) + " does not divide head_count " +
                   std::to_string(hp.n_head));
  }
  hp.head_dim = static_cast<int>(embd / heads);
  for (const char* k : {"attention.key_length", "attention.value_length"}) {
    TESSERA_TRY_ASSIGN(len, f.get_uint_or(a + k, static_cast<uint64_t>(hp.head_dim)));
    if (len != static_cast<uint64_t>(hp.head_dim)) {
      return make_error(ErrorCode::unsupported,
                        f.name() + ": " + a + k + " = " + std::to_string(len) +
                            " differs from embedding_length / head_count = " +
                            std::to_string(hp.head_dim) + " (not supported yet)");
    }
  }
  TESSERA_TRY_ASSIGN(rot,
                     f.get_uint_or(a + "rope.dimension_count", static_cast<uint64_t>(hp.head_dim)));
  if (rot == 0 || rot % 2 != 0 || rot > static_cast<uint64_t>(hp.head_dim)) {
    return bad(f, a + "rope.dimension_count",
               "= " + std::to_string(rot) + " must be even and in 2.." +
                   std::to_string(hp.head_dim) + " (the head size)");
  }
  hp.n_rot = static_cast<int>(rot);

  auto eps = f.get_float(a + "attention.layer_norm_rms_epsilon");
  if (!eps.ok()) {
    if (eps.error().code == ErrorCode::not_found) {
      return bad(f, a + "attention.layer_norm_rms_epsilon", "is missing (required)");
    }
    return eps.error();
  }
  if (!(*eps > 0.0 && *eps < 1.0)) {
    return bad(f, a + "attention.layer_norm_rms_epsilon",
               "= " + std::to_string(*eps) + " is out of range (0, 1)");
  }
  hp.norm_eps = static_cast<float>(*eps);

  TESSERA_TRY_ASSIGN(base, f.get_float_or(a + "rope.freq_base", 10000.0));
  if (!(base > 1.0 && base < 1e12)) {
    return bad(f, a + "rope.freq_base", "= " + std::to_string(base) + " is out of range");
  }
  hp.rope_freq_base = static_cast<float>(base);

  TESSERA_TRY_ASSIGN(scaling, f.get_string_or(a + "rope.scaling.type", "none"));
  double factor = 1.0;
  if (scaling == "linear") {
    TESSERA_TRY_ASSIGN(fac, f.get_float_or(a + "rope.scaling.factor", 1.0));
    factor = fac;
  } else if (scaling == "none") {
    TESSERA_TRY_ASSIGN(fac, f.get_float_or(a + "rope.scale_linear", 1.0));  // older files
    factor = fac;
  } else {
    return make_error(ErrorCode::unsupported, f.name() + ": " + a + "rope.scaling.type = \"" +
                                                  std::string(scaling) +
                                                  "\" is not supported (supported: none, linear)");
  }
  if (factor == 0.0) factor = 1.0;  // llama.cpp treats 0 as "not set"
  if (!(factor >= 1e-3 && factor <= 1e6)) {
    return bad(f, a + "rope.scaling.factor", "= " + std::to_string(factor) + " is out of range");
  }
  hp.rope_freq_scale = static_cast<float>(1.0 / factor);
  return hp;
}

}  // namespace tessera::engine
