#include "cli/bench_flops.h"

namespace tessera::cli {

double prompt_flops(const gguf::GgufFile& file, const engine::DecoderHparams& hp, int64_t n) {
  double layer_params = 0;
  double output_params = 0;
  bool has_output = false;
  double embd_params = 0;
  for (const auto& t : file.tensors()) {
    if (t.n_dims != 2) continue;
    if (t.name.substr(0, 4) == "blk.") layer_params += static_cast<double>(t.n_elements);
    if (t.name == "output.weight") {
      output_params = static_cast<double>(t.n_elements);
      has_output = true;
    }
    if (t.name == "token_embd.weight") embd_params = static_cast<double>(t.n_elements);
  }
  if (!has_output) output_params = embd_params;  // tied to the token embedding
  const double nn = static_cast<double>(n);
  const double visible = nn * (nn + 1) / 2;  // query-key pairs of a causal prompt
  const double attention =
      4.0 * static_cast<double>(hp.n_layer) * hp.n_head * hp.head_dim * visible;
  return 2.0 * nn * layer_params + 2.0 * output_params + attention;
}

}  // namespace tessera::cli
