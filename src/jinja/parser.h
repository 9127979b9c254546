// Tokens -> syntax tree, following Jinja2's grammar (jinja2/parser.py) and precedence:
// conditional < or < and < not < comparisons/in < + - < ~ < * / // % < ** < unary - + <
// postfix (.x [i] call) < filters/tests. Filters and tests are resolved here, so an
// unknown one is a parse error, like in Jinja2.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "jinja/ast.h"
#include "jinja/lexer.h"
#include "util/result.h"

namespace tessera::jinja {

// Parses tokens of source (for positions in messages). Nesting deeper than max_depth
// (recursion of the parser, height of expressions) -> out_of_range; the rest -> malformed.
Result<Body> parse_tokens(const std::vector<Token>& tokens, std::string_view source,
                          const std::string& name, size_t max_depth);

class Parser {
 public:
  Parser(const std::vector<Token>& tokens, std::string_view source, const std::string& name,
         size_t max_depth)
      : tokens_(tokens), source_(source), name_(name), max_depth_(max_depth) {}

  Result<Body> parse_template();

 private:
  using EndTags = std::initializer_list<std::string_view>;
  struct OpenBlock {
    std::string tag;
    uint32_t pos;
    std::vector<std::string> end_tags;
  };

  // ---- token stream (parser.cpp) ----
  const Token& cur() const { return tokens_[pos_]; }
  const Token& peek() const { return tokens_[pos_ + 1 < tokens_.size() ? pos_ + 1 : pos_]; }
  void advance() {
    if (pos_ + 1 < tokens_.size()) ++pos_;
  }
  bool is_op(std::string_view op) const;
  bool is_name(std::string_view name) const;
  bool peek_is_op(std::string_view op) const;
  Status expect_op(std::string_view op);
  Status expect_block_end();
  Result<std::string> expect_name();
  Error fail(uint32_t pos, const std::string& message) const;
  Error fail_here(const std::string& message) const { return fail(cur().pos, message); }
  Error unexpected(const Token& t, std::string_view expected) const;
  Status enter();  // recursion guard; pair with leave()
  void leave() { --depth_; }

  // ---- statements (parser.cpp) ----
  // Parses until eof (end_tags empty) or a block tag named in end_tags; *found gets that
  // name and the stream stays on it.
  Status parse_body(Body& out, EndTags end_tags, std::string* found);
  Status parse_block_body(Body& out, std::string_view tag, uint32_t pos, EndTags end_tags,
                          std::string* found);
  Result<StmtPtr> parse_statement(uint32_t tag_pos);  // tag_pos: where its {% is
  Result<StmtPtr> parse_if(uint32_t pos);
  Result<StmtPtr> parse_for(uint32_t pos);
  Result<StmtPtr> parse_set(uint32_t pos);
  Result<StmtPtr> parse_macro(uint32_t pos);
  Result<StmtPtr> parse_call_block(uint32_t pos);
  Result<StmtPtr> parse_filter_block(uint32_t pos);
  Result<StmtPtr> parse_with(uint32_t pos);
  Result<StmtPtr> parse_scope(uint32_t pos, std::string_view tag);
  Result<StmtPtr> parse_loop_control(uint32_t pos, bool is_break);
  Status parse_signature(MacroDef& def);
  Status finish_block(std::string_view end_tag);  // consumes "endxxx %}"
  Result<Target> parse_target(bool allow_tuple, bool allow_attribute);
  Result<Target> parse_target_item();

  // ---- expressions (parser_expr.cpp) ----
  Result<ExprPtr> parse_tuple(bool with_condexpr, EndTags extra_end, bool explicit_parens);
  Result<ExprPtr> parse_expression(bool with_condexpr = true);
  Result<ExprPtr> parse_condexpr();
  Result<ExprPtr> parse_or();
  Result<ExprPtr> parse_and();
  Result<ExprPtr> parse_logical(bool is_and);
  Result<ExprPtr> parse_not();
  Result<ExprPtr> parse_compare();
  Result<ExprPtr> parse_math1();
  Result<ExprPtr> parse_concat();
  Result<ExprPtr> parse_math2();
  Result<ExprPtr> parse_pow();
  Result<ExprPtr> parse_unary(bool with_filter);
  Result<ExprPtr> parse_unary_with_filters();
  // One level of left-associative binary operators: next (op next)*.
  using BinaryOps = std::initializer_list<std::pair<std::string_view, BinaryOp>>;
  Result<ExprPtr> parse_binary(Result<ExprPtr> (Parser::*next)(), BinaryOps ops);
  Result<ExprPtr> parse_primary();
  Result<ExprPtr> parse_list();
  Result<ExprPtr> parse_dict();
  Result<ExprPtr> parse_postfix(ExprPtr node);
  Result<ExprPtr> parse_subscript(ExprPtr node);
  Result<ExprPtr> parse_filter_expr(ExprPtr node);
  Result<ExprPtr> parse_filter(ExprPtr node, bool start_inline);
  Result<ExprPtr> parse_test(ExprPtr node);
  Status parse_call_args(ArgExprs& args);
  bool is_tuple_end(EndTags extra_end) const;
  // Sets node->depth from its children; out_of_range past the nesting limit.
  Result<ExprPtr> finish(ExprPtr node) const;

  const std::vector<Token>& tokens_;
  std::string_view source_;
  const std::string& name_;
  size_t max_depth_;
  size_t pos_ = 0;
  size_t depth_ = 0;
  std::vector<OpenBlock> open_blocks_;
  std::vector<MacroDef*> macros_;  // macros being parsed (innermost last)
  std::vector<ForStmt*> loops_;    // loops of the current macro / template (innermost last)
};

}  // namespace tessera::jinja
