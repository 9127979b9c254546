// `tessera models`: the models of the data directory's store (runtime/model_store.h), and
// `tessera models rm NAME`. The JSON shape (schema "tessera.models.v1") is in docs/cli.md.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <ctime>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "runtime/data_dir.h"
#include "runtime/model_store.h"

namespace tessera::cli {
namespace {

using nlohmann::ordered_json;

struct ModelsArgs {
  std::optional<std::string> data_dir;
  bool json = false;
  std::string rm_name;
  CLI::App* rm = nullptr;
};

const char* kind_name(engine::ModelKind k) {
  return k == engine::ModelKind::encoder ? "encoder" : "decoder";
}

std::string iso_time(int64_t unix_seconds) {
  const auto t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// "just now", "5 minutes ago", "3 days ago", "2 months ago".
std::string age(int64_t unix_seconds) {
  const int64_t s = std::max<int64_t>(0, static_cast<int64_t>(std::time(nullptr)) - unix_seconds);
  auto ago = [](int64_t n, const char* unit) {
    std::string out = std::to_string(n);
    out.append(" ").append(unit).append(n == 1 ? "" : "s").append(" ago");
    return out;
  };
  if (s < 60) return "just now";
  if (s < 3600) return ago(s / 60, "minute");
  if (s < 86400) return ago(s / 3600, "hour");
  if (s < 86400 * 30) return ago(s / 86400, "day");
  if (s < 86400 * 365) return ago(s / (86400 * 30), "month");
  return ago(s / (86400 * 365), "year");
}

ordered_json or_null(const std::string& s) {
  return s.empty() ? ordered_json(nullptr) : ordered_json(s);
}

ordered_json source_json(const std::optional<runtime::ModelSource>& s) {
  if (!s) return nullptr;
  return {{"repo", s->repo},
          {"file", s->file},
          {"revision", s->revision},
          {"url", s->url},
          {"sha256", or_null(s->sha256)},
          {"verified", s->verified},
          {"pulled_at", or_null(s->pulled_at)}};
}

ordered_json models_json(const runtime::ModelStore& store,
                         const std::vector<runtime::ModelEntry>& models,
                         const std::vector<runtime::PartialDownload>& partials) {
  ordered_json list = ordered_json::array();
  for (const auto& m : models) {
    const bool read = !m.architecture.empty();
    list.push_back({{"name", m.name},
                    {"path", m.path.string()},
                    {"size_bytes", m.size},
                    {"modified", iso_time(m.modified)},
                    {"status", runtime::model_status_name(m.status)},
                    {"reason", or_null(m.reason)},
                    {"architecture", or_null(m.architecture)},
                    {"kind", read ? ordered_json(kind_name(m.kind)) : ordered_json(nullptr)},
                    {"parameters", read ? ordered_json(m.parameters) : ordered_json(nullptr)},
                    {"quantization", or_null(m.quantization)},
                    {"context_length",
                     m.context_length > 0 ? ordered_json(m.context_length) : ordered_json(nullptr)},
                    {"source", source_json(m.source)}});
  }
  ordered_json downloads = ordered_json::array();
  for (const auto& p : partials) {
    downloads.push_back({{"name", p.name},
                         {"path", p.path.string()},
                         {"bytes", p.bytes},
                         {"source", source_json(p.source)}});
  }
  return {{"schema", "tessera.models.v1"},
          {"directory", store.dir().string()},
          {"models", list},
          {"partial_downloads", downloads}};
}

void print_table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width(rows[0].size(), 0);
  for (const auto& r : rows) {
    for (size_t i = 0; i < r.size(); ++i) width[i] = std::max(width[i], r[i].size());
  }
  for (const auto& r : rows) {
    std::string line;
    for (size_t i = 0; i < r.size(); ++i) {
      line += r[i];
      if (i + 1 < r.size()) line.append(width[i] - r[i].size() + 3, ' ');
    }
    std::printf("%s\n", line.c_str());
  }
}

void print_text(const runtime::ModelStore& store, const std::vector<runtime::ModelEntry>& models,
                const std::vector<runtime::PartialDownload>& partials) {
  if (models.empty()) {
    std::printf("no models in %s; `tessera pull REPO[:FILE]` downloads one\n",
                store.dir().string().c_str());
  } else {
    std::vector<std::vector<std::string>> rows = {
        {"NAME", "SIZE", "MODIFIED", "ARCH", "PARAMS", "QUANT", "STATUS"}};
    for (const auto& m : models) {
      const bool read = !m.architecture.empty();
      rows.push_back({m.name, human_bytes(m.size), age(m.modified), read ? m.architecture : "-",
                      m.parameters > 0 ? human_count(m.parameters) : "-",
                      m.quantization.empty() ? "-" : m.quantization,
                      runtime::model_status_name(m.status)});
    }
    print_table(rows);
    for (const auto& m : models) {
      if (m.status == runtime::ModelStatus::ok) continue;
      std::printf("%s is %s: %s\n", m.name.c_str(), runtime::model_status_name(m.status),
                  m.reason.c_str());
    }
  }
  if (!partials.empty()) {
    std::printf(
        "\nunfinished downloads (run the same `tessera pull` to resume, or "
        "`tessera models rm NAME` to delete):\n");
    for (const auto& p : partials) {
      std::string from;
      if (p.source) from = " of " + p.source->repo + ":" + p.source->file;
      std::printf("  %s  %s%s\n", p.name.c_str(), human_bytes(p.bytes).c_str(), from.c_str());
    }
  }
}

Result<runtime::ModelStore> open_store(const std::optional<std::string>& data_dir) {
  TESSERA_TRY_ASSIGN(dir, runtime::resolve_data_dir(data_dir));
  return runtime::ModelStore(dir.models());
}

Status run_list(const ModelsArgs& a) {
  TESSERA_TRY_ASSIGN(store, open_store(a.data_dir));
  TESSERA_TRY_ASSIGN(models, store.list());
  TESSERA_TRY_ASSIGN(partials, store.partial_downloads());
  if (a.json) {
    std::printf("%s\n", models_json(store, models, partials).dump(2).c_str());
  } else {
    print_text(store, models, partials);
  }
  return {};
}

Status run_rm(const ModelsArgs& a) {
  TESSERA_TRY_ASSIGN(store, open_store(a.data_dir));
  TESSERA_TRY_ASSIGN(removed, store.remove(a.rm_name));
  std::string what;
  if (removed.model) what = "deleted " + a.rm_name;
  if (removed.partial) {
    what += removed.model ? " and its unfinished download"
                          : "deleted the unfinished download of " + a.rm_name;
  }
  std::printf("%s (%s freed)\n", what.c_str(), human_bytes(removed.bytes).c_str());
  return {};
}

}  // namespace

Runner add_models_command(CLI::App& app) {
  auto a = std::make_shared<ModelsArgs>();
  CLI::App* cmd = app.add_subcommand("models", "List the models of the data directory");
  cmd->add_flag("--json", a->json, "Print JSON (schema in docs/cli.md)");
  cmd->add_option("--data-dir", a->data_dir,
                  "Data directory (default: $TESSERA_DATA_DIR, $XDG_DATA_HOME/tessera or "
                  "~/.local/share/tessera)");
  a->rm = cmd->add_subcommand("rm", "Delete a model (and any unfinished download of it)");
  a->rm->add_option("name", a->rm_name, "The model's name (as `tessera models` lists it)")
      ->required();
  a->rm->add_option("--data-dir", a->data_dir, "Data directory (as for `tessera models`)");
  return [a] { return a->rm->parsed() ? run_rm(*a) : run_list(*a); };
}

}  // namespace tessera::cli
