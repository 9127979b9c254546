#include "server/api_routes.h"

#include <httplib.h>

#include <chrono>
#include <memory>
#include <random>

#include "engine/chat_prompt.h"
#include "engine/chat_template.h"
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

void chat(Server& s, const httplib::Request& req, httplib::Response& res) {
  const auto start = Clock::now();
  auto parsed = parse_chat_request(req.body);
  if (!parsed.ok()) return send_error(res, parsed.error());
  ChatRequest c = std::move(parsed.value());
  const std::string app = app_of(req);
  res.set_header("X-Tessera-Model", c.model);
  auto inflight = std::make_shared<Server::Inflight>(s);
  auto leased = lease_for(s, c.model, app, inflight->token());
  if (!leased.ok()) return send_error(res, leased.error());
  std::shared_ptr<runtime::Lease> lease = leased.value();
  s.metrics().on_queued(c.model, app, seconds_since(start));
  if (!lease->is_decoder()) {
    return send_error(res, api_error(400, "invalid_request_error",
                                     c.model + " is an embedding / rerank model; use "
                                               "/v1/embeddings or /v1/rerank",
                                     "model"));
  }
  const engine::LlmModel& model = lease->llm();
  auto tmpl = engine::ChatTemplate::from_gguf(model.file());
  if (!tmpl.ok()) return send_error(res, api_error(tmpl.error()));
  engine::ChatTemplateInput in;
  in.messages = c.messages;
  in.tools = c.tools;
  auto prompt = engine::build_chat_prompt(model.tokenizer(), *tmpl, in);
  if (!prompt.ok()) return send_error(res, api_error(prompt.error()));
  if (auto e = check_fits_context(static_cast<int64_t>(prompt->tokens.size()),
                                  c.options.sampling.max_tokens, lease->context(), "messages")) {
    return send_error(res, *e);
  }
  runtime::GenerationRequest g;
  g.prompt = prompt->tokens;
  g.sampling = c.options.sampling;
  if (!c.options.seed_given) g.sampling.seed = std::random_device{}();
  g.app = app;
  ResponseMeta meta{new_response_id("chatcmpl-"), unix_seconds(), c.model};

  if (!c.options.stream) {
    auto r = lease->generate(
        g, [](const runtime::TokenPiece&) { return true; }, inflight->token());
    if (!r.ok()) return send_error(res, api_error(r.error()));
    if (r->finish == runtime::GenerationFinish::error) {
      return send_error(res, api_error(r->error));
    }
    if (r->finish == runtime::GenerationFinish::cancelled) {
      return send_error(res, api_error(make_error(ErrorCode::unavailable, "cancelled")));
    }
    const Usage usage{r->prompt_tokens, r->completion_tokens};
    s.metrics().on_tokens(c.model, app, static_cast<uint64_t>(r->prompt_tokens),
                          static_cast<uint64_t>(r->completion_tokens));
    s.metrics().on_first_token(c.model, app, r->time_to_first_token_ms / 1000.0);
    for (double ms : r->inter_token_ms) s.metrics().on_token(c.model, app, ms / 1000.0);
    res.set_header("X-Tessera-Prompt-Tokens", std::to_string(r->prompt_tokens));
    res.set_header("X-Tessera-Completion-Tokens", std::to_string(r->completion_tokens));
    send_json(res, 200,
              chat_completion_json(meta, r->text, finish_of(*r), usage)
                  .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    s.metrics().on_request("/v1/chat/completions", 200, c.model, app, seconds_since(start));
    return;
  }

  // Streaming: the generation runs in the content provider, on this connection's thread.
  res.set_header("Cache-Control", "no-cache");
  res.set_chunked_content_provider("text/event-stream", [&s, lease, inflight, g, meta, app,
                                                         include_usage = c.options.include_usage,
                                                         start](size_t, httplib::DataSink& sink) {
    const std::string role = sse_event(chat_chunk_role_json(meta, include_usage));
    bool open = sink.write(role.data(), role.size());
    auto r = lease->generate(
        g,
        [&](const runtime::TokenPiece& piece) {
          if (!open) return false;
          if (piece.text.empty()) return true;
          const std::string ev =
              sse_event(chat_chunk_content_json(meta, piece.text, include_usage));
          open = sink.write(ev.data(), ev.size());
          return open;
        },
        inflight->token());
    if (open && r.ok() && r->finish != runtime::GenerationFinish::cancelled) {
      std::string tail;
      if (r->finish == runtime::GenerationFinish::error) {
        tail = sse_event(error_body(api_error(r->error)));
      } else {
        tail = sse_event(chat_chunk_finish_json(meta, finish_of(*r), include_usage));
        if (include_usage) {
          tail +=
              sse_event(chat_chunk_usage_json(meta, Usage{r->prompt_tokens, r->completion_tokens}));
        }
      }
      tail += sse_done();
      sink.write(tail.data(), tail.size());
    }
    if (r.ok()) {
      s.metrics().on_tokens(meta.model, app, static_cast<uint64_t>(r->prompt_tokens),
                            static_cast<uint64_t>(r->completion_tokens));
      s.metrics().on_first_token(meta.model, app, r->time_to_first_token_ms / 1000.0);
      for (double ms : r->inter_token_ms) s.metrics().on_token(meta.model, app, ms / 1000.0);
    }
    s.metrics().on_request("/v1/chat/completions", 200, meta.model, app, seconds_since(start));
    sink.done();
    return true;
  });
}

void embeddings(Server& s, const httplib::Request& req, httplib::Response& res) {
  const auto start = Clock::now();
  auto parsed = parse_embeddings_request(req.body);
  if (!parsed.ok()) return send_error(res, parsed.error());
  const EmbeddingsRequest& e = parsed.value();
  const std::string app = app_of(req);
  res.set_header("X-Tessera-Model", e.model);
  Server::Inflight inflight(s);
  auto leased = lease_for(s, e.model, app, inflight.token());
  if (!leased.ok()) return send_error(res, leased.error());
  std::shared_ptr<runtime::Lease> lease = leased.value();
  if (lease->is_decoder()) {
    return send_error(res, api_error(400, "invalid_request_error",
                                     e.model + " is a text generation model, not an embedding "
                                               "model",
                                     "model"));
  }
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

}  // namespace

void add_api_routes(Server& s, httplib::Server& h) {
  h.Post("/v1/chat/completions",
         [&s](const httplib::Request& req, httplib::Response& res) { chat(s, req, res); });
  h.Post("/v1/embeddings",
         [&s](const httplib::Request& req, httplib::Response& res) { embeddings(s, req, res); });
  h.Get("/metrics", [&s](const httplib::Request&, httplib::Response& res) {
    gpu::BackendChoice choice;
    choice.backend = s.backend().backend;
    choice.reason = s.backend().reason;
    gpu::Inventory inv;
    if (choice.backend == "cuda") inv = gpu::read_inventory(std::nullopt);
    res.set_content(s.metrics().scrape(s.scheduler().status(), inv, choice),
                    "text/plain; version=0.0.4; charset=utf-8");
  });
}

}  // namespace tessera::server
