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

// How one endpoint's answers look: the whole completion, and the stream's events. `lp`: the
// tokens' log-probabilities when the request asked for them, else null.
using Logprobs = std::vector<TokenLogprob>;
struct Shape {
  const char* route;
  const char* id_prefix;
  std::function<ordered_json(const ResponseMeta&, const std::string&, engine::FinishReason,
                             const Usage&, const Logprobs* lp)>
      whole;
  std::function<std::string(const ResponseMeta&, bool include_usage)> open;  // first events
  // `offset`: the bytes of the tokens streamed before this piece's (completions' text_offset).
  std::function<ordered_json(const ResponseMeta&, std::string_view, bool include_usage,
                             const Logprobs* lp, size_t offset)>
      piece;
  std::function<ordered_json(const ResponseMeta&, engine::FinishReason, bool include_usage)> finish;
  std::function<ordered_json(const ResponseMeta&, const Usage&)> usage;
};

const Shape kChat{
    "/v1/chat/completions",
    "chatcmpl-",
    [](const ResponseMeta& m, const std::string& text, engine::FinishReason f, const Usage& u,
       const Logprobs* lp) { return chat_completion_json(m, text, f, u, lp); },
    [](const ResponseMeta& m, bool iu) { return sse_event(chat_chunk_role_json(m, iu)); },
    [](const ResponseMeta& m, std::string_view t, bool iu, const Logprobs* lp, size_t) {
      return chat_chunk_content_json(m, t, iu, lp);
    },
    [](const ResponseMeta& m, engine::FinishReason f, bool iu) {
      return chat_chunk_finish_json(m, f, iu);
    },
    [](const ResponseMeta& m, const Usage& u) { return chat_chunk_usage_json(m, u); }};

const Shape kCompletion{
    "/v1/completions",
    "cmpl-",
    [](const ResponseMeta& m, const std::string& text, engine::FinishReason f, const Usage& u,
       const Logprobs* lp) { return text_completion_json(m, text, f, u, lp); },
    [](const ResponseMeta&, bool) { return std::string(); },
    [](const ResponseMeta& m, std::string_view t, bool iu, const Logprobs* lp, size_t offset) {
      return text_completion_chunk_json(m, t, engine::FinishReason::none, iu, lp, offset);
    },
    [](const ResponseMeta& m, engine::FinishReason f, bool iu) {
      return text_completion_chunk_json(m, "", f, iu);
    },
    [](const ResponseMeta& m, const Usage& u) { return text_completion_usage_json(m, u); }};

void count_tokens(Server& s, const std::string& model, const std::string& app,
                  const runtime::GenerationResult& r) {
  const RequestSeries series = s.metrics().request_series(model, app);  // one lookup
  s.metrics().on_tokens(series, static_cast<uint64_t>(r.prompt_tokens),
                        static_cast<uint64_t>(r.completion_tokens));
  s.metrics().on_first_token(series, r.time_to_first_token_ms / 1000.0);
  for (double ms : r.inter_token_ms) s.metrics().on_token(series, ms / 1000.0);
}

// A generated token's log-probability entry: its text and the alternatives' texts.
TokenLogprob logprob_entry(const engine::Tokenizer& tok, const runtime::TokenPiece& piece) {
  TokenLogprob e{tok.token_to_piece(piece.token), piece.logprob, {}};
  for (const engine::TokenLogprob& t : piece.top) {
    e.top.push_back({tok.token_to_piece(t.token), t.logprob});
  }
  return e;
}

void note_result(RequestNote& n, const runtime::GenerationResult& r, double engine_ms) {
  n.prompt_tokens = r.prompt_tokens;
  n.completion_tokens = r.completion_tokens;
  n.finish = runtime::generation_finish_name(r.finish);
  n.engine_ms = engine_ms;
}

// One generation as the route runs it.
struct Generation {
  std::shared_ptr<runtime::Lease> lease;
  std::shared_ptr<Server::Inflight> inflight;
  std::shared_ptr<RequestNote> note;  // its model and app are the generation's
  std::vector<engine::TokenId> prompt;
  const char* prompt_param = "prompt";  // the field a too-long prompt is blamed on
  bool logprobs = false;
};

// Generates for a request whose lease is taken, answering whole or as a stream.
void generate(Server& s, httplib::Response& res, const Shape& shape, Generation gen,
              const GenerationOptions& options) {
  if (auto e =
          check_fits_context(static_cast<int64_t>(gen.prompt.size()), options.sampling.max_tokens,
                             gen.lease->context(), gen.prompt_param)) {
    return send_error(res, *e);
  }
  runtime::GenerationRequest g;
  g.prompt = std::move(gen.prompt);
  g.sampling = options.sampling;
  if (!options.seed_given) g.sampling.seed = std::random_device{}();
  g.app = gen.note->app;
  g.logprobs = gen.logprobs;
  ResponseMeta meta{new_response_id(shape.id_prefix), unix_seconds(), gen.note->model};
  const engine::Tokenizer& tok = gen.lease->llm().tokenizer();

  if (!options.stream) {
    Logprobs lps;
    const auto t0 = Clock::now();
    auto r = gen.lease->generate(
        g,
        [&](const runtime::TokenPiece& piece) {
          if (gen.logprobs && piece.token != engine::kNoToken) {
            lps.push_back(logprob_entry(tok, piece));
          }
          return true;
        },
        gen.inflight->token());
    if (!r.ok()) return send_error(res, api_error(r.error()));
    note_result(*gen.note, *r, seconds_since(t0) * 1000);
    if (r->finish == runtime::GenerationFinish::error) return send_error(res, api_error(r->error));
    if (r->finish == runtime::GenerationFinish::cancelled) {
      return send_error(res, api_error(make_error(ErrorCode::unavailable, "cancelled")));
    }
    count_tokens(s, gen.note->model, gen.note->app, *r);
    send_json(
        res, 200,
        shape
            .whole(meta, r->text, finish_of(*r), Usage{r->prompt_tokens, r->completion_tokens},
                   gen.logprobs ? &lps : nullptr)
            .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    return;
  }

  // Streaming: the generation runs in the content provider, on this connection's thread; a
  // failed write (the client left) cancels the sequence. Log-probabilities of tokens whose
  // text is held back (part of a character or of a possible stop string) go with the next
  // text.
  res.set_header("Cache-Control", "no-cache");
  res.set_chunked_content_provider(
      "text/event-stream", [&s, &shape, &tok, gen, g, meta, include_usage = options.include_usage](
                               size_t, httplib::DataSink& sink) {
        const std::string first = shape.open(meta, include_usage);
        bool open = first.empty() || sink.write(first.data(), first.size());
        Logprobs pending;
        size_t offset = 0;  // bytes of the tokens whose logprobs went out
        int32_t sent = 0;
        const auto t0 = Clock::now();
        auto r = gen.lease->generate(
            g,
            [&](const runtime::TokenPiece& piece) {
              if (!open) return false;
              if (piece.token != engine::kNoToken) ++sent;
              if (gen.logprobs && piece.token != engine::kNoToken) {
                pending.push_back(logprob_entry(tok, piece));
              }
              if (piece.text.empty()) return true;
              const std::string ev = sse_event(shape.piece(
                  meta, piece.text, include_usage, gen.logprobs ? &pending : nullptr, offset));
              for (const TokenLogprob& t : pending) offset += t.token.size();
              pending.clear();
              open = sink.write(ev.data(), ev.size());
              return open;
            },
            gen.inflight->token());
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
        if (r.ok()) {
          note_result(*gen.note, *r, seconds_since(t0) * 1000);
          count_tokens(s, meta.model, gen.note->app, *r);
        } else {
          gen.note->finish = "error";
          gen.note->completion_tokens = sent;
        }
        sink.done();
        return true;
      });
}

// A generation of `model` for the request, its decoder's lease taken (lease null: the error
// is sent).
Generation start_generation(Server& s, const httplib::Request& req, httplib::Response& res,
                            const std::string& model) {
  Generation gen;
  gen.note = s.note(req);
  gen.inflight = std::make_shared<Server::Inflight>(s);
  auto leased = lease_for(s, model, gen.note->app, gen.inflight->token());
  if (!leased.ok()) {
    send_error(res, leased.error());
    return gen;
  }
  gen.note->model = model;
  s.metrics().on_queued(model, gen.note->app, seconds_since(gen.note->start));
  if (!leased.value()->is_decoder()) {
    send_error(res, api_error(400, "invalid_request_error",
                              model + " is an embedding / rerank model; use /v1/embeddings or "
                                      "/v1/rerank",
                              "model"));
    return gen;
  }
  gen.lease = std::move(leased.value());
  return gen;
}

void chat(Server& s, const httplib::Request& req, httplib::Response& res) {
  auto parsed = parse_chat_request(req.body);
  if (!parsed.ok()) return send_error(res, parsed.error());
  const ChatRequest& c = parsed.value();
  Generation gen = start_generation(s, req, res, c.model);
  if (!gen.lease) return;
  const engine::LlmModel& model = gen.lease->llm();
  auto tmpl = engine::ChatTemplate::from_gguf(model.file());
  if (!tmpl.ok()) return send_error(res, api_error(tmpl.error()));
  engine::ChatTemplateInput in;
  in.messages = c.messages;
  in.tools = c.tools;
  auto prompt = engine::build_chat_prompt(model.tokenizer(), *tmpl, in);
  if (!prompt.ok()) return send_error(res, api_error(prompt.error()));
  gen.prompt = std::move(prompt->tokens);
  gen.prompt_param = "messages";
  gen.logprobs = c.logprobs;
  generate(s, res, kChat, std::move(gen), c.options);
}

void completion(Server& s, const httplib::Request& req, httplib::Response& res) {
  auto parsed = parse_completion_request(req.body);
  if (!parsed.ok()) return send_error(res, parsed.error());
  const CompletionRequest& c = parsed.value();
  Generation gen = start_generation(s, req, res, c.model);
  if (!gen.lease) return;
  gen.prompt = gen.lease->llm().tokenizer().encode(c.prompt);
  if (gen.prompt.empty()) {
    return send_error(
        res, api_error(400, "invalid_request_error", "the prompt has no tokens", "prompt"));
  }
  gen.logprobs = c.logprobs_given;
  generate(s, res, kCompletion, std::move(gen), c.options);
}

// The lease of an encoder (a reranker when `rank`) for an embedding route, or null with the
// error already sent.
std::shared_ptr<runtime::Lease> encoder_lease(Server& s, httplib::Response& res,
                                              const std::string& model, RequestNote& note,
                                              const runtime::CancelToken& cancel, bool rank) {
  auto leased = lease_for(s, model, note.app, cancel);
  if (!leased.ok()) {
    send_error(res, leased.error());
    return nullptr;
  }
  note.model = model;
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
  auto parsed = parse_embeddings_request(req.body);
  if (!parsed.ok()) return send_error(res, parsed.error());
  const EmbeddingsRequest& e = parsed.value();
  const std::shared_ptr<RequestNote> note = s.note(req);
  Server::Inflight inflight(s);
  auto lease = encoder_lease(s, res, e.model, *note, inflight.token(), false);
  if (!lease) return;
  const auto t0 = Clock::now();
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
  note->engine_ms = seconds_since(t0) * 1000;
  if (!st.ok()) return send_error(res, api_error(st.error()));
  note->prompt_tokens = static_cast<int32_t>(tokens);
  s.metrics().on_tokens(e.model, note->app, static_cast<uint64_t>(tokens), 0);
  send_json(res, 200, embeddings_json(e.model, vectors, e.encoding, tokens).dump());
}

void rerank(Server& s, const httplib::Request& req, httplib::Response& res) {
  auto parsed = parse_rerank_request(req.body);
  if (!parsed.ok()) return send_error(res, parsed.error());
  const RerankRequest& r = parsed.value();
  const std::shared_ptr<RequestNote> note = s.note(req);
  Server::Inflight inflight(s);
  auto lease = encoder_lease(s, res, r.model, *note, inflight.token(), true);
  if (!lease) return;
  const auto t0 = Clock::now();
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
  note->engine_ms = seconds_since(t0) * 1000;
  if (!st.ok()) return send_error(res, api_error(st.error()));
  note->prompt_tokens = static_cast<int32_t>(tokens);
  s.metrics().on_tokens(r.model, note->app, static_cast<uint64_t>(tokens), 0);
  send_json(res, 200,
            rerank_json(r.model, scores, r.documents, r.top_n, r.return_documents, tokens).dump());
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
