// The model routes: POST /v1/chat/completions (blocking and SSE streaming), POST
// /v1/embeddings, and GET /metrics. Each request takes a lease from the scheduler (loading the
// model on demand), generates through the model's continuous batcher, and reports to the
// metrics. A client that goes away mid-stream cancels its sequence only.
#pragma once

namespace httplib {
class Server;
}

namespace tessera::server {

class Server;

void add_api_routes(Server& server, httplib::Server& http);

}  // namespace tessera::server
