#include "server/api_routes.h"

#include <httplib.h>

#include <chrono>
#include <functional>
#include <memory>
#include <random>

#include "engine/chat_prompt.h"
#include "engine/chat_template.h"
#include "gpu/doctor.h"
#include "gpu/inventory.h"
#include "server/api_error.h"
#include "server/http_server.h"
#include "server/openai_request.h"
#include "server/openai_response.h"
#include "server/server_metrics.h"

namespace tessera::server {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

int64_t unix_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string app_of(const httplib::Request& req) {
  return req.has_header("X-Tessera-App") ? req.get_header_value("X-Tessera-App") : "";
}

engine::FinishReason finish_of(const runtime::GenerationResult& r) {
  return r.finish == runtime::GenerationFinish::length ? engine::FinishReason::length
                                                       : engine::FinishReason::stop;
}

// The lease for a request's model: errors as the API returns them.
ApiResult<std::shared_ptr<runtime::Lease>> lease_for(Server& s, const std::string& model,
                                                     const std::string& app,
                                                     const runtime::CancelToken& cancel) {
  runtime::ModelRequest r;
  r.model = model;
  r.app = app;
  r.cancel = cancel;
  auto lease = s.scheduler().acquire(r);
  if (!lease.ok()) {
    ApiError e = api_error(lease.error());
    if (lease.error().code == ErrorCode::not_found) e.param = "model";
    return e;
  }
  return std::make_shared<runtime::Lease>(std::move(*lease));
}

// How one endpoint's answers look: the whole completion, and the stream's events.
struct Shape {
  const char* route;
  const char* id_prefix;
  std::function<ordered_json(const ResponseMeta&, const std::string&, engine::FinishReason,
                             const Usage&)>
      whole;
  std::function<std::string(const ResponseMeta&, bool include_usage)> open;  // first events
  std::function<ordered_json(const ResponseMeta&, std::string_view, bool include_usage)> piece;
  std::function<ordered_json(const ResponseMeta&, engine::FinishReason, bool include_usage)> finish;
  std::function<ordered_json(const ResponseMeta&, const Usage&)> usage;
};

const Shape kChat{
    "/v1/chat/completions",
    "chatcmpl-",
    [](const ResponseMeta& m, const std::string& text, engine::FinishReason f, const Usage& u) {
      return chat_completion_json(m, text, f, u);
    },
    [](const ResponseMeta& m, bool iu) { return sse_event(chat_chunk_role_json(m, iu)); },
    [](const ResponseMeta& m, std::string_view t, bool iu) {
      return chat_chunk_content_json(m, t, iu);
    },
    [](const ResponseMeta& m, engine::FinishReason f, bool iu) {
      return chat_chunk_finish_json(m, f, iu);
    },
    [](const ResponseMeta& m, const Usage& u) { return chat_chunk_usage_json(m, u); }};

const Shape kCompletion{
    "/v1/completions",
    "cmpl-",
    [](const ResponseMeta& m, const std::string& text, engine::FinishReason f, const Usage& u) {
      return text_completion_json(m, text, f, u);
    },
    [](const ResponseMeta&, bool) { return std::string(); },
    [](const ResponseMeta& m, std::string_view t, bool iu) {
      return text_completion_chunk_json(m, t, engine::FinishReason::none, iu);
    },
    [](const ResponseMeta& m, engine::FinishReason f, bool iu) {
      return text_completion_chunk_json(m, "", f, iu);
    },
    [](const ResponseMeta& m, const Usage& u) { return text_completion_usage_json(m, u); }};

void count_tokens(Server& s, const std::string& model, const std::string& app,
                  const runtime::GenerationResult& r) {
  s.metrics().on_tokens(model, app, static_cast<uint64_t>(r.prompt_tokens),
                        static_cast<uint64_t>(r.completion_tokens));
  s.metrics().on_first_token(model, app, r.time_to_first_token_ms / 1000.0);
  for (double ms : r.inter_token_ms) s.metrics().on_token(model, app, ms / 1000.0);
}

// Generates `prompt` for a request whose lease is taken, answering whole or as a stream.
void generate(Server& s, httplib::Response& res, const Shape& shape,
              std::shared_ptr<runtime::Lease> lease, std::shared_ptr<Server::Inflight> inflight,
              const std::string& model, const std::string& app, std::vector<engine::TokenId> prompt,
              const GenerationOptions& options, const char* prompt_param, Clock::time_point start) {
  if (auto e = check_fits_context(static_cast<int64_t>(prompt.size()), options.sampling.max_tokens,
                                  lease->context(), prompt_param)) {
    return send_error(res, *e);
  }
  runtime::GenerationRequest g;
  g.prompt = std::move(prompt);
  g.sampling = options.sampling;
  if (!options.seed_given) g.sampling.seed = std::random_device{}();
  g.app = app;
  ResponseMeta meta{new_response_id(shape.id_prefix), unix_seconds(), model};

  if (!options.stream) {
    auto r = lease->generate(
        g, [](const runtime::TokenPiece&) { return true; }, inflight->token());
    if (!r.ok()) return send_error(res, api_error(r.error()));
    if (r->finish == runtime::GenerationFinish::error) return send_error(res, api_error(r->error));
    if (r->finish == runtime::GenerationFinish::cancelled) {
      return send_error(res, api_error(make_error(ErrorCode::unavailable, "cancelled")));
    }
    count_tokens(s, model, app, *r);
    res.set_header("X-Tessera-Prompt-Tokens", std::to_string(r->prompt_tokens));
    res.set_header("X-Tessera-Completion-Tokens", std::to_string(r->completion_tokens));
    send_json(
        res, 200,
        shape.whole(meta, r->text, finish_of(*r), Usage{r->prompt_tokens, r->completion_tokens})
            .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    s.metrics().on_request(shape.route, 200, model, app, seconds_since(start));
    return;
  }

  // Streaming: the generation runs in the content provider, on this connection's thread; a
  // failed write (the client left) cancels the sequence.
  res.set_header("Cache-Control", "no-cache");
  res.set_chunked_content_provider(
      "text/event-stream",
      [&s, &shape, lease, inflight, g, meta, app, start, include_usage = options.include_usage](
          size_t, httplib::DataSink& sink) {
        const std::string first = shape.open(meta, include_usage);
        bool open = first.empty() || sink.write(first.data(), first.size());
        auto r = lease->generate(
            g,
            [&](const runtime::TokenPiece& piece) {
              if (!open) return false;
              if (piece.text.empty()) return true;
              const std::string ev = sse_event(shape.piece(meta, piece.text, include_usage));
              open = sink.write(ev.data(), ev.size());
              return open;
            },
            inflight->token());
        if (open && r.ok() && r->finish != runtime::GenerationFinish::cancelled) {
          std::string tail;
          if (r->finish == runtime::GenerationFinish::error) {
            tail = sse_event(error_body(api_error(r->error)));
          } else {
            tail = sse_event(shape.finish(meta, finish_of(*r), include_usage));
            if (include_usage) {
              tail += sse_event(shape.usage(meta, Usage{r->prompt_tokens, r->completion_tokens}));
            }
          }
          tail += sse_done();
          sink.write(tail.data(), tail.size());
        }
        if (r.ok()) count_tokens(s, meta.model, app, *r);
        s.metrics().on_request(shape.route, 200, meta.model, app, seconds_since(start));
        sink.done();
        return true;
      });
}

// The lease of a decoder for a generation route, or the error already sent.
std::shared_ptr<runtime::Lease> decoder_lease(Server& s, httplib::Response& res,
                                              const std::string& model, const std::string& app,
                                              const std::shared_ptr<Server::Inflight>& inflight,
                                              Clock::time_point start) {
  res.set_header("X-Tessera-Model", model);
  auto leased = lease_for(s, model, app, inflight->token());
  if (!leased.ok()) {
    send_error(res, leased.error());
    return nullptr;
  }
  s.metrics().on_queued(model, app, seconds_since(start));
  if (!leased.value()->is_decoder()) {
    send_error(res, api_error(400, "invalid_request_error",
                              model + " is an embedding / rerank model; use /v1/embeddings or "
                                      "/v1/rerank",
                              "model"));
    return nullptr;
  }
  return leased.value();
}

void chat(Server& s, const httplib::Request& req, httplib::Response& res) {
  const auto start = Clock::now();
  auto parsed = parse_chat_request(req.body);
  if (!parsed.ok()) return send_error(res, parsed.error());
  const ChatRequest& c = parsed.value();
  const std::string app = app_of(req);
  auto inflight = std::make_shared<Server::Inflight>(s);
  auto lease = decoder_lease(s, res, c.model, app, inflight, start);
  if (!lease) return;
  const engine::LlmModel& model = lease->llm();
  auto tmpl = engine::ChatTemplate::from_gguf(model.file());
  if (!tmpl.ok()) return send_error(res, api_error(tmpl.error()));
  engine::ChatTemplateInput in;
  in.messages = c.messages;
  in.tools = c.tools;
  auto prompt = engine::build_chat_prompt(model.tokenizer(), *tmpl, in);
  if (!prompt.ok()) return send_error(res, api_error(prompt.error()));
  generate(s, res, kChat, lease, inflight, c.model, app, std::move(prompt->tokens), c.options,
           "messages", start);
}

void completion(Server& s, const httplib::Request& req, httplib::Response& res) {
  const auto start = Clock::now();
  auto parsed = parse_completion_request(req.body);
  if (!parsed.ok()) return send_error(res, parsed.error());
  const CompletionRequest& c = parsed.value();
  const std::string app = app_of(req);
  auto inflight = std::make_shared<Server::Inflight>(s);
  auto lease = decoder_lease(s, res, c.model, app, inflight, start);
  if (!lease) return;
  std::vector<engine::TokenId> prompt = lease->llm().tokenizer().encode(c.prompt);
  if (prompt.empty()) {
    return send_error(
        res, api_error(400, "invalid_request_error", "the prompt has no tokens", "prompt"));
  }
  generate(s, res, kCompletion, lease, inflight, c.model, app, std::move(prompt), c.options,
           "prompt", start);
}

// The lease of an encoder (a reranker when `rank`) for an embedding route, or null with the
// error already sent.
std::shared_ptr<runtime::Lease> encoder_lease(Server& s, httplib::Response& res,
                                              const std::string& model, const std::string& app,
                                              const runtime::CancelToken& cancel, bool rank) {
  res.set_header("X-Tessera-Model", model);
  auto leased = lease_for(s, model, app, cancel);
  if (!leased.ok()) {
    send_error(res, leased.error());
    return nullptr;
  }
  const runtime::Lease& l = *leased.value();
  if (l.is_decoder() || (rank && !l.encoder().has_rank_head())) {
    send_error(res, api_error(400, "invalid_request_error",
                              model + (rank ? " is not a reranker (a cross-encoder with a "
                                              "classification head)"
                                            : " is a text generation model, not an embedding "
                                              "model"),
                              "model"));
    return nullptr;
  }
  return leased.value();
}

void embeddings(Server& s, const httplib::Request& req, httplib::Response& res) {
  const auto start = Clock::now();
  auto parsed = parse_embeddings_request(req.body);
  if (!parsed.ok()) return send_error(res, parsed.error());
  const EmbeddingsRequest& e = parsed.value();
  const std::string app = app_of(req);
  Server::Inflight inflight(s);
  auto lease = encoder_lease(s, res, e.model, app, inflight.token(), false);
  if (!lease) return;
  std::vector<std::vector<float>> vectors;
  int64_t tokens = 0;
  Status st = lease->with_encoder([&](const engine::EncoderModel& m) -> Status {
    auto out = m.embed(e.input);
    if (!out.ok()) return out.error();
    for (auto& v : *out) {
      tokens += v.n_tokens;
      vectors.push_back(std::move(v.values));
    }
    return {};
  });
  if (!st.ok()) return send_error(res, api_error(st.error()));
  s.metrics().on_tokens(e.model, app, static_cast<uint64_t>(tokens), 0);
  send_json(res, 200, embeddings_json(e.model, vectors, e.encoding, tokens).dump());
  s.metrics().on_request("/v1/embeddings", 200, e.model, app, seconds_since(start));
}

void rerank(Server& s, const httplib::Request& req, httplib::Response& res) {
  const auto start = Clock::now();
  auto parsed = parse_rerank_request(req.body);
  if (!parsed.ok()) return send_error(res, parsed.error());
  const RerankRequest& r = parsed.value();
  const std::string app = app_of(req);
  Server::Inflight inflight(s);
  auto lease = encoder_lease(s, res, r.model, app, inflight.token(), true);
  if (!lease) return;
  std::vector<float> scores;
  int64_t tokens = 0;
  Status st = lease->with_encoder([&](const engine::EncoderModel& m) -> Status {
    auto out = m.rerank(r.query, r.documents);
    if (!out.ok()) return out.error();
    for (const auto& x : *out) {
      scores.push_back(x.score);
      tokens += x.n_tokens;
    }
    return {};
  });
  if (!st.ok()) return send_error(res, api_error(st.error()));
  s.metrics().on_tokens(r.model, app, static_cast<uint64_t>(tokens), 0);
  send_json(res, 200,
            rerank_json(r.model, scores, r.documents, r.top_n, r.return_documents, tokens).dump());
  s.metrics().on_request("/v1/rerank", 200, r.model, app, seconds_since(start));
}

}  // namespace

void add_api_routes(Server& s, httplib::Server& h) {
  h.Post("/v1/chat/completions",
         [&s](const httplib::Request& req, httplib::Response& res) { chat(s, req, res); });
  h.Post("/v1/completions",
         [&s](const httplib::Request& req, httplib::Response& res) { completion(s, req, res); });
  h.Post("/v1/rerank",
         [&s](const httplib::Request& req, httplib::Response& res) { rerank(s, req, res); });
  h.Post("/v1/embeddings",
         [&s](const httplib::Request& req, httplib::Response& res) { embeddings(s, req, res); });
  h.Get("/metrics", [&s](const httplib::Request&, httplib::Response& res) {
    gpu::BackendChoice choice;
    choice.backend = s.backend().backend;
    choice.reason = s.backend().reason;
    gpu::Inventory inv;
    if (choice.backend == "cuda") {
      inv = gpu::read_inventory(gpu::doctor_input_from_environment().cuda_visible_devices);
    }
    res.set_content(s.metrics().scrape(s.scheduler().status(), inv, choice),
                    "text/plain; version=0.0.4; charset=utf-8");
  });
}

}  // namespace tessera::server
