// The syntax tree a template parses into. Immutable after parsing; the evaluator walks it.
// Every node keeps the byte offset of its token for error messages.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "jinja/builtins.h"
#include "jinja/ops.h"
#include "jinja/value.h"

namespace tessera::jinja {

// ---- expressions ----

struct Expr {
  enum class Kind : uint8_t {
    literal,
    name,
    list,
    dict,
    unary,
    binary,
    compare,
    logical,
    cond,
    getattr,
    getitem,
    slice,
    call,
    filter,
    test,
  };
  Expr(Kind k, uint32_t p) : kind(k), pos(p) {}
  Expr(const Expr&) = delete;
  Expr& operator=(const Expr&) = delete;
  virtual ~Expr() = default;
  Kind kind;
  uint32_t pos;
  uint32_t depth = 1;  // height of this subtree (the parser bounds it)
};
using ExprPtr = std::unique_ptr<Expr>;

struct LiteralExpr : Expr {
  LiteralExpr(uint32_t p, Value v) : Expr(Kind::literal, p), value(std::move(v)) {}
  Value value;
};

struct NameExpr : Expr {
  NameExpr(uint32_t p, std::string n) : Expr(Kind::name, p), name(std::move(n)) {}
  std::string name;
};

struct ListExpr : Expr {  // [a, b] or (a, b)
  ListExpr(uint32_t p, bool t) : Expr(Kind::list, p), tuple(t) {}
  std::vector<ExprPtr> items;
  bool tuple;
};

struct DictExpr : Expr {
  explicit DictExpr(uint32_t p) : Expr(Kind::dict, p) {}
  std::vector<std::pair<ExprPtr, ExprPtr>> items;
};

enum class UnaryOp : uint8_t { logical_not, negate, plus };
struct UnaryExpr : Expr {
  UnaryExpr(uint32_t p, UnaryOp o, ExprPtr e)
      : Expr(Kind::unary, p), op(o), operand(std::move(e)) {}
  UnaryOp op;
  ExprPtr operand;
};

struct BinaryExpr : Expr {
  BinaryExpr(uint32_t p, BinaryOp o, ExprPtr l, ExprPtr r)
      : Expr(Kind::binary, p), op(o), left(std::move(l)), right(std::move(r)) {}
  BinaryOp op;
  ExprPtr left, right;
};

struct CompareExpr : Expr {  // a < b <= c: chained like Python
  CompareExpr(uint32_t p, ExprPtr f) : Expr(Kind::compare, p), first(std::move(f)) {}
  ExprPtr first;
  std::vector<std::pair<CompareOp, ExprPtr>> rest;
};

struct LogicalExpr : Expr {  // a and b / a or b: returns an operand, as Python
  LogicalExpr(uint32_t p, bool and_op, ExprPtr l, ExprPtr r)
      : Expr(Kind::logical, p), is_and(and_op), left(std::move(l)), right(std::move(r)) {}
  bool is_and;
  ExprPtr left, right;
};

struct CondExpr : Expr {  // then if cond else otherwise (otherwise may be null: undefined)
  CondExpr(uint32_t p, ExprPtr t, ExprPtr c, ExprPtr o)
      : Expr(Kind::cond, p), then(std::move(t)), cond(std::move(c)), otherwise(std::move(o)) {}
  ExprPtr then, cond, otherwise;
};

struct GetAttrExpr : Expr {  // obj.name
  GetAttrExpr(uint32_t p, ExprPtr o, std::string n)
      : Expr(Kind::getattr, p), object(std::move(o)), name(std::move(n)) {}
  ExprPtr object;
  std::string name;
};

struct GetItemExpr : Expr {  // obj[index]
  GetItemExpr(uint32_t p, ExprPtr o, ExprPtr i)
      : Expr(Kind::getitem, p), object(std::move(o)), index(std::move(i)) {}
  ExprPtr object, index;
};

struct SliceExpr : Expr {  // obj[start:stop:step], each part optional
  SliceExpr(uint32_t p, ExprPtr o) : Expr(Kind::slice, p), object(std::move(o)) {}
  ExprPtr object, start, stop, step;
};

struct ArgExprs {  // f(a, b, k=v, *args, **kwargs)
  std::vector<ExprPtr> positional;
  std::vector<std::pair<std::string, ExprPtr>> keywords;
  ExprPtr star_args, star_kwargs;
};

struct CallExpr : Expr {
  CallExpr(uint32_t p, ExprPtr c) : Expr(Kind::call, p), callee(std::move(c)) {}
  ExprPtr callee;
  ArgExprs args;
};

struct FilterExpr : Expr {  // input|name(args); input is null in {% filter %} / {% set %} blocks
  FilterExpr(uint32_t p, ExprPtr in, std::string n, FilterFn f)
      : Expr(Kind::filter, p), input(std::move(in)), name(std::move(n)), fn(f) {}
  ExprPtr input;
  std::string name;
  FilterFn fn;
  ArgExprs args;
};

struct TestExpr : Expr {  // input is name(args)
  TestExpr(uint32_t p, ExprPtr in, std::string n, TestFn f)
      : Expr(Kind::test, p), input(std::move(in)), name(std::move(n)), fn(f) {}
  ExprPtr input;
  std::string name;
  TestFn fn;
  ArgExprs args;
};

// ---- statements ----

struct Stmt;
using StmtPtr = std::unique_ptr<Stmt>;
using Body = std::vector<StmtPtr>;

// Left side of set / for / with: a name, a (nested) tuple of names, or namespace.attr.
struct Target {
  enum class Kind : uint8_t { name, tuple, attribute };
  Kind kind = Kind::name;
  uint32_t pos = 0;
  std::string name;  // name, or the namespace variable of an attribute target
  std::string attr;
  std::vector<Target> items;
};

struct MacroDef {
  std::string name;
  uint32_t pos = 0;
  std::vector<std::string> params;
  std::vector<ExprPtr> defaults;  // one per param; null: none
  Body body;
  bool uses_caller = false;  // the body mentions caller / varargs / kwargs
  bool uses_varargs = false;
  bool uses_kwargs = false;
};

struct Stmt {
  enum class Kind : uint8_t {
    text,
    output,
    if_,
    for_,
    set,
    set_block,
    macro,
    call_block,
    filter_block,
    with,
    scope,
    break_,
    continue_,
  };
  Stmt(Kind k, uint32_t p) : kind(k), pos(p) {}
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  virtual ~Stmt() = default;
  Kind kind;
  uint32_t pos;
};

struct TextStmt : Stmt {
  TextStmt(uint32_t p, std::string t) : Stmt(Kind::text, p), text(std::move(t)) {}
  std::string text;
};

struct OutputStmt : Stmt {  // {{ expr }}
  OutputStmt(uint32_t p, ExprPtr e) : Stmt(Kind::output, p), expr(std::move(e)) {}
  ExprPtr expr;
};

struct IfStmt : Stmt {
  explicit IfStmt(uint32_t p) : Stmt(Kind::if_, p) {}
  std::vector<std::pair<ExprPtr, Body>> branches;  // if, elif...
  Body otherwise;
};

struct ForStmt : Stmt {
  explicit ForStmt(uint32_t p) : Stmt(Kind::for_, p) {}
  Target target;
  ExprPtr iter;
  ExprPtr filter;  // for x in y if filter
  Body body;
  Body otherwise;          // runs when there was no iteration
  bool has_break = false;  // the body may end the loop early
};

struct SetStmt : Stmt {
  SetStmt(uint32_t p, Target t, ExprPtr v)
      : Stmt(Kind::set, p), target(std::move(t)), value(std::move(v)) {}
  Target target;
  ExprPtr value;
};

struct SetBlockStmt : Stmt {  // {% set x | filters %}body{% endset %}
  explicit SetBlockStmt(uint32_t p) : Stmt(Kind::set_block, p) {}
  Target target;
  ExprPtr filter;  // a FilterExpr chain whose innermost input is null, or null
  Body body;
};

struct MacroStmt : Stmt {
  explicit MacroStmt(uint32_t p) : Stmt(Kind::macro, p) {}
  MacroDef def;
};

struct CallBlockStmt : Stmt {  // {% call(args) macro(...) %}body{% endcall %}
  explicit CallBlockStmt(uint32_t p) : Stmt(Kind::call_block, p) {}
  MacroDef caller;
  ExprPtr call;
};

struct FilterBlockStmt : Stmt {
  explicit FilterBlockStmt(uint32_t p) : Stmt(Kind::filter_block, p) {}
  ExprPtr filter;
  Body body;
};

struct WithStmt : Stmt {
  explicit WithStmt(uint32_t p) : Stmt(Kind::with, p) {}
  std::vector<std::pair<Target, ExprPtr>> assigns;
  Body body;
};

struct ScopeStmt : Stmt {  // a body rendered in place: {% block %}, {% generation %}
  explicit ScopeStmt(uint32_t p) : Stmt(Kind::scope, p) {}
  Body body;
};

struct LoopControlStmt : Stmt {  // {% break %} / {% continue %}
  LoopControlStmt(Kind k, uint32_t p) : Stmt(k, p) {}
};

}  // namespace tessera::jinja
