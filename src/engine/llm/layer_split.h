// Splitting a decoder's layers over several devices (internal to engine/llm): a pure plan made
// from sizes before anything is allocated. LlmModel::load uses it when LoadOptions::backends
// names more than one backend.
//
// Each device gets a contiguous run of layers, in device order, and is filled before the next
// one gets any: layer l goes to the device of layer l - 1 when it fits there, else to the next
// device with room. The token embedding goes with layer 0, the output norm and projection with
// the last layer; a device holding any layer also needs `device_bytes` (a context's
// activations); each layer also needs `layer_context_bytes` (its K and V cache).
#pragma once

#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include "util/result.h"

namespace tessera::engine {

// What the model needs, in bytes.
struct LayerSplitNeeds {
  std::vector<uint64_t> layer_bytes;  // each layer's weights, in layer order
  uint64_t first_bytes = 0;           // with layer 0: the token embedding
  uint64_t last_bytes = 0;            // with the last layer: output norm, projection, logits
  uint64_t layer_context_bytes = 0;   // per layer: its K and V cache for the planned context
  uint64_t device_bytes = 0;          // per device holding a layer: activations, per-device copies
};

// A device as the planner sees it: a name for messages and the bytes it can still take.
inline constexpr uint64_t kNoLimit = std::numeric_limits<uint64_t>::max();
struct SplitDevice {
  std::string name;
  uint64_t free_bytes = kNoLimit;  // limit minus what is in use; kNoLimit: none
};

// The layers [begin, end) a device gets and the bytes they take there (0 when it gets none).
struct DeviceLayers {
  int64_t begin = 0;
  int64_t end = 0;
  uint64_t bytes = 0;
  bool empty() const { return begin == end; }
};

// One entry per device, in order: the ranges tile [0, n_layer) in device order, a device that
// gets nothing (not needed, or no room for the next layer) an empty range where it would have
// started.
// Errors: invalid_argument (no layers, no devices); out_of_range when some layer fits no
// device after the ones before it: names the layer and what it needs (weights, KV cache, the
// embedding or output with it) and each device's room and what it was given.
Result<std::vector<DeviceLayers>> plan_layer_split(const LayerSplitNeeds& needs,
                                                   std::span<const SplitDevice> devices);

}  // namespace tessera::engine
