// Expressions of the parser (see parser.h for the precedence).
#include <algorithm>

#include "jinja/parser.h"

namespace tessera::jinja {
namespace {

uint32_t args_depth(const ArgExprs& args) {
  uint32_t d = 0;
  for (const auto& e : args.positional) d = std::max(d, e->depth);
  for (const auto& [k, e] : args.keywords) d = std::max(d, e->depth);
  if (args.star_args) d = std::max(d, args.star_args->depth);
  if (args.star_kwargs) d = std::max(d, args.star_kwargs->depth);
  return d;
}

uint32_t depth_of(const ExprPtr& e) {
  return e ? e->depth : 0;
}

uint32_t child_depth(const Expr& e) {
  switch (e.kind) {
    case Expr::Kind::literal:
    case Expr::Kind::name:
      return 0;
    case Expr::Kind::list: {
      uint32_t d = 0;
      for (const auto& item : static_cast<const ListExpr&>(e).items) d = std::max(d, item->depth);
      return d;
    }
    case Expr::Kind::dict: {
      uint32_t d = 0;
      for (const auto& [k, v] : static_cast<const DictExpr&>(e).items) {
        d = std::max({d, k->depth, v->depth});
      }
      return d;
    }
    case Expr::Kind::unary:
      return static_cast<const UnaryExpr&>(e).operand->depth;
    case Expr::Kind::binary: {
      const auto& b = static_cast<const BinaryExpr&>(e);
      return std::max(b.left->depth, b.right->depth);
    }
    case Expr::Kind::compare: {
      const auto& c = static_cast<const CompareExpr&>(e);
      uint32_t d = c.first->depth;
      for (const auto& [op, operand] : c.rest) d = std::max(d, operand->depth);
      return d;
    }
    case Expr::Kind::logical: {
      const auto& l = static_cast<const LogicalExpr&>(e);
      return std::max(l.left->depth, l.right->depth);
    }
    case Expr::Kind::cond: {
      const auto& c = static_cast<const CondExpr&>(e);
      return std::max({c.then->depth, c.cond->depth, depth_of(c.otherwise)});
    }
    case Expr::Kind::getattr:
      return static_cast<const GetAttrExpr&>(e).object->depth;
    case Expr::Kind::getitem: {
      const auto& g = static_cast<const GetItemExpr&>(e);
      return std::max(g.object->depth, g.index->depth);
    }
    case Expr::Kind::slice: {
      const auto& s = static_cast<const SliceExpr&>(e);
      return std::max({s.object->depth, depth_of(s.start), depth_of(s.stop), depth_of(s.step)});
    }
    case Expr::Kind::call: {
      const auto& c = static_cast<const CallExpr&>(e);
      return std::max(c.callee->depth, args_depth(c.args));
    }
    case Expr::Kind::filter: {
      const auto& f = static_cast<const FilterExpr&>(e);
      return std::max(depth_of(f.input), args_depth(f.args));
    }
    case Expr::Kind::test: {
      const auto& t = static_cast<const TestExpr&>(e);
      return std::max(t.input->depth, args_depth(t.args));
    }
  }
  return 0;
}

std::optional<CompareOp> compare_op(const Token& t) {
  if (t.type != TokenType::op) return std::nullopt;
  if (t.text == "==") return CompareOp::eq;
  if (t.text == "!=") return CompareOp::ne;
  if (t.text == "<") return CompareOp::lt;
  if (t.text == "<=") return CompareOp::le;
  if (t.text == ">") return CompareOp::gt;
  if (t.text == ">=") return CompareOp::ge;
  return std::nullopt;
}

}  // namespace

Result<ExprPtr> Parser::finish(ExprPtr node) const {
  node->depth = 1 + child_depth(*node);
  if (node->depth > max_depth_ * 4) {
    return Error{ErrorCode::out_of_range, source_position(name_, source_, node->pos) +
                                              "expression nested deeper than " +
                                              std::to_string(max_depth_ * 4) + " levels"};
  }
  return node;
}

bool Parser::is_tuple_end(EndTags extra_end) const {
  const Token& t = cur();
  if (t.type == TokenType::var_end || t.type == TokenType::block_end || is_op(")")) return true;
  if (t.type == TokenType::name) {
    for (std::string_view n : extra_end) {
      if (t.text == n) return true;
    }
  }
  return false;
}

Result<ExprPtr> Parser::parse_tuple(bool with_condexpr, EndTags extra_end, bool explicit_parens) {
  const uint32_t pos = cur().pos;
  std::vector<ExprPtr> items;
  bool is_tuple = false;
  while (true) {
    if (!items.empty()) TESSERA_TRY(expect_op(","));
    if (is_tuple_end(extra_end)) break;
    auto e = parse_expression(with_condexpr);
    if (!e.ok()) return e.error();
    items.push_back(std::move(e).value());
    if (!is_op(",")) break;
    is_tuple = true;
  }
  if (!is_tuple) {
    if (!items.empty()) return std::move(items[0]);
    if (!explicit_parens) return parse_primary();  // fails, saying what is there instead
  }
  auto node = std::make_unique<ListExpr>(pos, true);
  node->items = std::move(items);
  return finish(std::move(node));
}

Result<ExprPtr> Parser::parse_expression(bool with_condexpr) {
  return with_condexpr ? parse_condexpr() : parse_or();
}

Result<ExprPtr> Parser::parse_condexpr() {
  auto then = parse_or();
  if (!then.ok()) return then;
  ExprPtr node = std::move(then).value();
  while (is_name("if")) {
    const uint32_t pos = cur().pos;
    advance();
    auto cond = parse_or();
    if (!cond.ok()) return cond;
    ExprPtr otherwise;
    if (is_name("else")) {
      advance();
      auto e = parse_condexpr();
      if (!e.ok()) return e;
      otherwise = std::move(e).value();
    }
    auto c = finish(std::make_unique<CondExpr>(pos, std::move(node), std::move(cond).value(),
                                               std::move(otherwise)));
    if (!c.ok()) return c;
    node = std::move(c).value();
  }
  return node;
}

Result<ExprPtr> Parser::parse_or() {
  return parse_logical(false);
}

Result<ExprPtr> Parser::parse_and() {
  return parse_logical(true);
}

// `a or b or ...` (operands: and-expressions) or `a and b and ...` (operands: not-expressions),
// left-associative.
Result<ExprPtr> Parser::parse_logical(bool is_and) {
  auto operand = [this, is_and] { return is_and ? parse_not() : parse_and(); };
  auto left = operand();
  if (!left.ok()) return left;
  ExprPtr node = std::move(left).value();
  while (is_name(is_and ? "and" : "or")) {
    const uint32_t pos = cur().pos;
    advance();
    auto right = operand();
    if (!right.ok()) return right;
    auto n = finish(
        std::make_unique<LogicalExpr>(pos, is_and, std::move(node), std::move(right).value()));
    if (!n.ok()) return n;
    node = std::move(n).value();
  }
  return node;
}

Result<ExprPtr> Parser::parse_not() {
  if (!is_name("not")) return parse_compare();
  const uint32_t pos = cur().pos;
  advance();
  TESSERA_TRY(enter());
  auto operand = parse_not();
  leave();
  if (!operand.ok()) return operand;
  return finish(std::make_unique<UnaryExpr>(pos, UnaryOp::logical_not, std::move(operand).value()));
}

Result<ExprPtr> Parser::parse_compare() {
  const uint32_t pos = cur().pos;
  auto first = parse_math1();
  if (!first.ok()) return first;
  std::unique_ptr<CompareExpr> node;
  while (true) {
    std::optional<CompareOp> op = compare_op(cur());
    if (op) {
      advance();
    } else if (is_name("in")) {
      op = CompareOp::in;
      advance();
    } else if (is_name("not") && peek().type == TokenType::name && peek().text == "in") {
      op = CompareOp::not_in;
      advance();
      advance();
    } else {
      break;
    }
    auto operand = parse_math1();
    if (!operand.ok()) return operand;
    if (!node) node = std::make_unique<CompareExpr>(pos, std::move(first).value());
    node->rest.emplace_back(*op, std::move(operand).value());
  }
  if (!node) return first;
  return finish(std::move(node));
}

Result<ExprPtr> Parser::parse_binary(Result<ExprPtr> (Parser::*next)(), BinaryOps ops) {
  auto left = (this->*next)();
  if (!left.ok()) return left;
  ExprPtr node = std::move(left).value();
  while (true) {
    const Token& t = cur();
    const std::pair<std::string_view, BinaryOp>* match = nullptr;
    if (t.type == TokenType::op) {
      for (const auto& o : ops) {
        if (o.first == t.text) match = &o;
      }
    }
    if (!match) return node;
    const uint32_t pos = t.pos;
    const BinaryOp op = match->second;
    advance();
    auto right = (this->*next)();
    if (!right.ok()) return right;
    auto n =
        finish(std::make_unique<BinaryExpr>(pos, op, std::move(node), std::move(right).value()));
    if (!n.ok()) return n;
    node = std::move(n).value();
  }
}

Result<ExprPtr> Parser::parse_math1() {
  return parse_binary(&Parser::parse_concat, {{"+", BinaryOp::add}, {"-", BinaryOp::sub}});
}

Result<ExprPtr> Parser::parse_concat() {
  return parse_binary(&Parser::parse_math2, {{"~", BinaryOp::concat}});
}

Result<ExprPtr> Parser::parse_math2() {
  return parse_binary(&Parser::parse_pow, {{"*", BinaryOp::mul},
                                           {"/", BinaryOp::div},
                                           {"//", BinaryOp::floordiv},
                                           {"%", BinaryOp::mod}});
}

Result<ExprPtr> Parser::parse_pow() {
  return parse_binary(&Parser::parse_unary_with_filters, {{"**", BinaryOp::pow}});
}

Result<ExprPtr> Parser::parse_unary_with_filters() {
  return parse_unary(true);
}

Result<ExprPtr> Parser::parse_unary(bool with_filter) {
  TESSERA_TRY(enter());
  const uint32_t pos = cur().pos;
  Result<ExprPtr> node = ExprPtr();
  if (is_op("-") || is_op("+")) {
    const UnaryOp op = is_op("-") ? UnaryOp::negate : UnaryOp::plus;
    advance();
    auto operand = parse_unary(false);
    node = operand.ok() ? finish(std::make_unique<UnaryExpr>(pos, op, std::move(operand).value()))
                        : Result<ExprPtr>(operand.error());
  } else {
    node = parse_primary();
  }
  if (node.ok()) node = parse_postfix(std::move(node).value());
  if (node.ok() && with_filter) node = parse_filter_expr(std::move(node).value());
  leave();
  return node;
}

Result<ExprPtr> Parser::parse_primary() {
  const Token& t = cur();
  const uint32_t pos = t.pos;
  switch (t.type) {
    case TokenType::name: {
      ExprPtr node;
      if (t.text == "true" || t.text == "True" || t.text == "false" || t.text == "False") {
        node = std::make_unique<LiteralExpr>(pos,
                                             Value::boolean(t.text[0] == 't' || t.text[0] == 'T'));
      } else if (t.text == "none" || t.text == "None") {
        node = std::make_unique<LiteralExpr>(pos, Value::none());
      } else {
        for (MacroDef* m : macros_) {
          m->uses_caller = m->uses_caller || t.text == "caller";
          m->uses_varargs = m->uses_varargs || t.text == "varargs";
          m->uses_kwargs = m->uses_kwargs || t.text == "kwargs";
        }
        node = std::make_unique<NameExpr>(pos, t.text);
      }
      advance();
      return node;
    }
    case TokenType::string: {
      std::string s;
      while (cur().type == TokenType::string) {  // adjacent literals concatenate
        s += cur().text;
        advance();
      }
      return ExprPtr(std::make_unique<LiteralExpr>(pos, Value::string(std::move(s))));
    }
    case TokenType::integer: {
      const int64_t i = t.int_value;
      advance();
      return ExprPtr(std::make_unique<LiteralExpr>(pos, Value::integer(i)));
    }
    case TokenType::floating: {
      const double d = t.float_value;
      advance();
      return ExprPtr(std::make_unique<LiteralExpr>(pos, Value::floating(d)));
    }
    case TokenType::op:
      if (t.text == "(") {
        advance();
        auto inner = parse_tuple(true, {}, true);
        if (!inner.ok()) return inner;
        TESSERA_TRY(expect_op(")"));
        return inner;
      }
      if (t.text == "[") return parse_list();
      if (t.text == "{") return parse_dict();
      break;
    default:
      break;
  }
  if (t.type == TokenType::var_end || t.type == TokenType::block_end || t.type == TokenType::eof) {
    return fail(pos, "expected an expression, got end of tag");
  }
  return fail(pos, std::string("unexpected ") +
                       (t.type == TokenType::op ? std::string("'") + t.text + "'" : t.text));
}

Result<ExprPtr> Parser::parse_list() {
  auto node = std::make_unique<ListExpr>(cur().pos, false);
  advance();
  while (!is_op("]")) {
    if (!node->items.empty()) {
      TESSERA_TRY(expect_op(","));
      if (is_op("]")) break;
    }
    auto item = parse_expression();
    if (!item.ok()) return item;
    node->items.push_back(std::move(item).value());
  }
  advance();
  return finish(std::move(node));
}

Result<ExprPtr> Parser::parse_dict() {
  auto node = std::make_unique<DictExpr>(cur().pos);
  advance();
  while (!is_op("}")) {
    if (!node->items.empty()) {
      TESSERA_TRY(expect_op(","));
      if (is_op("}")) break;
    }
    auto key = parse_expression();
    if (!key.ok()) return key;
    TESSERA_TRY(expect_op(":"));
    auto value = parse_expression();
    if (!value.ok()) return value;
    node->items.emplace_back(std::move(key).value(), std::move(value).value());
  }
  advance();
  return finish(std::move(node));
}

Result<ExprPtr> Parser::parse_postfix(ExprPtr node) {
  while (true) {
    if (is_op(".") || is_op("[")) {
      auto n = parse_subscript(std::move(node));
      if (!n.ok()) return n;
      node = std::move(n).value();
    } else if (is_op("(")) {
      const uint32_t pos = node->pos;
      auto call = std::make_unique<CallExpr>(pos, std::move(node));
      TESSERA_TRY(parse_call_args(call->args));
      auto n = finish(std::move(call));
      if (!n.ok()) return n;
      node = std::move(n).value();
    } else {
      return node;
    }
  }
}

Result<ExprPtr> Parser::parse_subscript(ExprPtr node) {
  const uint32_t pos = node->pos;  // errors point at the start of the accessed expression
  if (is_op(".")) {
    advance();
    const Token& attr = cur();
    if (attr.type == TokenType::name) {
      std::string name = attr.text;
      advance();
      return finish(std::make_unique<GetAttrExpr>(pos, std::move(node), std::move(name)));
    }
    if (attr.type == TokenType::integer) {
      auto index = std::make_unique<LiteralExpr>(attr.pos, Value::integer(attr.int_value));
      advance();
      return finish(std::make_unique<GetItemExpr>(pos, std::move(node), std::move(index)));
    }
    return fail(attr.pos, "expected a name or number after '.'");
  }
  advance();  // [
  ExprPtr parts[3];
  bool is_slice = false;
  int part = 0;
  while (!is_op("]")) {
    if (is_op(":")) {
      if (++part > 2) return fail_here("too many ':' in subscript");
      is_slice = true;
      advance();
      continue;
    }
    if (parts[part]) return unexpected(cur(), "']'");
    auto e = parse_expression();
    if (!e.ok()) return e;
    parts[part] = std::move(e).value();
    if (is_op(",")) return fail_here("subscripts with several indices are not supported");
  }
  advance();
  if (!is_slice) {
    if (!parts[0]) return fail(pos, "expected an index inside []");
    return finish(std::make_unique<GetItemExpr>(pos, std::move(node), std::move(parts[0])));
  }
  auto s = std::make_unique<SliceExpr>(pos, std::move(node));
  s->start = std::move(parts[0]);
  s->stop = std::move(parts[1]);
  s->step = std::move(parts[2]);
  return finish(std::move(s));
}

Status Parser::parse_call_args(ArgExprs& args) {
  const uint32_t pos = cur().pos;
  TESSERA_TRY(expect_op("("));
  bool need_comma = false;
  while (!is_op(")")) {
    if (need_comma) {
      TESSERA_TRY(expect_op(","));
      if (is_op(")")) break;
    }
    if (is_op("*") || is_op("**")) {
      const bool kw = is_op("**");
      if ((kw && args.star_kwargs) || (!kw && (args.star_args || args.star_kwargs))) {
        return fail(pos, "invalid syntax for function call expression");
      }
      advance();
      auto e = parse_expression();
      if (!e.ok()) return e.error();
      (kw ? args.star_kwargs : args.star_args) = std::move(e).value();
    } else if (cur().type == TokenType::name && peek_is_op("=")) {
      if (args.star_kwargs) return fail(pos, "invalid syntax for function call expression");
      std::string key = cur().text;
      advance();
      advance();
      auto e = parse_expression();
      if (!e.ok()) return e.error();
      args.keywords.emplace_back(std::move(key), std::move(e).value());
    } else {
      if (args.star_args || args.star_kwargs || !args.keywords.empty()) {
        return fail(cur().pos, "positional argument follows keyword argument");
      }
      auto e = parse_expression();
      if (!e.ok()) return e.error();
      args.positional.push_back(std::move(e).value());
    }
    need_comma = true;
  }
  advance();
  return {};
}

Result<ExprPtr> Parser::parse_filter_expr(ExprPtr node) {
  while (true) {
    Result<ExprPtr> n = ExprPtr();
    if (is_op("|")) {
      n = parse_filter(std::move(node), false);
    } else if (is_name("is")) {
      n = parse_test(std::move(node));
    } else if (is_op("(")) {
      const uint32_t pos = node->pos;
      auto call = std::make_unique<CallExpr>(pos, std::move(node));
      Status s = parse_call_args(call->args);
      n = s.ok() ? finish(std::move(call)) : Result<ExprPtr>(s.error());
    } else {
      return node;
    }
    if (!n.ok()) return n;
    node = std::move(n).value();
  }
}

Result<ExprPtr> Parser::parse_filter(ExprPtr node, bool start_inline) {
  while (is_op("|") || start_inline) {
    if (!start_inline) advance();
    start_inline = false;
    const uint32_t pos = cur().pos;
    auto name = expect_name();
    if (!name.ok()) return name.error();
    std::string full = std::move(name).value();
    while (is_op(".")) {
      advance();
      auto part = expect_name();
      if (!part.ok()) return part.error();
      full += std::string(".") + *part;
    }
    const FilterFn fn = find_filter(full);
    if (!fn) return fail(pos, std::string("no filter named '") + full + "'");
    auto filter = std::make_unique<FilterExpr>(pos, std::move(node), full, fn);
    if (is_op("(")) TESSERA_TRY(parse_call_args(filter->args));
    auto n = finish(std::move(filter));
    if (!n.ok()) return n;
    node = std::move(n).value();
  }
  return node;
}

Result<ExprPtr> Parser::parse_test(ExprPtr node) {
  const uint32_t is_pos = cur().pos;
  advance();  // is
  bool negated = false;
  if (is_name("not")) {
    negated = true;
    advance();
  }
  const uint32_t pos = cur().pos;
  auto name = expect_name();
  if (!name.ok()) return name.error();
  std::string full = std::move(name).value();
  while (is_op(".")) {
    advance();
    auto part = expect_name();
    if (!part.ok()) return part.error();
    full += std::string(".") + *part;
  }
  const TestFn fn = find_test(full);
  if (!fn) return fail(pos, std::string("no test named '") + full + "'");
  auto test = std::make_unique<TestExpr>(pos, std::move(node), full, fn);
  const Token& t = cur();
  const bool arg_start = t.type == TokenType::name || t.type == TokenType::string ||
                         t.type == TokenType::integer || t.type == TokenType::floating ||
                         is_op("[") || is_op("{");
  if (is_op("(")) {
    TESSERA_TRY(parse_call_args(test->args));
  } else if (arg_start && !is_name("else") && !is_name("or") && !is_name("and")) {
    if (is_name("is")) return fail_here("you cannot chain multiple tests with 'is'");
    auto arg = parse_primary();
    if (!arg.ok()) return arg;
    auto arg2 = parse_postfix(std::move(arg).value());
    if (!arg2.ok()) return arg2;
    test->args.positional.push_back(std::move(arg2).value());
  }
  auto n = finish(std::move(test));
  if (!n.ok() || !negated) return n;
  return finish(std::make_unique<UnaryExpr>(is_pos, UnaryOp::logical_not, std::move(n).value()));
}

}  // namespace tessera::jinja
