// Binding call arguments to the parameters of builtins, as Python does.
#include "jinja/builtins.h"

namespace tessera::jinja {

Result<std::vector<const Value*>> bind_args(std::string_view function, const CallArgs& args,
                                            std::initializer_list<std::string_view> params,
                                            size_t required) {
  std::vector<const Value*> bound(params.size(), nullptr);
  if (args.positional.size() > params.size()) {
    return type_error(std::string(function) + "() takes at most " + std::to_string(params.size()) +
                      " argument(s) (" + std::to_string(args.positional.size()) + " given)");
  }
  for (size_t i = 0; i < args.positional.size(); ++i) bound[i] = &args.positional[i];
  for (const auto& [name, value] : args.keywords) {
    size_t i = 0;
    for (std::string_view p : params) {
      if (p == name) break;
      ++i;
    }
    if (i == params.size()) {
      return type_error(std::string(function) + "() got an unexpected keyword argument '" + name +
                        "'");
    }
    if (bound[i]) {
      return type_error(std::string(function) + "() got multiple values for argument '" + name +
                        "'");
    }
    bound[i] = &value;
  }
  for (size_t i = 0; i < required; ++i) {
    if (!bound[i]) {
      return type_error(std::string(function) + "() missing required argument '" +
                        std::string(*(params.begin() + i)) + "'");
    }
  }
  return bound;
}

Result<int64_t> int_arg(std::string_view function, const Value* v, int64_t fallback) {
  if (!v || v->is_none()) return fallback;
  if (v->is_integral()) return v->int_value();
  return type_error(std::string(function) + "(): an integer is required, not '" + type_name(*v) +
                    "'");
}

Result<bool> bool_arg(const Value* v, bool fallback) {
  if (!v) return fallback;
  return truthy(*v);
}

Result<std::string> str_arg(std::string_view function, const Value* v, std::string fallback) {
  if (!v || v->is_none()) return fallback;
  if (v->is_string()) return v->str();
  return type_error(std::string(function) + "(): a string is required, not '" + type_name(*v) +
                    "'");
}

}  // namespace tessera::jinja
