// Errors as the HTTP API returns them: an HTTP status and OpenAI's error JSON shape,
//   {"error": {"message": "...", "type": "invalid_request_error", "param": null, "code": null}}
// mapped from Tessera's error codes (util/result.h) in one place.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "util/result.h"

namespace tessera::server {

struct ApiError {
  int status = 500;
  std::string type;     // invalid_request_error, authentication_error, not_found_error, ...
  std::string code;     // "" = null; e.g. "model_not_found", "insufficient_memory"
  std::string param;    // "" = null; the request field at fault
  std::string message;  // what was wrong, where, what to do
  std::optional<int> retry_after;  // seconds, for 429 / 503
};

// invalid_argument, malformed -> 400; not_found -> 404 (model_not_found when about a model);
// unsupported -> 400; out_of_range -> 507 insufficient_memory ("does not fit", "fits nowhere")
// or 400 (a value out of range); unavailable -> 503 with Retry-After; cancelled -> 499;
// io_error -> 500.
ApiError api_error(const Error& e);
ApiError api_error(int status, std::string type, std::string message, std::string param = "",
                   std::string code = "");

// The JSON body of an error.
nlohmann::json error_body(const ApiError& e);

}  // namespace tessera::server
