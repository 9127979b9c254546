// `tessera pull`: downloads a GGUF file from a Hugging Face-style server into the model store.
//
// The steps: (1) without a file name, list the repository's files and choose one (hf_hub.h);
// (2) take the name's lock (name_lock.h); (3) GET the file's resolve URL into
// NAME.gguf.partial, continuing an earlier partial download of the same file with a Range
// request (206: append; 200: the server ignored the range, start over; 416: the partial is
// already whole); a connection lost mid-body is retried from where it stopped while each
// attempt makes progress; (4) check the file's sha256 against the hash the server published
// (X-Linked-Etag / ETag on the resolve response, else the tree API's LFS oid): on a mismatch
// the download is deleted; (5) check the file is a readable GGUF model, else delete it; (6)
// write NAME.gguf.json (model_source.h) and rename the partial to NAME.gguf: a half-written or
// unverified file never carries the final name.
//
// A model already in the store from the same repository file is replaced by the new download,
// or left alone when the server's hash equals the one recorded when it was pulled ("up to
// date"). A model of that name from elsewhere is never overwritten.
//
// Thread-safety: one pull per call; calls for different names may run at once, calls for one
// name exclude each other through the lock (the second fails with unavailable).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

#include "runtime/hf_hub.h"
#include "runtime/http_get.h"
#include "runtime/model_store.h"
#include "util/result.h"

namespace tessera::runtime {

enum class PullStage {
  choosing,     // listing the repository to choose a file (message says which)
  downloading,  // the body starts: done = bytes already there, total (0: unknown), message =
                // the file
  progress,     // more bytes arrived: done, total
  note,         // something a user should know (a retry, a restart), in message
  verifying,    // hashing the finished file: done, total
};

struct PullEvent {
  PullStage stage = PullStage::progress;
  uint64_t done = 0;
  uint64_t total = 0;
  std::string message;
};

struct PullOptions {
  std::string base_url = kDefaultHubUrl;  // hub_base_url()
  std::string revision = "main";
  std::string name;      // the model's name in the store; "" for the file's stem
  HttpOptions http;      // timeouts; bearer_token from HF_TOKEN
  int max_attempts = 5;  // connections per download, while each one makes progress
  // Called on the calling thread, often (every piece of the body): keep it cheap.
  std::function<void(const PullEvent&)> on_event;
};

struct PullResult {
  std::string name;
  std::filesystem::path path;
  std::string repo;
  std::string file;
  std::string revision;
  std::string url;               // the resolve URL
  uint64_t bytes = 0;            // the file's size
  uint64_t resumed_from = 0;     // bytes an earlier, interrupted pull had fetched
  std::string sha256;            // the file's hash
  std::string published_sha256;  // the server's; "" when it published none (not verified)
  bool up_to_date = false;       // the store already held this file: nothing was downloaded
  ModelEntry entry;              // the model as `tessera models` lists it
};

// Pulls `ref` into `store`. Errors: invalid_argument (a bad name or revision; several files to
// choose from; a model of that name from elsewhere), not_found (no such repository or file, or
// not accessible: 401/403 say to set HF_TOKEN), unavailable (no connection, a timeout, a lost
// connection that did not come back, server errors 5xx/429, another pull of the name running),
// malformed (the sha256 does not match; not a GGUF file), io_error (the store cannot be
// written: the path and the OS's reason), unsupported (only split GGUF files). Messages name
// the URL; a failed download that can be resumed says so.
Result<PullResult> pull_model(const ModelStore& store, const PullRef& ref,
                              const PullOptions& options);

}  // namespace tessera::runtime
