#include "engine/chat_prompt.h"

#include <optional>
#include <utility>

namespace tessera::engine {
namespace {

using nlohmann::ordered_json;
using Range = std::pair<size_t, size_t>;

void add_text(const ordered_json& v, std::vector<std::string>& out) {
  if (v.is_string() && !v.get_ref<const std::string&>().empty()) {
    out.push_back(v.get<std::string>());
  }
}

// The texts of a conversation that come from its participants, in message order.
std::vector<std::string> message_texts(const ordered_json& messages) {
  std::vector<std::string> texts;
  for (const auto& m : messages) {
    if (!m.is_object()) continue;
    if (auto c = m.find("content"); c != m.end()) {
      if (c->is_array()) {
        for (const auto& part : *c) {
          if (part.is_object() && part.contains("text")) add_text(part["text"], texts);
        }
      } else {
        add_text(*c, texts);
      }
    }
    if (auto r = m.find("reasoning_content"); r != m.end()) add_text(*r, texts);
    if (auto calls = m.find("tool_calls"); calls != m.end() && calls->is_array()) {
      for (const auto& call : *calls) {
        if (!call.is_object() || !call.contains("function")) continue;
        const auto& f = call["function"];
        if (f.is_object() && f.contains("arguments")) add_text(f["arguments"], texts);
      }
    }
  }
  return texts;
}

std::string_view trim(std::string_view s) {
  const size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return {};
  return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

// Where `needle` (or its trimmed form) stands in `text`, searching from `from` first.
std::optional<Range> locate(std::string_view text, std::string_view needle, size_t from) {
  for (std::string_view n : {needle, trim(needle)}) {
    if (n.empty()) continue;
    size_t at = text.find(n, from);
    if (at == std::string_view::npos) at = text.find(n);
    if (at != std::string_view::npos) return Range{at, at + n.size()};
  }
  return std::nullopt;
}

}  // namespace

Result<ChatPrompt> build_chat_prompt(const Tokenizer& tokenizer, const ChatTemplate& tmpl,
                                     const ChatTemplateInput& input) {
  auto text = tmpl.render(input);
  if (!text.ok()) return text.error();
  ChatPrompt p;
  p.text = std::move(text).value();

  std::vector<Range> plain;
  size_t cursor = 0;
  for (const std::string& t : message_texts(input.messages)) {
    if (auto r = locate(p.text, t, cursor)) {
      plain.push_back(*r);
      cursor = r->second;
      continue;
    }
    // Not found verbatim: keep each control token this text holds plain everywhere.
    const std::vector<TokenId> ids =
        tokenizer.encode(t, {.add_special = false, .parse_special = true});
    for (TokenId id : ids) {
      if (tokenizer.token_type(id) != TokenType::control) continue;
      const std::string_view s = tokenizer.token_text(id);
      for (size_t at = p.text.find(s); at != std::string::npos; at = p.text.find(s, at + 1)) {
        plain.push_back({at, at + s.size()});
      }
    }
  }
  p.tokens = tokenizer.encode(p.text,
                              {.add_special = false, .parse_special = true, .plain_ranges = plain});
  const TokenId bos = tokenizer.bos();
  if (tokenizer.add_bos() && bos != kNoToken && (p.tokens.empty() || p.tokens.front() != bos)) {
    p.tokens.insert(p.tokens.begin(), bos);
  }
  return p;
}

}  // namespace tessera::engine
