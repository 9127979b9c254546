// Fuzz target: any byte string as the operator's scheduler config must give a config or an
// error with file and line, and a config must give places or an error, without a crash or
// sanitizer report. The sizes and durations inside go through the same parsers as request
// fields, which get the raw bytes too.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "runtime/scheduler_config.h"
#include "runtime/units.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tessera::runtime;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto config = parse_scheduler_config(text, "fuzz.yaml");
  if (!config.ok() && config.error().message.rfind("fuzz.yaml", 0) != 0) __builtin_trap();
  if (size <= 64) {
    (void)parse_bytes(text);
    (void)parse_keep_alive(text);
  }
  return 0;
}
