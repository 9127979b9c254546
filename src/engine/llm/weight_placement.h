// Where a decoder's tensor data goes at load (internal to engine/llm).
//
// One backend (LoadOptions::backend, or a single entry of `backends`): the whole tensor data
// section is imported once, as a model always was (the CPU wraps the mapping in place).
// Several backends: the layers are planned over them (layer_split.h) and each device used
// imports only what it reads, as runs of consecutive tensors in file order (GGUF data is in
// the file's tensor order, not necessarily layer order): its layers' tensors, the token
// embedding on the first device, the output norm and projection on the last (the embedding
// again there when the output is tied to it), the RoPE frequency factors on each.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "backend/backend.h"
#include "engine/llm/layer_split.h"
#include "engine/llm/llm.h"
#include "engine/llm/weight_binder.h"
#include "gguf/reader.h"
#include "util/result.h"

namespace tessera::engine {

// One device of the model: its backend, its layers [layer_begin, layer_end) and the pieces of
// the tensor data imported into it.
struct DevicePlacement {
  std::shared_ptr<backend::Backend> backend;
  int64_t layer_begin = 0;
  int64_t layer_end = 0;
  std::vector<WeightRun> runs;
};

struct WeightPlacement {
  std::vector<DevicePlacement> devices;                   // the devices used, in layer order
  std::vector<std::unique_ptr<backend::Buffer>> buffers;  // the memory of every run
  int n_threads = 1;                                      // the model's default
};

// Imports `f`'s tensor data as above. `tied`: the output projection is the token embedding.
// Errors: bad backend options (invalid_argument), the data not fitting one backend, the layer
// plan's error (out_of_range, before anything is imported), an import refused by a device.
// Nothing stays imported after an error.
Result<WeightPlacement> place_weights(const gguf::GgufFile& f, const DecoderHparams& hp, bool tied,
                                      const LoadOptions& options);

// What the model needs of each device for a split (layer_split.h), with room for a context of
// `context` (its n_ctx 0 meaning the default). Errors (invalid_argument): a context that
// LlmContext::create would refuse.
Result<LayerSplitNeeds> split_needs(const gguf::GgufFile& f, const DecoderHparams& hp, bool tied,
                                    const ContextOptions& context);

}  // namespace tessera::engine
