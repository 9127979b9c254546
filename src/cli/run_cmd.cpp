// `tessera run`: generate text with a GGUF model, streamed as it is generated.
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/cli_input.h"
#include "cli/commands.h"
#include "cli/generate.h"
#include "engine/chat_prompt.h"

namespace tessera::cli {
namespace {

using nlohmann::ordered_json;

struct RunArgs {
  std::string model;
  std::string prompt;
  std::string prompt_file;
  std::string chat;
  bool has_prompt = false;
  engine::SamplingParams sampling;
  bool has_seed = false;
  int64_t n_ctx = 0;
  int n_threads = 0;
  int top_logits = 0;
  bool json = false;
  bool parse_special = false;
};

std::atomic<bool> g_interrupted{false};

void on_sigint(int) {
  g_interrupted.store(true);
}

// Ctrl-C stops the generation in progress instead of killing the process.
void install_sigint_handler() {
  struct sigaction sa {};
  sa.sa_handler = on_sigint;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sigaction(SIGINT, &sa, nullptr);
}

ordered_json result_json(const std::vector<engine::TokenId>& prompt, const GenerateResult& r,
                         uint64_t seed) {
  ordered_json j;
  j["prompt_tokens"] = prompt;
  j["tokens"] = r.tokens;
  j["text"] = r.text;
  j["finish_reason"] = r.finish_reason;
  j["seed"] = seed;
  if (!r.top_logits.empty()) {
    ordered_json top = ordered_json::array();
    for (const auto& [id, logit] : r.top_logits) top.push_back({{"id", id}, {"logit", logit}});
    j["top_logits"] = top;
  }
  j["timings"] = {{"prompt_ms", r.prompt_ms}, {"generate_ms", r.generate_ms}};
  return j;
}

void print_stats(size_t n_prompt, const GenerateResult& r) {
  auto rate = [](size_t n, int64_t ms) {
    return ms > 0 ? 1000.0 * static_cast<double>(n) / static_cast<double>(ms) : 0.0;
  };
  std::fprintf(stderr,
               "\n[prompt %zu tokens, %lld ms (%.1f tokens/s); generated %zu tokens, %lld ms (%.1f "
               "tokens/s); %s]\n",
               n_prompt, static_cast<long long>(r.prompt_ms), rate(n_prompt, r.prompt_ms),
               r.tokens.size(), static_cast<long long>(r.generate_ms),
               rate(r.tokens.size(), r.generate_ms), r.finish_reason.c_str());
}

// Runs one generation and prints it (streamed text, or JSON at the end).
Result<GenerateResult> run_one(engine::LlmContext& ctx, const RunArgs& a,
                               std::vector<engine::TokenId> prompt) {
  GenerateRequest req;
  req.prompt = std::move(prompt);
  req.sampling = a.sampling;
  req.top_logits = a.top_logits;
  req.interrupted = &g_interrupted;
  if (!a.json) {
    req.on_text = [](std::string_view text) {
      std::fwrite(text.data(), 1, text.size(), stdout);
      std::fflush(stdout);
    };
  }
  g_interrupted.store(false);
  auto r = generate(ctx, req);
  if (!r.ok()) return r;
  if (a.json) {
    std::printf("%s\n", result_json(req.prompt, *r, a.sampling.seed)
                            .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
                            .c_str());
  } else {
    print_stats(req.prompt.size(), *r);
  }
  return r;
}

Result<std::vector<engine::TokenId>> chat_tokens(const engine::LlmModel& model,
                                                 const ordered_json& messages) {
  auto tmpl = engine::ChatTemplate::from_gguf(model.file());
  if (!tmpl.ok()) {
    return make_error(tmpl.error().code, tmpl.error().message + "; or use --prompt for plain text");
  }
  engine::ChatTemplateInput in;
  in.messages = messages;
  auto p = engine::build_chat_prompt(model.tokenizer(), *tmpl, in);
  if (!p.ok()) return p.error();
  return std::move(p->tokens);
}

// Reads lines from stdin: a conversation when the model has a chat template, else one plain
// prompt per line. Ctrl-C stops an answer; Ctrl-D ends.
Status interactive(engine::LlmContext& ctx, const RunArgs& a) {
  const engine::LlmModel& model = ctx.model();
  const bool chat = model.file().find("tokenizer.chat_template") != nullptr;
  ordered_json messages = ordered_json::array();
  std::fprintf(stderr, "%s mode; Ctrl-C stops an answer, Ctrl-D quits.\n",
               chat ? "chat" : "completion");
  std::string line;
  while (true) {
    if (isatty(STDIN_FILENO)) std::fprintf(stderr, "> ");
    if (!std::getline(std::cin, line)) break;
    if (line.empty()) continue;
    std::vector<engine::TokenId> prompt;
    if (chat) {
      messages.push_back({{"role", "user"}, {"content", line}});
      auto t = chat_tokens(model, messages);
      if (!t.ok()) return t.error();
      prompt = std::move(t).value();
    } else {
      prompt =
          model.tokenizer().encode(line, {.add_special = true, .parse_special = a.parse_special});
    }
    auto r = run_one(ctx, a, std::move(prompt));
    if (!r.ok()) {
      std::fprintf(stderr, "tessera: error: %s\n", r.error().message.c_str());
      if (chat) messages.erase(messages.end() - 1);
      continue;
    }
    if (chat) messages.push_back({{"role", "assistant"}, {"content", r->text}});
  }
  return {};
}

Status run_model(RunArgs& a) {
  if (!a.prompt_file.empty()) {
    if (a.has_prompt) {
      return make_error(ErrorCode::invalid_argument, "give --prompt or --file, not both");
    }
    auto text = read_file_bytes(a.prompt_file);
    if (!text.ok()) return text.error();
    a.prompt = std::move(text).value();
    a.has_prompt = true;
  }
  if (a.has_prompt && !a.chat.empty()) {
    return make_error(ErrorCode::invalid_argument, "give --prompt (or --file) or --chat, not both");
  }
  if (!a.has_seed) {
    a.sampling.seed =
        static_cast<uint64_t>(std::chrono::system_clock::now().time_since_epoch().count());
  }
  engine::LoadOptions lo;
  lo.n_threads = a.n_threads;
  auto model = engine::LlmModel::load(a.model, lo);
  if (!model.ok()) return model.error();
  TESSERA_TRY(engine::validate_sampling_params(a.sampling, (*model)->tokenizer().vocab_size()));
  engine::ContextOptions co;
  co.n_ctx = a.n_ctx;
  co.n_threads = a.n_threads;
  auto ctx = engine::LlmContext::create(*model, co);
  if (!ctx.ok()) return ctx.error();
  install_sigint_handler();
  if (!a.has_prompt && a.chat.empty()) return interactive(**ctx, a);

  std::vector<engine::TokenId> prompt;
  if (a.has_prompt) {
    prompt = (*model)->tokenizer().encode(a.prompt,
                                          {.add_special = true, .parse_special = a.parse_special});
  } else {
    auto messages = parse_json_arg("--chat", a.chat);
    if (!messages.ok()) return messages.error();
    auto t = chat_tokens(**model, *messages);
    if (!t.ok()) return t.error();
    prompt = std::move(t).value();
  }
  auto r = run_one(**ctx, a, std::move(prompt));
  if (!r.ok()) return r.error();
  return {};
}

}  // namespace

Runner add_run_command(CLI::App& app) {
  auto a = std::make_shared<RunArgs>();
  auto& s = a->sampling;
  s.temperature = 0.8f;
  s.top_k = 40;
  s.top_p = 0.95f;
  s.min_p = 0.05f;
  CLI::App* cmd = app.add_subcommand("run", "Generate text with a GGUF model");
  cmd->add_option("--model,-m", a->model, "GGUF model file")->required();
  CLI::Option* prompt =
      cmd->add_option("--prompt,-p", a->prompt, "Text to continue (BOS/EOS as the file says)");
  cmd->add_option("--file,-f", a->prompt_file, "Read the --prompt text from a file, byte for byte");
  cmd->add_option("--chat", a->chat,
                  R"(Messages as JSON ([{"role": "user", "content": "Hi"}]) or @FILE, )"
                  "rendered with the model's chat template");
  cmd->add_option("-n,--n-predict", s.max_tokens,
                  "Most tokens to generate (-1: until an end token or the context is full)")
      ->check(CLI::Range(-1, 1 << 30));
  cmd->add_option("--temp", s.temperature, "Temperature (0: greedy; default 0.8)");
  cmd->add_option("--top-k", s.top_k, "Keep the K most likely tokens (0: off; default 40)");
  cmd->add_option("--top-p", s.top_p, "Nucleus sampling (1: off; default 0.95)");
  cmd->add_option("--min-p", s.min_p, "Minimum probability relative to the best (default 0.05)");
  cmd->add_option("--repeat-penalty", s.repetition_penalty, "Repetition penalty (1: off)");
  cmd->add_option("--presence-penalty", s.presence_penalty, "OpenAI presence penalty");
  cmd->add_option("--frequency-penalty", s.frequency_penalty, "OpenAI frequency penalty");
  CLI::Option* seed = cmd->add_option("--seed", s.seed, "Random seed (default: a new one)");
  cmd->add_option("--stop", s.stop, "Stop at this text (repeatable)")->take_all();
  cmd->add_flag("--ignore-eos", s.ignore_eos, "Do not stop at end-of-generation tokens");
  cmd->add_option("--ctx,-c", a->n_ctx, "Context length (default: the model's, at most 4096)")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 31));
  cmd->add_option("--threads,-t", a->n_threads, "Threads (default: one per core)")
      ->check(CLI::Range(0, 1024));
  cmd->add_option("--top-logits", a->top_logits,
                  "Report the K largest logits after the prompt (with --json)")
      ->check(CLI::Range(0, 1 << 20));
  cmd->add_flag("--json", a->json,
                R"(Print {"prompt_tokens", "tokens", "text", "finish_reason", ...} at the end)");
  cmd->add_flag("--parse-special", a->parse_special,
                "Let --prompt text contain control tokens such as <|im_start|> (off: plain text)");
  return [a, prompt, seed] {
    a->has_prompt = prompt->count() > 0;
    a->has_seed = seed->count() > 0;
    return run_model(*a);
  };
}

}  // namespace tessera::cli
