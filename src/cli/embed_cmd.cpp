// `tessera embed` and `tessera rerank`: embeddings and relevance scores from an encoder model
// (engine/llm/encoder.h).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "cli/cli_input.h"
#include "cli/commands.h"
#include "engine/llm/encoder.h"

namespace tessera::cli {
namespace {

struct EmbedArgs {
  std::string model;
  std::vector<std::string> texts;
  std::string file;
  std::string pooling;  // empty: the model's
  bool no_normalize = false;
  bool no_truncate = false;
  bool json = false;
  int threads = 0;
};

struct RerankArgs {
  std::string model;
  std::string query;
  std::vector<std::string> docs;
  std::string file;
  bool sigmoid = false;
  bool no_truncate = false;
  bool json = false;
  int threads = 0;
};

// Texts from the arguments, or one per line of a file (a final newline ends the last line;
// "\r\n" counts as one).
Result<std::vector<std::string>> gather_texts(const std::vector<std::string>& args,
                                              const std::string& file, const char* what) {
  if (args.empty() == file.empty()) {
    return make_error(ErrorCode::invalid_argument, std::string("give the ") + what +
                                                       " as arguments or --file F (one per "
                                                       "line), one of them");
  }
  if (file.empty()) return args;
  TESSERA_TRY_ASSIGN(bytes, read_file_bytes(file));
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < bytes.size()) {
    size_t end = bytes.find('\n', start);
    if (end == std::string::npos) end = bytes.size();
    std::string line = bytes.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(std::move(line));
    start = end + 1;
  }
  if (lines.empty()) {
    return make_error(ErrorCode::invalid_argument, file + " holds no lines: nothing to do");
  }
  return lines;
}

Result<std::optional<engine::Pooling>> parse_pooling(const std::string& name) {
  if (name.empty()) return std::optional<engine::Pooling>();
  if (name == "none") return std::optional(engine::Pooling::none);
  if (name == "mean") return std::optional(engine::Pooling::mean);
  if (name == "cls") return std::optional(engine::Pooling::cls);
  if (name == "last") return std::optional(engine::Pooling::last);
  return make_error(ErrorCode::invalid_argument,
                    "--pooling " + name + " is unknown; use none, mean, cls or last");
}

std::string floats_text(const float* v, size_t n) {
  std::string s;
  char buf[32];
  for (size_t i = 0; i < n; ++i) {
    std::snprintf(buf, sizeof buf, "%s%.6g", i ? " " : "", static_cast<double>(v[i]));
    s += buf;
  }
  return s;
}

Status run_embed(const EmbedArgs& a) {
  TESSERA_TRY_ASSIGN(texts, gather_texts(a.texts, a.file, "texts"));
  TESSERA_TRY_ASSIGN(pooling, parse_pooling(a.pooling));
  engine::LoadOptions lo;
  lo.n_threads = a.threads;
  TESSERA_TRY_ASSIGN(model, engine::EncoderModel::load(a.model, lo));
  engine::EmbedOptions o;
  o.pooling = pooling;
  o.normalize = !a.no_normalize;
  o.truncate = !a.no_truncate;
  TESSERA_TRY_ASSIGN(out, model->embed(texts, o));
  const auto E = static_cast<size_t>(model->hparams().n_embd);
  if (a.json) {
    nlohmann::json emb = nlohmann::json::array(), tokens = nlohmann::json::array(),
                   truncated = nlohmann::json::array();
    for (const auto& e : out) {
      emb.push_back(e.values);
      tokens.push_back(e.n_tokens);
      truncated.push_back(e.truncated);
    }
    const nlohmann::json j = {{"embeddings", emb}, {"tokens", tokens}, {"truncated", truncated}};
    std::printf("%s\n", j.dump().c_str());
    return {};
  }
  for (size_t i = 0; i < out.size(); ++i) {  // one line per vector (per token with none)
    for (size_t r = 0; r < out[i].values.size() / E; ++r) {
      std::printf("%s\n", floats_text(out[i].values.data() + r * E, E).c_str());
    }
    if (out[i].truncated) {
      std::fprintf(stderr, "tessera: note: text %zu was cut to the model's context (%d tokens)\n",
                   i, out[i].n_tokens);
    }
  }
  return {};
}

Status run_rerank(const RerankArgs& a) {
  TESSERA_TRY_ASSIGN(docs, gather_texts(a.docs, a.file, "documents"));
  engine::LoadOptions lo;
  lo.n_threads = a.threads;
  TESSERA_TRY_ASSIGN(model, engine::EncoderModel::load(a.model, lo));
  engine::RerankOptions o;
  o.sigmoid = a.sigmoid;
  o.truncate = !a.no_truncate;
  TESSERA_TRY_ASSIGN(out, model->rerank(a.query, docs, o));
  if (a.json) {
    nlohmann::json scores = nlohmann::json::array(), tokens = nlohmann::json::array();
    for (const auto& s : out) {
      scores.push_back(s.score);
      tokens.push_back(s.n_tokens);
    }
    std::printf("%s\n", nlohmann::json{{"scores", scores}, {"tokens", tokens}}.dump().c_str());
    return {};
  }
  for (size_t i = 0; i < out.size(); ++i) std::printf("%.6f\n", static_cast<double>(out[i].score));
  return {};
}

}  // namespace

Runner add_embed_command(CLI::App& app) {
  auto a = std::make_shared<EmbedArgs>();
  CLI::App* cmd = app.add_subcommand("embed", "Embed texts with an encoder model (bge, MiniLM)");
  cmd->add_option("--model", a->model, "GGUF encoder model")->required();
  cmd->add_option("texts", a->texts, "Texts to embed (each one vector)");
  cmd->add_option("--file", a->file, "Read the texts from this file, one per line");
  cmd->add_option("--pooling", a->pooling, "none, mean, cls or last (default: the model's)");
  cmd->add_flag("--no-normalize", a->no_normalize, "Do not L2-normalize the vectors");
  cmd->add_flag("--no-truncate", a->no_truncate,
                "Refuse texts longer than the model's context instead of cutting them");
  cmd->add_option("-t,--threads", a->threads, "Threads (default: one per core)");
  cmd->add_flag("--json", a->json,
                R"(Print {"embeddings": [[...], ...], "tokens": [n, ...], "truncated": [...]})");
  return [a] { return run_embed(*a); };
}

Runner add_rerank_command(CLI::App& app) {
  auto a = std::make_shared<RerankArgs>();
  CLI::App* cmd = app.add_subcommand("rerank", "Score documents for a query with a reranker");
  cmd->add_option("--model", a->model, "GGUF reranker (cross-encoder) model")->required();
  cmd->add_option("--query", a->query, "The query")->required();
  cmd->add_option("docs", a->docs, "Documents to score");
  cmd->add_option("--file", a->file, "Read the documents from this file, one per line");
  cmd->add_flag("--sigmoid", a->sigmoid, "Scores as 1 / (1 + e^-raw), in (0, 1)");
  cmd->add_flag("--no-truncate", a->no_truncate,
                "Refuse pairs longer than the model's context instead of cutting them");
  cmd->add_option("-t,--threads", a->threads, "Threads (default: one per core)");
  cmd->add_flag("--json", a->json, R"(Print {"scores": [...], "tokens": [...]} in input order)");
  return [a] { return run_rerank(*a); };
}

}  // namespace tessera::cli
