// Where the scheduler gets models and backends by default: names from the model store, a
// CPU or CUDA backend per place.
#include "backend/cpu/cpu_backend.h"
#include "gpu/cuda_backend.h"
#include "runtime/model_store.h"
#include "runtime/scheduler.h"

namespace tessera::runtime {

ModelResolver store_resolver(const std::filesystem::path& models_dir,
                             std::vector<ResolvedModel> extra) {
  auto store = std::make_shared<ModelStore>(models_dir);
  return [store, extra = std::move(extra)](const std::string& name) -> Result<ResolvedModel> {
    for (const ResolvedModel& m : extra) {
      if (m.name == name) return m;
    }
    auto path = store->resolve(name);
    if (!path.ok()) return path.error();
    return ResolvedModel{name, path->string()};
  };
}

BackendFactory default_backend_factory() {
  return [](const Place& p) -> Result<std::shared_ptr<backend::Backend>> {
    if (p.kind == PlaceKind::cpu) return backend::make_cpu_backend();
    return gpu::make_cuda_backend(p.cuda_ordinal);
  };
}

}  // namespace tessera::runtime
