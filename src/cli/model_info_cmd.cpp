// `tessera model info`: what a GGUF file holds and what it needs to run. The JSON shape is
// documented in docs/model-info.md and kept stable (schema "tessera.model-info.v1").
#include <CLI/CLI.hpp>
#include <cctype>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/commands.h"
#include "engine/memory_estimate.h"
#include "engine/model_info.h"
#include "gguf/reader.h"

namespace tessera::cli {
namespace {

using nlohmann::json;

struct InfoArgs {
  std::string path;
  int64_t n_ctx = 0;
  int64_t n_parallel = 1;
  std::string kv_type = "f16";
  std::string device = "cpu";
  bool json = false;
};

const char* kind_name(engine::ModelKind k) {
  return k == engine::ModelKind::encoder ? "encoder" : "decoder";
}

json nullable(int64_t v) {
  return v > 0 ? json(v) : json(nullptr);
}

json to_json(const engine::ModelInfo& m, const engine::MemoryEstimate& e,
             const std::string& kv_type) {
  json types = json::array();
  for (const auto& t : m.type_mix) {
    types.push_back(
        {{"type", t.type}, {"tensors", t.tensors}, {"elements", t.elements}, {"bytes", t.bytes}});
  }
  const auto& tok = m.tokenizer;
  return {
      {"schema", "tessera.model-info.v1"},
      {"file",
       {{"path", m.path},
        {"size_bytes", m.file_size},
        {"gguf_version", m.gguf_version},
        {"metadata_keys", m.n_metadata}}},
      {"model",
       {{"architecture", m.arch},
        {"name", m.name.empty() ? json(nullptr) : json(m.name)},
        {"kind", kind_name(m.kind)},
        {"supported_architecture", m.known_arch},
        {"file_type", m.file_type.empty() ? json(nullptr) : json(m.file_type)},
        {"vocab_only", m.vocab_only},
        {"parameters", m.n_params},
        {"context_length", nullable(m.n_ctx_train)},
        {"layers", nullable(m.n_layer)},
        {"embedding_length", nullable(m.n_embd)},
        {"feed_forward_length", nullable(m.n_ff)},
        {"heads", nullable(m.n_head)},
        {"kv_heads", nullable(m.n_head_kv)},
        {"head_dim_k", nullable(m.head_dim_k)},
        {"head_dim_v", nullable(m.head_dim_v)},
        {"rope_freq_base", m.rope_freq_base > 0 ? json(m.rope_freq_base) : json(nullptr)},
        {"vocab_size", nullable(m.n_vocab)}}},
      {"tokenizer",
       {{"model", tok.model.empty() ? json(nullptr) : json(tok.model)},
        {"kind", tok.kind},
        {"pre", tok.pre.empty() ? json(nullptr) : json(tok.pre)},
        {"tokens", tok.n_tokens},
        {"merges", tok.n_merges},
        {"bos_token_id", tok.bos >= 0 ? json(tok.bos) : json(nullptr)},
        {"eos_token_id", tok.eos >= 0 ? json(tok.eos) : json(nullptr)},
        {"chat_template", tok.has_chat_template}}},
      {"tensors", {{"count", m.n_tensors}, {"bytes", m.weight_bytes}, {"types", types}}},
      {"memory",
       {{"device", engine::memory_device_name(e.device)},
        {"context", e.n_ctx},
        {"parallel", e.n_parallel},
        {"kv_type", kv_type},
        {"kv_cells", e.kv_cells},
        {"micro_batch", e.micro_batch},
        {"weights_bytes", e.weights},
        {"weight_copies_bytes", e.weight_copies},
        {"kv_cache_bytes", e.kv_cache},
        {"compute_bytes", e.compute},
        {"overhead_bytes", e.overhead},
        {"total_bytes", e.total},
        {"host_bytes", e.host}}},
  };
}

std::string or_dash(int64_t v) {
  return v > 0 ? std::to_string(v) : "-";
}

void print_text(const engine::ModelInfo& m, const engine::MemoryEstimate& e,
                const std::string& kv_type) {
  const auto& tok = m.tokenizer;
  std::printf("file          %s\n", m.path.c_str());
  std::printf("              %s (%llu bytes), GGUF v%u, %llu metadata keys\n",
              human_bytes(m.file_size).c_str(), static_cast<unsigned long long>(m.file_size),
              m.gguf_version, static_cast<unsigned long long>(m.n_metadata));
  std::printf("architecture  %s (%s%s)\n", m.arch.c_str(), kind_name(m.kind),
              m.known_arch ? "" : ", not supported by this build");
  if (!m.name.empty()) std::printf("name          %s\n", m.name.c_str());
  if (!m.file_type.empty()) std::printf("file type     %s\n", m.file_type.c_str());
  if (m.vocab_only) {
    std::printf("parameters    none: a vocabulary-only file (no tensors)\n");
  } else {
    std::printf("parameters    %s (%llu)\n", human_count(m.n_params).c_str(),
                static_cast<unsigned long long>(m.n_params));
  }
  std::printf("context       %s tokens (training)\n", or_dash(m.n_ctx_train).c_str());
  std::printf("layers        %s\n", or_dash(m.n_layer).c_str());
  std::printf("embedding     %s\n", or_dash(m.n_embd).c_str());
  std::printf("feed-forward  %s\n", or_dash(m.n_ff).c_str());
  std::printf("heads         %s (KV heads %s, head size %s/%s)\n", or_dash(m.n_head).c_str(),
              or_dash(m.n_head_kv).c_str(), or_dash(m.head_dim_k).c_str(),
              or_dash(m.head_dim_v).c_str());
  if (m.rope_freq_base > 0) std::printf("rope base     %g\n", m.rope_freq_base);
  std::printf("vocabulary    %s tokens, %s", or_dash(m.n_vocab).c_str(), tok.kind.c_str());
  if (!tok.pre.empty()) std::printf(" (pre-tokenizer %s)", tok.pre.c_str());
  if (tok.n_merges > 0) std::printf(", %llu merges", static_cast<unsigned long long>(tok.n_merges));
  if (tok.bos >= 0) std::printf(", BOS %lld", static_cast<long long>(tok.bos));
  if (tok.eos >= 0) std::printf(", EOS %lld", static_cast<long long>(tok.eos));
  std::printf("\nchat template %s\n", tok.has_chat_template ? "yes" : "no");
  std::printf("tensors       %llu, %s\n", static_cast<unsigned long long>(m.n_tensors),
              human_bytes(m.weight_bytes).c_str());
  for (const auto& t : m.type_mix) {
    std::printf("  %-10s %5llu tensors %14llu values %12s\n", t.type.c_str(),
                static_cast<unsigned long long>(t.tensors),
                static_cast<unsigned long long>(t.elements), human_bytes(t.bytes).c_str());
  }
  std::printf("memory        on %s, context %lld x %lld sequence%s, KV cache %s\n",
              engine::memory_device_name(e.device), static_cast<long long>(e.n_ctx),
              static_cast<long long>(e.n_parallel), e.n_parallel == 1 ? "" : "s", kv_type.c_str());
  auto row = [](const char* what, uint64_t bytes) {
    std::printf("  %-11s %12s  (%llu bytes)\n", what, human_bytes(bytes).c_str(),
                static_cast<unsigned long long>(bytes));
  };
  row("weights", e.weights);
  if (e.device == engine::MemoryDevice::cpu) row("CPU copies", e.weight_copies);
  row("KV cache", e.kv_cache);
  row("compute", e.compute);
  row("overhead", e.overhead);
  row("total", e.total);
  if (e.device != engine::MemoryDevice::cpu) row("+ host", e.host);
}

Status run_info(const InfoArgs& a) {
  const gguf::TensorTypeInfo* kv = gguf::tensor_type_by_name(a.kv_type);
  auto file = gguf::GgufFile::open(a.path);
  if (!file.ok()) return file.error();
  auto model = engine::read_model_info(*file);
  if (!model.ok()) return model.error();
  engine::MemoryOptions opts;
  opts.n_ctx = a.n_ctx;
  opts.n_parallel = a.n_parallel;
  opts.kv_type = kv->type;
  std::string device = a.device;
  for (char& c : device) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  opts.device = device == "cuda" ? engine::MemoryDevice::cuda : engine::MemoryDevice::cpu;
  auto est = engine::estimate_memory(*model, opts);
  if (!est.ok()) return est.error();
  if (a.json) {
    std::printf("%s\n", to_json(*model, *est, a.kv_type).dump(2).c_str());
  } else {
    print_text(*model, *est, a.kv_type);
  }
  return {};
}

}  // namespace

Runner add_model_info_command(CLI::App& model) {
  auto args = std::make_shared<InfoArgs>();
  CLI::App* cmd = model.add_subcommand("info", "Describe a GGUF model and estimate its memory");
  cmd->add_option("file", args->path, "GGUF model or vocabulary file")->required();
  cmd->add_option("--ctx", args->n_ctx,
                  "Context length per sequence for the memory estimate "
                  "(default: the model's, at most 4096)")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 32));
  cmd->add_option("--parallel", args->n_parallel, "Sequences decoded at once (default 1)")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 16));
  cmd->add_option("--kv-type", args->kv_type, "KV cache type: f16 (default), f32 or q8_0")
      ->check(CLI::IsMember({"f16", "f32", "q8_0"}, CLI::ignore_case));
  cmd->add_option("--device", args->device,
                  "Device kind of the memory estimate: cpu (default) or cuda")
      ->check(CLI::IsMember({"cpu", "cuda"}, CLI::ignore_case));
  cmd->add_flag("--json", args->json, "Print JSON (schema in docs/model-info.md)");
  return [args] { return run_info(*args); };
}

}  // namespace tessera::cli
