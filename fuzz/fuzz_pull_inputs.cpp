// Fuzz target: what a Hugging Face-style server (or a user) can hand `tessera pull` and the
// model store: URLs and redirect Locations, Content-Range and ETag headers, REPO[:FILE]
// references, model names, the Hub's file-list and tree JSON. Each must give a value or an
// error, without a crash or sanitizer report. The first byte picks the parser.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "runtime/hf_hub.h"
#include "runtime/http_get.h"
#include "runtime/model_name.h"
#include "runtime/url.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tessera::runtime;
  if (size == 0) return 0;
  const std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 8) {
    case 0: {
      auto u = parse_url(in);
      if (u.ok()) (void)u->str();
      break;
    }
    case 1: {
      static const Url kBase = *parse_url("https://hub.example/org/repo/resolve/main/d/f.gguf?x=1");
      auto u = resolve_url(kBase, in);
      if (u.ok()) (void)parse_url(u->str());
      break;
    }
    case 2:
      (void)parse_content_range(in);
      (void)sha256_from_etag(in);
      break;
    case 3: {
      auto ref = parse_pull_ref(in);
      if (ref.ok() && !ref->file.empty()) {
        (void)hub_file_url("https://h", ref->repo, "main", ref->file);
        (void)validate_model_name(default_model_name(ref->file));
      }
      break;
    }
    case 4:
      (void)validate_model_name(in);
      (void)quote_name(in);
      (void)close_names(in.substr(0, 128), {"qwen2-tiny", "llama", std::string(in.substr(0, 64))});
      break;
    case 5: {
      auto files = parse_repo_files(in, "fuzz");
      if (files.ok()) {
        (void)choose_gguf(*files, PullRef{"o/r", "", ""});
        (void)choose_gguf(*files, PullRef{"o/r", "", "Q4_0"});
      }
      break;
    }
    case 6:
      (void)parse_tree_sha256(in, "a.gguf", "fuzz");
      break;
    default:
      (void)validate_repo_file(in);
      (void)validate_revision(in);
      (void)is_split_gguf(in);
      break;
  }
  return 0;
}
