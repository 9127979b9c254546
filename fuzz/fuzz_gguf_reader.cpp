// Fuzz target: any byte string given to the GGUF reader must yield a file or an error,
// never a crash, a sanitizer report or a huge allocation. Files that parse go on through
// what `model info` does with them (model description, memory estimate) and through the
// dequantizers of their tensors, and build their tokenizer and chat template (hostile
// tokenizer metadata must give an error, never a crash).
#include <cstddef>
#include <cstdint>
#include <vector>

#include "engine/chat_template.h"
#include "engine/memory_estimate.h"
#include "engine/model_info.h"
#include "engine/tokenizer/tokenizer.h"
#include "gguf/reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tessera;
  auto file = gguf::GgufFile::parse(data, size, "fuzz-input");
  if (!file.ok()) return 0;
  for (const auto& e : file->metadata()) (void)e.value.to_display();
  auto info = engine::read_model_info(*file);
  if (info.ok()) {
    engine::MemoryOptions o;
    o.n_parallel = 2;
    (void)engine::estimate_memory(*info, o);
  }
  auto tok = engine::Tokenizer::from_gguf(*file);
  if (tok.ok()) {
    const auto ids = tok->encode("Hello world, <s> 123 \xe4\xbd\xa0\xe5\xa5\xbd!", {true, true});
    (void)tok->decode(ids);
  }
  (void)engine::ChatTemplate::from_gguf(*file);  // parsed only: fuzz_jinja renders
  for (const auto& t : file->tensors()) {
    if (t.n_elements > (1u << 20)) continue;
    (void)file->read_f32(t);
  }
  return 0;
}
