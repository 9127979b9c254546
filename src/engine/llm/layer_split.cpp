#include "engine/llm/layer_split.h"

namespace tessera::engine {
namespace {

uint64_t add_saturating(uint64_t a, uint64_t b) {
  return a > kNoLimit - b ? kNoLimit : a + b;
}

std::string bytes_text(uint64_t bytes) {
  return bytes == kNoLimit ? "no limit" : std::to_string(bytes) + " bytes";
}

// What layer l needs on a device that already holds a layer.
uint64_t layer_cost(const LayerSplitNeeds& needs, size_t l) {
  uint64_t cost = add_saturating(needs.layer_bytes[l], needs.layer_context_bytes);
  if (l == 0) cost = add_saturating(cost, needs.first_bytes);
  if (l + 1 == needs.layer_bytes.size()) cost = add_saturating(cost, needs.last_bytes);
  return cost;
}

Error does_not_fit(const LayerSplitNeeds& needs, size_t l, std::span<const SplitDevice> devices,
                   const std::vector<DeviceLayers>& plan) {
  std::string m = "the model does not fit the " + std::to_string(devices.size()) +
                  " devices given: layer " + std::to_string(l) + " of " +
                  std::to_string(needs.layer_bytes.size()) + " needs " +
                  std::to_string(needs.layer_bytes[l]) + " bytes of weights + " +
                  std::to_string(needs.layer_context_bytes) + " of KV cache";
  if (l == 0) m += " + " + std::to_string(needs.first_bytes) + " of token embedding";
  if (l + 1 == needs.layer_bytes.size()) {
    m += " + " + std::to_string(needs.last_bytes) + " of output";
  }
  m += " (+ " + std::to_string(needs.device_bytes) + " of activations on a device without layers)";
  for (size_t d = 0; d < devices.size(); ++d) {
    m += "; " + devices[d].name + ": " + bytes_text(devices[d].free_bytes) + " free, ";
    const DeviceLayers& p = plan[d];
    if (p.empty()) {
      m += "no layers";
    } else {
      m += "layers " + std::to_string(p.begin) + "-" + std::to_string(p.end - 1) + " (" +
           std::to_string(p.bytes) + " bytes)";
    }
  }
  return make_error(ErrorCode::out_of_range, m);
}

}  // namespace

Result<std::vector<DeviceLayers>> plan_layer_split(const LayerSplitNeeds& needs,
                                                   std::span<const SplitDevice> devices) {
  if (needs.layer_bytes.empty()) {
    return make_error(ErrorCode::invalid_argument, "a layer split needs at least one layer");
  }
  if (devices.empty()) {
    return make_error(ErrorCode::invalid_argument, "a layer split needs at least one device");
  }
  std::vector<DeviceLayers> plan(devices.size());
  size_t d = 0;
  for (size_t l = 0; l < needs.layer_bytes.size(); ++l) {
    for (; d < devices.size(); ++d) {
      DeviceLayers& p = plan[d];
      uint64_t cost = layer_cost(needs, l);
      if (p.empty()) cost = add_saturating(cost, needs.device_bytes);
      if (cost == kNoLimit || cost > devices[d].free_bytes - p.bytes) continue;
      if (p.empty()) p.begin = static_cast<int64_t>(l);
      p.end = static_cast<int64_t>(l) + 1;
      p.bytes += cost;
      break;
    }
    if (d == devices.size()) return does_not_fit(needs, l, devices, plan);
  }
  int64_t at = 0;  // devices left empty sit where they would have started
  for (DeviceLayers& p : plan) {
    if (p.empty()) p.begin = p.end = at;
    at = p.end;
  }
  return plan;
}

}  // namespace tessera::engine
