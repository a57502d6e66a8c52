#include "serving/repository_json.h"

#include <simdjson.h>

#include "serving/infer_json.h"

namespace surge::serving {

namespace {

// Parses `body` as one JSON object ("" = {}); *empty set when there was no body.
Status parseObject(std::string_view body, simdjson::dom::parser& parser, simdjson::dom::object* out,
                   bool* empty) {
  size_t i = 0;
  while (i < body.size() &&
         (body[i] == ' ' || body[i] == '\t' || body[i] == '\r' || body[i] == '\n')) {
    ++i;
  }
  *empty = i == body.size();
  if (*empty) return Status::ok();
  simdjson::dom::element doc;
  if (auto err = parser.parse(body.data(), body.size()).get(doc); err) {
    return invalidArgument(std::string("request body is not valid JSON: ") +
                           simdjson::error_message(err));
  }
  if (doc.get_object().get(*out)) return invalidArgument("request body must be a JSON object");
  return Status::ok();
}

}  // namespace

StatusOr<bool> parseIndexRequest(std::string_view body) {
  simdjson::dom::parser parser;
  simdjson::dom::object o;
  bool empty = false;
  RETURN_IF_ERROR(parseObject(body, parser, &o, &empty));
  if (empty) return false;
  simdjson::dom::element ready;
  if (o.at_key("ready").get(ready)) return false;
  bool value = false;
  if (ready.get_bool().get(value)) return invalidArgument("'ready' must be a boolean");
  return value;
}

StatusOr<std::optional<std::string>> parseLoadRequest(std::string_view body) {
  simdjson::dom::parser parser;
  simdjson::dom::object o;
  bool empty = false;
  RETURN_IF_ERROR(parseObject(body, parser, &o, &empty));
  std::optional<std::string> config;
  if (empty) return config;
  simdjson::dom::element params;
  if (o.at_key("parameters").get(params)) return config;
  simdjson::dom::object p;
  if (params.get_object().get(p)) return invalidArgument("'parameters' must be a JSON object");
  for (auto [key, value] : p) {
    if (key == "config") {
      std::string_view text;
      if (value.get_string().get(text)) {
        return invalidArgument(
            "load parameter 'config' must be a string holding the JSON model "
            "configuration");
      }
      config = std::string(text);
    } else if (key.substr(0, 5) == "file:") {
      return invalidArgument("load parameter '" + std::string(key) +
                             "': model file overrides are not supported by surge");
    } else {
      return invalidArgument("Unrecognized load parameter '" + std::string(key) + "'");
    }
  }
  return config;
}

StatusOr<bool> parseUnloadRequest(std::string_view body) {
  simdjson::dom::parser parser;
  simdjson::dom::object o;
  bool empty = false;
  RETURN_IF_ERROR(parseObject(body, parser, &o, &empty));
  if (empty) return false;
  simdjson::dom::element params;
  if (o.at_key("parameters").get(params)) return false;
  simdjson::dom::object p;
  if (params.get_object().get(p)) return invalidArgument("'parameters' must be a JSON object");
  simdjson::dom::element ud;
  if (p.at_key("unload_dependents").get(ud)) return false;
  bool value = false;
  if (ud.get_bool().get(value)) {
    return invalidArgument("Unable to parse 'unload_dependents': must be a boolean");
  }
  return value;
}

std::string renderRepositoryIndex(const std::vector<ModelIndexEntry>& entries) {
  std::string out = "[";
  bool first = true;
  for (const auto& e : entries) {
    if (!first) out += ',';
    first = false;
    out += "{\"name\":";
    appendJsonString(out, e.name);
    if (!e.version.empty()) {
      out += ",\"version\":";
      appendJsonString(out, e.version);
    }
    if (!e.state.empty()) {
      out += ",\"state\":";
      appendJsonString(out, e.state);
    }
    if (!e.reason.empty()) {
      out += ",\"reason\":";
      appendJsonString(out, e.reason);
    }
    out += '}';
  }
  out += ']';
  return out;
}

}  // namespace surge::serving
