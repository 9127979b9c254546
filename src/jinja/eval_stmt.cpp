// Executing statements: output, if, for (with the loop variable), set, macros, call and
// filter blocks; and the render entry point.
#include "jinja/builtins.h"
#include "jinja/evaluator.h"
#include "jinja/format.h"
#include "jinja/lexer.h"
#include "jinja/ops.h"

namespace tessera::jinja {
namespace {

// The `loop` variable of a for loop. Mutable like Jinja2's LoopContext: the same object
// advances through the iterations.
class LoopObject final : public Object, public std::enable_shared_from_this<LoopObject> {
 public:
  explicit LoopObject(Value items) : items_(std::move(items)) {}
  std::string_view type_name() const override { return "LoopContext"; }
  Status append_repr(std::string& out, size_t, int) const override {
    out += std::string("<LoopContext ") + std::to_string(index0_ + 1) + "/" +
           std::to_string(size()) + ">";
    return {};
  }
  Value get_attr(std::string_view name) const override;
  void set_index(size_t i) { index0_ = i; }

 private:
  size_t size() const { return items_.items().size(); }

  class Method final : public Object {
   public:
    Method(std::shared_ptr<const LoopObject> loop, bool cycle)
        : loop_(std::move(loop)), cycle_(cycle) {}
    std::string_view type_name() const override { return "method"; }
    bool callable() const override { return true; }
    Result<Value> call(Runtime&, CallArgs& args) const override {
      if (!args.keywords.empty()) return type_error("loop methods take no keyword arguments");
      if (cycle_) {
        if (args.positional.empty()) return type_error("no items for cycling given");
        return args.positional[loop_->index0_ % args.positional.size()];
      }
      Value current = Value::list(args.positional, ListFlavor::tuple);
      const bool changed = !loop_->has_last_ || !equal(current, loop_->last_changed_);
      loop_->last_changed_ = std::move(current);
      loop_->has_last_ = true;
      return Value::boolean(changed);
    }

   private:
    std::shared_ptr<const LoopObject> loop_;
    bool cycle_;
  };

  Value items_;
  size_t index0_ = 0;
  mutable Value last_changed_;
  mutable bool has_last_ = false;
};

Value LoopObject::get_attr(std::string_view name) const {
  const auto i = static_cast<int64_t>(index0_);
  const auto n = static_cast<int64_t>(size());
  if (name == "index") return Value::integer(i + 1);
  if (name == "index0") return Value::integer(i);
  if (name == "revindex") return Value::integer(n - i);
  if (name == "revindex0") return Value::integer(n - i - 1);
  if (name == "first") return Value::boolean(i == 0);
  if (name == "last") return Value::boolean(i + 1 == n);
  if (name == "length") return Value::integer(n);
  if (name == "depth") return Value::integer(1);
  if (name == "depth0") return Value::integer(0);
  if (name == "previtem") {
    if (i == 0) return Value::undefined("there is no previous item");
    return items_.items()[index0_ - 1];
  }
  if (name == "nextitem") {
    if (i + 1 >= n) return Value::undefined("there is no next item");
    return items_.items()[index0_ + 1];
  }
  if (name == "cycle" || name == "changed") {
    return Value::object(std::make_shared<const Method>(shared_from_this(), name == "cycle"));
  }
  return Object::get_attr(name);
}

}  // namespace

// ---- scopes and macros ----

const Value* Scope::find(std::string_view name) const {
  for (const Scope* s = this; s; s = s->parent_) {
    for (const auto& [k, v] : s->vars_) {
      if (k == name) return &v;
    }
  }
  return nullptr;
}

void Scope::set(std::string_view name, Value value) {
  for (auto& [k, v] : vars_) {
    if (k == name) {
      v = std::move(value);
      return;
    }
  }
  vars_.emplace_back(std::string(name), std::move(value));
}

// Destroying a value never recurses deeply (containers and objects defer their contents
// through release_values), so the variables can simply go.
void Scope::clear() {
  vars_.clear();
}

Status Macro::append_repr(std::string& out, size_t, int) const {
  out += std::string("<Macro '") + def_.name + "'>";
  return {};
}

Value Macro::get_attr(std::string_view name) const {
  if (name == "name") return Value::string(def_.name);
  if (name == "arguments") {
    std::vector<Value> names;
    for (const auto& p : def_.params) names.push_back(Value::string(p));
    return Value::list(std::move(names), ListFlavor::tuple);
  }
  if (name == "caller") return Value::boolean(def_.uses_caller);
  if (name == "catch_kwargs") return Value::boolean(def_.uses_kwargs);
  if (name == "catch_varargs") return Value::boolean(def_.uses_varargs);
  return Object::get_attr(name);
}

// ---- the evaluator ----

Evaluator::~Evaluator() {
  // Namespaces may refer to each other (or to themselves); emptying them breaks the cycles.
  std::vector<std::shared_ptr<const Namespace>> alive;
  for (const auto& weak : namespaces_) {
    if (auto ns = weak.lock()) alive.push_back(std::move(ns));
  }
  for (const auto& ns : alive) ns->clear();
}

Status Evaluator::charge(uint64_t steps) {
  steps_ += steps;
  if (steps_ > t_.options.max_steps) {
    return limit_error(std::string("the template did more work than the limit of ") +
                       std::to_string(t_.options.max_steps) + " steps (endless loop?)");
  }
  return {};
}

std::chrono::system_clock::time_point Evaluator::now() const {
  if (fixed_now_) return *fixed_now_;
  return t_.options.now ? t_.options.now() : std::chrono::system_clock::now();
}

void Evaluator::track(std::shared_ptr<const Namespace> ns) {
  namespaces_.push_back(std::move(ns));
  if (namespaces_.size() >= 2 * namespaces_compacted_ + 64) {
    std::erase_if(namespaces_, [](const auto& w) { return w.expired(); });
    namespaces_compacted_ = namespaces_.size();
  }
}

Result<std::string> Evaluator::render(const nlohmann::ordered_json& variables) {
  auto root = std::make_shared<Scope>(nullptr);
  if (variables.is_object()) {
    for (const auto& [k, v] : variables.items()) {
      auto value = value_from_json(v);
      if (!value.ok()) {
        return Error{value.error().code,
                     t_.name + ": variable '" + k + "': " + value.error().message};
      }
      root->set(k, std::move(value).value());
    }
  } else if (!variables.is_null()) {
    return Error{ErrorCode::invalid_argument,
                 t_.name + ": the variables must be a JSON object, not " + variables.type_name()};
  }
  std::string out;
  TESSERA_TRY(exec_body(t_.body, *root, out));
  return out;
}

Status Evaluator::exec_body(const Body& body, Scope& scope, std::string& out) {
  for (const auto& stmt : body) {
    TESSERA_TRY(exec(*stmt, scope, out));
    if (flow_ != Flow::normal) return {};
  }
  return {};
}

Status Evaluator::append_output(std::string& out, const Value& v, uint32_t pos) {
  Status s = append_str(out, v, t_.options.max_output_bytes);
  if (s.ok() && out.size() > t_.options.max_output_bytes) {
    s = limit_error(std::string("output larger than the limit of ") +
                    std::to_string(t_.options.max_output_bytes) + " bytes");
  }
  if (!s.ok()) return located(pos, s.error());
  return {};
}

Result<std::string> Evaluator::render_block(const Body& body, Scope& scope) {
  auto child = std::make_shared<Scope>(&scope);
  std::string out;
  TESSERA_TRY(exec_body(body, *child, out));
  return out;
}

Status Evaluator::exec(const Stmt& stmt, Scope& scope, std::string& out) {
  TESSERA_TRY(enter(stmt.pos));
  Status s;
  switch (stmt.kind) {
    case Stmt::Kind::text:
      out += static_cast<const TextStmt&>(stmt).text;
      if (out.size() > t_.options.max_output_bytes) s = append_output(out, Value(), stmt.pos);
      break;
    case Stmt::Kind::output: {
      auto v = eval(*static_cast<const OutputStmt&>(stmt).expr, scope);
      s = v.ok() ? append_output(out, *v, stmt.pos) : Status(v.error());
      break;
    }
    case Stmt::Kind::if_: {
      const auto& node = static_cast<const IfStmt&>(stmt);
      const Body* chosen = &node.otherwise;
      for (const auto& [cond, body] : node.branches) {
        auto c = eval(*cond, scope);
        if (!c.ok()) {
          s = c.error();
          break;
        }
        if (truthy(*c)) {
          chosen = &body;
          break;
        }
      }
      if (s.ok()) s = exec_body(*chosen, scope, out);
      break;
    }
    case Stmt::Kind::for_:
      s = exec_for(static_cast<const ForStmt&>(stmt), scope, out);
      break;
    case Stmt::Kind::set: {
      const auto& node = static_cast<const SetStmt&>(stmt);
      auto v = eval(*node.value, scope);
      s = v.ok() ? assign(node.target, *v, scope) : Status(v.error());
      break;
    }
    case Stmt::Kind::set_block: {
      const auto& node = static_cast<const SetBlockStmt&>(stmt);
      auto text = render_block(node.body, scope);
      if (!text.ok()) {
        s = text.error();
        break;
      }
      Value v = Value::string(std::move(*text));
      if (node.filter) {
        auto f = eval_filter(static_cast<const FilterExpr&>(*node.filter), scope, &v);
        if (!f.ok()) {
          s = f.error();
          break;
        }
        v = std::move(*f);
      }
      s = assign(node.target, v, scope);
      break;
    }
    case Stmt::Kind::macro: {
      const auto& def = static_cast<const MacroStmt&>(stmt).def;
      scope.set(def.name,
                Value::object(std::make_shared<const Macro>(def, scope.weak_from_this())));
      break;
    }
    case Stmt::Kind::call_block:
      s = exec_call_block(static_cast<const CallBlockStmt&>(stmt), scope, out);
      break;
    case Stmt::Kind::filter_block: {
      const auto& node = static_cast<const FilterBlockStmt&>(stmt);
      auto text = render_block(node.body, scope);
      if (!text.ok()) {
        s = text.error();
        break;
      }
      const Value v = Value::string(std::move(*text));
      auto f = eval_filter(static_cast<const FilterExpr&>(*node.filter), scope, &v);
      s = f.ok() ? append_output(out, *f, stmt.pos) : Status(f.error());
      break;
    }
    case Stmt::Kind::with: {
      const auto& node = static_cast<const WithStmt&>(stmt);
      std::vector<Value> values;
      for (const auto& [target, expr] : node.assigns) {
        auto v = eval(*expr, scope);
        if (!v.ok()) {
          s = v.error();
          break;
        }
        values.push_back(std::move(v).value());
      }
      if (!s.ok()) break;
      auto child = std::make_shared<Scope>(&scope);
      for (size_t i = 0; i < values.size() && s.ok(); ++i) {
        s = assign(node.assigns[i].first, values[i], *child);
      }
      if (s.ok()) s = exec_body(node.body, *child, out);
      break;
    }
    case Stmt::Kind::scope: {
      auto text = render_block(static_cast<const ScopeStmt&>(stmt).body, scope);
      s = text.ok() ? append_output(out, Value::string(std::move(*text)), stmt.pos)
                    : Status(text.error());
      break;
    }
    case Stmt::Kind::break_:
      flow_ = Flow::break_loop;
      break;
    case Stmt::Kind::continue_:
      flow_ = Flow::continue_loop;
      break;
  }
  leave();
  return s;
}

Status Evaluator::exec_for(const ForStmt& node, Scope& scope, std::string& out) {
  TESSERA_TRY_ASSIGN(iterable, eval(*node.iter, scope));
  Value items;
  if (iterable.is_list()) {
    items = iterable;
  } else {
    auto all = iterate(*this, iterable);
    if (!all.ok()) return located(node.iter->pos, all.error());
    items = Value::list(std::move(all).value());
  }
  auto iter_scope = std::make_shared<Scope>(&scope);
  if (node.filter) {
    std::vector<Value> kept;
    for (const Value& item : items.items()) {
      Status s = charge(1);
      if (!s.ok()) return located(node.pos, s.error());
      iter_scope->clear();
      TESSERA_TRY(assign(node.target, item, *iter_scope));
      TESSERA_TRY_ASSIGN(pass, eval(*node.filter, *iter_scope));
      if (truthy(pass)) kept.push_back(item);
    }
    items = Value::list(std::move(kept));
  }
  const size_t n = items.items().size();
  if (!node.has_break && n > t_.options.max_steps - std::min(steps_, t_.options.max_steps)) {
    return located(node.pos, limit_error(std::string("a loop of ") + std::to_string(n) +
                                         " iterations is over the work limit of " +
                                         std::to_string(t_.options.max_steps) + " steps"));
  }
  auto loop = std::make_shared<LoopObject>(items);
  const Value loop_value = Value::object(loop);
  for (size_t i = 0; i < n; ++i) {
    Status s = charge(1);
    if (!s.ok()) return located(node.pos, s.error());
    iter_scope->clear();
    loop->set_index(i);
    TESSERA_TRY(assign(node.target, items.items()[i], *iter_scope));
    iter_scope->set("loop", loop_value);
    TESSERA_TRY(exec_body(node.body, *iter_scope, out));
    if (flow_ == Flow::break_loop) {
      flow_ = Flow::normal;
      break;
    }
    flow_ = Flow::normal;
  }
  if (n == 0 && !node.otherwise.empty()) {
    auto else_scope = std::make_shared<Scope>(&scope);
    TESSERA_TRY(exec_body(node.otherwise, *else_scope, out));
  }
  return {};
}

Status Evaluator::assign(const Target& target, const Value& value, Scope& scope) {
  switch (target.kind) {
    case Target::Kind::name:
      scope.set(target.name, value);
      return {};
    case Target::Kind::attribute: {
      const Value* ns = scope.find(target.name);
      if (!ns || !ns->is_object()) {
        return located(target.pos, type_error("cannot assign attribute on non-namespace object"));
      }
      Status s = ns->object().set_attr(target.attr, value);
      if (!s.ok()) return located(target.pos, s.error());
      return {};
    }
    case Target::Kind::tuple: {
      auto items = iterate(*this, value);
      if (!items.ok()) {
        return located(target.pos, type_error(std::string("cannot unpack non-iterable ") +
                                              type_name(value) + " object"));
      }
      const size_t want = target.items.size();
      if (items->size() != want) {
        return located(target.pos,
                       type_error(items->size() > want
                                      ? std::string("too many values to unpack (expected ") +
                                            std::to_string(want) + ")"
                                      : std::string("not enough values to unpack (expected ") +
                                            std::to_string(want) + ", got " +
                                            std::to_string(items->size()) + ")"));
      }
      for (size_t i = 0; i < want; ++i) TESSERA_TRY(assign(target.items[i], (*items)[i], scope));
      return {};
    }
  }
  return {};
}

Status Evaluator::exec_call_block(const CallBlockStmt& node, Scope& scope, std::string& out) {
  const auto& call = static_cast<const CallExpr&>(*node.call);
  TESSERA_TRY_ASSIGN(callee, eval(*call.callee, scope));
  TESSERA_TRY_ASSIGN(args, eval_args(call.args, scope));
  args.keywords.emplace_back(
      "caller", Value::object(std::make_shared<const Macro>(node.caller, scope.weak_from_this())));
  Result<Value> r = Value();
  if (callee.is_object() && dynamic_cast<const Macro*>(&callee.object())) {
    r = invoke_macro(static_cast<const Macro&>(callee.object()), args, call.pos);
  } else {
    r = call_value(*this, callee, args);
    if (!r.ok()) return located(call.pos, r.error());
  }
  if (!r.ok()) return r.error();
  return append_output(out, *r, node.pos);
}

Result<Value> Evaluator::call_macro(const Macro& macro, CallArgs& args) {
  return invoke_macro(macro, args, call_pos_);
}

Result<Value> Evaluator::invoke_macro(const Macro& macro, CallArgs& args, uint32_t pos) {
  const MacroDef& def = macro.def();
  auto fail = [&](const std::string& message) { return located(pos, type_error(message)); };
  std::shared_ptr<const Scope> defining = macro.scope();
  if (!defining) {
    return fail(std::string("macro '") + def.name +
                "' was called after the block that defined it ended");
  }
  if (macro_depth_ >= t_.options.max_depth) {
    return located(
        pos, limit_error(std::string("macro calls nested deeper than ") +
                         std::to_string(t_.options.max_depth) + " levels (endless recursion?)"));
  }
  Status charged = charge(1);
  if (!charged.ok()) return located(pos, charged.error());
  const size_t n_params = def.params.size();
  if (args.positional.size() > n_params && !def.uses_varargs) {
    return fail(std::string("macro '") + def.name + "' takes not more than " +
                std::to_string(n_params) + " argument(s)");
  }
  auto scope = std::make_shared<Scope>(defining.get());
  std::vector<bool> given(n_params, false);
  for (size_t i = 0; i < n_params && i < args.positional.size(); ++i) {
    scope->set(def.params[i], args.positional[i]);
    given[i] = true;
  }
  auto extra_kwargs = std::make_shared<Dict>();
  bool has_caller = false;
  for (auto& [k, v] : args.keywords) {
    size_t i = 0;
    while (i < n_params && def.params[i] != k) ++i;
    if (i < n_params && !given[i]) {
      scope->set(k, v);
      given[i] = true;
    } else if (k == "caller" && def.uses_caller && !has_caller) {
      scope->set("caller", v);
      has_caller = true;
    } else if (def.uses_kwargs) {
      extra_kwargs->set(Value::string(k), v);
    } else {
      return fail(std::string("macro '") + def.name + "' takes no keyword argument '" + k + "'");
    }
  }
  if (def.uses_caller && !has_caller) scope->set("caller", Value::undefined("No caller defined"));
  if (def.uses_varargs) {
    std::vector<Value> rest;
    for (size_t i = n_params; i < args.positional.size(); ++i) rest.push_back(args.positional[i]);
    scope->set("varargs", Value::list(std::move(rest), ListFlavor::tuple));
  }
  if (def.uses_kwargs) scope->set("kwargs", Value::dict(std::move(extra_kwargs)));
  ++macro_depth_;
  Status s;
  for (size_t i = 0; i < n_params && s.ok(); ++i) {
    if (given[i]) continue;
    if (def.defaults[i]) {
      auto v = eval(*def.defaults[i], *scope);
      if (v.ok()) {
        scope->set(def.params[i], std::move(v).value());
      } else {
        s = v.error();
      }
    } else {
      scope->set(def.params[i], Value::undefined(std::string("parameter '") + def.params[i] +
                                                 "' was not provided"));
    }
  }
  std::string out;
  if (s.ok()) s = exec_body(def.body, *scope, out);
  --macro_depth_;
  flow_ = Flow::normal;
  if (!s.ok()) return s.error();
  return Value::string(std::move(out));
}

}  // namespace tessera::jinja
