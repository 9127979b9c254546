// `tessera pull REPO[:FILE]`: downloads a GGUF model from Hugging Face (or a server with its
// URL layout) into the data directory's model store (runtime/pull.h).
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>

#include "cli/commands.h"
#include "cli/progress_bar.h"
#include "runtime/data_dir.h"
#include "runtime/pull.h"

namespace tessera::cli {
namespace {

struct PullArgs {
  std::string ref;
  std::optional<std::string> name;
  std::string revision = "main";
  std::optional<std::string> base_url;
  std::optional<std::string> data_dir;
  double timeout_s = 0;  // 0: the defaults (10 s to connect, 60 s for data)
};

Result<std::string> token_from_env() {
  const char* t = std::getenv("HF_TOKEN");
  if (t == nullptr) return std::string();
  const std::string token = t;
  for (char c : token) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x21 || u > 0x7e) {
      return make_error(ErrorCode::invalid_argument,
                        "HF_TOKEN holds a space, line break or other character a token cannot "
                        "have (its value is not shown)");
    }
  }
  return token;
}

void print_result(const runtime::PullResult& r) {
  const auto& e = r.entry;
  if (r.up_to_date) {
    std::printf("%s is up to date (%s, sha256 %s matches the server's)\n", r.name.c_str(),
                human_bytes(r.bytes).c_str(), r.sha256.c_str());
  } else {
    std::printf("pulled %s (%s) from %s:%s", r.name.c_str(), human_bytes(r.bytes).c_str(),
                r.repo.c_str(), r.file.c_str());
    if (r.resumed_from > 0) std::printf(", resumed at %s", human_bytes(r.resumed_from).c_str());
    std::printf("\n");
    if (r.published_sha256.empty()) {
      std::printf("  sha256 %s: NOT verified, the server published no hash for this file\n",
                  r.sha256.c_str());
    } else {
      std::printf("  sha256 %s: verified\n", r.sha256.c_str());
    }
  }
  if (!e.architecture.empty()) {
    std::printf("  %s, %s parameters%s%s\n", e.architecture.c_str(),
                human_count(e.parameters).c_str(), e.quantization.empty() ? "" : ", ",
                e.quantization.c_str());
  }
  if (e.status != runtime::ModelStatus::ok) {
    std::printf("  %s: %s\n", runtime::model_status_name(e.status), e.reason.c_str());
  }
  std::printf("  %s\n", r.path.string().c_str());
}

Status run_pull(const PullArgs& a) {
  TESSERA_TRY_ASSIGN(ref, runtime::parse_pull_ref(a.ref));
  TESSERA_TRY_ASSIGN(dir, runtime::resolve_data_dir(a.data_dir));
  runtime::PullOptions o;
  TESSERA_TRY_ASSIGN(base, runtime::hub_base_url(a.base_url));
  o.base_url = base;
  o.revision = a.revision;
  if (a.name) {
    if (a.name->empty()) return make_error(ErrorCode::invalid_argument, "--name is empty");
    o.name = *a.name;
  }
  TESSERA_TRY_ASSIGN(token, token_from_env());
  o.http.bearer_token = token;
  o.http.user_agent = std::string("tessera/") + TESSERA_VERSION;
  if (a.timeout_s > 0) {
    const auto ms = std::chrono::milliseconds(static_cast<int64_t>(std::ceil(a.timeout_s * 1000)));
    o.http.connect_timeout = ms;
    o.http.read_timeout = ms;
  }
  ProgressBar bar(stderr, isatty(STDERR_FILENO) != 0);
  o.on_event = [&bar](const runtime::PullEvent& ev) {
    switch (ev.stage) {
      case runtime::PullStage::choosing:
      case runtime::PullStage::note:
        bar.note("tessera: " + ev.message);
        break;
      case runtime::PullStage::downloading:
        bar.start("pulling " + ev.message, ev.done, ev.total);
        break;
      case runtime::PullStage::progress:
        bar.update(ev.done, ev.total);
        break;
      case runtime::PullStage::verifying:
        if (ev.done == 0) {
          bar.finish();
          bar.start("verifying sha256", 0, ev.total);
        } else {
          bar.update(ev.done, ev.total);
        }
        break;
    }
  };
  const runtime::ModelStore store(dir.models());
  auto result = runtime::pull_model(store, ref, o);
  bar.finish();
  if (!result.ok()) return result.error();
  print_result(*result);
  return {};
}

}  // namespace

Runner add_pull_command(CLI::App& app) {
  auto a = std::make_shared<PullArgs>();
  CLI::App* cmd =
      app.add_subcommand("pull", "Download a GGUF model from Hugging Face into the data directory");
  cmd->add_option("model", a->ref,
                  "REPO, REPO:FILE.gguf or REPO:TAG (e.g. "
                  "Qwen/Qwen2.5-0.5B-Instruct-GGUF:qwen2.5-0.5b-instruct-q4_k_m.gguf, "
                  "or REPO:Q4_K_M)")
      ->required();
  cmd->add_option("--name", a->name, "The model's name in the store (default: the file's stem)");
  cmd->add_option("--revision", a->revision, "Branch, tag or commit (default main)");
  cmd->add_option("--base-url", a->base_url,
                  "The server (default: $HF_ENDPOINT, else https://huggingface.co)");
  cmd->add_option("--data-dir", a->data_dir,
                  "Data directory (default: $TESSERA_DATA_DIR, $XDG_DATA_HOME/tessera or "
                  "~/.local/share/tessera)");
  cmd->add_option("--timeout", a->timeout_s,
                  "Seconds to wait for a connection or for more data (default 10 to connect, "
                  "60 for data)")
      ->check(CLI::Range(0.001, 86400.0));
  return [a] { return run_pull(*a); };
}

}  // namespace tessera::cli
