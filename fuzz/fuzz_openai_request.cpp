// Fuzz target: any byte string as the body of an OpenAI API request must give a request or a
// 400 error naming what was wrong, from every parser, without a crash or sanitizer report;
// an accepted chat request's messages must serialize again (the chat template reads them).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "server/openai_request.h"

namespace {

template <class T>
void check(const tessera::server::ApiResult<T>& r) {
  if (!r.ok() && (r.error().status != 400 || r.error().message.empty())) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tessera::server;
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  const auto chat = parse_chat_request(body);
  check(chat);
  if (chat.ok()) (void)chat.value().messages.dump();
  check(parse_completion_request(body));
  check(parse_embeddings_request(body));
  check(parse_rerank_request(body));
  return 0;
}
