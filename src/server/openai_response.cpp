#include "server/openai_response.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <mutex>
#include <numeric>
#include <random>

#include "server/base64.h"

namespace tessera::server {
namespace {

constexpr float kLowestLogprob = -9999.0f;  // what OpenAI reports for an impossible token

float finite_logprob(float lp) {
  return std::isfinite(lp) ? lp : kLowestLogprob;
}

ordered_json finish_json(engine::FinishReason finish) {
  if (finish == engine::FinishReason::none) return nullptr;
  return engine::finish_reason_name(finish);
}

ordered_json bytes_json(std::string_view text) {
  ordered_json bytes = ordered_json::array();
  for (const char c : text) bytes.push_back(static_cast<int>(static_cast<unsigned char>(c)));
  return bytes;
}

// The member names every completion object starts with.
ordered_json head(const ResponseMeta& meta, const char* object) {
  ordered_json j;
  j["id"] = meta.id;
  j["object"] = object;
  j["created"] = meta.created;
  j["model"] = meta.model;
  return j;
}

ordered_json usage_json(const Usage& u) {
  ordered_json j;
  j["prompt_tokens"] = u.prompt_tokens;
  j["completion_tokens"] = u.completion_tokens;
  j["total_tokens"] = u.prompt_tokens + u.completion_tokens;
  return j;
}

ordered_json chat_chunk(const ResponseMeta& meta, ordered_json delta, ordered_json logprobs,
                        ordered_json finish, bool include_usage) {
  ordered_json j = head(meta, "chat.completion.chunk");
  ordered_json choice;
  choice["index"] = 0;
  choice["delta"] = std::move(delta);
  choice["logprobs"] = std::move(logprobs);
  choice["finish_reason"] = std::move(finish);
  j["choices"] = ordered_json::array({std::move(choice)});
  if (include_usage) j["usage"] = nullptr;
  return j;
}

ordered_json text_choice(std::string_view text, engine::FinishReason finish,
                         const std::vector<TokenLogprob>* logprobs, size_t text_offset = 0) {
  ordered_json choice;
  choice["text"] = text;
  choice["index"] = 0;
  choice["logprobs"] =
      logprobs ? completion_logprobs_json(*logprobs, text_offset) : ordered_json(nullptr);
  choice["finish_reason"] = finish_json(finish);
  return choice;
}

}  // namespace

std::string new_response_id(std::string_view prefix) {
  static std::mutex mutex;
  static std::mt19937_64 rng{[] {
    std::random_device rd;
    return (uint64_t{rd()} << 32) ^ rd();
  }()};
  static std::atomic<uint64_t> counter{0};
  uint64_t a = 0;
  uint64_t b = 0;
  {
    std::lock_guard lock(mutex);
    a = rng();
    b = rng();
  }
  b ^= counter.fetch_add(1, std::memory_order_relaxed);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%016llx%08llx", static_cast<unsigned long long>(a),
                static_cast<unsigned long long>(b & 0xffffffffull));
  std::string id(prefix);
  id.append(buf);
  return id;
}

ordered_json model_list_json(std::span<const ModelEntry> models) {
  ordered_json data = ordered_json::array();
  for (const ModelEntry& m : models) {
    ordered_json e;
    e["id"] = m.id;
    e["object"] = "model";
    e["created"] = m.created;
    e["owned_by"] = "tessera";
    data.push_back(std::move(e));
  }
  ordered_json j;
  j["object"] = "list";
  j["data"] = std::move(data);
  return j;
}

ordered_json chat_logprobs_json(std::span<const TokenLogprob> tokens) {
  ordered_json content = ordered_json::array();
  for (const TokenLogprob& t : tokens) {
    ordered_json e;
    e["token"] = t.token;
    e["logprob"] = finite_logprob(t.logprob);
    e["bytes"] = bytes_json(t.token);
    ordered_json top = ordered_json::array();
    for (const TopLogprob& alt : t.top) {
      ordered_json a;
      a["token"] = alt.token;
      a["logprob"] = finite_logprob(alt.logprob);
      a["bytes"] = bytes_json(alt.token);
      top.push_back(std::move(a));
    }
    e["top_logprobs"] = std::move(top);
    content.push_back(std::move(e));
  }
  ordered_json j;
  j["content"] = std::move(content);
  j["refusal"] = nullptr;
  return j;
}

ordered_json chat_completion_json(const ResponseMeta& meta, std::string_view content,
                                  engine::FinishReason finish, const Usage& usage,
                                  const std::vector<TokenLogprob>* logprobs) {
  ordered_json j = head(meta, "chat.completion");
  ordered_json message;
  message["role"] = "assistant";
  message["content"] = content;
  ordered_json choice;
  choice["index"] = 0;
  choice["message"] = std::move(message);
  choice["logprobs"] = logprobs ? chat_logprobs_json(*logprobs) : ordered_json(nullptr);
  choice["finish_reason"] = finish_json(finish);
  j["choices"] = ordered_json::array({std::move(choice)});
  j["usage"] = usage_json(usage);
  return j;
}

ordered_json chat_chunk_role_json(const ResponseMeta& meta, bool include_usage) {
  ordered_json delta;
  delta["role"] = "assistant";
  delta["content"] = "";
  return chat_chunk(meta, std::move(delta), nullptr, nullptr, include_usage);
}

ordered_json chat_chunk_content_json(const ResponseMeta& meta, std::string_view content,
                                     bool include_usage,
                                     const std::vector<TokenLogprob>* logprobs) {
  ordered_json delta;
  delta["content"] = content;
  return chat_chunk(meta, std::move(delta),
                    logprobs ? chat_logprobs_json(*logprobs) : ordered_json(nullptr), nullptr,
                    include_usage);
}

ordered_json chat_chunk_finish_json(const ResponseMeta& meta, engine::FinishReason finish,
                                    bool include_usage) {
  return chat_chunk(meta, ordered_json::object(), nullptr, finish_json(finish), include_usage);
}

ordered_json chat_chunk_usage_json(const ResponseMeta& meta, const Usage& usage) {
  ordered_json j = head(meta, "chat.completion.chunk");
  j["choices"] = ordered_json::array();
  j["usage"] = usage_json(usage);
  return j;
}

ordered_json completion_logprobs_json(std::span<const TokenLogprob> tokens, size_t first_offset) {
  ordered_json toks = ordered_json::array();
  ordered_json lps = ordered_json::array();
  ordered_json tops = ordered_json::array();
  ordered_json offsets = ordered_json::array();
  size_t offset = first_offset;
  for (const TokenLogprob& t : tokens) {
    toks.push_back(t.token);
    lps.push_back(finite_logprob(t.logprob));
    ordered_json top = ordered_json::object();
    for (const TopLogprob& alt : t.top) top[alt.token] = finite_logprob(alt.logprob);
    tops.push_back(std::move(top));
    offsets.push_back(offset);
    offset += t.token.size();
  }
  ordered_json j;
  j["tokens"] = std::move(toks);
  j["token_logprobs"] = std::move(lps);
  j["top_logprobs"] = std::move(tops);
  j["text_offset"] = std::move(offsets);
  return j;
}

ordered_json text_completion_json(const ResponseMeta& meta, std::string_view text,
                                  engine::FinishReason finish, const Usage& usage,
                                  const std::vector<TokenLogprob>* logprobs) {
  ordered_json j = head(meta, "text_completion");
  j["choices"] = ordered_json::array({text_choice(text, finish, logprobs)});
  j["usage"] = usage_json(usage);
  return j;
}

ordered_json text_completion_chunk_json(const ResponseMeta& meta, std::string_view text,
                                        engine::FinishReason finish, bool include_usage,
                                        const std::vector<TokenLogprob>* logprobs,
                                        size_t text_offset) {
  ordered_json j = head(meta, "text_completion");
  j["choices"] = ordered_json::array({text_choice(text, finish, logprobs, text_offset)});
  if (include_usage) j["usage"] = nullptr;
  return j;
}

ordered_json text_completion_usage_json(const ResponseMeta& meta, const Usage& usage) {
  ordered_json j = head(meta, "text_completion");
  j["choices"] = ordered_json::array();
  j["usage"] = usage_json(usage);
  return j;
}

ordered_json embeddings_json(std::string_view model, std::span<const std::vector<float>> vectors,
                             EmbeddingEncoding encoding, int64_t prompt_tokens) {
  ordered_json data = ordered_json::array();
  for (size_t i = 0; i < vectors.size(); ++i) {
    ordered_json e;
    e["object"] = "embedding";
    e["index"] = i;
    if (encoding == EmbeddingEncoding::base64) {
      e["embedding"] = base64_float32_le(vectors[i]);
    } else {
      e["embedding"] = vectors[i];
    }
    data.push_back(std::move(e));
  }
  ordered_json usage;
  usage["prompt_tokens"] = prompt_tokens;
  usage["total_tokens"] = prompt_tokens;
  ordered_json j;
  j["object"] = "list";
  j["data"] = std::move(data);
  j["model"] = model;
  j["usage"] = std::move(usage);
  return j;
}

ordered_json rerank_json(std::string_view model, std::span<const float> scores,
                         std::span<const std::string> documents, std::optional<int32_t> top_n,
                         bool return_documents, int64_t prompt_tokens) {
  std::vector<float> score(scores.begin(), scores.end());
  for (float& s : score) s = std::isfinite(s) ? s : kLowestLogprob;  // NaN would break the sort
  std::vector<size_t> order(score.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return score[a] > score[b]; });
  if (top_n && static_cast<size_t>(*top_n) < order.size()) order.resize(*top_n);
  ordered_json results = ordered_json::array();
  for (const size_t i : order) {
    ordered_json r;
    r["index"] = i;
    r["relevance_score"] = score[i];
    if (return_documents && i < documents.size()) {
      ordered_json doc;
      doc["text"] = documents[i];
      r["document"] = std::move(doc);
    }
    results.push_back(std::move(r));
  }
  ordered_json usage;
  usage["prompt_tokens"] = prompt_tokens;
  usage["total_tokens"] = prompt_tokens;
  ordered_json j;
  j["model"] = model;
  j["object"] = "list";
  j["usage"] = std::move(usage);
  j["results"] = std::move(results);
  return j;
}

std::string sse_event(const ordered_json& body) {
  std::string out = "data: ";
  out.append(body.dump(-1, ' ', false, ordered_json::error_handler_t::replace));
  out.append("\n\n");
  return out;
}

std::string sse_done() {
  return "data: [DONE]\n\n";
}

}  // namespace tessera::server
