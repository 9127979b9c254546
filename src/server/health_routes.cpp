#include "server/health_routes.h"

#include <httplib.h>

#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "runtime/model_store.h"
#include "server/http_server.h"

namespace tessera::server {
namespace {

nlohmann::json backend_json(const BackendReport& b) {
  return {{"backend", b.backend}, {"reason", b.reason}, {"fallback", b.backend != "cuda"}};
}

}  // namespace

void add_health_routes(Server& s, httplib::Server& h) {
  h.Get("/health", [&s](const httplib::Request&, httplib::Response& res) {
    nlohmann::json j = {{"status", s.draining() ? "draining" : "ok"}};
    j.update(backend_json(s.backend()));
    send_json(res, 200, j.dump());
  });
  h.Get("/ready", [&s](const httplib::Request&, httplib::Response& res) {
    const runtime::SchedulerStatus st = s.scheduler().status();
    nlohmann::json places = nlohmann::json::array();
    for (const auto& p : st.places) {
      places.push_back({{"id", p.place.id},
                        {"kind", runtime::place_kind_name(p.place.kind)},
                        {"description", p.place.description},
                        {"capacity_bytes", p.place.capacity},
                        {"used_bytes", p.used}});
    }
    nlohmann::json models = nlohmann::json::array();
    for (const auto& m : st.models) {
      nlohmann::json where = nlohmann::json::array();
      for (const auto& [id, bytes] : m.places) where.push_back(id);
      models.push_back({{"name", m.name},
                        {"state", m.state},
                        {"places", where},
                        {"bytes", m.bytes},
                        {"in_flight", m.in_flight}});
    }
    const bool ready = !s.draining() && !st.places.empty();
    nlohmann::json j = {
        {"ready", ready}, {"places", places}, {"models", models}, {"queue_depth", st.waiting}};
    j.update(backend_json(s.backend()));
    send_json(res, ready ? 200 : 503, j.dump());
  });
  h.Get("/v1/models", [&s](const httplib::Request&, httplib::Response& res) {
    runtime::ModelStore store(s.options().data.models());
    std::vector<runtime::ModelEntry> entries;
    std::set<std::string> names;
    for (const runtime::ResolvedModel& m : s.options().extra_models) {
      entries.push_back(store.describe(m.name, m.path));
      names.insert(m.name);
    }
    if (auto list = store.list(); list.ok()) {
      for (auto& m : *list) {
        if (names.count(m.name) == 0) entries.push_back(std::move(m));
      }
    }
    nlohmann::json data = nlohmann::json::array();
    for (const auto& m : entries) {
      if (m.status != runtime::ModelStatus::ok) continue;
      data.push_back(
          {{"id", m.name}, {"object", "model"}, {"created", m.modified}, {"owned_by", "tessera"}});
    }
    send_json(res, 200, nlohmann::json{{"object", "list"}, {"data", data}}.dump());
  });
}

}  // namespace tessera::server
