// LlmModel::load: open the file, read the hyperparameters, import the tensor data into the
// device(s) (weight_placement.h), bind every tensor (checked for presence, type and shape) as
// a view into what its device imported.
#include <utility>

#include "engine/llm/hparams.h"
#include "engine/llm/llm.h"
#include "engine/llm/weight_binder.h"
#include "engine/llm/weight_placement.h"

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
  TESSERA_TRY_ASSIGN(arch_name, read_architecture(file));
  const ArchSpec* spec = find_architecture(arch_name);
  if (spec == nullptr || spec->decoder == nullptr) {
    return make_error(ErrorCode::unsupported,
                      file.name() + ": architecture \"" + std::string(arch_name) + "\" is " +
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
  model->tied_output_ =
      spec->decoder->output_may_be_tied && model->file_.find_tensor("output.weight") == nullptr;
  TESSERA_TRY_ASSIGN(placement,
                     place_weights(model->file_, model->hp_, model->tied_output_, options));
  model->n_threads_ = placement.n_threads;
  model->weights_ = std::move(placement.buffers);
  for (const DevicePlacement& d : placement.devices) {
    model->devices_.push_back({d.backend, d.layer_begin, d.layer_end, {}});
  }
  TESSERA_TRY(model->bind_tensors(placement));
  TESSERA_TRY(model->prepare_matmul_weights());
  return std::shared_ptr<const LlmModel>(std::move(model));
}

Status LlmModel::bind_tensors(const WeightPlacement& placement) {
  const gguf::GgufFile& f = file_;
  const DevicePlacement& first = placement.devices.front();
  const DevicePlacement& last = placement.devices.back();
  const Binder bind(f, *first.backend, first.runs);
  const Binder bind_last(f, *last.backend, last.runs);
  const DecoderTraits& tr = *spec_->decoder;
  const int64_t E = hp_.n_embd;

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
  TESSERA_TRY_ASSIGN(on, bind_last.vector("output_norm.weight", E));
  output_norm_ = on;
  TESSERA_TRY_ASSIGN(out,
                     bind_last.matrix(tied_output_ ? "token_embd.weight" : "output.weight", E, V));
  output_ = out;
  layers_.resize(static_cast<size_t>(hp_.n_layer));
  for (size_t d = 0; d < devices_.size(); ++d) {
    const DevicePlacement& p = placement.devices[d];
    const Binder on_device(f, *p.backend, p.runs);
    if (tr.rope_freq_factors) {
      TESSERA_TRY_ASSIGN(rf, on_device.vector("rope_freqs.weight", hp_.n_rot / 2, true));
      devices_[d].rope_freq_factors = rf;
    }
    TESSERA_TRY(bind_layers(on_device, p.layer_begin, p.layer_end));
  }
  return {};
}

Status LlmModel::bind_layers(const Binder& bind, int64_t begin, int64_t end) {
  const int64_t E = hp_.n_embd;
  const int64_t kv = static_cast<int64_t>(hp_.n_head_kv) * hp_.head_dim;
  const int64_t F = hp_.n_ff;
  for (int64_t i = begin; i < end; ++i) {
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
    if (spec_->decoder->qkv_bias) {
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
  backend::Backend* be = nullptr;
  const auto prepare = [&](backend::Tensor& w, const std::string& what, bool still_read) -> Status {
    TESSERA_TRY_ASSIGN(t,
                       prepare_matmul_weight(*be, file_, w, what, still_read, weights_, prepared_));
    w = t;
    return {};
  };
  // A copy when tied: the embedding table stays natural for get_rows.
  be = devices_.back().backend.get();
  TESSERA_TRY(prepare(output_, "output.weight", tied_output_));
  for (const ModelDevice& d : devices_) {
    be = d.backend.get();
    for (int64_t i = d.layer_begin; i < d.layer_end; ++i) {
      DecoderLayer& L = layers_[static_cast<size_t>(i)];
      const std::string b = "blk." + std::to_string(i) + ".";
      TESSERA_TRY(prepare(L.wq, b + "attn_q.weight", false));
      TESSERA_TRY(prepare(L.wk, b + "attn_k.weight", false));
      TESSERA_TRY(prepare(L.wv, b + "attn_v.weight", false));
      TESSERA_TRY(prepare(L.wo, b + "attn_output.weight", false));
      TESSERA_TRY(prepare(L.ffn_gate, b + "ffn_gate.weight", false));
      TESSERA_TRY(prepare(L.ffn_up, b + "ffn_up.weight", false));
      TESSERA_TRY(prepare(L.ffn_down, b + "ffn_down.weight", false));
    }
  }
  return {};
}

}  // namespace tessera::engine
