// Fuzz target: any byte string as a Jinja2 template must parse to a template or an error
// (with a position), and a parsed template must render to text or an error within the work
// and output limits, without a crash or sanitizer report.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "jinja/template.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tessera;
  static const nlohmann::ordered_json kVars = nlohmann::ordered_json::parse(R"({
    "messages": [
      {"role": "system", "content": "Be brief."},
      {"role": "user", "content": "Hi <b>there</b> \u00e9 \u4f60\u597d"},
      {"role": "assistant", "content": "", "tool_calls": [{"type": "function",
        "function": {"name": "f", "arguments": {"x": 1, "y": [1.5, null, true]}}}]},
      {"role": "tool", "content": "42"}
    ],
    "tools": [{"type": "function", "function": {"name": "f", "description": "d",
      "parameters": {"type": "object", "properties": {"x": {"type": "integer"}}}}}],
    "add_generation_prompt": true, "bos_token": "<s>", "eos_token": "</s>"
  })");
  jinja::Options o;
  o.trim_blocks = (size & 1) != 0;
  o.lstrip_blocks = (size & 2) != 0;
  o.max_output_bytes = 1 << 20;
  o.max_steps = 200000;
  o.max_depth = 64;
  o.now = [] { return std::chrono::system_clock::time_point{}; };
  const std::string_view source(reinterpret_cast<const char*>(data), size);
  auto t = jinja::Template::parse(source, o, "fuzz");
  if (!t.ok()) return 0;
  (void)t->render(kVars);
  return 0;
}
