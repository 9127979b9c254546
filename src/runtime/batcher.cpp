#include "runtime/batcher.h"

#include <algorithm>
#include <map>
#include <utility>

#include "engine/sampling/sequence_output.h"

namespace tessera::runtime {
namespace {

using Clock = std::chrono::steady_clock;

double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

}  // namespace

const char* generation_finish_name(GenerationFinish finish) {
  switch (finish) {
    case GenerationFinish::stop:
      return "stop";
    case GenerationFinish::length:
      return "length";
    case GenerationFinish::cancelled:
      return "cancelled";
    case GenerationFinish::error:
      return "error";
  }
  return "error";
}

struct Batcher::Sequence {
  Sequence(int32_t id, const GenerationRequest& r, CancelToken c, engine::SequenceOutput o)
      : seq(id), req(r), cancel(std::move(c)), out(std::move(o)) {}

  struct Event {
    std::string text;
    engine::TokenId token = engine::kNoToken;
    float logprob = 0.0f;
    std::vector<engine::TokenLogprob> top;
  };

  const int32_t seq;
  const GenerationRequest req;
  const CancelToken cancel;
  Clock::time_point start = Clock::now();

  // The worker's.
  engine::SequenceOutput out;
  int64_t join_step = 0;
  bool joined = false;
  size_t prompt_done = 0;  // prompt tokens in the batch so far
  engine::TokenId next = engine::kNoToken;
  bool finished = false;
  Clock::time_point last_token{};
  GenerationResult result;  // handed over when done

  // Shared with the request thread, under Batcher::mu_.
  std::deque<Event> events;
  bool done = false;
  std::condition_variable cv;
};

Batcher::Batcher(engine::LlmContext& context, std::mutex& context_mutex, BatcherOptions options)
    : ctx_(context), ctx_mu_(context_mutex), options_(std::move(options)) {
  options_.step_tokens = std::max<int64_t>(options_.step_tokens, 1);
  max_seq_tokens_ = options_.max_sequence_tokens > 0
                        ? std::min(options_.max_sequence_tokens, ctx_.n_seq_cells())
                        : ctx_.n_seq_cells();
  worker_ = std::thread([this] { run(); });
}

Batcher::~Batcher() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  work_cv_.notify_all();
  worker_.join();
}

BatcherCounters Batcher::counters() const {
  std::lock_guard<std::mutex> lock(mu_);
  return counters_;
}

Result<GenerationResult> Batcher::generate(int32_t seq, const GenerationRequest& request,
                                           const TokenSink& on_piece, const CancelToken& cancel) {
  if (request.prompt.empty()) {
    return make_error(ErrorCode::invalid_argument, "the prompt has no tokens; give some text");
  }
  if (static_cast<int64_t>(request.prompt.size()) >= max_seq_tokens_) {
    std::string m = "the prompt has ";
    m.append(std::to_string(request.prompt.size()))
        .append(" tokens but a sequence holds ")
        .append(std::to_string(max_seq_tokens_))
        .append(" (and one more is needed to generate); shorten it or raise the context");
    return make_error(ErrorCode::out_of_range, std::move(m));
  }
  const engine::LlmModel& model = ctx_.model();
  TESSERA_TRY(
      engine::validate_sampling_params(request.sampling, static_cast<size_t>(model.n_vocab())));
  auto out = engine::SequenceOutput::create(request.sampling, model.tokenizer(), request.prompt);
  if (!out.ok()) return out.error();
  auto s = std::make_shared<Sequence>(seq, request, cancel, std::move(*out));
  s->result.prompt_tokens = static_cast<int32_t>(request.prompt.size());
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return make_error(ErrorCode::unavailable, "the model is shutting down");
    if (!busy_.insert(seq).second) {
      std::string m = "sequence ";
      m.append(std::to_string(seq)).append(" is already generating for another request");
      return make_error(ErrorCode::invalid_argument, std::move(m));
    }
    joining_.push_back(s);
  }
  work_cv_.notify_one();

  std::string text;
  bool sink_open = true;
  std::deque<Sequence::Event> events;
  while (true) {
    bool done = false;
    {
      std::unique_lock<std::mutex> lock(mu_);
      s->cv.wait(lock, [&] { return !s->events.empty() || s->done; });
      events.swap(s->events);
      done = s->done;
    }
    for (Sequence::Event& e : events) {
      if (!sink_open) break;
      TokenPiece piece{e.text, e.token, e.logprob, std::move(e.top)};
      text += e.text;
      if (on_piece && !on_piece(piece)) {
        sink_open = false;
        cancel.cancel();
      }
    }
    events.clear();
    if (done) break;
  }
  GenerationResult result;
  {
    std::lock_guard<std::mutex> lock(mu_);
    busy_.erase(seq);
    result = std::move(s->result);
  }
  result.text = std::move(text);
  return result;
}

void Batcher::run() {
  std::vector<std::shared_ptr<Sequence>> active;
  while (true) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      work_cv_.wait(lock, [&] { return stopping_ || !joining_.empty() || !active.empty(); });
      if (stopping_) break;
      while (!joining_.empty()) {
        active.push_back(std::move(joining_.front()));
        joining_.pop_front();
      }
    }
    step(active);
  }
  std::deque<std::shared_ptr<Sequence>> joining;
  {
    std::lock_guard<std::mutex> lock(mu_);
    joining.swap(joining_);
  }
  const Error shutdown{ErrorCode::unavailable, "the model is shutting down"};
  std::lock_guard<std::mutex> ctx_lock(ctx_mu_);
  for (auto& s : active) {
    if (s->joined) ctx_.clear_sequence(s->seq);
    finish(*s, GenerationFinish::error, &shutdown);
  }
  for (auto& s : joining) finish(*s, GenerationFinish::error, &shutdown);
}

void Batcher::step(std::vector<std::shared_ptr<Sequence>>& active) {
  std::lock_guard<std::mutex> ctx_lock(ctx_mu_);
  auto leave_finished = [&] {
    std::erase_if(active, [&](const std::shared_ptr<Sequence>& s) {
      if (!s->finished) return false;
      if (s->joined) ctx_.clear_sequence(s->seq);
      return true;
    });
  };
  for (auto& s : active) {
    if (!s->joined) {
      ctx_.clear_sequence(s->seq);
      s->joined = true;
      s->join_step = step_index_;
    }
    if (s->cancel.cancelled()) finish(*s, GenerationFinish::cancelled);
  }
  leave_finished();
  if (active.empty()) return;

  engine::Batch batch;
  std::vector<std::pair<size_t, Sequence*>> sample_at;  // batch entry -> sequence
  int64_t free_cells = ctx_.n_ctx() - ctx_.n_cells_used();
  int32_t decode_tokens = 0;
  for (auto& s : active) {
    if (s->next == engine::kNoToken) continue;
    if (free_cells <= 0) {  // the shared pool is full: the sequence cannot grow
      finish(*s, GenerationFinish::length);
      continue;
    }
    sample_at.emplace_back(batch.size(), s.get());
    batch.add(s->next, s->seq, ctx_.sequence_length(s->seq), true);
    --free_cells;
    ++decode_tokens;
  }
  const int64_t budget = std::min(options_.step_tokens - decode_tokens, free_cells);
  const size_t prompt_begin = batch.size();
  build_prompt_chunks(active, budget, batch);
  for (size_t i = prompt_begin; i < batch.size(); ++i) {
    if (!batch.want_logits[i]) continue;
    for (auto& s : active) {
      if (s->seq == batch.seq[i]) sample_at.emplace_back(i, s.get());
    }
  }
  if (batch.size() == 0) {
    // Prompts wait for cells that no generating sequence will free: they cannot go on.
    for (auto& s : active) finish(*s, GenerationFinish::length);
    leave_finished();
    return;
  }

  const auto t0 = Clock::now();
  const Status status = ctx_.decode(batch);
  BatcherStep stats;
  stats.decode_ms = ms_between(t0, Clock::now());
  ++step_index_;
  if (!status.ok()) {
    for (auto& s : active) {
      if (std::find(batch.seq.begin(), batch.seq.end(), s->seq) != batch.seq.end())
        finish(*s, GenerationFinish::error, &status.error());
    }
  } else {
    for (auto& [entry, s] : sample_at) sample(*s, ctx_.logits(entry));
  }

  std::vector<int32_t> seqs = batch.seq;
  std::sort(seqs.begin(), seqs.end());
  stats.sequences = static_cast<int32_t>(std::unique(seqs.begin(), seqs.end()) - seqs.begin());
  stats.tokens = static_cast<int32_t>(batch.size());
  stats.decode_tokens = decode_tokens;
  stats.prompt_tokens = stats.tokens - decode_tokens;
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++counters_.steps;
    counters_.tokens += stats.tokens;
    counters_.max_sequences = std::max<int64_t>(counters_.max_sequences, stats.sequences);
  }
  leave_finished();
  stats.kv_cells_used = ctx_.n_cells_used();
  stats.kv_cells = ctx_.n_ctx();
  if (!status.ok()) stats.error = &status.error();
  if (options_.on_step) options_.on_step(stats);
}

void Batcher::build_prompt_chunks(std::vector<std::shared_ptr<Sequence>>& active, int64_t budget,
                                  engine::Batch& batch) {
  // Apps in the order their oldest reading request joined; each with its readers, oldest first.
  std::vector<std::string> apps;
  std::map<std::string, std::vector<Sequence*>> readers;
  std::map<std::string, int64_t> need, grant;
  for (auto& s : active) {
    if (s->finished || s->prompt_done >= s->req.prompt.size()) continue;
    auto [it, fresh] = readers.try_emplace(s->req.app);
    if (fresh) apps.push_back(s->req.app);
    it->second.push_back(s.get());
    need[s->req.app] += static_cast<int64_t>(s->req.prompt.size() - s->prompt_done);
  }
  if (apps.empty() || budget <= 0) return;
  std::rotate(apps.begin(),
              apps.begin() + static_cast<std::ptrdiff_t>(app_rotation_++ % apps.size()),
              apps.end());
  // Equal shares; what an app does not need goes round again to the others.
  int64_t left = budget;
  while (left > 0) {
    int64_t open = 0;
    for (const auto& a : apps) open += grant[a] < need[a] ? 1 : 0;
    if (open == 0) break;
    const int64_t share = std::max<int64_t>(1, left / open);
    for (const auto& a : apps) {
      const int64_t g = std::min({share, need[a] - grant[a], left});
      if (g <= 0) continue;
      grant[a] += g;
      left -= g;
    }
  }
  for (const auto& a : apps) {
    int64_t g = grant[a];
    for (Sequence* s : readers[a]) {
      if (g <= 0) break;
      const size_t n = static_cast<size_t>(
          std::min<int64_t>(g, static_cast<int64_t>(s->req.prompt.size() - s->prompt_done)));
      for (size_t k = s->prompt_done; k < s->prompt_done + n; ++k) {
        batch.add(s->req.prompt[k], s->seq, static_cast<int32_t>(k), k + 1 == s->req.prompt.size());
      }
      s->prompt_done += n;
      g -= static_cast<int64_t>(n);
    }
  }
}

void Batcher::sample(Sequence& s, std::span<const float> logits) {
  engine::Sampler& sampler = s.out.sampler();
  Sequence::Event event;
  if (s.req.logprobs) {
    auto t = sampler.sample_with_logprobs(logits);
    if (!t.ok()) return finish(s, GenerationFinish::error, &t.error());
    event.token = t->token;
    event.logprob = t->logprob;
    event.top.assign(t->top.begin(), t->top.end());
  } else {
    auto t = sampler.sample(logits);
    if (!t.ok()) return finish(s, GenerationFinish::error, &t.error());
    event.token = *t;
  }
  const engine::TokenId token = event.token;
  const auto now = Clock::now();
  if (s.out.n_generated() == 0) {
    s.result.time_to_first_token_ms = ms_between(s.start, now);
    s.result.steps_to_first_token = step_index_ - 1 - s.join_step;
  } else {
    s.result.inter_token_ms.push_back(ms_between(s.last_token, now));
  }
  s.last_token = now;
  const bool context_full = ctx_.sequence_length(s.seq) + 1 >= max_seq_tokens_;
  engine::SequenceOutput::Step step = s.out.push(event.token, context_full);
  s.result.completion_tokens = s.out.n_generated();
  if (step.in_output) {
    s.result.tokens.push_back(event.token);
    event.text = std::move(step.text);
    {
      std::lock_guard<std::mutex> lock(mu_);
      s.events.push_back(std::move(event));
    }
    s.cv.notify_one();
  }
  switch (step.finish) {
    case engine::FinishReason::none:
      s.next = token;
      break;
    case engine::FinishReason::stop:
      return finish(s, GenerationFinish::stop);
    case engine::FinishReason::length:
      return finish(s, GenerationFinish::length);
  }
}

void Batcher::finish(Sequence& s, GenerationFinish finish, const Error* error) {
  if (s.finished) return;
  s.finished = true;
  std::string tail;
  if (finish == GenerationFinish::stop || finish == GenerationFinish::length) tail = s.out.finish();
  s.result.finish = finish;
  if (error != nullptr) s.result.error = *error;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!tail.empty()) {
      Sequence::Event e;
      e.text = std::move(tail);
      s.events.push_back(std::move(e));
    }
    s.done = true;
  }
  s.cv.notify_one();
}

}  // namespace tessera::runtime
