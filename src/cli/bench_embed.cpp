#include "cli/bench_embed.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <vector>

#include "cli/bench_stats.h"
#include "engine/architecture.h"
#include "engine/llm/encoder.h"
#include "gguf/reader.h"
#include "util/random.h"

namespace tessera::cli {
namespace {

constexpr uint64_t kSeed = 0xe3bedu;
constexpr int kBatches[] = {1, 32};

}  // namespace

bool is_encoder_file(const std::string& path) {
  auto f = gguf::GgufFile::open(path);
  if (!f.ok()) return false;
  auto arch = f->get_string("general.architecture");
  if (!arch.ok()) return false;
  const engine::ArchSpec* spec = engine::find_architecture(*arch);
  return spec != nullptr && spec->kind == engine::ModelKind::encoder;
}

Status bench_encoder(const std::string& path, int threads, int tokens, int reps, bool json) {
  engine::LoadOptions lo;
  lo.n_threads = threads;
  TESSERA_TRY_ASSIGN(model, engine::EncoderModel::load(path, lo));
  const int64_t ctx = model->hparams().n_ctx_train;
  const int len = static_cast<int>(std::min<int64_t>(tokens, ctx));
  SplitMix64 rng(kSeed);
  const auto vocab = static_cast<uint64_t>(model->hparams().n_vocab);
  std::vector<std::vector<engine::TokenId>> texts(32);
  for (auto& t : texts) {
    for (int i = 0; i < len; ++i) t.push_back(static_cast<engine::TokenId>(rng.next() % vocab));
  }
  engine::EmbedOptions o;
  o.n_threads = threads;
  nlohmann::ordered_json rows = nlohmann::ordered_json::array();
  if (!json) {
    std::printf("| model | tokens/text | batch | texts/s (min-max) | tokens/s |\n");
    std::printf("| ----- | ----------: | ----: | ----------------: | -------: |\n");
  }
  for (const int batch : kBatches) {
    const std::vector<std::vector<engine::TokenId>> part(texts.begin(), texts.begin() + batch);
    if (auto warm = model->embed_tokens(part, o); !warm.ok()) return warm.error();
    std::vector<double> runs;
    for (int r = 0; r < reps; ++r) {
      const auto t0 = std::chrono::steady_clock::now();
      if (auto e = model->embed_tokens(part, o); !e.ok()) return e.error();
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      runs.push_back(s > 0 ? batch / s : 0.0);
    }
    const TestStats st = summarize(len, runs);
    const double median = st.median;
    if (json) {
      rows.push_back({{"batch", batch},
                      {"texts_per_s", median},
                      {"tokens_per_s", median * len},
                      {"min", st.min},
                      {"max", st.max},
                      {"runs", runs}});
    } else {
      const size_t slash = path.find_last_of('/');
      std::printf("| %s | %d | %d | %.2f (%.2f-%.2f) | %.1f |\n",
                  (slash == std::string::npos ? path : path.substr(slash + 1)).c_str(), len, batch,
                  median, st.min, st.max, median * len);
    }
  }
  if (json) {
    const nlohmann::ordered_json j = {
        {"model", path}, {"threads", threads}, {"tokens_per_text", len}, {"embed", rows}};
    std::printf("%s\n", j.dump(2).c_str());
  }
  return {};
}

}  // namespace tessera::cli
