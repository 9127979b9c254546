// `tessera model synth`: write a random-weight model of a real model's shape.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "engine/model_synth.h"

namespace tessera::cli {
namespace {

struct SynthArgs {
  engine::SynthOptions options;
  std::string type = "F16";
  std::string fill = "random";
  bool list = false;
};

void list_shapes() {
  std::printf("%-18s %-6s %6s %6s %6s %6s %7s %7s  %s\n", "shape", "arch", "embd", "layers",
              "heads", "kv", "ffn", "ctx", "about");
  for (const auto& p : engine::shape_presets()) {
    const auto& s = p.shape;
    std::printf("%-18s %-6s %6lld %6lld %6lld %6lld %7lld %7lld  %s\n", std::string(p.name).c_str(),
                p.arch.empty() ? "any" : std::string(p.arch).c_str(),
                static_cast<long long>(s.n_embd), static_cast<long long>(s.n_layer),
                static_cast<long long>(s.n_head), static_cast<long long>(s.n_head_kv),
                static_cast<long long>(s.n_ff), static_cast<long long>(s.n_ctx),
                std::string(p.about).c_str());
  }
}

Status run_synth(SynthArgs& a) {
  if (a.list) {
    list_shapes();
    return {};
  }
  auto& o = a.options;
  if (o.shape.empty() || o.vocab_path.empty() || o.out_path.empty()) {
    return make_error(ErrorCode::invalid_argument,
                      "model synth needs --shape, --vocab and --out (see --help; --list shows "
                      "the shapes)");
  }
  const gguf::TensorTypeInfo* type = gguf::tensor_type_by_name(a.type);
  if (type == nullptr) {
    return make_error(ErrorCode::invalid_argument, "unknown tensor type '" + a.type + "'");
  }
  o.type = type->type;
  o.pool_fill = a.fill == "pool";
  o.sparse = a.fill == "none";
  const bool tty = isatty(STDERR_FILENO) != 0;
  if (tty) {
    o.progress = [](std::string_view, uint64_t done, uint64_t total) {
      std::fprintf(stderr, "\r  writing %s of %s   ", human_bytes(done).c_str(),
                   human_bytes(total).c_str());
    };
  }
  const auto start = std::chrono::steady_clock::now();
  auto report = engine::synthesize_model(o);
  if (tty) std::fprintf(stderr, "\n");
  if (!report.ok()) return report.error();
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const auto& s = report->shape;
  std::printf("wrote %s: %s %s, %s parameters, %llu tensors, %s, in %.1f s\n", o.out_path.c_str(),
              s.arch.c_str(), o.shape.c_str(), human_count(report->n_params).c_str(),
              static_cast<unsigned long long>(report->n_tensors),
              human_bytes(report->file_bytes).c_str(), secs);
  if (report->fallback_tensors > 0) {
    std::printf("note: %llu matrices whose rows do not tile %s blocks use a fallback type\n",
                static_cast<unsigned long long>(report->fallback_tensors), type->name);
  }
  return {};
}

}  // namespace

Runner add_model_synth_command(CLI::App& model) {
  auto args = std::make_shared<SynthArgs>();
  auto& o = args->options;
  CLI::App* cmd = model.add_subcommand(
      "synth", "Write a deterministic random-weight model of a real model's shape");
  cmd->add_option("--shape", o.shape, "Model shape (see --list)");
  cmd->add_option("--arch", o.arch, "Architecture: llama, qwen2 or bert (default: the shape's)");
  cmd->add_option("--type", args->type,
                  "Weight type: F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K");
  cmd->add_option("--vocab", o.vocab_path, "GGUF file to copy the tokenizer from");
  cmd->add_option("--out", o.out_path, "Output GGUF file");
  cmd->add_option("--name", o.name, "general.name (default: the shape)");
  cmd->add_option("--seed", o.seed, "Random seed (default 1234)");
  cmd->add_option("--fill", args->fill,
                  "random (default): every value drawn; pool: tiled random blocks, fast, "
                  "for timing only; none: no weights, the data a hole in a sparse file of "
                  "the full size (for capacity planning: model info, gpu plan)")
      ->check(CLI::IsMember({"random", "pool", "none"}));
  cmd->add_option("--threads", o.threads, "Threads (default: one per core)")
      ->check(CLI::Range(0, 1024));
  cmd->add_flag("--list", args->list, "List the known shapes");
  return [args] { return run_synth(*args); };
}

}  // namespace tessera::cli
