// `tessera bench`: prompt-processing and generation speed of a model, as llama.cpp's
// llama-bench measures them, and the memory read bandwidth that bounds generation.
// Methodology and output fields: docs/cli.md.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "backend/cpu/cpu_backend.h"
#include "backend/cpu/quant_dot.h"
#include "cli/bandwidth_probe.h"
#include "cli/bench_embed.h"
#include "cli/bench_flops.h"
#include "cli/bench_stats.h"
#include "cli/commands.h"
#include "engine/llm/llm.h"
#include "engine/model_info.h"
#include "gpu/backend_choice.h"
#include "gpu/cuda_backend.h"
#include "util/random.h"

namespace tessera::cli {
namespace {

using nlohmann::ordered_json;

constexpr int kMaxTokens = 1 << 20;         // per test; far past any context worth timing
constexpr int kWarmupPromptTokens = 32;     // llama-bench-style warm-up run, not counted
constexpr int kBandwidthReps = 5;           // reads of the standalone probe (best of)
constexpr int kPairedBandwidthReps = 2;     // reads right before each generation repetition
constexpr uint64_t kTokenSeed = 0x7e55e7a;  // the same pseudo-random prompt on every run

struct BenchArgs {
  std::string model;
  int n_prompt = 512;
  int n_gen = 128;
  int threads = 0;
  int reps = 5;
  bool json = false;
  bool bandwidth = false;
  bool no_bandwidth = false;
  int bandwidth_mib = 1024;
  std::string device = "auto";  // auto (the process's choice), cpu or cuda
};

Status check_args(const BenchArgs& a) {
  auto bad = [](const std::string& what) { return make_error(ErrorCode::invalid_argument, what); };
  if (a.n_prompt < 0 || a.n_prompt > kMaxTokens) {
    return bad("-p (prompt tokens) must be between 0 (skip the test) and " +
               std::to_string(kMaxTokens) + ", got " + std::to_string(a.n_prompt));
  }
  if (a.n_gen < 0 || a.n_gen > kMaxTokens) {
    return bad("-n (generated tokens) must be between 0 (skip the test) and " +
               std::to_string(kMaxTokens) + ", got " + std::to_string(a.n_gen));
  }
  if (a.reps < 1 || a.reps > 1000) {
    return bad("-r (repetitions) must be between 1 and 1000, got " + std::to_string(a.reps));
  }
  if (a.threads < 0 || a.threads > 1024) {
    return bad("-t (threads) must be between 0 (one per core) and 1024, got " +
               std::to_string(a.threads));
  }
  if (a.bandwidth_mib < 1 || a.bandwidth_mib > (1 << 20)) {
    return bad("--bandwidth-mib must be between 1 and 1048576, got " +
               std::to_string(a.bandwidth_mib));
  }
  if (a.device != "auto" && a.device != "cpu" && a.device != "cuda") {
    return bad("--device must be auto, cpu or cuda, got '" + a.device + "'");
  }
  if (a.bandwidth && a.no_bandwidth) return bad("give --bandwidth or --no-bandwidth, not both");
  if (a.model.empty() && !a.bandwidth) {
    return bad("give --model FILE to time a model, or --bandwidth to measure memory bandwidth");
  }
  if (!a.model.empty() && a.n_prompt == 0 && a.n_gen == 0) {
    return bad("-p 0 and -n 0 leave nothing to measure");
  }
  return {};
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// One prompt of `n` tokens in one decode call (logits of the last entry only); seconds.
Result<double> time_prompt(engine::LlmContext& ctx, const std::vector<engine::TokenId>& ids,
                           int n) {
  ctx.clear_sequence(0);
  engine::Batch batch;
  for (int i = 0; i < n; ++i) batch.add(ids[static_cast<size_t>(i)], 0, i, i == n - 1);
  const auto t0 = std::chrono::steady_clock::now();
  TESSERA_TRY(ctx.decode(batch));
  return seconds_since(t0);
}

// `n` single-token decodes from an empty sequence, each with logits; seconds for all.
Result<double> time_generation(engine::LlmContext& ctx, const std::vector<engine::TokenId>& ids,
                               int n) {
  ctx.clear_sequence(0);
  engine::Batch batch;
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < n; ++i) {
    batch.clear();
    batch.add(ids[static_cast<size_t>(i)], 0, i, true);
    TESSERA_TRY(ctx.decode(batch));
  }
  return seconds_since(t0);
}

// Bytes of weights one generated token reads: every tensor but the token embedding (one row
// of it is read), unless the output projection is tied to it and reads it whole.
uint64_t weight_bytes_per_token(const gguf::GgufFile& file) {
  const bool tied = file.find_tensor("output.weight") == nullptr;
  uint64_t sum = 0;
  for (const auto& t : file.tensors()) {
    if (tied || t.name != "token_embd.weight") sum += t.n_bytes;
  }
  return sum;
}

// What one invocation measured; absent parts are null in JSON and left out of the text.
struct BenchReport {
  std::string model_path;
  std::string model_name;  // file name
  uint64_t model_bytes = 0;
  uint64_t params = 0;
  std::string type;
  uint64_t bytes_per_token = 0;
  int threads = 0;
  std::string device = "cpu";  // the backend's name: cpu, cuda:0
  bool on_gpu = false;
  double gpu_copy = 0;        // bytes/s, device to device (read + written)
  double gpu_bf16_flops = 0;  // FLOP/s, cuBLAS BF16 GEMM
  double prompt_flops = 0;    // of one pp test prompt
  bool has_pp = false, has_tg = false, has_bandwidth = false;
  TestStats pp, tg;
  double bandwidth = 0;  // bytes/s: the standalone probe's best, or the paired probes' median
  int bandwidth_mib = 0;
  // Paired with tg: the probe right before each repetition, and that repetition's share of
  // it; the reported share is their median (the machine's bandwidth moves between runs).
  std::vector<double> paired_bandwidth, paired_fraction;
};

double tg_fraction(const BenchReport& r) {
  if (!r.paired_fraction.empty()) return median_of(r.paired_fraction);
  return static_cast<double>(r.bytes_per_token) * r.tg.median / r.bandwidth;
}

ordered_json stats_json(const TestStats& s) {
  return {{"tokens", s.tokens}, {"tokens_per_s", s.median}, {"min", s.min},  {"max", s.max},
          {"mean", s.mean},     {"stddev", s.stddev},       {"runs", s.runs}};
}

ordered_json report_json(const BenchReport& r) {
  const bool has_model = !r.model_path.empty();
  const bool has_fraction = r.has_tg && r.has_bandwidth && r.bandwidth > 0;
  ordered_json j;
  j["model"] = has_model ? ordered_json(r.model_path) : ordered_json(nullptr);
  j["model_bytes"] = has_model ? ordered_json(r.model_bytes) : ordered_json(nullptr);
  j["params"] = has_model ? ordered_json(r.params) : ordered_json(nullptr);
  j["type"] = has_model ? ordered_json(r.type) : ordered_json(nullptr);
  j["threads"] = r.threads;
  j["pp"] = r.has_pp ? stats_json(r.pp) : ordered_json(nullptr);
  j["tg"] = r.has_tg ? stats_json(r.tg) : ordered_json(nullptr);
  j["bandwidth_gb_per_s"] =
      r.has_bandwidth ? ordered_json(r.bandwidth / 1e9) : ordered_json(nullptr);
  j["tg_weight_bytes_per_token"] =
      has_model ? ordered_json(r.bytes_per_token) : ordered_json(nullptr);
  j["tg_bandwidth_fraction"] = has_fraction ? ordered_json(tg_fraction(r)) : ordered_json(nullptr);
  if (!r.paired_fraction.empty()) {
    ordered_json bw = ordered_json::array();
    for (double b : r.paired_bandwidth) bw.push_back(b / 1e9);
    j["tg_runs_bandwidth_gb_per_s"] = bw;
    j["tg_runs_bandwidth_fraction"] = r.paired_fraction;
  }
  j["device"] = r.device;
  if (r.on_gpu) {
    const double tflops = r.has_pp ? r.prompt_flops * r.pp.median / r.pp.tokens / 1e12 : 0;
    j["gpu_copy_gb_per_s"] = r.gpu_copy / 1e9;
    j["gpu_bf16_tflops"] = r.gpu_bf16_flops / 1e12;
    j["pp_tflops"] = r.has_pp ? ordered_json(tflops) : ordered_json(nullptr);
    j["pp_tflops_fraction"] =
        r.has_pp ? ordered_json(tflops * 1e12 / r.gpu_bf16_flops) : ordered_json(nullptr);
  } else {
    j["kernels"] = backend::cpu::dot_kernels_isa();
  }
  return j;
}

std::string mib_text(uint64_t bytes) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.2f MiB", static_cast<double>(bytes) / 1048576.0);
  return buf;
}

std::string range_text(const TestStats& s) {  // median (min–max)
  char buf[96];
  std::snprintf(buf, sizeof buf, "%.2f (%.2f–%.2f)", s.median, s.min, s.max);
  return buf;
}

std::string mean_text(const TestStats& s) {  // mean ± stddev
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.2f ± %.2f", s.mean, s.stddev);
  return buf;
}

// Characters a terminal shows for UTF-8 text (continuation bytes take no column).
size_t display_width(const std::string& s) {
  return static_cast<size_t>(std::count_if(
      s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

// A Markdown table, llama-bench's layout; columns flagged true are right-aligned.
void print_table(const std::vector<std::vector<std::string>>& rows,
                 const std::vector<bool>& right) {
  std::vector<size_t> width(right.size(), 0);
  for (const auto& row : rows) {
    for (size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], display_width(row[c]));
  }
  auto line = [&](const std::vector<std::string>& row) {
    std::string out = "|";
    for (size_t c = 0; c < row.size(); ++c) {
      const std::string pad(width[c] - display_width(row[c]), ' ');
      out += " " + (right[c] ? pad + row[c] : row[c] + pad) + " |";
    }
    std::printf("%s\n", out.c_str());
  };
  line(rows.front());
  std::string sep = "|";
  for (size_t c = 0; c < width.size(); ++c) {
    sep +=
        " " + (right[c] ? std::string(width[c] - 1, '-') + ":" : std::string(width[c], '-')) + " |";
  }
  std::printf("%s\n", sep.c_str());
  for (size_t i = 1; i < rows.size(); ++i) line(rows[i]);
}

void print_text(const BenchReport& r) {
  if (!r.model_path.empty()) {
    std::vector<std::vector<std::string>> rows = {
        {"model", "size", "params", "type", "threads", "test", "t/s (min–max)", "mean ± sd"}};
    auto add = [&](const char* test, const TestStats& s) {
      rows.push_back({r.model_name, mib_text(r.model_bytes), human_count(r.params), r.type,
                      std::to_string(r.threads), test + std::to_string(s.tokens), range_text(s),
                      mean_text(s)});
    };
    if (r.has_pp) add("pp", r.pp);
    if (r.has_tg) add("tg", r.tg);
    print_table(rows, {false, true, true, false, true, true, true, true});
    if (r.on_gpu) {
      std::printf("\ndevice: %s\n", r.device.c_str());
    } else {
      std::printf("\nCPU kernels: %s\n", backend::cpu::dot_kernels_isa());
    }
  }
  if (r.on_gpu) {
    std::printf(
        "\n%s: device-to-device copy %.1f GB/s (read + written); cuBLAS BF16 GEMM %.1f "
        "TFLOP/s\n",
        r.device.c_str(), r.gpu_copy / 1e9, r.gpu_bf16_flops / 1e12);
    if (r.has_pp) {
      const double flops = r.prompt_flops * r.pp.median / r.pp.tokens;
      std::printf("pp%d: %.1f TFLOP/s, %.1f%% of the BF16 GEMM peak\n", r.pp.tokens, flops / 1e12,
                  100.0 * flops / r.gpu_bf16_flops);
    }
  }
  if (r.has_bandwidth) {
    if (!r.model_path.empty()) std::printf("\n");
    if (r.on_gpu) {
      // the copy figure above is the reference
    } else if (r.paired_fraction.empty()) {
      std::printf("memory read bandwidth: %.2f GB/s (%d threads, %d MiB buffer, best of %d)\n",
                  r.bandwidth / 1e9, r.threads, r.bandwidth_mib, kBandwidthReps);
    } else {
      std::printf(
          "memory read bandwidth: %.2f GB/s (%d threads, %d MiB buffer; median of %zu probes, "
          "each the best of %d reads right before a tg repetition; %.2f-%.2f)\n",
          r.bandwidth / 1e9, r.threads, r.bandwidth_mib, r.paired_bandwidth.size(),
          kPairedBandwidthReps,
          *std::min_element(r.paired_bandwidth.begin(), r.paired_bandwidth.end()) / 1e9,
          *std::max_element(r.paired_bandwidth.begin(), r.paired_bandwidth.end()) / 1e9);
    }
    if (r.has_tg && r.bandwidth > 0) {
      const double mb = static_cast<double>(r.bytes_per_token) / 1e6;
      std::printf(
          "tg%d: %.2f MB of weights per token x %.2f tokens/s = %.2f GB/s, %.1f%% of the "
          "bandwidth%s (bound: %.2f tokens/s)\n",
          r.tg.tokens, mb, r.tg.median, mb * r.tg.median / 1e3, 100.0 * tg_fraction(r),
          r.paired_fraction.empty() ? "" : " (median of the repetitions' shares)",
          r.bandwidth / static_cast<double>(r.bytes_per_token));
    }
  }
}

// Times the model's tests into `r` (warm-up first, then the repetitions of pp, then tg; with
// the bandwidth wanted, a probe read right before each tg repetition).
// The backend --device asks for: auto is the process's choice (the doctor's verdict).
Result<std::shared_ptr<backend::Backend>> bench_backend(const std::string& device) {
  if (device == "cuda") return gpu::make_cuda_backend(0);
  if (device == "auto" && gpu::choose_backend().device != nullptr) {
    return gpu::choose_backend().device;
  }
  return backend::make_cpu_backend();
}

Status bench_model(const BenchArgs& a, BenchReport& r) {
  engine::LoadOptions lo;
  lo.n_threads = r.threads;
  TESSERA_TRY_ASSIGN(be, bench_backend(a.device));
  lo.backend = be;
  r.device = std::string(be->name());
  r.on_gpu = be->kind() == backend::DeviceKind::cuda;
  if (r.on_gpu) {
    TESSERA_TRY_ASSIGN(peaks, gpu::measure_cuda_peaks(0));
    r.gpu_copy = peaks.copy_gbps * 1e9;
    r.gpu_bf16_flops = peaks.bf16_tflops * 1e12;
  }
  TESSERA_TRY_ASSIGN(model, engine::LlmModel::load(a.model, lo));
  TESSERA_TRY_ASSIGN(info, engine::read_model_info(model->file()));
  r.model_path = a.model;
  const size_t slash = a.model.find_last_of('/');
  r.model_name = slash == std::string::npos ? a.model : a.model.substr(slash + 1);
  r.model_bytes = info.weight_bytes;
  r.params = info.n_params;
  r.type = info.type_mix.empty() ? "?" : info.type_mix.front().type;
  r.bytes_per_token = weight_bytes_per_token(model->file());
  r.prompt_flops = prompt_flops(model->file(), model->hparams(), a.n_prompt);

  engine::ContextOptions co;
  co.n_ctx = int64_t{a.n_prompt} + a.n_gen;
  co.n_batch = 512;
  co.n_threads = r.threads;
  TESSERA_TRY_ASSIGN(ctx, engine::LlmContext::create(model, co));

  std::vector<engine::TokenId> ids(static_cast<size_t>(std::max(a.n_prompt, a.n_gen)));
  SplitMix64 rng(kTokenSeed);
  for (auto& id : ids) {
    id = static_cast<engine::TokenId>(rng.next() % static_cast<uint64_t>(model->n_vocab()));
  }

  if (a.n_prompt > 0) {
    TESSERA_TRY(time_prompt(*ctx, ids, std::min(a.n_prompt, kWarmupPromptTokens)));
  }
  if (a.n_gen > 0) TESSERA_TRY(time_generation(*ctx, ids, 1));

  auto repeat = [&](int tokens, auto&& timed) -> Result<TestStats> {
    std::vector<double> runs;
    for (int i = 0; i < a.reps; ++i) {
      TESSERA_TRY_ASSIGN(s, timed(*ctx, ids, tokens));
      runs.push_back(s > 0 ? tokens / s : 0.0);
    }
    return summarize(tokens, std::move(runs));
  };
  if (a.n_prompt > 0) {
    TESSERA_TRY_ASSIGN(pp, repeat(a.n_prompt, time_prompt));
    r.pp = std::move(pp);
    r.has_pp = true;
  }
  if (a.n_gen > 0 && r.on_gpu) {  // the device's copy bandwidth is the reference
    TESSERA_TRY_ASSIGN(tg, repeat(a.n_gen, time_generation));
    r.tg = std::move(tg);
    r.has_tg = true;
    r.bandwidth = r.gpu_copy;
    r.has_bandwidth = true;
  } else if (a.n_gen > 0 && !a.no_bandwidth) {
    TESSERA_TRY_ASSIGN(
        probe, BandwidthProbe::create(r.threads, static_cast<size_t>(a.bandwidth_mib) << 20));
    std::vector<double> runs;
    for (int i = 0; i < a.reps; ++i) {
      TESSERA_TRY_ASSIGN(bw, probe.measure(kPairedBandwidthReps));
      TESSERA_TRY_ASSIGN(s, time_generation(*ctx, ids, a.n_gen));
      const double rate = s > 0 ? a.n_gen / s : 0.0;
      runs.push_back(rate);
      r.paired_bandwidth.push_back(bw);
      r.paired_fraction.push_back(bw > 0 ? static_cast<double>(r.bytes_per_token) * rate / bw : 0);
    }
    r.tg = summarize(a.n_gen, std::move(runs));
    r.has_tg = true;
    r.bandwidth = median_of(r.paired_bandwidth);
    r.bandwidth_mib = a.bandwidth_mib;
    r.has_bandwidth = true;
  } else if (a.n_gen > 0) {
    TESSERA_TRY_ASSIGN(tg, repeat(a.n_gen, time_generation));
    r.tg = std::move(tg);
    r.has_tg = true;
  }
  return {};
}

Status run_bench(const BenchArgs& a) {
  TESSERA_TRY(check_args(a));
  BenchReport r;
  r.threads = a.threads > 0 ? a.threads
                            : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  if (!a.model.empty() && is_encoder_file(a.model)) {
    return bench_encoder(a.model, r.threads, a.n_prompt > 0 ? a.n_prompt : 128, a.reps, a.json);
  }
  if (!a.model.empty()) TESSERA_TRY(bench_model(a, r));
  if (!r.has_bandwidth && a.bandwidth) {  // the standalone probe (no generation to pair with)
    const size_t bytes = static_cast<size_t>(a.bandwidth_mib) << 20;
    TESSERA_TRY_ASSIGN(bw, measure_read_bandwidth(r.threads, bytes, kBandwidthReps));
    r.bandwidth = bw;
    r.bandwidth_mib = a.bandwidth_mib;
    r.has_bandwidth = true;
  }
  if (a.json) {
    std::printf("%s\n", report_json(r).dump(2).c_str());
  } else {
    print_text(r);
  }
  return {};
}

}  // namespace

Runner add_bench_command(CLI::App& app) {
  auto a = std::make_shared<BenchArgs>();
  CLI::App* cmd = app.add_subcommand(
      "bench", "Time prompt processing and generation of a model, and memory bandwidth");
  cmd->add_option("--model,-m", a->model,
                  "GGUF model file: a decoder (llama, qwen2), or an encoder (bert: embedding "
                  "throughput at batch 1 and 32)");
  cmd->add_option("-p,--n-prompt", a->n_prompt,
                  "Prompt tokens of the prompt-processing test (0: skip it; default 512); "
                  "encoders: tokens per text (at most the model's context)");
  cmd->add_option("-n,--n-gen", a->n_gen,
                  "Tokens of the generation test (0: skip it; default 128)");
  cmd->add_option("-t,--threads", a->threads, "Threads (default: one per core)");
  cmd->add_option("-r,--repetitions", a->reps, "Timed runs of each test (default 5)");
  cmd->add_flag("--json", a->json, "Print the results as one JSON object");
  cmd->add_flag("--bandwidth", a->bandwidth,
                "Measure the memory read bandwidth (alone without --model)");
  cmd->add_flag("--no-bandwidth", a->no_bandwidth,
                "Do not measure the bandwidth (read right before each generation repetition)");
  cmd->add_option("--device", a->device,
                  "Where the model runs: auto (the GPU when tessera doctor says it is usable; "
                  "default), cpu or cuda (CUDA device 0; GPU runs also measure the device's "
                  "copy bandwidth and BF16 GEMM peak to compare with)");
  cmd->add_option("--bandwidth-mib", a->bandwidth_mib, "Buffer of the bandwidth probe, MiB")
      ->group("");  // hidden: for tests on small machines
  return [a] { return run_bench(*a); };
}

}  // namespace tessera::cli
