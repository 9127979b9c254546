#include "server/openai_request.h"

#include <cmath>
#include <cstdio>
#include <limits>

namespace tessera::server {
namespace {

using json = nlohmann::ordered_json;  // ordered: messages reach the template as written

// Thrown inside this file only, to end a parse; every parse_* turns it into a value.
struct Rejected {
  ApiError error;
};

[[noreturn]] void reject(std::string param, std::string message) {
  throw Rejected{api_error(400, "invalid_request_error", std::move(message), std::move(param))};
}

// A number as a user wrote it: 1.5, not 1.500000.
std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

const char* kind(const json& v) {
  switch (v.type()) {
    case json::value_t::null:
      return "null";
    case json::value_t::boolean:
      return "a boolean";
    case json::value_t::string:
      return "a string";
    case json::value_t::array:
      return "an array";
    case json::value_t::object:
      return "an object";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
      return "an integer";
    case json::value_t::number_float:
      return "a number";
    default:
      return "something else";
  }
}

[[noreturn]] void wrong_type(const std::string& path, const char* expected, const json& got) {
  std::string m = path;
  m.append(" must be ").append(expected).append(", got ").append(kind(got));
  reject(path, std::move(m));
}

std::string index_path(const std::string& base, size_t i) {
  std::string p = base;
  p.append("[").append(std::to_string(i)).append("]");
  return p;
}

std::string member_path(const std::string& base, const char* key) {
  std::string p = base;
  p.append(".").append(key);
  return p;
}

// The member, or nullptr when absent or null (null counts as absent).
const json* field(const json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return nullptr;
  return &*it;
}

// The deepest nesting of objects and arrays, counted over the bytes outside strings. (A
// parser callback could count it too, but nlohmann's callback parser is slow on long arrays.)
bool nests_deeper_than(std::string_view body, int limit) {
  int depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (const char c : body) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > limit) return true;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return false;
}

json parse_body(std::string_view body) {
  if (nests_deeper_than(body, kMaxJsonDepth)) {
    std::string m = "the request body nests objects and arrays more than ";
    m.append(std::to_string(kMaxJsonDepth)).append(" levels deep");
    reject("", std::move(m));
  }
  json j;
  try {
    j = json::parse(body.begin(), body.end());
  } catch (const json::parse_error& e) {
    // what(): "[json.exception.parse_error.101] parse error at line 1, column 5: <reason>"
    std::string what = e.what();
    const size_t at = what.find("parse error");
    const size_t colon = what.find(": ", at == std::string::npos ? 0 : at);
    std::string m = "the request body is not valid JSON: error at byte ";
    m.append(std::to_string(e.byte));
    if (colon != std::string::npos) m.append(": ").append(what.substr(colon + 2));
    reject("", std::move(m));
  } catch (const json::exception& e) {
    // A number past double's range: "[json.exception.out_of_range.406] number overflow ..."
    const std::string what = e.what();
    const size_t close = what.find("] ");
    std::string m = "the request body is not valid JSON: ";
    m.append(close == std::string::npos ? what : what.substr(close + 2));
    reject("", std::move(m));
  }
  if (!j.is_object()) {
    std::string m = "the request body must be a JSON object, got ";
    m.append(kind(j));
    reject("", std::move(m));
  }
  return j;
}

std::string get_string(const json& v, const std::string& path) {
  if (!v.is_string()) wrong_type(path, "a string", v);
  return v.get<std::string>();
}

bool get_bool(const json& v, const std::string& path) {
  if (!v.is_boolean()) wrong_type(path, "a boolean", v);
  return v.get<bool>();
}

double get_number(const json& v, const std::string& path) {
  if (!v.is_number()) wrong_type(path, "a number", v);
  const double d = v.get<double>();
  if (!std::isfinite(d)) reject(path, path + " must be a finite number");
  return d;
}

// An integer in [lo, hi]; a number with no fraction (2.0) counts.
int64_t get_int(const json& v, const std::string& path, int64_t lo, int64_t hi, const char* range) {
  int64_t i = 0;
  if (v.is_number_unsigned()) {
    const uint64_t u = v.get<uint64_t>();
    if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) ||
        static_cast<int64_t>(u) > hi) {
      std::string m = path;
      m.append(" must be ").append(range).append(", got ").append(std::to_string(u));
      reject(path, std::move(m));
    }
    i = static_cast<int64_t>(u);
  } else if (v.is_number_integer()) {
    i = v.get<int64_t>();
  } else if (v.is_number_float()) {
    const double d = v.get<double>();
    if (!std::isfinite(d) || d != std::floor(d) || d < -9.0e18 || d > 9.0e18) {
      wrong_type(path, "an integer", v);
    }
    i = static_cast<int64_t>(d);
  } else {
    wrong_type(path, "an integer", v);
  }
  if (i < lo || i > hi) {
    std::string m = path;
    m.append(" must be ").append(range).append(", got ").append(std::to_string(i));
    reject(path, std::move(m));
  }
  return i;
}

float get_in_range(const json& v, const char* path, double lo, double hi, bool lo_open,
                   const char* range) {
  const double d = get_number(v, path);
  if (d > hi || d < lo || (lo_open && d == lo)) {
    std::string m = path;
    m.append(" must be in ").append(range).append(", got ").append(num(d));
    reject(path, std::move(m));
  }
  return static_cast<float>(d);
}

std::string get_model(const json& body) {
  const json* m = field(body, "model");
  if (!m) reject("model", "model is required: the name of a model (GET /v1/models lists them)");
  std::string name = get_string(*m, "model");
  if (name.empty()) reject("model", "model must not be empty");
  return name;
}

void parse_stop(const json& v, std::vector<std::string>& stop) {
  auto one = [&](const json& s, const std::string& path) {
    std::string text = get_string(s, path);
    if (text.empty()) reject(path, path + " must not be an empty string");
    stop.push_back(std::move(text));
  };
  if (v.is_string()) {
    one(v, "stop");
    return;
  }
  if (!v.is_array()) wrong_type("stop", "a string or an array of strings", v);
  if (v.size() > kMaxStopStrings) {
    std::string m = "stop may hold at most ";
    m.append(std::to_string(kMaxStopStrings)).append(" strings, got ");
    m.append(std::to_string(v.size()));
    reject("stop", std::move(m));
  }
  for (size_t i = 0; i < v.size(); ++i) one(v[i], index_path("stop", i));
}

void parse_logit_bias(const json& v, std::map<engine::TokenId, float>& out) {
  if (!v.is_object()) wrong_type("logit_bias", "an object of token ids to numbers", v);
  if (v.size() > kMaxLogitBiasEntries) {
    std::string m = "logit_bias may hold at most ";
    m.append(std::to_string(kMaxLogitBiasEntries)).append(" tokens");
    reject("logit_bias", std::move(m));
  }
  for (auto it = v.begin(); it != v.end(); ++it) {
    const std::string& key = it.key();
    std::string path = "logit_bias.";
    path.append(key);
    const bool digits = !key.empty() && key.size() <= 10 &&
                        key.find_first_not_of("0123456789") == std::string::npos;
    const long long id = digits ? std::stoll(key) : -1;
    if (!digits || id > std::numeric_limits<engine::TokenId>::max()) {
      std::string m = "logit_bias keys must be token ids (non-negative integers), got \"";
      m.append(key).append("\"");
      reject("logit_bias", std::move(m));
    }
    out[static_cast<engine::TokenId>(id)] =
        get_in_range(it.value(), path.c_str(), -100.0, 100.0, false, "[-100, 100]");
  }
}

// The fields chat and text completions share. max_tokens is the caller's (the names differ).
void parse_generation(const json& body, GenerationOptions& o) {
  engine::SamplingParams& s = o.sampling;
  if (const json* v = field(body, "temperature")) {
    s.temperature = get_in_range(*v, "temperature", 0.0, 2.0, false, "[0, 2]");
  }
  if (const json* v = field(body, "top_p")) {
    s.top_p = get_in_range(*v, "top_p", 0.0, 1.0, true, "(0, 1]");
  }
  if (const json* v = field(body, "top_k")) {
    const int64_t k =
        get_int(*v, "top_k", -1, std::numeric_limits<int32_t>::max(), ">= 0 (0 or -1 = off)");
    s.top_k = k < 0 ? 0 : static_cast<int32_t>(k);
  }
  if (const json* v = field(body, "min_p")) {
    s.min_p = get_in_range(*v, "min_p", 0.0, 1.0, false, "[0, 1]");
  }
  for (const char* name : {"repeat_penalty", "repetition_penalty"}) {
    if (const json* v = field(body, name)) {
      s.repetition_penalty = get_in_range(*v, name, 0.0, 100.0, true, "(0, 100]");
    }
  }
  if (const json* v = field(body, "presence_penalty")) {
    s.presence_penalty = get_in_range(*v, "presence_penalty", -2.0, 2.0, false, "[-2, 2]");
  }
  if (const json* v = field(body, "frequency_penalty")) {
    s.frequency_penalty = get_in_range(*v, "frequency_penalty", -2.0, 2.0, false, "[-2, 2]");
  }
  if (const json* v = field(body, "seed")) {
    if (v->is_number_unsigned()) {
      s.seed = v->get<uint64_t>();
    } else {
      s.seed = static_cast<uint64_t>(get_int(*v, "seed", std::numeric_limits<int64_t>::min(),
                                             std::numeric_limits<int64_t>::max(), "an integer"));
    }
    o.seed_given = true;
  }
  if (const json* v = field(body, "stop")) parse_stop(*v, s.stop);
  if (const json* v = field(body, "logit_bias")) parse_logit_bias(*v, s.logit_bias);
  if (const json* v = field(body, "n")) {
    const int64_t n = get_int(*v, "n", 1, std::numeric_limits<int64_t>::max(), ">= 1");
    if (n != 1) {
      std::string m = "n must be 1: one choice per request is supported, got ";
      m.append(std::to_string(n)).append("; send the request several times instead");
      reject("n", std::move(m));
    }
  }
  if (const json* v = field(body, "stream")) o.stream = get_bool(*v, "stream");
  if (const json* v = field(body, "stream_options")) {
    if (!v->is_object()) wrong_type("stream_options", "an object", *v);
    if (const json* u = field(*v, "include_usage")) {
      o.include_usage = get_bool(*u, "stream_options.include_usage");
    }
  }
  if (const json* v = field(body, "user")) o.user = get_string(*v, "user");
}

void parse_max_tokens(const json& body, const char* name, engine::SamplingParams& s) {
  if (const json* v = field(body, name)) {
    s.max_tokens =
        static_cast<int32_t>(get_int(*v, name, 1, std::numeric_limits<int32_t>::max(), ">= 1"));
  }
}

// The last check, for anything the field checks above let through.
void validate(const engine::SamplingParams& s) {
  const Status st = engine::validate_sampling_params(s);
  if (!st.ok()) reject("", st.error().message);
}

const char* const kRoles[] = {"system", "user", "assistant", "tool", "developer"};

json parse_message(const json& msg, size_t index) {
  const std::string path = index_path("messages", index);
  if (!msg.is_object()) wrong_type(path, "an object with role and content", msg);
  const json* role_v = field(msg, "role");
  const std::string role_path = member_path(path, "role");
  if (!role_v) reject(role_path, role_path + " is required");
  const std::string role = get_string(*role_v, role_path);
  bool known = false;
  for (const char* r : kRoles) known |= role == r;
  if (!known) {
    std::string m = role_path;
    m.append(" must be one of system, user, assistant, tool, developer; got \"");
    m.append(role).append("\"");
    reject(role_path, std::move(m));
  }
  json out = msg;
  const std::string content_path = member_path(path, "content");
  const json* content = field(msg, "content");
  if (!content) {
    if (role != "assistant") reject(content_path, content_path + " is required");
    out["content"] = nullptr;
  } else if (content->is_array()) {
    if (content->size() > kMaxContentParts) {
      std::string m = content_path;
      m.append(" may hold at most ").append(std::to_string(kMaxContentParts)).append(" parts");
      reject(content_path, std::move(m));
    }
    std::string text;
    for (size_t j = 0; j < content->size(); ++j) {
      const json& part = (*content)[j];
      const std::string part_path = index_path(content_path, j);
      if (!part.is_object()) wrong_type(part_path, "an object {type, text}", part);
      const json* type_v = field(part, "type");
      const std::string type_path = member_path(part_path, "type");
      if (!type_v) reject(type_path, type_path + " is required");
      const std::string type = get_string(*type_v, type_path);
      if (type != "text") {
        std::string m = type_path;
        m.append(": content parts of type \"").append(type);
        m.append("\" are not supported; only \"text\" parts are");
        reject(type_path, std::move(m));
      }
      const json* text_v = field(part, "text");
      const std::string text_path = member_path(part_path, "text");
      if (!text_v) reject(text_path, text_path + " is required");
      if (j > 0) text.push_back('\n');
      text.append(get_string(*text_v, text_path));
    }
    out["content"] = std::move(text);
  } else if (!content->is_string()) {
    wrong_type(content_path, "a string or an array of text parts", *content);
  }
  if (const json* v = field(msg, "name")) get_string(*v, member_path(path, "name"));
  if (const json* v = field(msg, "tool_call_id")) get_string(*v, member_path(path, "tool_call_id"));
  if (const json* v = field(msg, "tool_calls"); v && !v->is_array()) {
    wrong_type(member_path(path, "tool_calls"), "an array", *v);
  }
  return out;
}

template <class T, class F>
ApiResult<T> run(std::string_view body, F&& fill) {
  try {
    const json j = parse_body(body);
    T out;
    fill(j, out);
    return out;
  } catch (const Rejected& r) {
    return r.error;
  }
}

}  // namespace

ApiResult<ChatRequest> parse_chat_request(std::string_view body) {
  return run<ChatRequest>(body, [](const json& j, ChatRequest& r) {
    r.model = get_model(j);
    const json* messages = field(j, "messages");
    if (!messages) reject("messages", "messages is required: an array of {role, content}");
    if (!messages->is_array()) wrong_type("messages", "an array of {role, content}", *messages);
    if (messages->empty()) reject("messages", "messages must hold at least one message");
    if (messages->size() > kMaxChatMessages) {
      std::string m = "messages may hold at most ";
      m.append(std::to_string(kMaxChatMessages)).append(" messages, got ");
      m.append(std::to_string(messages->size()));
      reject("messages", std::move(m));
    }
    for (size_t i = 0; i < messages->size(); ++i) {
      r.messages.push_back(parse_message((*messages)[i], i));
    }
    if (const json* v = field(j, "tools")) {
      if (!v->is_array()) wrong_type("tools", "an array", *v);
      for (size_t i = 0; i < v->size(); ++i) {
        if (!(*v)[i].is_object()) wrong_type(index_path("tools", i), "an object", (*v)[i]);
      }
      r.tools = *v;
    }
    if (const json* v = field(j, "tool_choice")) {
      if (!v->is_string() && !v->is_object()) {
        wrong_type("tool_choice", "a string or an object", *v);
      }
      r.tool_choice = *v;
    }
    parse_generation(j, r.options);
    parse_max_tokens(j, "max_tokens", r.options.sampling);
    parse_max_tokens(j, "max_completion_tokens", r.options.sampling);  // the newer name wins
    if (const json* v = field(j, "logprobs")) r.logprobs = get_bool(*v, "logprobs");
    if (const json* v = field(j, "top_logprobs")) {
      r.options.sampling.n_probs =
          static_cast<int32_t>(get_int(*v, "top_logprobs", 0, kMaxTopLogprobs, "in [0, 20]"));
      if (!r.logprobs) reject("top_logprobs", "top_logprobs needs logprobs set to true");
    }
    validate(r.options.sampling);
  });
}

ApiResult<CompletionRequest> parse_completion_request(std::string_view body) {
  return run<CompletionRequest>(body, [](const json& j, CompletionRequest& r) {
    r.model = get_model(j);
    const json* prompt = field(j, "prompt");
    if (!prompt) reject("prompt", "prompt is required: a string");
    if (prompt->is_array()) {
      if (prompt->size() != 1) {
        reject("prompt",
               "prompt must be a string or an array of one string: one prompt per "
               "request is supported");
      }
      const json& first = (*prompt)[0];
      if (first.is_number_integer() || first.is_array()) {
        reject("prompt[0]", "token arrays as a prompt are not supported; send the text");
      }
      r.prompt = get_string(first, "prompt[0]");
    } else {
      r.prompt = get_string(*prompt, "prompt");
    }
    if (const json* v = field(j, "echo"); v && get_bool(*v, "echo")) {
      reject("echo", "echo is not supported; it must be false");
    }
    if (const json* v = field(j, "suffix"); v && !get_string(*v, "suffix").empty()) {
      reject("suffix", "suffix (insertion) is not supported");
    }
    if (const json* v = field(j, "best_of")) {
      if (get_int(*v, "best_of", 1, std::numeric_limits<int64_t>::max(), ">= 1") != 1) {
        reject("best_of", "best_of must be 1: one candidate per request is supported");
      }
    }
    parse_generation(j, r.options);
    parse_max_tokens(j, "max_tokens", r.options.sampling);
    if (const json* v = field(j, "logprobs")) {
      r.options.sampling.n_probs =
          static_cast<int32_t>(get_int(*v, "logprobs", 0, kMaxTopLogprobs, "in [0, 20]"));
      r.logprobs_given = true;
    }
    validate(r.options.sampling);
  });
}

ApiResult<EmbeddingsRequest> parse_embeddings_request(std::string_view body) {
  return run<EmbeddingsRequest>(body, [](const json& j, EmbeddingsRequest& r) {
    r.model = get_model(j);
    const json* input = field(j, "input");
    if (!input) reject("input", "input is required: a string or an array of strings");
    auto one = [&](const json& v, const std::string& path) {
      if (v.is_number_integer() || v.is_array()) {
        reject(path, path + ": token arrays are not supported as input; send the text");
      }
      std::string text = get_string(v, path);
      if (text.empty()) reject(path, path + " must not be an empty string");
      r.input.push_back(std::move(text));
    };
    if (input->is_array()) {
      if (input->empty()) reject("input", "input must hold at least one string");
      if (input->size() > kMaxEmbeddingInputs) {
        std::string m = "input may hold at most ";
        m.append(std::to_string(kMaxEmbeddingInputs)).append(" strings, got ");
        m.append(std::to_string(input->size()));
        reject("input", std::move(m));
      }
      // An array of integers is one input of token ids.
      if ((*input)[0].is_number_integer()) one((*input)[0], "input");
      for (size_t i = 0; i < input->size(); ++i) one((*input)[i], index_path("input", i));
    } else {
      if (!input->is_string()) wrong_type("input", "a string or an array of strings", *input);
      one(*input, "input");
    }
    if (const json* v = field(j, "encoding_format")) {
      const std::string f = get_string(*v, "encoding_format");
      if (f == "base64") {
        r.encoding = EmbeddingEncoding::base64;
      } else if (f != "float") {
        std::string m = "encoding_format must be \"float\" or \"base64\", got \"";
        m.append(f).append("\"");
        reject("encoding_format", std::move(m));
      }
    }
    if (const json* v = field(j, "dimensions")) {
      r.dimensions = static_cast<int32_t>(
          get_int(*v, "dimensions", 1, std::numeric_limits<int32_t>::max(), ">= 1"));
    }
    if (const json* v = field(j, "user")) r.user = get_string(*v, "user");
  });
}

ApiResult<RerankRequest> parse_rerank_request(std::string_view body) {
  return run<RerankRequest>(body, [](const json& j, RerankRequest& r) {
    r.model = get_model(j);
    const json* query = field(j, "query");
    if (!query) reject("query", "query is required: the text to rank the documents against");
    r.query = get_string(*query, "query");
    const json* docs = field(j, "documents");
    if (!docs) reject("documents", "documents is required: an array of strings");
    if (!docs->is_array()) wrong_type("documents", "an array of strings", *docs);
    if (docs->empty()) reject("documents", "documents must hold at least one document");
    if (docs->size() > kMaxRerankDocuments) {
      std::string m = "documents may hold at most ";
      m.append(std::to_string(kMaxRerankDocuments)).append(" documents, got ");
      m.append(std::to_string(docs->size()));
      reject("documents", std::move(m));
    }
    for (size_t i = 0; i < docs->size(); ++i) {
      const json& d = (*docs)[i];
      const std::string path = index_path("documents", i);
      if (d.is_object()) {
        const json* text = field(d, "text");
        const std::string text_path = member_path(path, "text");
        if (!text) reject(text_path, text_path + " is required");
        r.documents.push_back(get_string(*text, text_path));
      } else {
        if (!d.is_string()) wrong_type(path, "a string or an object {text}", d);
        r.documents.push_back(d.get<std::string>());
      }
    }
    if (const json* v = field(j, "top_n")) {
      r.top_n = static_cast<int32_t>(
          get_int(*v, "top_n", 1, std::numeric_limits<int32_t>::max(), ">= 1"));
    }
    if (const json* v = field(j, "return_documents")) {
      r.return_documents = get_bool(*v, "return_documents");
    }
  });
}

std::optional<ApiError> check_fits_context(int64_t prompt_tokens, int32_t max_tokens, int64_t n_ctx,
                                           const char* prompt_param) {
  if (prompt_tokens >= n_ctx) {
    std::string m = "the prompt is ";
    m.append(std::to_string(prompt_tokens)).append(" tokens; the model's context holds ");
    m.append(std::to_string(n_ctx)).append(", which leaves no room for the answer");
    return api_error(400, "invalid_request_error", std::move(m), prompt_param,
                     "context_length_exceeded");
  }
  if (max_tokens > 0 && prompt_tokens + max_tokens > n_ctx) {
    std::string m = "max_tokens is ";
    m.append(std::to_string(max_tokens)).append(" but the model's context of ");
    m.append(std::to_string(n_ctx)).append(" tokens leaves ");
    m.append(std::to_string(n_ctx - prompt_tokens)).append(" after the prompt's ");
    m.append(std::to_string(prompt_tokens)).append("; ask for at most that many");
    return api_error(400, "invalid_request_error", std::move(m), "max_tokens",
                     "context_length_exceeded");
  }
  return std::nullopt;
}

}  // namespace tessera::server
