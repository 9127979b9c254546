// Request bodies of the OpenAI-compatible API, parsed and validated into plain structs:
// /v1/chat/completions, /v1/completions, /v1/embeddings and /v1/rerank (Jina/Cohere shape, as
// llama.cpp serves it). No HTTP and no model here: the route handlers call these with the
// body, then resolve the model and check what needs it (the context length, the vocabulary).
//
// Every failure is an ApiError with status 400, type invalid_request_error, `param` naming
// the field path (`messages[2].content`, `stop[1]`) and a message saying what was expected.
// Malformed JSON names the byte offset. Unknown fields are ignored; a field set to null counts
// as absent. Body size limits are the server's (Content-Length); nesting depth and array
// lengths are bounded here (the kMax* constants below).
//
// Pure functions; safe from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "engine/sampling/sampling_params.h"
#include "server/api_error.h"

namespace tessera::server {

inline constexpr int kMaxJsonDepth = 64;               // objects and arrays nested
inline constexpr size_t kMaxChatMessages = 10'000;     // messages of one chat
inline constexpr size_t kMaxContentParts = 10'000;     // parts of one message's content
inline constexpr size_t kMaxStopStrings = 4;           // OpenAI's limit
inline constexpr size_t kMaxEmbeddingInputs = 2'048;   // OpenAI's limit
inline constexpr size_t kMaxRerankDocuments = 10'000;  // documents of one rerank
inline constexpr size_t kMaxLogitBiasEntries = 1'024;  // logit_bias keys
inline constexpr int32_t kMaxTopLogprobs = 20;         // OpenAI's limit

// A value or the error the API returns for it.
template <class T>
class ApiResult {
 public:
  ApiResult(T value) : v_(std::move(value)) {}         // NOLINT: implicit by design
  ApiResult(ApiError error) : v_(std::move(error)) {}  // NOLINT: implicit by design

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() { return std::get<0>(v_); }
  const T& value() const { return std::get<0>(v_); }
  const ApiError& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, ApiError> v_;
};

// Fields shared by chat and text completions.
struct GenerationOptions {
  // temperature, top_p, top_k, min_p, repeat_penalty (repetition_penalty), presence and
  // frequency penalties, seed, max_tokens (-1 when not given), logit_bias, stop, and n_probs
  // (top_logprobs / logprobs) as the request set them; the rest at their defaults.
  engine::SamplingParams sampling;
  bool seed_given = false;  // false: the server picks a random seed
  bool stream = false;
  bool include_usage = false;  // stream_options.include_usage
  std::string user;
};

// POST /v1/chat/completions.
struct ChatRequest {
  std::string model;
  // The messages, validated: objects whose role is system, user, assistant, tool or developer
  // and whose content is a string (an array of text parts is joined with "\n"; null or absent
  // only for an assistant message). Other keys (name, tool_calls, tool_call_id,
  // reasoning_content) are kept as given, for the chat template.
  nlohmann::ordered_json messages = nlohmann::ordered_json::array();
  nlohmann::ordered_json tools;        // null, or the request's array, as given
  nlohmann::ordered_json tool_choice;  // null, or as given
  GenerationOptions options;
  bool logprobs = false;  // report the chosen tokens' log-probabilities
  // top_logprobs (0..20, only with logprobs) is options.sampling.n_probs.
};

// POST /v1/completions.
struct CompletionRequest {
  std::string model;
  std::string prompt;  // a string, or an array holding one string
  GenerationOptions options;
  // logprobs (an integer 0..20: that many alternatives per token) is options.sampling.n_probs;
  // logprobs_given says whether the field was there at all (0 still reports the chosen
  // tokens' log-probabilities).
  bool logprobs_given = false;
};

enum class EmbeddingEncoding { float_array, base64 };

// POST /v1/embeddings.
struct EmbeddingsRequest {
  std::string model;
  std::vector<std::string> input;  // a string becomes one input; not empty strings
  EmbeddingEncoding encoding = EmbeddingEncoding::float_array;
  std::optional<int32_t> dimensions;  // as given (>= 1); the handler checks it against the model
  std::string user;
};

// POST /v1/rerank (also /rerank, /v1/reranking).
struct RerankRequest {
  std::string model;
  std::string query;
  std::vector<std::string> documents;  // strings, or objects {text}
  std::optional<int32_t> top_n;        // >= 1; absent: all of them
  bool return_documents = false;
};

ApiResult<ChatRequest> parse_chat_request(std::string_view body);
ApiResult<CompletionRequest> parse_completion_request(std::string_view body);
ApiResult<EmbeddingsRequest> parse_embeddings_request(std::string_view body);
ApiResult<RerankRequest> parse_rerank_request(std::string_view body);

// For the handler once the prompt is tokenized: max_tokens (-1 = to the end of the context)
// must leave room in a context of n_ctx tokens after prompt_tokens. 400 (param max_tokens,
// or messages / prompt when the prompt alone fills the context) or nullopt.
std::optional<ApiError> check_fits_context(int64_t prompt_tokens, int32_t max_tokens, int64_t n_ctx,
                                           const char* prompt_param);

}  // namespace tessera::server
