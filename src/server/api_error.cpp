#include "server/api_error.h"

namespace tessera::server {
namespace {

bool contains(const std::string& s, const char* needle) {
  return s.find(needle) != std::string::npos;
}

}  // namespace

ApiError api_error(int status, std::string type, std::string message, std::string param,
                   std::string code) {
  ApiError e;
  e.status = status;
  e.type = std::move(type);
  e.message = std::move(message);
  e.param = std::move(param);
  e.code = std::move(code);
  return e;
}

ApiError api_error(const Error& e) {
  switch (e.code) {
    case ErrorCode::invalid_argument:
    case ErrorCode::malformed:
    case ErrorCode::unsupported:
      return api_error(400, "invalid_request_error", e.message);
    case ErrorCode::not_found:
      return api_error(404, "not_found_error", e.message, "",
                       contains(e.message, "model") ? "model_not_found" : "");
    case ErrorCode::out_of_range:
      if (contains(e.message, "does not fit") || contains(e.message, "cannot load model") ||
          contains(e.message, "quota")) {
        return api_error(507, "insufficient_memory_error", e.message, "", "insufficient_memory");
      }
      return api_error(400, "invalid_request_error", e.message);
    case ErrorCode::unavailable: {
      ApiError a = api_error(503, "server_busy_error", e.message, "", "server_busy");
      a.retry_after = 1;
      return a;
    }
    case ErrorCode::cancelled:
      return api_error(499, "cancelled_error", e.message);
    case ErrorCode::io_error:
      return api_error(500, "server_error", e.message);
  }
  return api_error(500, "server_error", e.message);
}

nlohmann::json error_body(const ApiError& e) {
  auto or_null = [](const std::string& s) {
    return s.empty() ? nlohmann::json(nullptr) : nlohmann::json(s);
  };
  return {{"error",
           {{"message", e.message},
            {"type", e.type},
            {"param", or_null(e.param)},
            {"code", or_null(e.code)}}}};
}

}  // namespace tessera::server
