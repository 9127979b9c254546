#include "jinja/parser.h"

#include <utility>

#include "jinja/stack_limit.h"

namespace tessera::jinja {
namespace {

std::string describe(const Token& t) {
  switch (t.type) {
    case TokenType::text:
      return "template data";
    case TokenType::var_begin:
      return "begin of print statement";
    case TokenType::var_end:
      return "end of print statement";
    case TokenType::block_begin:
      return "begin of statement block";
    case TokenType::block_end:
      return "end of statement block";
    case TokenType::string:
      return "string";
    case TokenType::integer:
      return "integer";
    case TokenType::floating:
      return "float";
    case TokenType::eof:
      return "end of template";
    default:
      return std::string("'") + t.text + "'";
  }
}

std::string quoted_list(const std::vector<std::string>& names) {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) {
    if (i) out += i + 1 == names.size() ? " or " : ", ";
    out += std::string("'") + names[i] + "'";
  }
  return out;
}

bool is_const_name(std::string_view n) {
  return n == "true" || n == "false" || n == "none" || n == "True" || n == "False" || n == "None";
}

}  // namespace

Result<Body> parse_tokens(const std::vector<Token>& tokens, std::string_view source,
                          const std::string& name, size_t max_depth) {
  return Parser(tokens, source, name, max_depth).parse_template();
}

// ---- token stream ----

bool Parser::is_op(std::string_view op) const {
  return cur().type == TokenType::op && cur().text == op;
}

bool Parser::is_name(std::string_view name) const {
  return cur().type == TokenType::name && cur().text == name;
}

bool Parser::peek_is_op(std::string_view op) const {
  return peek().type == TokenType::op && peek().text == op;
}

Error Parser::fail(uint32_t pos, const std::string& message) const {
  return Error{ErrorCode::malformed, source_position(name_, source_, pos) + message};
}

Error Parser::unexpected(const Token& t, std::string_view expected) const {
  return fail(t.pos, std::string("expected ") + std::string(expected) + ", got " + describe(t));
}

Status Parser::expect_op(std::string_view op) {
  if (!is_op(op)) return unexpected(cur(), std::string("'") + std::string(op) + "'");
  advance();
  return {};
}

Status Parser::expect_block_end() {
  if (cur().type != TokenType::block_end) return unexpected(cur(), "end of statement block");
  advance();
  return {};
}

Result<std::string> Parser::expect_name() {
  if (cur().type != TokenType::name) return unexpected(cur(), "a name");
  std::string n = cur().text;
  advance();
  return n;
}

Status Parser::enter() {
  if (++depth_ > max_depth_ || stack_nearly_exhausted()) {
    --depth_;
    const std::string why =
        depth_ + 1 > max_depth_
            ? "template nested deeper than " + std::to_string(max_depth_) + " levels"
            : std::string("template nested too deeply for the stack of this thread");
    return Error{ErrorCode::out_of_range, source_position(name_, source_, cur().pos) + why};
  }
  return {};
}

// ---- statements ----

Result<Body> Parser::parse_template() {
  Body body;
  TESSERA_TRY(parse_body(body, {}, nullptr));
  return body;
}

Status Parser::parse_body(Body& out, EndTags end_tags, std::string* found) {
  while (true) {
    const Token& t = cur();
    switch (t.type) {
      case TokenType::text:
        out.push_back(std::make_unique<TextStmt>(t.pos, t.text));
        advance();
        break;
      case TokenType::var_begin: {
        const uint32_t pos = t.pos;
        advance();
        auto expr = parse_tuple(true, {}, false);
        if (!expr.ok()) return expr.error();
        if (cur().type != TokenType::var_end) return unexpected(cur(), "end of print statement");
        advance();
        out.push_back(std::make_unique<OutputStmt>(pos, std::move(expr).value()));
        break;
      }
      case TokenType::block_begin: {
        const uint32_t tag_pos = t.pos;
        advance();
        if (cur().type == TokenType::name) {
          for (std::string_view tag : end_tags) {
            if (cur().text == tag) {
              *found = cur().text;
              return {};
            }
          }
        }
        auto stmt = parse_statement(tag_pos);
        if (!stmt.ok()) return stmt.error();
        if (*stmt) out.push_back(std::move(stmt).value());
        break;
      }
      case TokenType::eof: {
        if (end_tags.size() == 0) return {};
        const OpenBlock& b = open_blocks_.back();
        return fail(b.pos, std::string("'") + b.tag + "' block is never closed (expected " +
                               quoted_list(b.end_tags) + " before the end of the template)");
      }
      default:
        return fail(t.pos, std::string("unexpected ") + describe(t));
    }
  }
}

Status Parser::parse_block_body(Body& out, std::string_view tag, uint32_t pos, EndTags end_tags,
                                std::string* found) {
  open_blocks_.push_back({std::string(tag), pos, {end_tags.begin(), end_tags.end()}});
  Status s = parse_body(out, end_tags, found);
  open_blocks_.pop_back();
  return s;
}

Status Parser::finish_block(std::string_view end_tag) {
  if (!is_name(end_tag)) return unexpected(cur(), std::string("'") + std::string(end_tag) + "'");
  advance();
  return expect_block_end();
}

Result<StmtPtr> Parser::parse_statement(uint32_t pos) {
  const Token& t = cur();
  if (t.type != TokenType::name) {
    return fail(t.pos, std::string("tag name expected, got ") + describe(t));
  }
  const uint32_t name_pos = t.pos;
  const std::string tag = t.text;
  TESSERA_TRY(enter());
  Result<StmtPtr> r = StmtPtr();
  if (tag == "if") {
    r = parse_if(pos);
  } else if (tag == "for") {
    r = parse_for(pos);
  } else if (tag == "set") {
    r = parse_set(pos);
  } else if (tag == "macro") {
    r = parse_macro(pos);
  } else if (tag == "call") {
    r = parse_call_block(pos);
  } else if (tag == "filter") {
    r = parse_filter_block(pos);
  } else if (tag == "with") {
    r = parse_with(pos);
  } else if (tag == "block" || tag == "generation") {
    r = parse_scope(pos, tag);
  } else if (tag == "break" || tag == "continue") {
    r = parse_loop_control(pos, tag == "break");
  } else if (tag == "print") {
    advance();
    auto expr = parse_tuple(true, {}, false);
    if (expr.ok()) {
      Status s = expect_block_end();
      r = s.ok() ? Result<StmtPtr>(std::make_unique<OutputStmt>(pos, std::move(expr).value()))
                 : Result<StmtPtr>(s.error());
    } else {
      r = expr.error();
    }
  } else if (tag == "include" || tag == "import" || tag == "from" || tag == "extends" ||
             tag == "autoescape" || tag == "trans") {
    r = Error{ErrorCode::unsupported, source_position(name_, source_, pos) + "the '" + tag +
                                          "' tag is not supported (no template loader)"};
  } else {
    std::string message = std::string("unknown tag '") + tag + "'";
    if (!open_blocks_.empty()) {
      const OpenBlock& b = open_blocks_.back();
      message += std::string(" (expected ") + quoted_list(b.end_tags) + " to close the '" + b.tag +
                 "' block opened at " +
                 source_position("", source_, b.pos).substr(1, std::string::npos);
      while (!message.empty() && (message.back() == ' ' || message.back() == ':')) {
        message.pop_back();
      }
      message += ")";
    }
    r = fail(name_pos, message);
  }
  leave();
  return r;
}

Result<StmtPtr> Parser::parse_if(uint32_t pos) {
  advance();
  auto node = std::make_unique<IfStmt>(pos);
  while (true) {
    auto cond = parse_tuple(false, {}, false);
    if (!cond.ok()) return cond.error();
    TESSERA_TRY(expect_block_end());
    Body body;
    std::string found;
    TESSERA_TRY(parse_block_body(body, "if", pos, {"elif", "else", "endif"}, &found));
    node->branches.emplace_back(std::move(cond).value(), std::move(body));
    advance();  // the tag name
    if (found == "elif") continue;
    if (found == "else") {
      TESSERA_TRY(expect_block_end());
      TESSERA_TRY(parse_block_body(node->otherwise, "if", pos, {"endif"}, &found));
      TESSERA_TRY(finish_block("endif"));
      break;
    }
    TESSERA_TRY(expect_block_end());
    break;
  }
  return StmtPtr(std::move(node));
}

Result<StmtPtr> Parser::parse_for(uint32_t pos) {
  advance();
  auto node = std::make_unique<ForStmt>(pos);
  auto target = parse_target(true, false);
  if (!target.ok()) return target.error();
  node->target = std::move(target).value();
  if (!is_name("in")) return unexpected(cur(), "'in'");
  advance();
  auto iter = parse_tuple(false, {"recursive"}, false);
  if (!iter.ok()) return iter.error();
  node->iter = std::move(iter).value();
  if (is_name("if")) {
    advance();
    auto filter = parse_expression();
    if (!filter.ok()) return filter.error();
    node->filter = std::move(filter).value();
  }
  if (is_name("recursive")) {
    return Error{ErrorCode::unsupported,
                 source_position(name_, source_, cur().pos) + "recursive loops are not supported"};
  }
  TESSERA_TRY(expect_block_end());
  std::string found;
  loops_.push_back(node.get());
  Status s = parse_block_body(node->body, "for", pos, {"endfor", "else"}, &found);
  loops_.pop_back();
  TESSERA_TRY(s);
  advance();
  if (found == "else") {
    TESSERA_TRY(expect_block_end());
    TESSERA_TRY(parse_block_body(node->otherwise, "for", pos, {"endfor"}, &found));
    advance();
  }
  TESSERA_TRY(expect_block_end());
  return StmtPtr(std::move(node));
}

Result<StmtPtr> Parser::parse_set(uint32_t pos) {
  advance();
  auto target = parse_target(true, true);
  if (!target.ok()) return target.error();
  if (is_op("=")) {
    advance();
    auto value = parse_tuple(true, {}, false);
    if (!value.ok()) return value.error();
    TESSERA_TRY(expect_block_end());
    return StmtPtr(
        std::make_unique<SetStmt>(pos, std::move(target).value(), std::move(value).value()));
  }
  auto node = std::make_unique<SetBlockStmt>(pos);
  node->target = std::move(target).value();
  if (is_op("|")) {
    auto filter = parse_filter(nullptr, false);
    if (!filter.ok()) return filter.error();
    node->filter = std::move(filter).value();
  }
  TESSERA_TRY(expect_block_end());
  std::string found;
  TESSERA_TRY(parse_block_body(node->body, "set", pos, {"endset"}, &found));
  TESSERA_TRY(finish_block("endset"));
  return StmtPtr(std::move(node));
}

Status Parser::parse_signature(MacroDef& def) {
  TESSERA_TRY(expect_op("("));
  bool seen_default = false;
  while (!is_op(")")) {
    if (!def.params.empty()) {
      TESSERA_TRY(expect_op(","));
      if (is_op(")")) break;
    }
    const uint32_t at = cur().pos;
    auto name = expect_name();
    if (!name.ok()) return name.error();
    if (is_const_name(*name)) {
      return fail(at, std::string("cannot use '") + *name + "' as a parameter name");
    }
    def.params.push_back(std::move(name).value());
    if (is_op("=")) {
      advance();
      auto dflt = parse_expression();
      if (!dflt.ok()) return dflt.error();
      def.defaults.push_back(std::move(dflt).value());
      seen_default = true;
    } else {
      if (seen_default) return fail(at, "non-default argument follows default argument");
      def.defaults.push_back(nullptr);
    }
  }
  advance();
  return {};
}

Result<StmtPtr> Parser::parse_macro(uint32_t pos) {
  advance();
  auto node = std::make_unique<MacroStmt>(pos);
  MacroDef& def = node->def;
  def.pos = pos;
  auto name = expect_name();
  if (!name.ok()) return name.error();
  def.name = std::move(name).value();
  TESSERA_TRY(parse_signature(def));
  TESSERA_TRY(expect_block_end());
  std::vector<ForStmt*> outer_loops = std::exchange(loops_, {});
  macros_.push_back(&def);
  std::string found;
  Status s = parse_block_body(def.body, "macro", pos, {"endmacro"}, &found);
  macros_.pop_back();
  loops_ = std::move(outer_loops);
  TESSERA_TRY(s);
  TESSERA_TRY(finish_block("endmacro"));
  return StmtPtr(std::move(node));
}

Result<StmtPtr> Parser::parse_call_block(uint32_t pos) {
  advance();
  auto node = std::make_unique<CallBlockStmt>(pos);
  node->caller.name = "caller";
  node->caller.pos = pos;
  if (is_op("(")) TESSERA_TRY(parse_signature(node->caller));
  auto call = parse_expression();
  if (!call.ok()) return call.error();
  if ((*call)->kind != Expr::Kind::call) return fail((*call)->pos, "expected a call after 'call'");
  node->call = std::move(call).value();
  TESSERA_TRY(expect_block_end());
  std::vector<ForStmt*> outer_loops = std::exchange(loops_, {});
  macros_.push_back(&node->caller);
  std::string found;
  Status s = parse_block_body(node->caller.body, "call", pos, {"endcall"}, &found);
  macros_.pop_back();
  loops_ = std::move(outer_loops);
  TESSERA_TRY(s);
  TESSERA_TRY(finish_block("endcall"));
  return StmtPtr(std::move(node));
}

Result<StmtPtr> Parser::parse_filter_block(uint32_t pos) {
  advance();
  auto node = std::make_unique<FilterBlockStmt>(pos);
  auto filter = parse_filter(nullptr, true);
  if (!filter.ok()) return filter.error();
  node->filter = std::move(filter).value();
  TESSERA_TRY(expect_block_end());
  std::string found;
  TESSERA_TRY(parse_block_body(node->body, "filter", pos, {"endfilter"}, &found));
  TESSERA_TRY(finish_block("endfilter"));
  return StmtPtr(std::move(node));
}

Result<StmtPtr> Parser::parse_with(uint32_t pos) {
  advance();
  auto node = std::make_unique<WithStmt>(pos);
  while (cur().type != TokenType::block_end) {
    if (!node->assigns.empty()) TESSERA_TRY(expect_op(","));
    auto target = parse_target(false, false);
    if (!target.ok()) return target.error();
    TESSERA_TRY(expect_op("="));
    auto value = parse_expression();
    if (!value.ok()) return value.error();
    node->assigns.emplace_back(std::move(target).value(), std::move(value).value());
  }
  advance();
  std::string found;
  TESSERA_TRY(parse_block_body(node->body, "with", pos, {"endwith"}, &found));
  TESSERA_TRY(finish_block("endwith"));
  return StmtPtr(std::move(node));
}

Result<StmtPtr> Parser::parse_scope(uint32_t pos, std::string_view tag) {
  advance();
  const bool block = tag == "block";
  if (block) {
    auto name = expect_name();
    if (!name.ok()) return name.error();
    while (is_name("scoped") || is_name("required")) advance();
  }
  TESSERA_TRY(expect_block_end());
  auto node = std::make_unique<ScopeStmt>(pos);
  const std::string end_tag = std::string("end") + std::string(tag);
  std::string found;
  TESSERA_TRY(parse_block_body(node->body, tag, pos, {end_tag}, &found));
  advance();
  if (block && cur().type == TokenType::name) advance();  // {% endblock name %}
  TESSERA_TRY(expect_block_end());
  return StmtPtr(std::move(node));
}

Result<StmtPtr> Parser::parse_loop_control(uint32_t pos, bool is_break) {
  advance();
  if (loops_.empty()) {
    return fail(pos, std::string("'") + (is_break ? "break" : "continue") + "' outside of a loop");
  }
  if (is_break) loops_.back()->has_break = true;
  TESSERA_TRY(expect_block_end());
  return StmtPtr(std::make_unique<LoopControlStmt>(
      is_break ? Stmt::Kind::break_ : Stmt::Kind::continue_, pos));
}

Result<Target> Parser::parse_target_item() {
  if (is_op("(")) {
    advance();
    auto inner = parse_target(true, false);
    if (!inner.ok()) return inner.error();
    TESSERA_TRY(expect_op(")"));
    return inner;
  }
  Target t;
  t.pos = cur().pos;
  auto name = expect_name();
  if (!name.ok()) return name.error();
  if (is_const_name(*name)) return fail(t.pos, std::string("cannot assign to '") + *name + "'");
  t.name = std::move(name).value();
  return t;
}

Result<Target> Parser::parse_target(bool allow_tuple, bool allow_attribute) {
  if (allow_attribute && cur().type == TokenType::name && peek_is_op(".")) {
    Target t;
    t.kind = Target::Kind::attribute;
    t.pos = cur().pos;
    t.name = cur().text;
    advance();
    advance();
    auto attr = expect_name();
    if (!attr.ok()) return attr.error();
    t.attr = std::move(attr).value();
    return t;
  }
  auto first = parse_target_item();
  if (!first.ok() || !allow_tuple || !is_op(",")) return first;
  Target tuple;
  tuple.kind = Target::Kind::tuple;
  tuple.pos = first->pos;
  tuple.items.push_back(std::move(first).value());
  while (is_op(",")) {
    advance();
    if (cur().type != TokenType::name && !is_op("(")) break;  // trailing comma
    if (is_name("in")) break;
    auto item = parse_target_item();
    if (!item.ok()) return item.error();
    tuple.items.push_back(std::move(item).value());
  }
  return tuple;
}

}  // namespace tessera::jinja
