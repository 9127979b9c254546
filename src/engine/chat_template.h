// Chat templates: turning a conversation (messages, tools) into the prompt text a model was
// trained on, with the Jinja2 template the model ships in its GGUF file
// (tokenizer.chat_template) or one given by the user. Rendering follows Hugging Face's
// apply_chat_template: trim_blocks and lstrip_blocks on, loop controls, the variables
// messages / tools / add_generation_prompt / bos_token / eos_token, and the globals
// raise_exception and strftime_now.
//
// A ChatTemplate is immutable after construction; render() may be called from many threads.
#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "jinja/template.h"
#include "util/result.h"

namespace tessera::gguf {
class GgufFile;
}

namespace tessera::engine {

struct ChatTemplateInput {
  nlohmann::ordered_json messages = nlohmann::ordered_json::array();  // [{role, content...}]
  nlohmann::ordered_json tools;  // null: no `tools` variable; else an array of tool specs
  bool add_generation_prompt = true;
  // Further variables (e.g. enable_thinking, or bos_token to override the file's); they
  // replace the defaults of the same name.
  nlohmann::ordered_json extra_vars = nlohmann::ordered_json::object();
  // The time strftime_now() formats (local time); the system clock when unset.
  std::optional<std::chrono::system_clock::time_point> now;
};

class ChatTemplate {
 public:
  // The file's tokenizer.chat_template (name empty) or tokenizer.chat_template.<name>, with
  // bos_token / eos_token set to the text of the file's BOS / EOS tokens. not_found when the
  // file has no such template; malformed when it does not parse (line and column given).
  static Result<ChatTemplate> from_gguf(const gguf::GgufFile& file, std::string_view name = "");

  // A template given as text. bos_token / eos_token are left undefined unless given.
  static Result<ChatTemplate> from_source(std::string_view source, std::string origin,
                                          std::optional<std::string> bos_token = std::nullopt,
                                          std::optional<std::string> eos_token = std::nullopt);

  // invalid_argument when messages is not an array of objects or tools is neither null nor an
  // array; otherwise the template's own errors (raise_exception messages, type errors, the
  // output and work limits of jinja::Options).
  Result<std::string> render(const ChatTemplateInput& input) const;

  const std::string& origin() const { return origin_; }

 private:
  std::optional<jinja::Template> parsed_;  // a copy shares the parsed template
  std::string origin_;
  std::optional<std::string> bos_token_;
  std::optional<std::string> eos_token_;
};

}  // namespace tessera::engine
