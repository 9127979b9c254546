// Entry point of the `tessera` binary: builds the command tree, runs the chosen command, and
// maps its error (if any) to a message on stderr and an exit code.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "cli/commands.h"
#include "runtime/placement.h"

namespace tessera::cli {
namespace {

int g_success_exit_code = 0;  // set_exit_code

// Exit codes, one per error kind (docs/cli.md). 0 = success.
int exit_code(ErrorCode code) {
  switch (code) {
    case ErrorCode::invalid_argument:
      return 2;
    case ErrorCode::not_found:
      return 3;
    case ErrorCode::io_error:
      return 4;
    case ErrorCode::malformed:
      return 5;
    case ErrorCode::unsupported:
      return 6;
    case ErrorCode::out_of_range:
      return 7;
    case ErrorCode::unavailable:
      return 8;
    case ErrorCode::cancelled:
      return 9;
  }
  return 1;
}

}  // namespace

std::string human_bytes(uint64_t bytes) {
  return runtime::format_bytes(bytes);
}

std::string human_count(uint64_t n) {
  char buf[32];
  if (n >= 1000000000ull) {
    std::snprintf(buf, sizeof buf, "%.2f B", static_cast<double>(n) / 1e9);
  } else if (n >= 1000000ull) {
    std::snprintf(buf, sizeof buf, "%.2f M", static_cast<double>(n) / 1e6);
  } else if (n >= 10000ull) {
    std::snprintf(buf, sizeof buf, "%.2f K", static_cast<double>(n) / 1e3);
  } else {
    std::snprintf(buf, sizeof buf, "%llu", static_cast<unsigned long long>(n));
  }
  return buf;
}

void set_exit_code(int code) {
  g_success_exit_code = code;
}

int run(int argc, char** argv) {
  CLI::App app{"Tessera: self-hosted AI apps on your own GPUs, in one binary."};
  app.set_version_flag("--version", std::string("tessera ") + TESSERA_VERSION);
  app.require_subcommand(1);
  CLI::App* model = app.add_subcommand("model", "Inspect and make GGUF model files");
  model->require_subcommand(1);
  // Each leaf command with the callback that runs it.
  std::vector<std::pair<CLI::App*, Runner>> commands;
  Runner runner = add_model_info_command(*model);
  commands.emplace_back(model->get_subcommand("info"), runner);
  runner = add_model_synth_command(*model);
  commands.emplace_back(model->get_subcommand("synth"), runner);
  runner = add_tokenize_command(app);
  commands.emplace_back(app.get_subcommand("tokenize"), runner);
  runner = add_template_command(app);
  commands.emplace_back(app.get_subcommand("template"), runner);
  runner = add_run_command(app);
  commands.emplace_back(app.get_subcommand("run"), runner);
  runner = add_bench_command(app);
  commands.emplace_back(app.get_subcommand("bench"), runner);
  runner = add_embed_command(app);
  commands.emplace_back(app.get_subcommand("embed"), runner);
  runner = add_rerank_command(app);
  commands.emplace_back(app.get_subcommand("rerank"), runner);
  runner = add_doctor_command(app);
  commands.emplace_back(app.get_subcommand("doctor"), runner);
  runner = add_serve_command(app);
  commands.emplace_back(app.get_subcommand("serve"), runner);
  runner = add_scheduler_command(app);
  commands.emplace_back(app.get_subcommand("scheduler")->get_subcommand("check"), runner);
  runner = add_ps_command(app);
  commands.emplace_back(app.get_subcommand("ps"), runner);
  runner = add_models_command(app);
  commands.emplace_back(app.get_subcommand("models"), runner);
  runner = add_pull_command(app);
  commands.emplace_back(app.get_subcommand("pull"), runner);
  runner = add_gpu_command(app);
  commands.emplace_back(app.get_subcommand("gpu")->get_subcommand("ls"), runner);
  runner = add_gpu_plan_command(*app.get_subcommand("gpu"));
  commands.emplace_back(app.get_subcommand("gpu")->get_subcommand("plan"), runner);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);  // prints help, version or the usage error
    return rc == 0 ? 0 : 2;
  }
  Status st = make_error(ErrorCode::invalid_argument, "no command given (see --help)");
  for (const auto& [cmd, run_cmd] : commands) {
    if (cmd->parsed()) st = run_cmd();
  }
  if (st.ok()) return g_success_exit_code;
  std::fprintf(stderr, "tessera: error: %s\n", st.error().message.c_str());
  return exit_code(st.error().code);
}

}  // namespace tessera::cli

int main(int argc, char** argv) {
  return tessera::cli::run(argc, argv);
}
