// Rendering: walks the syntax tree with Python's semantics. One Evaluator per render; it
// owns that render's state (scopes, work counters), so a Template can render on many
// threads at once.
//
// Scopes follow Jinja2: the template's top level holds the render variables and its {% set %}
// variables; each loop iteration, macro call and block ({% set %} / {% filter %} bodies,
// with, call) gets a child scope whose assignments vanish when it ends (hence namespace()).
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "jinja/ast.h"
#include "jinja/object.h"
#include "jinja/runtime.h"
#include "jinja/template.h"

namespace tessera::jinja {

struct Template::Impl {
  std::string name;
  std::string source;  // normalized, for positions in messages
  Options options;
  Body body;
};

class Scope : public std::enable_shared_from_this<Scope> {
 public:
  explicit Scope(const Scope* parent) : parent_(parent) {}
  Scope(const Scope&) = delete;
  Scope& operator=(const Scope&) = delete;
  ~Scope() { clear(); }

  // The innermost variable of that name in this scope or its parents.
  const Value* find(std::string_view name) const;
  void set(std::string_view name, Value value);
  void clear();

 private:
  const Scope* parent_;
  std::vector<std::pair<std::string, Value>> vars_;
};

// A {% macro %} (or the caller of a {% call %} block): its definition and the scope it was
// defined in, which its body sees.
class Macro final : public Object {
 public:
  Macro(const MacroDef& def, std::weak_ptr<const Scope> scope)
      : def_(def), scope_(std::move(scope)) {}
  std::string_view type_name() const override { return "Macro"; }
  Status append_repr(std::string& out, size_t limit, int depth) const override;
  bool callable() const override { return true; }
  Result<Value> call(Runtime& rt, CallArgs& args) const override {
    return rt.call_macro(*this, args);
  }
  Value get_attr(std::string_view name) const override;
  const MacroDef& def() const { return def_; }
  std::shared_ptr<const Scope> scope() const { return scope_.lock(); }

 private:
  const MacroDef& def_;
  std::weak_ptr<const Scope> scope_;
};

class Evaluator final : public Runtime {
 public:
  explicit Evaluator(const Template::Impl& t) : t_(t) {}
  // With a fixed time for strftime_now() (overrides Options::now).
  Evaluator(const Template::Impl& t, std::chrono::system_clock::time_point now)
      : t_(t), fixed_now_(now) {}
  ~Evaluator() override;

  Result<std::string> render(const nlohmann::ordered_json& variables);

  const Options& options() const override { return t_.options; }
  Status charge(uint64_t steps) override;
  std::chrono::system_clock::time_point now() const override;
  void track(std::shared_ptr<const Namespace> ns) override;
  Result<Value> call_macro(const Macro& macro, CallArgs& args) override;

 private:
  enum class Flow { normal, break_loop, continue_loop };

  // ---- statements (eval_stmt.cpp) ----
  Status exec_body(const Body& body, Scope& scope, std::string& out);
  Status exec(const Stmt& stmt, Scope& scope, std::string& out);
  Status exec_for(const ForStmt& node, Scope& scope, std::string& out);
  Status exec_call_block(const CallBlockStmt& node, Scope& scope, std::string& out);
  // Renders body in a child scope into a string.
  Result<std::string> render_block(const Body& body, Scope& scope);
  Status assign(const Target& target, const Value& value, Scope& scope);
  Status append_output(std::string& out, const Value& v, uint32_t pos);
  Result<Value> invoke_macro(const Macro& macro, CallArgs& args, uint32_t pos);

  // ---- expressions (eval_expr.cpp) ----
  Result<Value> eval(const Expr& e, Scope& scope);
  Result<Value> eval_node(const Expr& e, Scope& scope);
  Result<Value> eval_call(const CallExpr& e, Scope& scope);
  Result<Value> eval_filter(const FilterExpr& e, Scope& scope, const Value* block_input);
  Result<Value> eval_test(const TestExpr& e, Scope& scope);
  Result<Value> eval_compare(const CompareExpr& e, Scope& scope);
  Result<Value> eval_slice(const SliceExpr& e, Scope& scope);
  Result<CallArgs> eval_args(const ArgExprs& args, Scope& scope);
  Value lookup(std::string_view name, const Scope& scope) const;

  // Prefixes "NAME:LINE:COL: " (the position pos in the source) to a builtin's error.
  Error located(uint32_t pos, const Error& e) const;
  Status enter(uint32_t pos);  // counts a step, bounds recursion; pair with leave()
  void leave() { --frames_; }

  const Template::Impl& t_;
  std::optional<std::chrono::system_clock::time_point> fixed_now_;
  uint64_t steps_ = 0;
  size_t frames_ = 0;
  size_t macro_depth_ = 0;
  uint32_t call_pos_ = 0;  // position of the call being evaluated (for call_macro)
  Flow flow_ = Flow::normal;
  std::vector<std::weak_ptr<const Namespace>> namespaces_;
  size_t namespaces_compacted_ = 0;
};

}  // namespace tessera::jinja
