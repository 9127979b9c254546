// GET /health (liveness), GET /ready (readiness), GET /v1/models.
#pragma once

namespace httplib {
class Server;
}

namespace tessera::server {

class Server;

void add_health_routes(Server& server, httplib::Server& http);

}  // namespace tessera::server
