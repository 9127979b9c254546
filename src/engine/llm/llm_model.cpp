// LlmModel::load: open the file, read the hyperparameters, bind every tensor (checked for
// presence, type and shape) as a view into the mapping.
#include <utility>

#include "engine/llm/hparams.h"
#include "engine/llm/llm.h"
#include "engine/llm/weight_binder.h"

namespace tessera::engine {
namespace {

std::string supported_decoders() {
  std::string s;
  for (const ArchSpec* a : architectures()) {
    if (a->decoder == nullptr) continue;
    s += (s.empty() ? "" : ", ") + std::string(a->name);
  }
  return s;
}

}  // namespace

LlmModel::LlmModel(gguf::GgufFile file, Tokenizer tokenizer)
    : file_(std::move(file)), tokenizer_(std::move(tokenizer)) {}

Result<std::shared_ptr<const LlmModel>> LlmModel::load(const std::string& path,
                                                       const LoadOptions& options) {
  TESSERA_TRY_ASSIGN(file, gguf::GgufFile::open(path));
  auto arch_name = file.get_string("general.architecture");
  if (!arch_name.ok()) {
    return make_error(ErrorCode::malformed,
                      file.name() + ": general.architecture is missing or not a string");
  }
  const ArchSpec* spec = find_architecture(*arch_name);
  if (spec == nullptr || spec->decoder == nullptr) {
    return make_error(ErrorCode::unsupported,
                      file.name() + ": architecture \"" + std::string(*arch_name) + "\" is " +
                          (spec == nullptr ? "unknown"
                                           : "an encoder (embedding or reranking model; use "
                                             "tessera embed / rerank), not a decoder (text "
                                             "generation model)") +
                          "; supported decoder architectures: " + supported_decoders());
  }
  TESSERA_TRY_ASSIGN(hp, read_decoder_hparams(file, spec->name));
  TESSERA_TRY_ASSIGN(tokenizer, Tokenizer::from_gguf(file));

  std::shared_ptr<LlmModel> model(new LlmModel(std::move(file), std::move(tokenizer)));
  model->spec_ = spec;
  model->hp_ = hp;
  TESSERA_TRY_ASSIGN(home, import_weights(model->file_, options));
  model->backend_ = std::move(home.backend);
  model->weights_ = std::move(home.weights);
  model->n_threads_ = home.n_threads;
  TESSERA_TRY(model->bind_tensors());
  TESSERA_TRY(model->prepare_matmul_weights());
  return std::shared_ptr<const LlmModel>(std::move(model));
}

Status LlmModel::bind_tensors() {
  const gguf::GgufFile& f = file_;
  const Binder bind(f, *backend_, *weights_);
  const DecoderTraits& tr = *spec_->decoder;
  const int64_t E = hp_.n_embd;
  const int64_t kv = static_cast<int64_t>(hp_.n_head_kv) * hp_.head_dim;
  const int64_t F = hp_.n_ff;

  const gguf::TensorInfo* embd = f.find_tensor("token_embd.weight");
  if (embd == nullptr || embd->n_dims != 2) {
    TESSERA_TRY(find_checked(f, "token_embd.weight", {E, 0}, false));  // names the problem
  }
  hp_.n_vocab = embd->ne[1];
  if (hp_.n_vocab <= 0 || hp_.n_vocab < static_cast<int64_t>(tokenizer_.vocab_size())) {
    return make_error(ErrorCode::malformed,
                      f.name() + ": token_embd.weight has " + std::to_string(hp_.n_vocab) +
                          " rows, fewer than the " + std::to_string(tokenizer_.vocab_size()) +
                          " tokens of the vocabulary");
  }
  const int64_t V = hp_.n_vocab;
  TESSERA_TRY_ASSIGN(te, bind.matrix("token_embd.weight", E, V));
  token_embd_ = te;
  TESSERA_TRY_ASSIGN(on, bind.vector("output_norm.weight", E));
  output_norm_ = on;
  if (tr.output_may_be_tied && f.find_tensor("output.weight") == nullptr) {
    output_ = token_embd_;
  } else {
    TESSERA_TRY_ASSIGN(out, bind.matrix("output.weight", E, V));
    output_ = out;
  }
  if (tr.rope_freq_factors) {
    TESSERA_TRY_ASSIGN(rf, bind.vector("rope_freqs.weight", hp_.n_rot / 2, true));
    rope_freqs_ = rf;
  }

  layers_.resize(static_cast<size_t>(hp_.n_layer));
  for (int64_t i = 0; i < hp_.n_layer; ++i) {
    const std::string b = "blk." + std::to_string(i) + ".";
    DecoderLayer& L = layers_[static_cast<size_t>(i)];
    TESSERA_TRY_ASSIGN(an, bind.vector(b + "attn_norm.weight", E));
    TESSERA_TRY_ASSIGN(wq, bind.matrix(b + "attn_q.weight", E, E));
    TESSERA_TRY_ASSIGN(wk, bind.matrix(b + "attn_k.weight", E, kv));
    TESSERA_TRY_ASSIGN(wv, bind.matrix(b + "attn_v.weight", E, kv));
    TESSERA_TRY_ASSIGN(wo, bind.matrix(b + "attn_output.weight", E, E));
    TESSERA_TRY_ASSIGN(fnorm, bind.vector(b + "ffn_norm.weight", E));
    TESSERA_TRY_ASSIGN(gate, bind.matrix(b + "ffn_gate.weight", E, F));
    TESSERA_TRY_ASSIGN(up, bind.matrix(b + "ffn_up.weight", E, F));
    TESSERA_TRY_ASSIGN(down, bind.matrix(b + "ffn_down.weight", F, E));
    L.attn_norm = an;
    L.wq = wq;
    L.wk = wk;
    L.wv = wv;
    L.wo = wo;
    L.ffn_norm = fnorm;
    L.ffn_gate = gate;
    L.ffn_up = up;
    L.ffn_down = down;
    if (tr.qkv_bias) {
      TESSERA_TRY_ASSIGN(bq, bind.vector(b + "attn_q.bias", E));
      TESSERA_TRY_ASSIGN(bk, bind.vector(b + "attn_k.bias", kv));
      TESSERA_TRY_ASSIGN(bv, bind.vector(b + "attn_v.bias", kv));
      L.bq = bq;
      L.bk = bk;
      L.bv = bv;
    }
  }
  return {};
}

Status LlmModel::prepare_matmul_weights() {
  // A weight the backend copied is read from its copy only: its pages of the file mapping are
  // given back (not the embedding table's, which get_rows keeps reading when output is tied).
  const auto prepare = [&](backend::Tensor& w, const std::string& what) -> Status {
    TESSERA_TRY_ASSIGN(
        t, prepare_matmul_weight(*backend_, file_, w, what, w.data == token_embd_.data, prepared_));
    w = t;
    return {};
  };
  TESSERA_TRY(prepare(output_, "output.weight"));  // a copy when tied: token_embd_ stays natural
  for (size_t i = 0; i < layers_.size(); ++i) {
    DecoderLayer& L = layers_[i];
    const std::string b = "blk." + std::to_string(i) + ".";
    TESSERA_TRY(prepare(L.wq, b + "attn_q.weight"));
    TESSERA_TRY(prepare(L.wk, b + "attn_k.weight"));
    TESSERA_TRY(prepare(L.wv, b + "attn_v.weight"));
    TESSERA_TRY(prepare(L.wo, b + "attn_output.weight"));
    TESSERA_TRY(prepare(L.ffn_gate, b + "ffn_gate.weight"));
    TESSERA_TRY(prepare(L.ffn_up, b + "ffn_up.weight"));
    TESSERA_TRY(prepare(L.ffn_down, b + "ffn_down.weight"));
  }
  return {};
}

}  // namespace tessera::engine
