// A request's hold on a loaded model (scheduler.h): the slot, the model, and the runs
// through its context, batcher or encoder, with allocation failures counted as runtime OOMs.
#include "runtime/sched_entry.h"
#include "runtime/scheduler.h"

namespace tessera::runtime {

Lease::Lease(Lease&& other) noexcept
    : s_(other.s_),
      e_(std::move(other.e_)),
      seq_(other.seq_),
      keep_alive_(other.keep_alive_),
      app_(std::move(other.app_)) {
  other.s_ = nullptr;
}

Lease& Lease::operator=(Lease&& other) noexcept {
  if (this != &other) {
    if (s_ != nullptr) s_->release(*this);
    s_ = other.s_;
    e_ = std::move(other.e_);
    seq_ = other.seq_;
    keep_alive_ = other.keep_alive_;
    app_ = std::move(other.app_);
    other.s_ = nullptr;
  }
  return *this;
}

Lease::~Lease() {
  if (s_ != nullptr) s_->release(*this);
}

const std::string& Lease::model_name() const {
  return e_->name;
}

bool Lease::is_decoder() const {
  return e_->decoder;
}

const engine::LlmModel& Lease::llm() const {
  return *e_->model.llm;
}

int64_t Lease::context() const {
  return e_->context;
}

const engine::EncoderModel& Lease::encoder() const {
  return *e_->model.encoder;
}

std::vector<std::string> Lease::places() const {
  std::vector<std::string> ids;
  for (const auto& c : e_->charges) ids.push_back(c.first);
  return ids;
}

bool allocation_failure(const Error& e) {
  return e.code == ErrorCode::out_of_range && e.message.find("does not fit") != std::string::npos;
}

Status Lease::with_context(const std::function<Status(engine::LlmContext&, int32_t)>& fn) {
  if (!e_->decoder) {
    return make_error(ErrorCode::invalid_argument,
                      e_->name + " is an encoder (embeddings / rerank), not a text generator");
  }
  std::lock_guard<std::mutex> run(e_->run_mu);
  engine::LlmContext& ctx = *e_->model.context;
  ctx.clear_sequence(seq_);
  Status s = fn(ctx, seq_);
  if (!s.ok()) {
    ctx.clear_sequence(seq_);
    if (allocation_failure(s.error())) s_->count_runtime_oom();
  }
  return s;
}

Result<GenerationResult> Lease::generate(const GenerationRequest& request,
                                         const TokenSink& on_piece, const CancelToken& cancel) {
  if (!e_->decoder) {
    return make_error(ErrorCode::invalid_argument,
                      e_->name + " is an encoder (embeddings / rerank), not a text generator");
  }
  // A failed allocation is counted once per step by the batcher's hook (scheduler.cpp).
  return e_->model.batcher->generate(seq_, request, on_piece, cancel);
}

Status Lease::with_encoder(const std::function<Status(const engine::EncoderModel&)>& fn) {
  if (e_->decoder) {
    return make_error(ErrorCode::invalid_argument,
                      e_->name + " is a text generator, not an embedding or rerank model");
  }
  Status s = fn(*e_->model.encoder);
  if (!s.ok() && allocation_failure(s.error())) s_->count_runtime_oom();
  return s;
}

}  // namespace tessera::runtime
