// EncoderModel::load: open the file, read the hyperparameters, bind every tensor (checked for
// presence, type and shape), and read the classification head of rank models to the host.
#include <utility>

#include "engine/llm/encoder.h"
#include "engine/llm/hparams.h"
#include "engine/llm/weight_binder.h"

namespace tessera::engine {
namespace {

constexpr uint64_t kMaxDim = uint64_t{1} << 20;

Error bad(const gguf::GgufFile& f, const std::string& key, const std::string& what) {
  return make_error(ErrorCode::malformed, f.name() + ": " + key + " " + what);
}

Result<EncoderHparams> read_encoder_hparams(const gguf::GgufFile& f, std::string_view arch) {
  const std::string a = std::string(arch) + ".";
  const char* model = "an encoder";
  EncoderHparams hp;
  TESSERA_TRY_ASSIGN(ctx, read_positive(f, a + "context_length", kMaxDim, model));
  TESSERA_TRY_ASSIGN(embd, read_positive(f, a + "embedding_length", kMaxDim, model));
  TESSERA_TRY_ASSIGN(layers, read_positive(f, a + "block_count", 4096, model));
  TESSERA_TRY_ASSIGN(ff, read_positive(f, a + "feed_forward_length", kMaxDim, model));
  TESSERA_TRY_ASSIGN(heads, read_positive(f, a + "attention.head_count", 4096, model));
  if (embd % heads != 0) {
    return bad(
        f, a + "attention.head_count",
        "= " + std::to_string(heads) + " does not divide embedding_length " + std::to_string(embd));
  }
  hp.n_ctx_train = ctx;
  hp.n_embd = embd;
  hp.n_layer = layers;
  hp.n_ff = ff;
  hp.n_head = static_cast<int>(heads);
  hp.head_dim = static_cast<int>(embd / heads);
  TESSERA_TRY_ASSIGN(causal, f.get_bool_or(a + "attention.causal", false));
  if (causal) {
    return make_error(ErrorCode::unsupported,
                      f.name() + ": " + a +
                          "attention.causal is true; causal encoders are not "
                          "supported (BERT-family encoders attend both ways)");
  }
  TESSERA_TRY_ASSIGN(eps, f.get_float_or(a + "attention.layer_norm_epsilon", 1e-12));
  if (!(eps > 0.0 && eps < 1.0)) {
    return bad(f, a + "attention.layer_norm_epsilon",
               "= " + std::to_string(eps) + " is out of range (0, 1)");
  }
  hp.norm_eps = static_cast<float>(eps);
  TESSERA_TRY_ASSIGN(pooling, f.get_uint_or(a + "pooling_type", 0));
  if (pooling > static_cast<uint64_t>(Pooling::rank)) {
    return make_error(ErrorCode::unsupported,
                      f.name() + ": " + a + "pooling_type = " + std::to_string(pooling) +
                          " is not supported (0 none, 1 mean, 2 cls, 3 last, 4 rank)");
  }
  hp.pooling = static_cast<Pooling>(pooling);
  return hp;
}

}  // namespace

EncoderModel::EncoderModel(gguf::GgufFile file, Tokenizer tokenizer)
    : file_(std::move(file)), tokenizer_(std::move(tokenizer)) {}

Result<std::shared_ptr<const EncoderModel>> EncoderModel::load(const std::string& path,
                                                               const LoadOptions& options) {
  TESSERA_TRY_ASSIGN(file, gguf::GgufFile::open(path));
  TESSERA_TRY_ASSIGN(arch_name, read_architecture(file));
  const ArchSpec* spec = find_architecture(arch_name);
  if (spec == nullptr) {
    return make_error(ErrorCode::unsupported, file.name() + ": architecture \"" +
                                                  std::string(arch_name) +
                                                  "\" is unknown; supported encoders: bert");
  }
  if (spec->kind != ModelKind::encoder) {
    return make_error(ErrorCode::invalid_argument,
                      file.name() + " is a " + std::string(spec->name) +
                          " decoder (a text generation model), not an embedding or reranking "
                          "model; use an encoder such as a bge or MiniLM GGUF");
  }
  TESSERA_TRY_ASSIGN(hp, read_encoder_hparams(file, spec->name));
  TESSERA_TRY_ASSIGN(tokenizer, Tokenizer::from_gguf(file));

  std::shared_ptr<EncoderModel> model(new EncoderModel(std::move(file), std::move(tokenizer)));
  model->spec_ = spec;
  model->hp_ = hp;
  TESSERA_TRY_ASSIGN(home, import_weights(model->file_, options));
  model->backend_ = std::move(home.backend);
  model->weights_ = std::move(home.weights);
  model->n_threads_ = home.n_threads;
  TESSERA_TRY(model->bind_tensors());
  TESSERA_TRY(model->read_rank_head());
  return std::shared_ptr<const EncoderModel>(std::move(model));
}

Status EncoderModel::bind_tensors() {
  const gguf::GgufFile& f = file_;
  const Binder bind(f, *backend_, *weights_);
  const int64_t E = hp_.n_embd;
  const int64_t F = hp_.n_ff;
  const gguf::TensorInfo* embd = f.find_tensor("token_embd.weight");
  if (embd == nullptr || embd->n_dims != 2) {
    TESSERA_TRY(find_checked(f, "token_embd.weight", {E, 0}, false));  // names the problem
  }
  hp_.n_vocab = embd->ne[1];
  if (hp_.n_vocab < static_cast<int64_t>(tokenizer_.vocab_size())) {
    return make_error(ErrorCode::malformed,
                      f.name() + ": token_embd.weight has " + std::to_string(hp_.n_vocab) +
                          " rows, fewer than the " + std::to_string(tokenizer_.vocab_size()) +
                          " tokens of the vocabulary");
  }
  TESSERA_TRY_ASSIGN(te, bind.matrix("token_embd.weight", E, hp_.n_vocab));
  token_embd_ = te;
  const gguf::TensorInfo* types = f.find_tensor("token_types.weight");
  hp_.n_token_types = types != nullptr && types->n_dims == 2 ? types->ne[1] : 0;
  TESSERA_TRY_ASSIGN(tt, bind.matrix("token_types.weight", E, hp_.n_token_types));
  token_types_ = tt;
  TESSERA_TRY_ASSIGN(pe, bind.matrix("position_embd.weight", E, hp_.n_ctx_train));
  position_embd_ = pe;
  TESSERA_TRY_ASSIGN(nw, bind.vector("token_embd_norm.weight", E));
  TESSERA_TRY_ASSIGN(nb, bind.vector("token_embd_norm.bias", E));
  embd_norm_w_ = nw;
  embd_norm_b_ = nb;

  layers_.resize(static_cast<size_t>(hp_.n_layer));
  for (int64_t i = 0; i < hp_.n_layer; ++i) {
    const std::string b = "blk." + std::to_string(i) + ".";
    EncoderLayer& L = layers_[static_cast<size_t>(i)];
    const struct {
      const char* name;
      backend::Tensor* w;
      backend::Tensor* bias;
      int64_t in, out;
    } mats[] = {{"attn_q", &L.wq, &L.bq, E, E},   {"attn_k", &L.wk, &L.bk, E, E},
                {"attn_v", &L.wv, &L.bv, E, E},   {"attn_output", &L.wo, &L.bo, E, E},
                {"ffn_up", &L.up, &L.up_b, E, F}, {"ffn_down", &L.down, &L.down_b, F, E}};
    for (const auto& m : mats) {
      TESSERA_TRY_ASSIGN(w, bind.matrix(b + m.name + ".weight", m.in, m.out));
      TESSERA_TRY_ASSIGN(bias, bind.vector(b + m.name + ".bias", m.out));
      TESSERA_TRY_ASSIGN(p, prepare_matmul_weight(*backend_, f, w, b + m.name + ".weight", false,
                                                  std::span(&weights_, 1), prepared_));
      *m.w = p;
      *m.bias = bias;
    }
    const struct {
      const char* name;
      backend::Tensor* w;
      backend::Tensor* bias;
    } norms[] = {{"attn_output_norm", &L.attn_norm_w, &L.attn_norm_b},
                 {"layer_output_norm", &L.out_norm_w, &L.out_norm_b}};
    for (const auto& n : norms) {
      TESSERA_TRY_ASSIGN(w, bind.vector(b + n.name + ".weight", E));
      TESSERA_TRY_ASSIGN(bias, bind.vector(b + n.name + ".bias", E));
      *n.w = w;
      *n.bias = bias;
    }
  }
  return {};
}

Status EncoderModel::read_rank_head() {
  const gguf::GgufFile& f = file_;
  const int64_t E = hp_.n_embd;
  const gguf::TensorInfo* out = f.find_tensor("cls.output.weight");
  if (out == nullptr) {
    if (hp_.pooling == Pooling::rank) {
      return make_error(ErrorCode::malformed, f.name() +
                                                  ": pooling_type is rank but the classification "
                                                  "head cls.output.weight is missing");
    }
    return {};
  }
  const int64_t n_out = out->n_dims == 2 ? out->ne[1] : 0;
  if (n_out < 1 || n_out > 4096) {
    return make_error(ErrorCode::malformed, f.name() + ": cls.output.weight has shape " +
                                                shape_string(*out) + ", expected [" +
                                                std::to_string(E) + ", n_labels]");
  }
  // Host copies in f32 (a few rows), read through the GGUF dequantizers.
  auto host = [&](const std::string& name, const std::vector<int64_t>& ne, bool optional,
                  std::vector<float>& dst) -> Status {
    TESSERA_TRY_ASSIGN(t, find_checked(f, name, ne, optional));
    if (t == nullptr) return {};
    TESSERA_TRY_ASSIGN(values, f.read_f32(*t));
    dst = std::move(values);
    return {};
  };
  TESSERA_TRY(host("cls.weight", {E, E}, true, cls_w_));
  if (!cls_w_.empty()) TESSERA_TRY(host("cls.bias", {E}, false, cls_b_));
  TESSERA_TRY(host("cls.output.weight", {E, n_out}, false, cls_out_w_));
  TESSERA_TRY(host("cls.output.bias", {n_out}, true, cls_out_b_));
  if (cls_out_b_.empty()) cls_out_b_.assign(static_cast<size_t>(n_out), 0.0f);
  hp_.n_cls_out = static_cast<int>(n_out);
  return {};
}

}  // namespace tessera::engine
