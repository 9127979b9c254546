// The `tessera` command's subcommands. Each registers its options on the given parent and
// runs through the returned callback; errors come back as values and main() maps them to
// exit codes and messages in one place (cli/main.cpp).
#pragma once

#include <functional>

#include "util/result.h"

namespace CLI {
class App;
}

namespace tessera::cli {

using Runner = std::function<Status()>;

// For a command that ends normally with another exit code than 0 (tessera doctor: 1 = it would
// fall back to the CPU); main() returns it when the runner succeeds.
void set_exit_code(int code);

// `tessera model info FILE [--ctx N] [--parallel N] [--kv-type T] [--json]`
Runner add_model_info_command(CLI::App& model);
// `tessera model synth --shape NAME [--arch A] --type T --vocab FILE --out FILE ...`
Runner add_model_synth_command(CLI::App& model);

// `tessera tokenize --model FILE [--no-special] [--json] (TEXT | --file F)`
Runner add_tokenize_command(CLI::App& app);
// `tessera template (--model FILE | --template FILE) --messages JSON [--tools JSON] ...`
Runner add_template_command(CLI::App& app);

// `tessera run --model FILE (--prompt TEXT | --chat JSON | interactive) [-n N] ...`
Runner add_run_command(CLI::App& app);

// `tessera embed --model FILE [--pooling P] [--json] (TEXT... | --file F)`
Runner add_embed_command(CLI::App& app);
// `tessera rerank --model FILE --query Q [--sigmoid] [--json] (DOC... | --file F)`
Runner add_rerank_command(CLI::App& app);

// `tessera doctor [--json] [--root DIR]`
Runner add_doctor_command(CLI::App& app);
// `tessera gpu ls [--json]`
Runner add_gpu_command(CLI::App& app);
// `tessera gpu plan --gpu NAME --model FILE[:CTX[:PARALLEL]]... [--gpus N] [--json]`, under the
// `gpu` command add_gpu_command made.
Runner add_gpu_plan_command(CLI::App& gpu);

// `tessera serve [--host H] [--port P] [--data DIR] [--config FILE] [--api-key K]...`
Runner add_serve_command(CLI::App& app);
// `tessera scheduler check [--config FILE] [--json]`
Runner add_scheduler_command(CLI::App& app);
// `tessera ps [--json] [--data-dir DIR]`
Runner add_ps_command(CLI::App& app);
// `tessera models [--json] [--data-dir DIR]` and `tessera models rm NAME`
Runner add_models_command(CLI::App& app);
// `tessera pull REPO[:FILE] [--name N] [--revision R] [--base-url URL] [--data-dir DIR]`
Runner add_pull_command(CLI::App& app);

// `tessera bench (--model FILE [-p N] [-n N] [-r N] | --bandwidth) [-t N] [--json]`
Runner add_bench_command(CLI::App& app);

// Formats a byte count for people: "1.23 GiB", "512 B".
std::string human_bytes(uint64_t bytes);
// Formats a count for people: "494.03 M", "7.50 B", "1234".
std::string human_count(uint64_t n);

}  // namespace tessera::cli
