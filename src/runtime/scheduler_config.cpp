#include "runtime/scheduler_config.h"

#include <yaml-cpp/yaml.h>

#include <fstream>
#include <set>
#include <sstream>

namespace tessera::runtime {
namespace {

// Errors while reading one file: every message starts with "<file>:<line>:<column>: ".
class Reader {
 public:
  explicit Reader(std::string_view file) : file_(file) {}

  Error at(const YAML::Node& node, const std::string& key, const std::string& what) const {
    const YAML::Mark m = node.Mark();
    std::string where = file_;
    if (m.line >= 0) {
      where.append(":").append(std::to_string(m.line + 1));
      where.append(":").append(std::to_string(m.column + 1));
    }
    return make_error(ErrorCode::malformed, where + ": " + key + ": " + what);
  }

  Result<std::string> scalar(const YAML::Node& n, const std::string& key) const {
    if (!n.IsScalar()) return at(n, key, "expected a single value, found a " + kind(n));
    return n.Scalar();
  }

  Result<int64_t> integer(const YAML::Node& n, const std::string& key, int64_t lo,
                          int64_t hi) const {
    auto s = scalar(n, key);
    if (!s.ok()) return s.error();
    size_t used = 0;
    long long v = 0;
    try {
      v = std::stoll(*s, &used);
    } catch (...) {
      used = 0;
    }
    if (used == 0 || used != s->size()) return at(n, key, "\"" + *s + "\" is not an integer");
    if (v < lo || v > hi) {
      return at(n, key,
                std::to_string(v) + " is out of range [" + std::to_string(lo) + ", " +
                    std::to_string(hi) + "]");
    }
    return static_cast<int64_t>(v);
  }

  Result<bool> boolean(const YAML::Node& n, const std::string& key) const {
    auto s = scalar(n, key);
    if (!s.ok()) return s.error();
    if (*s == "true" || *s == "yes" || *s == "on") return true;
    if (*s == "false" || *s == "no" || *s == "off") return false;
    return at(n, key, "\"" + *s + "\" is not true or false");
  }

  Result<uint64_t> bytes(const YAML::Node& n, const std::string& key) const {
    auto s = scalar(n, key);
    if (!s.ok()) return s.error();
    auto b = parse_bytes(*s);
    if (!b.ok()) return at(n, key, b.error().message);
    return *b;
  }

  Result<KeepAlive> keep_alive(const YAML::Node& n, const std::string& key) const {
    auto s = scalar(n, key);
    if (!s.ok()) return s.error();
    auto k = parse_keep_alive(*s);
    if (!k.ok()) return at(n, key, k.error().message);
    return *k;
  }

  Result<backend::KvType> kv_type(const YAML::Node& n, const std::string& key) const {
    auto s = scalar(n, key);
    if (!s.ok()) return s.error();
    if (*s == "f16") return backend::KvType::f16;
    if (*s == "f32") return backend::KvType::f32;
    if (*s == "q8_0") return backend::KvType::q8_0;
    return at(n, key, "\"" + *s + "\" is not a KV cache type (f16, f32, q8_0)");
  }

  Result<std::vector<std::string>> names(const YAML::Node& n, const std::string& key) const {
    if (!n.IsSequence()) return at(n, key, "expected a list of names, found a " + kind(n));
    std::vector<std::string> out;
    for (const YAML::Node& item : n) {
      auto s = scalar(item, key);
      if (!s.ok()) return s.error();
      if (s->empty()) return at(item, key, "empty name");
      out.push_back(*s);
    }
    return out;
  }

  // Checks that `map` is a mapping whose keys are all in `allowed`.
  Status keys(const YAML::Node& map, const std::string& what,
              std::initializer_list<const char*> allowed) const {
    if (!map.IsMap()) return at(map, what, "expected a mapping (key: value), found a " + kind(map));
    for (const auto& kv : map) {
      const std::string k = kv.first.IsScalar() ? kv.first.Scalar() : "?";
      bool ok = false;
      std::string list;
      for (const char* a : allowed) {
        ok = ok || k == a;
        if (!list.empty()) list.append(", ");
        list.append(a);
      }
      if (!ok) return at(kv.first, what, "unknown key \"" + k + "\" (known: " + list + ")");
    }
    return {};
  }

  static std::string kind(const YAML::Node& n) {
    switch (n.Type()) {
      case YAML::NodeType::Null:
        return "empty value";
      case YAML::NodeType::Scalar:
        return "single value";
      case YAML::NodeType::Sequence:
        return "list";
      case YAML::NodeType::Map:
        return "mapping";
      default:
        return "undefined value";
    }
  }

 private:
  std::string file_;
};

#define TRY_SET(target, expr)        \
  do {                               \
    auto r_ = (expr);                \
    if (!r_.ok()) return r_.error(); \
    target = *r_;                    \
  } while (0)

Result<SliceConfig> read_slice(const Reader& r, const YAML::Node& n) {
  TESSERA_TRY(r.keys(n, "slices[]", {"name", "device", "memory", "apps", "models"}));
  SliceConfig s;
  s.line = n.Mark().line + 1;
  for (const char* required : {"name", "device", "memory"}) {
    if (!n[required]) return r.at(n, "slices[]", std::string("missing \"") + required + "\"");
  }
  TRY_SET(s.name, r.scalar(n["name"], "slices[].name"));
  if (s.name.empty()) return r.at(n["name"], "slices[].name", "empty name");
  TRY_SET(s.device, r.scalar(n["device"], "slices[].device"));
  TRY_SET(s.memory, r.bytes(n["memory"], "slices[].memory"));
  if (s.memory == 0) return r.at(n["memory"], "slices[].memory", "a slice needs memory > 0");
  if (n["apps"]) TRY_SET(s.apps, r.names(n["apps"], "slices[].apps"));
  if (n["models"]) TRY_SET(s.models, r.names(n["models"], "slices[].models"));
  return s;
}

Result<QuotaConfig> read_quota(const Reader& r, const YAML::Node& n) {
  TESSERA_TRY(r.keys(n, "quotas[]", {"app", "memory", "kv_tokens"}));
  QuotaConfig q;
  q.line = n.Mark().line + 1;
  if (!n["app"]) return r.at(n, "quotas[]", "missing \"app\"");
  TRY_SET(q.app, r.scalar(n["app"], "quotas[].app"));
  if (q.app.empty()) return r.at(n["app"], "quotas[].app", "empty name");
  if (n["memory"]) TRY_SET(q.memory, r.bytes(n["memory"], "quotas[].memory"));
  if (n["kv_tokens"]) {
    TRY_SET(q.kv_tokens, r.integer(n["kv_tokens"], "quotas[].kv_tokens", 1, int64_t{1} << 32));
  }
  if (!q.memory && !q.kv_tokens) {
    return r.at(n, "quotas[]", "a quota needs \"memory\", \"kv_tokens\" or both");
  }
  return q;
}

Result<ModelPolicy> read_policy(const Reader& r, const YAML::Node& n, const std::string& name) {
  const std::string key = "models." + name;
  TESSERA_TRY(r.keys(n, key, {"pinned", "keep_alive", "context", "parallel", "kv_type"}));
  ModelPolicy p;
  if (n["pinned"]) TRY_SET(p.pinned, r.boolean(n["pinned"], key + ".pinned"));
  if (n["keep_alive"]) TRY_SET(p.keep_alive, r.keep_alive(n["keep_alive"], key + ".keep_alive"));
  if (n["context"]) TRY_SET(p.context, r.integer(n["context"], key + ".context", 0, kMaxContext));
  if (n["parallel"]) {
    TRY_SET(p.parallel, r.integer(n["parallel"], key + ".parallel", 1, kMaxParallel));
  }
  if (n["kv_type"]) TRY_SET(p.kv_type, r.kv_type(n["kv_type"], key + ".kv_type"));
  return p;
}

Status read_top(const Reader& r, const YAML::Node& root, SchedulerConfig& c) {
  TESSERA_TRY(
      r.keys(root, "config",
             {"keep_alive", "max_loaded_models", "max_queue", "context", "parallel", "kv_type",
              "gpu_reserve", "split", "room_wait", "cpu", "slices", "quotas", "models"}));
  if (root["keep_alive"]) TRY_SET(c.keep_alive, r.keep_alive(root["keep_alive"], "keep_alive"));
  if (root["max_loaded_models"]) {
    int64_t v = 0;
    TRY_SET(v, r.integer(root["max_loaded_models"], "max_loaded_models", 0, 1024));
    c.max_loaded_models = static_cast<int>(v);
  }
  if (root["max_queue"]) {
    int64_t v = 0;
    TRY_SET(v, r.integer(root["max_queue"], "max_queue", 0, 1 << 20));
    c.max_queue = static_cast<int>(v);
  }
  if (root["context"]) TRY_SET(c.context, r.integer(root["context"], "context", 0, kMaxContext));
  if (root["parallel"]) {
    TRY_SET(c.parallel, r.integer(root["parallel"], "parallel", 1, kMaxParallel));
  }
  if (root["kv_type"]) TRY_SET(c.kv_type, r.kv_type(root["kv_type"], "kv_type"));
  if (root["gpu_reserve"]) TRY_SET(c.gpu_reserve, r.bytes(root["gpu_reserve"], "gpu_reserve"));
  if (root["split"]) TRY_SET(c.split, r.boolean(root["split"], "split"));
  if (root["room_wait"]) TRY_SET(c.room_wait, r.keep_alive(root["room_wait"], "room_wait"));
  if (const YAML::Node cpu = root["cpu"]) {
    TESSERA_TRY(r.keys(cpu, "cpu", {"use", "memory"}));
    if (cpu["use"]) {
      std::string use;
      TRY_SET(use, r.scalar(cpu["use"], "cpu.use"));
      if (use == "auto") {
        c.cpu_use = CpuUse::auto_;
      } else if (use == "always") {
        c.cpu_use = CpuUse::always;
      } else if (use == "never") {
        c.cpu_use = CpuUse::never;
      } else {
        return r.at(cpu["use"], "cpu.use", "\"" + use + "\" is not auto, always or never");
      }
    }
    if (cpu["memory"]) TRY_SET(c.cpu_memory, r.bytes(cpu["memory"], "cpu.memory"));
  }
  if (const YAML::Node slices = root["slices"]) {
    if (!slices.IsSequence()) return r.at(slices, "slices", "expected a list of slices");
    std::set<std::string> seen;
    for (const YAML::Node& n : slices) {
      auto s = read_slice(r, n);
      if (!s.ok()) return s.error();
      if (!seen.insert(s->name).second) {
        return r.at(n, "slices[].name", "slice \"" + s->name + "\" is defined twice");
      }
      c.slices.push_back(std::move(*s));
    }
  }
  if (const YAML::Node quotas = root["quotas"]) {
    if (!quotas.IsSequence()) return r.at(quotas, "quotas", "expected a list of quotas");
    std::set<std::string> seen;
    for (const YAML::Node& n : quotas) {
      auto q = read_quota(r, n);
      if (!q.ok()) return q.error();
      if (!seen.insert(q->app).second) {
        return r.at(n, "quotas[].app", "app \"" + q->app + "\" has two quotas");
      }
      c.quotas.push_back(std::move(*q));
    }
  }
  if (const YAML::Node models = root["models"]) {
    if (!models.IsMap()) return r.at(models, "models", "expected a mapping of model names");
    for (const auto& kv : models) {
      std::string name;
      TRY_SET(name, r.scalar(kv.first, "models"));
      auto p = read_policy(r, kv.second, name);
      if (!p.ok()) return p.error();
      c.models[name] = *p;
    }
  }
  return {};
}

}  // namespace

const QuotaConfig* SchedulerConfig::quota(std::string_view app) const {
  for (const QuotaConfig& q : quotas) {
    if (q.app == app) return &q;
  }
  return nullptr;
}

ModelPolicy SchedulerConfig::policy(std::string_view model) const {
  auto it = models.find(std::string(model));
  return it == models.end() ? ModelPolicy{} : it->second;
}

Result<SchedulerConfig> parse_scheduler_config(std::string_view text, std::string_view file) {
  SchedulerConfig c;
  c.source = std::string(file);
  const Reader r(file);
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    std::string where(file);
    if (e.mark.line >= 0) {
      where.append(":").append(std::to_string(e.mark.line + 1));
      where.append(":").append(std::to_string(e.mark.column + 1));
    }
    return make_error(ErrorCode::malformed, where + ": not valid YAML: " + e.msg);
  }
  if (root.IsNull()) return c;  // an empty file: all defaults
  try {
    TESSERA_TRY(read_top(r, root, c));
  } catch (const YAML::Exception& e) {  // yaml-cpp throws on some odd documents (aliases, ...)
    return make_error(ErrorCode::malformed, std::string(file) + ": " + e.what());
  }
  return c;
}

Result<SchedulerConfig> load_scheduler_config(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return make_error(ErrorCode::not_found,
                      "cannot open scheduler config " + path + ": no such file or not readable");
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return make_error(ErrorCode::io_error, "cannot read scheduler config " + path);
  return parse_scheduler_config(text.str(), path);
}

}  // namespace tessera::runtime
