#include "engine/chat_template.h"

#include "gguf/reader.h"

namespace tessera::engine {
namespace {

using nlohmann::ordered_json;

jinja::Options chat_options() {
  jinja::Options o;
  o.trim_blocks = true;
  o.lstrip_blocks = true;
  return o;
}

// Text of the special token whose id is stored under `key`, if the file names one that exists.
std::optional<std::string> special_token_text(const gguf::GgufFile& f, std::string_view key) {
  const gguf::MetaValue* id = f.find(key);
  const gguf::MetaValue* tokens = f.find("tokenizer.ggml.tokens");
  if (id == nullptr || tokens == nullptr || !tokens->is_array() ||
      tokens->array_type() != gguf::MetaType::string) {
    return std::nullopt;
  }
  const std::optional<uint64_t> i = id->as_uint();
  if (!i || *i >= tokens->strings().size()) return std::nullopt;
  return std::string(tokens->strings()[*i]);
}

}  // namespace

Result<ChatTemplate> ChatTemplate::from_gguf(const gguf::GgufFile& file, std::string_view name) {
  const std::string key =
      name.empty() ? "tokenizer.chat_template" : "tokenizer.chat_template." + std::string(name);
  if (file.find(key) == nullptr) {
    return make_error(ErrorCode::not_found,
                      file.name() + ": has no chat template (no key " + key +
                          "); give a template file instead (tessera template --template FILE)");
  }
  auto source = file.get_string(key);
  if (!source.ok()) return source.error();
  return from_source(*source, file.name() + " " + key,
                     special_token_text(file, "tokenizer.ggml.bos_token_id"),
                     special_token_text(file, "tokenizer.ggml.eos_token_id"));
}

Result<ChatTemplate> ChatTemplate::from_source(std::string_view source, std::string origin,
                                               std::optional<std::string> bos_token,
                                               std::optional<std::string> eos_token) {
  // Parse once now so that a broken template is reported when it is loaded, not per request.
  auto parsed = jinja::Template::parse(source, chat_options(), origin);
  if (!parsed.ok()) return parsed.error();
  ChatTemplate t;
  t.parsed_ = std::move(parsed).value();
  t.origin_ = std::move(origin);
  t.bos_token_ = std::move(bos_token);
  t.eos_token_ = std::move(eos_token);
  return t;
}

Result<std::string> ChatTemplate::render(const ChatTemplateInput& input) const {
  if (!input.messages.is_array()) {
    return make_error(ErrorCode::invalid_argument,
                      "messages must be a JSON array of {\"role\": ..., \"content\": ...} objects");
  }
  for (size_t i = 0; i < input.messages.size(); ++i) {
    if (!input.messages[i].is_object()) {
      return make_error(ErrorCode::invalid_argument,
                        "messages[" + std::to_string(i) + "] must be a JSON object, not " +
                            std::string(input.messages[i].type_name()));
    }
  }
  if (!input.tools.is_null() && !input.tools.is_array()) {
    return make_error(ErrorCode::invalid_argument, "tools must be a JSON array of tool specs");
  }
  if (!input.extra_vars.is_object()) {
    return make_error(ErrorCode::invalid_argument, "extra variables must be a JSON object");
  }
  ordered_json vars = ordered_json::object();
  vars["messages"] = input.messages;
  if (!input.tools.is_null()) vars["tools"] = input.tools;
  vars["add_generation_prompt"] = input.add_generation_prompt;
  if (bos_token_) vars["bos_token"] = *bos_token_;
  if (eos_token_) vars["eos_token"] = *eos_token_;
  for (const auto& [k, v] : input.extra_vars.items()) vars[k] = v;

  return input.now ? parsed_->render(vars, *input.now) : parsed_->render(vars);
}

}  // namespace tessera::engine
