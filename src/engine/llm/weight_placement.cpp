#include "engine/llm/weight_placement.h"

#include <algorithm>
#include <charconv>
#include <string>
#include <string_view>

#include "engine/llm/forward_buffers.h"
#include "engine/memory_estimate.h"

namespace tessera::engine {
namespace {

// Which devices of a split read a tensor.
enum class Home { layer, first, last, first_and_last, every, none };
struct TensorHome {
  Home home = Home::none;
  int64_t layer = -1;  // for Home::layer
};

TensorHome home_of(const gguf::TensorInfo& t, int64_t n_layer, bool tied) {
  const std::string_view name = t.name;
  if (name == "token_embd.weight") return {tied ? Home::first_and_last : Home::first};
  if (name == "output_norm.weight" || name == "output.weight") return {Home::last};
  if (name == "rope_freqs.weight") return {Home::every};
  constexpr std::string_view kBlock = "blk.";
  if (!name.starts_with(kBlock)) return {};
  int64_t layer = -1;
  const char* begin = name.data() + kBlock.size();
  const char* end = name.data() + name.size();
  const auto [at, ec] = std::from_chars(begin, end, layer);
  if (ec != std::errc() || at == begin || at == end || *at != '.') return {};
  if (layer < 0 || layer >= n_layer) return {};
  return {Home::layer, layer};
}

bool needed_on(const TensorHome& h, const DevicePlacement& d, bool first, bool last) {
  switch (h.home) {
    case Home::layer:
      return h.layer >= d.layer_begin && h.layer < d.layer_end;
    case Home::first:
      return first;
    case Home::last:
      return last;
    case Home::first_and_last:
      return first || last;
    case Home::every:
      return true;
    case Home::none:
      return false;
  }
  return false;
}

uint64_t stored_bytes(const gguf::GgufFile& f, const gguf::TensorInfo& t) {
  const uint64_t a = f.alignment();
  return (t.n_bytes + a - 1) / a * a;
}

uint64_t room_of(const backend::Backend& be) {
  const backend::MemoryStats m = be.memory();
  if (m.limit == 0) return kNoLimit;
  return m.limit > m.in_use() ? m.limit - m.in_use() : 0;
}

// The runs of consecutive tensors (in file order) that device `d` reads.
std::vector<WeightRun> runs_for(const std::vector<const gguf::TensorInfo*>& by_offset,
                                const std::vector<TensorHome>& homes, const DevicePlacement& d,
                                bool first, bool last) {
  std::vector<WeightRun> runs;
  bool open = false;
  for (size_t i = 0; i < by_offset.size(); ++i) {
    const gguf::TensorInfo& t = *by_offset[i];
    if (!needed_on(homes[i], d, first, last) || t.n_bytes == 0) {
      open = false;
      continue;
    }
    if (!open) runs.push_back({t.data, 0, nullptr});
    runs.back().bytes = static_cast<size_t>(t.data + t.n_bytes - runs.back().host);
    open = true;
  }
  return runs;
}

std::string layers_text(const DevicePlacement& d) {
  return "layers " + std::to_string(d.layer_begin) + "-" + std::to_string(d.layer_end - 1);
}

Result<WeightPlacement> place_on_one(const gguf::GgufFile& f, const DecoderHparams& hp,
                                     const LoadOptions& options) {
  TESSERA_TRY_ASSIGN(home, import_weights(f, options));
  WeightPlacement p;
  p.n_threads = home.n_threads;
  p.devices.push_back({home.backend,
                       0,
                       hp.n_layer,
                       {{f.tensor_data(), home.weights->size(), home.weights->data()}}});
  p.buffers.push_back(std::move(home.weights));
  return p;
}

}  // namespace

Result<LayerSplitNeeds> split_needs(const gguf::GgufFile& f, const DecoderHparams& hp, bool tied,
                                    const ContextOptions& context) {
  const int64_t n_ctx =
      context.n_ctx == 0 ? std::min(hp.n_ctx_train, kDefaultContext) : context.n_ctx;
  if (n_ctx < 1 || n_ctx > (int64_t{1} << 31) - 1) {
    return make_error(ErrorCode::invalid_argument,
                      "split_context: context size " + std::to_string(context.n_ctx) +
                          " is out of range (1..2147483647, or 0 for the default)");
  }
  if (context.n_batch < 1) {
    return make_error(
        ErrorCode::invalid_argument,
        "split_context: n_batch " + std::to_string(context.n_batch) + " must be at least 1");
  }
  TESSERA_TRY(backend::check_kv_layout(context.kv_type, hp.n_head_kv, hp.head_dim));
  const int64_t n_batch = std::min(context.n_batch, n_ctx);

  LayerSplitNeeds needs;
  needs.layer_bytes.assign(static_cast<size_t>(hp.n_layer), 0);
  needs.layer_context_bytes = kv_layer_bytes(hp, n_ctx, context.kv_type);
  needs.device_bytes = forward_work_bytes(hp, n_batch, n_ctx);
  for (const gguf::TensorInfo& t : f.tensors()) {
    const TensorHome h = home_of(t, hp.n_layer, tied);
    const uint64_t bytes = stored_bytes(f, t);
    if (h.home == Home::layer) needs.layer_bytes[static_cast<size_t>(h.layer)] += bytes;
    if (h.home == Home::first || h.home == Home::first_and_last) needs.first_bytes += bytes;
    if (h.home == Home::last || h.home == Home::first_and_last) needs.last_bytes += bytes;
    if (h.home == Home::every) needs.device_bytes += bytes;
    if (t.name == "token_embd.weight" && t.n_dims == 2) {  // the logits of one chunk
      needs.last_bytes += static_cast<uint64_t>(n_batch) * static_cast<uint64_t>(t.ne[1]) * 4;
    }
  }
  return needs;
}

Result<WeightPlacement> place_weights(const gguf::GgufFile& f, const DecoderHparams& hp, bool tied,
                                      const LoadOptions& options) {
  if (options.backends.size() <= 1) return place_on_one(f, hp, options);
  TESSERA_TRY(check_backend_options(options));

  TESSERA_TRY_ASSIGN(needs, split_needs(f, hp, tied, options.split_context));
  std::vector<SplitDevice> devices;
  for (size_t i = 0; i < options.backends.size(); ++i) {
    const backend::Backend& be = *options.backends[i];
    devices.push_back(
        {"device " + std::to_string(i) + " (" + std::string(be.name()) + ")", room_of(be)});
  }
  TESSERA_TRY_ASSIGN(plan, plan_layer_split(needs, devices));

  std::vector<const gguf::TensorInfo*> by_offset;
  for (const gguf::TensorInfo& t : f.tensors()) by_offset.push_back(&t);
  std::sort(
      by_offset.begin(), by_offset.end(),
      [](const gguf::TensorInfo* a, const gguf::TensorInfo* b) { return a->offset < b->offset; });
  std::vector<TensorHome> homes;
  for (const gguf::TensorInfo* t : by_offset) homes.push_back(home_of(*t, hp.n_layer, tied));

  WeightPlacement p;
  p.n_threads = default_threads(options);
  for (size_t i = 0; i < plan.size(); ++i) {
    if (plan[i].empty()) continue;
    p.devices.push_back({options.backends[i], plan[i].begin, plan[i].end, {}});
  }
  for (size_t d = 0; d < p.devices.size(); ++d) {
    DevicePlacement& dev = p.devices[d];
    dev.runs = runs_for(by_offset, homes, dev, d == 0, d + 1 == p.devices.size());
    for (WeightRun& run : dev.runs) {
      TESSERA_TRY_ASSIGN(
          buf, dev.backend->import_host(run.host, run.bytes,
                                        "weights of " + f.name() + " (" + layers_text(dev) + ")"));
      run.data = buf->data();
      p.buffers.push_back(std::move(buf));
    }
  }
  return p;
}

}  // namespace tessera::engine
