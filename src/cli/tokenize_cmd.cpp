// `tessera tokenize`: the token ids and pieces a model's own tokenizer gives for a text.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/cli_input.h"
#include "cli/commands.h"
#include "engine/tokenizer/tokenizer.h"
#include "gguf/reader.h"
#include "util/utf8.h"

namespace tessera::cli {
namespace {

struct TokenizeArgs {
  std::string model;
  std::string text;
  std::string file;
  bool no_special = false;
  bool json = false;
  bool has_text = false;  // TEXT was given (it may be empty)
};

// A piece as a quoted, one-line string: control characters, quotes, backslashes and bytes
// that are not valid UTF-8 are escaped; other characters are printed as they are.
std::string quote_piece(std::string_view s) {
  std::string out = "'";
  char buf[8];
  for (size_t i = 0; i < s.size();) {
    const utf8::Sequence q = utf8::classify(s.data() + i, s.size() - i);
    const size_t n = q.kind == utf8::Sequence::Kind::valid ? q.length : 0;
    const auto b = static_cast<unsigned char>(s[i]);
    if (n > 1) {
      out.append(s.substr(i, n));
      i += n;
      continue;
    }
    if (b == '\n') {
      out += "\\n";
    } else if (b == '\t') {
      out += "\\t";
    } else if (b == '\r') {
      out += "\\r";
    } else if (b == '\'' || b == '\\') {
      out += '\\';
      out += static_cast<char>(b);
    } else if (n == 1 && b >= 0x20 && b != 0x7F) {
      out += static_cast<char>(b);
    } else {
      std::snprintf(buf, sizeof buf, "\\x%02x", b);
      out += buf;
    }
    ++i;
  }
  return out + "'";
}

Status run_tokenize(const TokenizeArgs& a) {
  if (a.has_text == !a.file.empty()) {
    return make_error(ErrorCode::invalid_argument,
                      "tokenize needs the text: give TEXT or --file F (one of them)");
  }
  std::string text = a.text;
  if (!a.file.empty()) {
    auto bytes = read_file_bytes(a.file);
    if (!bytes.ok()) return bytes.error();
    text = std::move(bytes).value();
  }
  auto file = gguf::GgufFile::open(a.model);
  if (!file.ok()) return file.error();
  auto tok = engine::Tokenizer::from_gguf(*file);
  if (!tok.ok()) return tok.error();
  engine::EncodeOptions opts;
  opts.add_special = !a.no_special;
  opts.parse_special = !a.no_special;
  const std::vector<engine::TokenId> ids = tok->encode(text, opts);
  if (a.json) {
    nlohmann::json pieces = nlohmann::json::array();
    for (engine::TokenId id : ids) {
      const std::string p = tok->token_to_piece(id);
      if (utf8::is_valid(p)) {
        pieces.push_back(p);
      } else {  // part of a character: its bytes, as a list of numbers
        nlohmann::json bytes = nlohmann::json::array();
        for (char c : p) bytes.push_back(static_cast<unsigned char>(c));
        pieces.push_back(bytes);
      }
    }
    const nlohmann::json out = {{"ids", ids}, {"pieces", pieces}};
    std::printf("%s\n", out.dump().c_str());
    return {};
  }
  for (engine::TokenId id : ids) {
    std::printf("%7d %s\n", id, quote_piece(tok->token_to_piece(id)).c_str());
  }
  return {};
}

}  // namespace

Runner add_tokenize_command(CLI::App& app) {
  auto args = std::make_shared<TokenizeArgs>();
  CLI::App* cmd = app.add_subcommand("tokenize", "Show the tokens a model's tokenizer makes");
  cmd->add_option("--model", args->model, "GGUF model or vocabulary file")->required();
  CLI::Option* text = cmd->add_option("text", args->text, "Text to tokenize");
  cmd->add_option("--file", args->file, "Read the text from this file, byte for byte");
  cmd->add_flag("--no-special", args->no_special,
                "Add no BOS/EOS and treat special-token text as plain text");
  cmd->add_flag("--json", args->json, R"(Print {"ids": [...], "pieces": [...]})");
  return [args, text] {
    args->has_text = text->count() > 0;
    return run_tokenize(*args);
  };
}

}  // namespace tessera::cli
