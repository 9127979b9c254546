// Response bodies of the OpenAI-compatible API, built from plain values: the model list, chat
// completions (whole and as stream chunks), text completions, embeddings (float arrays or
// base64) and rerank results; and the Server-Sent Events framing of a stream.
//
// The caller passes ids and timestamps in (new_response_id gives a fresh id), so the same
// inputs always give the same JSON. Key order is OpenAI's. A -infinity log-probability is
// written as -9999 (JSON has no infinities). A token's text may end inside a UTF-8 character:
// dump with error_handler_t::replace (sse_event does). Pure functions; safe from any thread.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/sampling/sampling_params.h"
#include "server/openai_request.h"

namespace tessera::server {

using ordered_json = nlohmann::ordered_json;

// "chatcmpl-", "cmpl-", ...: the prefix and 24 random hex digits (a process-wide random
// stream seeded from std::random_device, plus a counter: unique within and across processes).
std::string new_response_id(std::string_view prefix);

struct ModelEntry {
  std::string id;
  int64_t created = 0;  // Unix seconds (the model file's time)
};

// {"object":"list","data":[{"id","object":"model","created","owned_by":"tessera"}]}
ordered_json model_list_json(std::span<const ModelEntry> models);

// What every completion object and chunk carries.
struct ResponseMeta {
  std::string id;
  int64_t created = 0;  // Unix seconds; the same in every chunk of a stream
  std::string model;
};

struct Usage {
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
};

struct TopLogprob {
  std::string token;  // its text (UTF-8 bytes, perhaps a partial character)
  float logprob = 0.0f;
};

// One generated token with its log-probability and the most likely alternatives.
struct TokenLogprob {
  std::string token;
  float logprob = 0.0f;
  std::vector<TopLogprob> top;
};

// {"content":[{token, logprob, bytes, top_logprobs:[{token, logprob, bytes}]}],"refusal":null}
ordered_json chat_logprobs_json(std::span<const TokenLogprob> tokens);

// object "chat.completion", one choice with message {role "assistant", content},
// logprobs (null when `logprobs` is null) and finish_reason, and usage.
ordered_json chat_completion_json(const ResponseMeta& meta, std::string_view content,
                                  engine::FinishReason finish, const Usage& usage,
                                  const std::vector<TokenLogprob>* logprobs = nullptr);

// Stream chunks (object "chat.completion.chunk"), in order: one with the role, content
// deltas, one with finish_reason and an empty delta, then with include_usage one with empty
// choices and the usage. With include_usage every other chunk carries "usage": null.
ordered_json chat_chunk_role_json(const ResponseMeta& meta, bool include_usage);
ordered_json chat_chunk_content_json(const ResponseMeta& meta, std::string_view content,
                                     bool include_usage,
                                     const std::vector<TokenLogprob>* logprobs = nullptr);
ordered_json chat_chunk_finish_json(const ResponseMeta& meta, engine::FinishReason finish,
                                    bool include_usage);
ordered_json chat_chunk_usage_json(const ResponseMeta& meta, const Usage& usage);

// The legacy completions logprobs: {tokens, token_logprobs, top_logprobs:[{token: logprob}],
// text_offset}, offsets counted in bytes from the start of the completion, the first token's
// being `first_offset` (a stream chunk's: the bytes of the tokens before it).
ordered_json completion_logprobs_json(std::span<const TokenLogprob> tokens,
                                      size_t first_offset = 0);

// object "text_completion", one choice {text, index, logprobs, finish_reason}, and usage.
ordered_json text_completion_json(const ResponseMeta& meta, std::string_view text,
                                  engine::FinishReason finish, const Usage& usage,
                                  const std::vector<TokenLogprob>* logprobs = nullptr);
// A stream chunk of a text completion (object "text_completion" too): finish_reason null
// until the last text chunk. With include_usage, "usage" is null here. `text_offset`: the
// bytes of the completion's tokens before this chunk's (its logprobs' first text_offset).
ordered_json text_completion_chunk_json(const ResponseMeta& meta, std::string_view text,
                                        engine::FinishReason finish, bool include_usage,
                                        const std::vector<TokenLogprob>* logprobs = nullptr,
                                        size_t text_offset = 0);
// The closing usage chunk of a text completion stream (empty choices).
ordered_json text_completion_usage_json(const ResponseMeta& meta, const Usage& usage);

// {"object":"list","data":[{"object":"embedding","index","embedding"}],"model","usage"}:
// each vector as an array of numbers or as base64 of its little-endian float32 bytes.
ordered_json embeddings_json(std::string_view model, std::span<const std::vector<float>> vectors,
                             EmbeddingEncoding encoding, int64_t prompt_tokens);

// {"model","object":"list","usage","results":[{"index","relevance_score"[,"document":{text}]}]}
// sorted by score, highest first (ties: lower index first), the first top_n of them (all when
// top_n is empty). scores[i] belongs to documents[i].
ordered_json rerank_json(std::string_view model, std::span<const float> scores,
                         std::span<const std::string> documents, std::optional<int32_t> top_n,
                         bool return_documents, int64_t prompt_tokens);

// "data: <json>\n\n" and "data: [DONE]\n\n".
std::string sse_event(const ordered_json& body);
std::string sse_done();

}  // namespace tessera::server
