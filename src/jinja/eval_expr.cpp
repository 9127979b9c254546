// Evaluating expressions.
#include "jinja/builtins.h"
#include "jinja/evaluator.h"
#include "jinja/format.h"
#include "jinja/lexer.h"
#include "jinja/ops.h"
#include "jinja/stack_limit.h"

namespace tessera::jinja {
namespace {

uint64_t args_work(const CallArgs& args) {
  uint64_t w = 0;
  for (const Value& v : args.positional) w += work_of(v);
  for (const auto& [k, v] : args.keywords) w += work_of(v);
  return w;
}

}  // namespace

Error Evaluator::located(uint32_t pos, const Error& e) const {
  return Error{e.code, source_position(t_.name, t_.source, pos) + e.message};
}

Status Evaluator::enter(uint32_t pos) {
  // Every statement and expression node counts as a step, so that time is bounded even
  // where no loop iteration or call is counted.
  Status s = charge(1);
  if (!s.ok()) return located(pos, s.error());
  const size_t max_frames = std::max<size_t>(64, t_.options.max_depth * 16);
  if (++frames_ > max_frames) {
    --frames_;
    return located(pos, limit_error(std::string("evaluation nested deeper than ") +
                                    std::to_string(max_frames) + " levels"));
  }
  if (stack_nearly_exhausted()) {
    --frames_;
    return located(pos, limit_error("evaluation nested too deeply for the stack of this thread"));
  }
  return {};
}

Value Evaluator::lookup(std::string_view name, const Scope& scope) const {
  if (const Value* v = scope.find(name)) return *v;
  for (const auto& [global, v] : global_functions()) {
    if (global == name) return v;
  }
  return Value::undefined(std::string("'") + std::string(name) + "' is undefined");
}

Result<Value> Evaluator::eval(const Expr& e, Scope& scope) {
  TESSERA_TRY(enter(e.pos));
  Result<Value> r = eval_node(e, scope);
  leave();
  return r;
}

Result<Value> Evaluator::eval_node(const Expr& e, Scope& scope) {
  switch (e.kind) {
    case Expr::Kind::literal:
      return static_cast<const LiteralExpr&>(e).value;
    case Expr::Kind::name:
      return lookup(static_cast<const NameExpr&>(e).name, scope);
    case Expr::Kind::list: {
      const auto& l = static_cast<const ListExpr&>(e);
      std::vector<Value> items;
      items.reserve(l.items.size());
      for (const auto& item : l.items) {
        TESSERA_TRY_ASSIGN(v, eval(*item, scope));
        items.push_back(std::move(v));
      }
      return Value::list(std::move(items), l.tuple ? ListFlavor::tuple : ListFlavor::list);
    }
    case Expr::Kind::dict: {
      const auto& d = static_cast<const DictExpr&>(e);
      auto dict = std::make_shared<Dict>();
      for (const auto& [k, v] : d.items) {
        TESSERA_TRY_ASSIGN(key, eval(*k, scope));
        if (!hashable(key)) {
          return located(k->pos,
                         type_error(std::string("unhashable type: '") + type_name(key) + "'"));
        }
        TESSERA_TRY_ASSIGN(value, eval(*v, scope));
        dict->set(std::move(key), std::move(value));
      }
      return Value::dict(std::move(dict));
    }
    case Expr::Kind::unary: {
      const auto& u = static_cast<const UnaryExpr&>(e);
      TESSERA_TRY_ASSIGN(v, eval(*u.operand, scope));
      if (u.op == UnaryOp::logical_not) return Value::boolean(!truthy(v));
      if (u.op == UnaryOp::negate) {
        auto r = negate(v);
        if (!r.ok()) return located(e.pos, r.error());
        return r;
      }
      if (v.is_undefined()) return located(e.pos, undefined_error(v));
      if (v.is_bool()) return Value::integer(v.int_value());
      if (!v.is_number()) {
        return located(
            e.pos, type_error(std::string("bad operand type for unary +: '") + type_name(v) + "'"));
      }
      return v;
    }
    case Expr::Kind::binary: {
      const auto& b = static_cast<const BinaryExpr&>(e);
      TESSERA_TRY_ASSIGN(left, eval(*b.left, scope));
      TESSERA_TRY_ASSIGN(right, eval(*b.right, scope));
      auto r = binary_op(*this, b.op, left, right);
      if (!r.ok()) {  // point at an undefined operand when that is the problem
        const bool undefined_left = left.is_undefined() && b.op != BinaryOp::concat;
        const bool undefined_right = right.is_undefined() && b.op != BinaryOp::concat;
        const uint32_t pos = undefined_left ? b.left->pos : undefined_right ? b.right->pos : e.pos;
        return located(pos, r.error());
      }
      return r;
    }
    case Expr::Kind::compare:
      return eval_compare(static_cast<const CompareExpr&>(e), scope);
    case Expr::Kind::logical: {
      const auto& l = static_cast<const LogicalExpr&>(e);
      TESSERA_TRY_ASSIGN(left, eval(*l.left, scope));
      if (truthy(left) != l.is_and) return left;
      return eval(*l.right, scope);
    }
    case Expr::Kind::cond: {
      const auto& c = static_cast<const CondExpr&>(e);
      TESSERA_TRY_ASSIGN(cond, eval(*c.cond, scope));
      if (truthy(cond)) return eval(*c.then, scope);
      if (c.otherwise) return eval(*c.otherwise, scope);
      return Value::undefined(
          "the inline if-expression evaluated to false and has no else section");
    }
    case Expr::Kind::getattr: {
      const auto& g = static_cast<const GetAttrExpr&>(e);
      TESSERA_TRY_ASSIGN(obj, eval(*g.object, scope));
      auto r = get_attr(obj, g.name);
      if (!r.ok()) return located(e.pos, r.error());
      return r;
    }
    case Expr::Kind::getitem: {
      const auto& g = static_cast<const GetItemExpr&>(e);
      TESSERA_TRY_ASSIGN(obj, eval(*g.object, scope));
      TESSERA_TRY_ASSIGN(key, eval(*g.index, scope));
      if (obj.is_string()) {  // indexing a non-ASCII string walks it
        Status s = charge(work_of(obj));
        if (!s.ok()) return located(e.pos, s.error());
      }
      auto r = get_item(obj, key);
      if (!r.ok()) return located(e.pos, r.error());
      return r;
    }
    case Expr::Kind::slice:
      return eval_slice(static_cast<const SliceExpr&>(e), scope);
    case Expr::Kind::call:
      return eval_call(static_cast<const CallExpr&>(e), scope);
    case Expr::Kind::filter:
      return eval_filter(static_cast<const FilterExpr&>(e), scope, nullptr);
    case Expr::Kind::test:
      return eval_test(static_cast<const TestExpr&>(e), scope);
  }
  return Value();
}

Result<Value> Evaluator::eval_compare(const CompareExpr& e, Scope& scope) {
  TESSERA_TRY_ASSIGN(left, eval(*e.first, scope));
  for (const auto& [op, operand] : e.rest) {
    TESSERA_TRY_ASSIGN(right, eval(*operand, scope));
    Status s = charge(work_of(left) + work_of(right));
    if (!s.ok()) return located(operand->pos, s.error());
    auto r = compare(op, left, right);
    if (!r.ok()) return located(operand->pos, r.error());
    if (!*r) return Value::boolean(false);
    left = std::move(right);
  }
  return Value::boolean(true);
}

Result<Value> Evaluator::eval_slice(const SliceExpr& e, Scope& scope) {
  TESSERA_TRY_ASSIGN(obj, eval(*e.object, scope));
  std::optional<int64_t> parts[3];
  const ExprPtr* exprs[3] = {&e.start, &e.stop, &e.step};
  for (int i = 0; i < 3; ++i) {
    if (!*exprs[i]) continue;
    TESSERA_TRY_ASSIGN(v, eval(**exprs[i], scope));
    if (v.is_none()) continue;
    if (!v.is_integral()) {
      return located(
          (*exprs[i])->pos,
          type_error(std::string("slice indices must be integers or None, not ") + type_name(v)));
    }
    parts[i] = v.int_value();
  }
  Status s = charge(work_of(obj));
  if (!s.ok()) return located(e.pos, s.error());
  auto r = slice(*this, obj, parts[0], parts[1], parts[2]);
  if (!r.ok()) return located(e.pos, r.error());
  return r;
}

Result<CallArgs> Evaluator::eval_args(const ArgExprs& args, Scope& scope) {
  CallArgs out;
  out.positional.reserve(args.positional.size());
  for (const auto& p : args.positional) {
    TESSERA_TRY_ASSIGN(v, eval(*p, scope));
    out.positional.push_back(std::move(v));
  }
  if (args.star_args) {
    TESSERA_TRY_ASSIGN(v, eval(*args.star_args, scope));
    auto items = iterate(*this, v);
    if (!items.ok()) return located(args.star_args->pos, items.error());
    for (auto& item : *items) out.positional.push_back(std::move(item));
  }
  for (const auto& [k, p] : args.keywords) {
    TESSERA_TRY_ASSIGN(v, eval(*p, scope));
    out.keywords.emplace_back(k, std::move(v));
  }
  if (args.star_kwargs) {
    TESSERA_TRY_ASSIGN(v, eval(*args.star_kwargs, scope));
    if (!v.is_dict()) {
      return located(
          args.star_kwargs->pos,
          type_error(std::string("argument after ** must be a mapping, not ") + type_name(v)));
    }
    for (const auto& [k, item] : v.dict().entries()) {
      if (!k.is_string()) {
        return located(args.star_kwargs->pos, type_error("keywords must be strings"));
      }
      out.keywords.emplace_back(k.str(), item);
    }
  }
  return out;
}

Result<Value> Evaluator::eval_call(const CallExpr& e, Scope& scope) {
  TESSERA_TRY_ASSIGN(callee, eval(*e.callee, scope));
  TESSERA_TRY_ASSIGN(args, eval_args(e.args, scope));
  if (callee.is_object()) {
    if (const auto* macro = dynamic_cast<const Macro*>(&callee.object())) {
      return invoke_macro(*macro, args, e.pos);
    }
  }
  Status charged = charge(work_of(callee) + args_work(args));
  if (!charged.ok()) return located(e.pos, charged.error());
  const uint32_t saved = call_pos_;
  call_pos_ = e.pos;
  auto r = call_value(*this, callee, args);
  call_pos_ = saved;
  if (!r.ok()) return located(e.pos, r.error());
  return r;
}

Result<Value> Evaluator::eval_filter(const FilterExpr& e, Scope& scope, const Value* block_input) {
  Value input;
  if (e.input) {
    auto r = e.input->kind == Expr::Kind::filter
                 ? eval_filter(static_cast<const FilterExpr&>(*e.input), scope, block_input)
                 : eval(*e.input, scope);
    if (!r.ok()) return r.error();
    input = std::move(r).value();
  } else if (block_input) {
    input = *block_input;
  }
  TESSERA_TRY_ASSIGN(args, eval_args(e.args, scope));
  Status s = charge(1 + work_of(input) + args_work(args));
  if (!s.ok()) return located(e.pos, s.error());
  auto r = e.fn(*this, input, args);
  if (!r.ok()) return located(e.pos, r.error());
  return r;
}

Result<Value> Evaluator::eval_test(const TestExpr& e, Scope& scope) {
  TESSERA_TRY_ASSIGN(input, eval(*e.input, scope));
  TESSERA_TRY_ASSIGN(args, eval_args(e.args, scope));
  Status s = charge(work_of(input) + args_work(args));
  if (!s.ok()) return located(e.pos, s.error());
  auto r = e.fn(*this, input, args);
  if (!r.ok()) return located(e.pos, r.error());
  return Value::boolean(*r);
}

}  // namespace tessera::jinja
