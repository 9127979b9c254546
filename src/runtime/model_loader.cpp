#include "runtime/model_loader.h"

#include <chrono>

namespace tessera::runtime {

Result<LoadedModel> load_model(const std::string& path, bool decoder,
                               std::vector<std::shared_ptr<backend::Backend>> backends,
                               const engine::ContextOptions& context, int n_threads) {
  const auto start = std::chrono::steady_clock::now();
  LoadedModel m;
  engine::LoadOptions lo;
  lo.n_threads = n_threads;
  if (backends.size() == 1) {
    lo.backend = backends.front();
  } else {
    lo.backends = backends;
    lo.split_context = context;
  }
  if (decoder) {
    auto model = engine::LlmModel::load(path, lo);
    if (!model.ok()) return model.error();
    auto ctx = engine::LlmContext::create(*model, context);
    if (!ctx.ok()) {
      return make_error(ctx.error().code,
                        path + ": the context does not fit: " + ctx.error().message);
    }
    m.llm = std::move(*model);
    m.context = std::move(*ctx);
  } else {
    auto model = engine::EncoderModel::load(path, lo);
    if (!model.ok()) return model.error();
    m.encoder = std::move(*model);
  }
  m.backends = std::move(backends);
  m.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return m;
}

}  // namespace tessera::runtime
