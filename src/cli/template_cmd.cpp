// `tessera template`: the exact prompt a chat template renders for a conversation.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <ctime>
#include <memory>
#include <string>
#include <vector>

#include "cli/cli_input.h"
#include "cli/commands.h"
#include "engine/chat_template.h"
#include "gguf/reader.h"

namespace tessera::cli {
namespace {

using nlohmann::ordered_json;

struct TemplateArgs {
  std::string model;
  std::string template_file;
  std::string messages;
  std::string tools;
  bool no_generation_prompt = false;
  std::vector<std::string> vars;
  std::string now;
};

// "YYYY-MM-DDTHH:MM[:SS][Z|+HH:MM|-HH:MM]" (a space may replace the T). Without a zone the
// time is local, as strftime_now prints local time.
Result<std::chrono::system_clock::time_point> parse_iso_time(const std::string& s) {
  std::tm tm{};
  int consumed = 0;
  int sec = 0;
  char sep = 0;
  const int n = std::sscanf(s.c_str(), "%4d-%2d-%2d%c%2d:%2d%n", &tm.tm_year, &tm.tm_mon,
                            &tm.tm_mday, &sep, &tm.tm_hour, &tm.tm_min, &consumed);
  auto bad = [&] {
    return make_error(ErrorCode::invalid_argument,
                      "--now: '" + s + "' is not an ISO time like 2026-11-21T08:30:00[Z]");
  };
  if (n != 6 || (sep != 'T' && sep != ' ')) return bad();
  std::string rest = s.substr(static_cast<size_t>(consumed));
  if (rest.size() >= 3 && rest[0] == ':') {
    if (std::sscanf(rest.c_str(), ":%2d", &sec) != 1) return bad();
    rest = rest.substr(3);
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  tm.tm_sec = sec;
  if (tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 ||
      tm.tm_min > 59 || sec > 60) {
    return bad();
  }
  std::time_t t = 0;
  if (rest.empty()) {
    tm.tm_isdst = -1;
    t = std::mktime(&tm);
  } else if (rest == "Z") {
    t = timegm(&tm);
  } else {
    int oh = 0;
    int om = 0;
    char sign = 0;
    if (std::sscanf(rest.c_str(), "%c%2d:%2d", &sign, &oh, &om) != 3 ||
        (sign != '+' && sign != '-') || rest.size() != 6) {
      return bad();
    }
    const int offset = (oh * 60 + om) * 60;
    t = timegm(&tm) - (sign == '+' ? offset : -offset);
  }
  return std::chrono::system_clock::from_time_t(t);
}

// NAME=VALUE: VALUE is JSON when it parses as JSON (true, 3, {"a": 1}, "quoted"), else the
// plain string.
Result<std::pair<std::string, ordered_json>> parse_var(const std::string& arg) {
  const size_t eq = arg.find('=');
  if (eq == std::string::npos || eq == 0) {
    return make_error(ErrorCode::invalid_argument,
                      "--var: '" + arg + "' is not NAME=VALUE (e.g. --var bos_token='<s>')");
  }
  const std::string value = arg.substr(eq + 1);
  ordered_json v = ordered_json::parse(value, nullptr, false);
  if (v.is_discarded()) v = value;
  return std::make_pair(arg.substr(0, eq), std::move(v));
}

Status run_template(const TemplateArgs& a) {
  if (a.model.empty() == a.template_file.empty()) {
    return make_error(ErrorCode::invalid_argument,
                      "template needs exactly one of --model FILE or --template FILE");
  }
  engine::ChatTemplateInput input;
  auto messages = parse_json_arg("--messages", a.messages);
  if (!messages.ok()) return messages.error();
  input.messages = std::move(messages).value();
  if (!a.tools.empty()) {
    auto tools = parse_json_arg("--tools", a.tools);
    if (!tools.ok()) return tools.error();
    input.tools = std::move(tools).value();
  }
  input.add_generation_prompt = !a.no_generation_prompt;
  for (const std::string& v : a.vars) {
    auto var = parse_var(v);
    if (!var.ok()) return var.error();
    input.extra_vars[var->first] = var->second;
  }
  if (!a.now.empty()) {
    auto now = parse_iso_time(a.now);
    if (!now.ok()) return now.error();
    input.now = *now;
  }
  Result<engine::ChatTemplate> tmpl = make_error(ErrorCode::invalid_argument, "");
  if (!a.model.empty()) {
    auto file = gguf::GgufFile::open(a.model);
    if (!file.ok()) return file.error();
    tmpl = engine::ChatTemplate::from_gguf(*file);
  } else {
    auto source = read_file_bytes(a.template_file);
    if (!source.ok()) return source.error();
    tmpl = engine::ChatTemplate::from_source(*source, a.template_file);
  }
  if (!tmpl.ok()) return tmpl.error();
  auto text = tmpl->render(input);
  if (!text.ok()) return text.error();
  std::fwrite(text->data(), 1, text->size(), stdout);
  return {};
}

}  // namespace

Runner add_template_command(CLI::App& app) {
  auto args = std::make_shared<TemplateArgs>();
  CLI::App* cmd =
      app.add_subcommand("template", "Render a conversation with a model's chat template");
  cmd->add_option("--model", args->model, "GGUF model whose tokenizer.chat_template is used");
  cmd->add_option("--template", args->template_file, "Jinja2 chat template file");
  cmd->add_option("--messages", args->messages,
                  R"(Messages as JSON ([{"role": "user", "content": "Hi"}]) or @FILE)")
      ->required();
  cmd->add_option("--tools", args->tools, "Tool specs as a JSON array or @FILE");
  cmd->add_flag("--no-generation-prompt", args->no_generation_prompt,
                "Do not open an assistant turn at the end (add_generation_prompt=false)");
  cmd->add_option("--var", args->vars,
                  "Extra variable NAME=VALUE (VALUE as JSON when it parses, else a string); "
                  "repeatable")
      ->take_all();
  cmd->add_option("--now", args->now, "Fix the time strftime_now() sees (ISO time)");
  return [args] { return run_template(*args); };
}

}  // namespace tessera::cli
