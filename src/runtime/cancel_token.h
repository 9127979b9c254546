// A flag a caller sets to give up on a request: one waiting for a model (Scheduler::acquire) or
// one being generated (Batcher::generate; a client that disconnected). Copies share the flag;
// thread-safe.
#pragma once

#include <atomic>
#include <memory>

namespace tessera::runtime {

class CancelToken {
 public:
  CancelToken() : flag_(std::make_shared<std::atomic<bool>>(false)) {}
  void cancel() const { flag_->store(true); }
  bool cancelled() const { return flag_->load(); }

 private:
  std::shared_ptr<std::atomic<bool>> flag_;
};

}  // namespace tessera::runtime
