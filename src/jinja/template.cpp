#include "jinja/template.h"

#include "jinja/evaluator.h"
#include "jinja/lexer.h"
#include "jinja/parser.h"

namespace tessera::jinja {

Result<Template> Template::parse(std::string_view source, Options options, std::string name) {
  auto impl = std::make_shared<Impl>();
  impl->name = std::move(name);
  impl->source = normalize_source(source);
  impl->options = std::move(options);
  auto tokens = tokenize(impl->source, impl->options, impl->name);
  if (!tokens.ok()) return tokens.error();
  auto body = parse_tokens(*tokens, impl->source, impl->name, impl->options.max_depth);
  if (!body.ok()) return body.error();
  impl->body = std::move(body).value();
  return Template(std::move(impl));
}

Result<std::string> Template::render(const nlohmann::ordered_json& variables) const {
  Evaluator evaluator(*impl_);
  return evaluator.render(variables);
}

Result<std::string> Template::render(const nlohmann::ordered_json& variables,
                                     std::chrono::system_clock::time_point now) const {
  Evaluator evaluator(*impl_, now);
  return evaluator.render(variables);
}

const std::string& Template::name() const {
  return impl_->name;
}

}  // namespace tessera::jinja
