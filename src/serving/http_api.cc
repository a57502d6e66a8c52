#include "serving/http_api.h"

#include <charconv>
#include <string_view>
#include <vector>

namespace surge::serving {
namespace {

using net::HttpResponse;

std::vector<std::string_view> splitPath(std::string_view path) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) slash = path.size();
    parts.push_back(path.substr(start, slash - start));
    start = slash + 1;
  }
  return parts;
}

HttpResponse error(int status, std::string_view message) {
  return HttpResponse::json(status, jsonErrorBody(message));
}

HttpResponse methodNotAllowed(std::string_view allow) {
  HttpResponse r = error(405, "method not allowed (use " + std::string(allow) + ")");
  r.headers.emplace_back("Allow", std::string(allow));
  return r;
}

bool isGet(const net::HttpRequest& r) { return r.method == "GET" || r.method == "HEAD"; }

void appendTensorMeta(std::string& out, const runtime::TensorSpec& t, bool batched) {
  out += "{\"name\":";
  appendJsonString(out, t.name);
  out += ",\"datatype\":\"";
  out += runtime::dataTypeName(t.dtype);
  out += "\",\"shape\":[";
  bool first = true;
  if (batched) {
    out += "-1";
    first = false;
  }
  for (int64_t d : t.dims) {
    if (!first) out += ',';
    first = false;
    out += std::to_string(d);
  }
  out += "]}";
}

void appendDurationStat(std::string& out, const char* name, uint64_t count, uint64_t ns) {
  out += '"';
  out += name;
  out += "\":{\"count\":" + std::to_string(count) + ",\"ns\":" + std::to_string(ns) + "}";
}

}  // namespace

net::HttpResponse metricsResponse(const metrics::Registry& registry) {
  return HttpResponse::text(200, registry.render(), metrics::Registry::kContentType);
}

HttpApi::HttpApi(HttpApiOptions options, ModelManager& models, InferenceService& service,
                 metrics::Registry& registry, const std::atomic<bool>& draining)
    : options_(std::move(options)),
      models_(models),
      service_(service),
      registry_(registry),
      draining_(draining) {}

HttpResponse HttpApi::metadata(const ServedModel& m) const {
  const runtime::ModelSpec& s = m.spec();
  std::string out = "{\"name\":";
  appendJsonString(out, s.name);
  out += ",\"versions\":[";
  bool first = true;
  for (ServedModel* v : models_.versionsOf(s.name)) {
    if (!first) out += ',';
    first = false;
    appendJsonString(out, v->versionString());
  }
  out += "],\"platform\":";
  appendJsonString(out, s.platform.empty() ? s.backend : s.platform);
  bool batched = s.max_batch_size > 0;
  out += ",\"inputs\":[";
  for (size_t i = 0; i < s.inputs.size(); ++i) {
    if (i > 0) out += ',';
    appendTensorMeta(out, s.inputs[i], batched);
  }
  out += "],\"outputs\":[";
  for (size_t i = 0; i < s.outputs.size(); ++i) {
    if (i > 0) out += ',';
    appendTensorMeta(out, s.outputs[i], batched);
  }
  out += "]}";
  return HttpResponse::json(200, std::move(out));
}

HttpResponse HttpApi::statistics(const std::vector<ServedModel*>& models) const {
  std::string out = "{\"model_stats\":[";
  bool first = true;
  for (const ServedModel* m : models) {
    const ModelStats& st = m->stats();
    auto load = [](const std::atomic<uint64_t>& a) { return a.load(std::memory_order_relaxed); };
    if (!first) out += ',';
    first = false;
    out += "{\"name\":";
    appendJsonString(out, m->spec().name);
    out += ",\"version\":";
    appendJsonString(out, m->versionString());
    out += ",\"last_inference\":" + std::to_string(load(st.last_inference_ms));
    out += ",\"inference_count\":" + std::to_string(load(st.inference_count));
    out += ",\"execution_count\":" + std::to_string(load(st.execution_count));
    out += ",\"inference_stats\":{";
    appendDurationStat(out, "success", load(st.success_count), load(st.success_ns));
    out += ',';
    appendDurationStat(out, "fail", load(st.fail_count), load(st.fail_ns));
    out += ',';
    appendDurationStat(out, "queue", load(st.queue_count), load(st.queue_ns));
    out += ',';
    appendDurationStat(out, "compute_input", load(st.compute_count), 0);
    out += ',';
    appendDurationStat(out, "compute_infer", load(st.compute_count), load(st.compute_ns));
    out += ',';
    appendDurationStat(out, "compute_output", load(st.compute_count), 0);
    out += "},\"batch_stats\":[]}";
  }
  out += "]}";
  return HttpResponse::json(200, std::move(out));
}

HttpResponse HttpApi::repositoryIndex() const {
  std::string out = "[";
  bool first = true;
  for (const auto& m : models_.all()) {
    if (!first) out += ',';
    first = false;
    out += "{\"name\":";
    appendJsonString(out, m->spec().name);
    out += ",\"version\":";
    appendJsonString(out, m->versionString());
    Status load = m->batcher().loadStatus();
    out += ",\"state\":\"";
    out += !load.isOk() ? "UNAVAILABLE" : m->ready() ? "READY" : "LOADING";
    out += '"';
    if (!load.isOk()) {
      out += ",\"reason\":";
      appendJsonString(out, load.message());
    }
    out += '}';
  }
  out += ']';
  return HttpResponse::json(200, std::move(out));
}

void HttpApi::handle(const net::HttpRequest& req, std::shared_ptr<net::Responder> responder,
                     const Post& post) {
  // The last resort at the request boundary: an exception (an allocation failure, most likely)
  // fails this request with a JSON error; it never unwinds into the event loop and the process.
  // (A responder that already answered ignores the second send.)
  Status st = guarded([&] {
    route(req, responder, post);
    return Status::ok();
  });
  if (!st.isOk()) responder->send(error(httpStatusFor(st), st.message()));
}

void HttpApi::route(const net::HttpRequest& req, const std::shared_ptr<net::Responder>& responder,
                    const Post& post) {
  const std::string& path = req.path;
  auto send = [&responder](HttpResponse r) { responder->send(std::move(r)); };

  if (path == "/metrics" && options_.metrics) {
    send(isGet(req) ? metricsResponse(registry_) : methodNotAllowed("GET"));
    return;
  }
  if (path == "/v2/health/live") {
    send(isGet(req) ? HttpResponse::json(200, "{\"live\":true}") : methodNotAllowed("GET"));
    return;
  }
  if (path == "/v2/health/ready") {
    if (!isGet(req)) return send(methodNotAllowed("GET"));
    if (draining_.load(std::memory_order_relaxed)) {
      return send(
          HttpResponse::json(503, "{\"ready\":false,\"error\":\"server is shutting down\"}"));
    }
    Status load = models_.loadStatus();
    if (!load.isOk() || !models_.ready()) {
      std::string why = !load.isOk() ? "model failed to load: " + load.message()
                                     : std::string("models are loading or warming up");
      std::string body = "{\"ready\":false,\"error\":";
      appendJsonString(body, why);
      body += '}';
      return send(HttpResponse::json(503, std::move(body)));
    }
    return send(HttpResponse::json(200, "{\"ready\":true}"));
  }
  if (path == "/v2" || path == "/v2/") {
    if (!isGet(req)) return send(methodNotAllowed("GET"));
    std::string out = "{\"name\":";
    appendJsonString(out, options_.server_name);
    out += ",\"version\":";
    appendJsonString(out, options_.server_version);
    out += ",\"extensions\":[\"binary_tensor_data\",\"model_repository\",\"statistics\"]}";
    return send(HttpResponse::json(200, std::move(out)));
  }
  if (path == "/v2/repository/index") {
    if (req.method != "POST") return send(methodNotAllowed("POST"));
    return send(repositoryIndex());
  }
  if (path == "/v2/models/stats") {
    if (!isGet(req)) return send(methodNotAllowed("GET"));
    std::vector<ServedModel*> all;
    for (const auto& m : models_.all()) all.push_back(m.get());
    return send(statistics(all));
  }

  // /v2/models/{m}[/versions/{v}][/ready|/infer|/stats]
  std::vector<std::string_view> parts = splitPath(path);
  if (parts.size() < 4 || !parts[0].empty() || parts[1] != "v2" || parts[2] != "models" ||
      parts[3].empty()) {
    return send(error(404, "no route for " + req.method + " " + path));
  }
  std::string_view model = parts[3];
  std::string_view version;
  size_t i = 4;
  if (i < parts.size() && parts[i] == "versions") {
    if (i + 1 >= parts.size() || parts[i + 1].empty()) {
      return send(error(404, "no route for " + req.method + " " + path));
    }
    version = parts[i + 1];
    i += 2;
  }
  std::string_view action = i < parts.size() ? parts[i] : std::string_view();
  if (i + 1 < parts.size() ||
      (action != "" && action != "ready" && action != "infer" && action != "stats")) {
    return send(error(404, "no route for " + req.method + " " + path));
  }

  if (action == "infer") {
    if (req.method != "POST") return send(methodNotAllowed("POST"));
    size_t json_length = std::string_view::npos;
    if (auto h = req.header("Inference-Header-Content-Length")) {
      size_t n = 0;
      auto [p, ec] = std::from_chars(h->data(), h->data() + h->size(), n);
      if (h->empty() || ec != std::errc() || p != h->data() + h->size()) {
        return send(error(400, "Inference-Header-Content-Length must be a byte count"));
      }
      json_length = n;
    }
    service_.infer(
        model, version, req.body, post,
        [responder](InferReply r) {
          if (r.json_length == 0) {
            responder->send(HttpResponse::json(r.status, std::move(r.body)));
            return;
          }
          HttpResponse resp;
          resp.status = r.status;
          resp.headers.emplace_back("Content-Type", "application/octet-stream");
          resp.headers.emplace_back("Inference-Header-Content-Length",
                                    std::to_string(r.json_length));
          resp.body = std::move(r.body);
          responder->send(std::move(resp));
        },
        json_length);
    return;
  }
  if (!isGet(req)) return send(methodNotAllowed("GET"));
  auto found = models_.find(model, version);
  if (!found.isOk()) return send(error(404, found.status().message()));
  ServedModel* m = *found;
  if (action.empty()) return send(metadata(*m));
  if (action == "stats") {
    std::vector<ServedModel*> list;
    if (version.empty()) {
      list = models_.versionsOf(model);
    } else {
      list.push_back(m);
    }
    return send(statistics(list));
  }
  // ready
  bool ready = m->ready() && !draining_.load(std::memory_order_relaxed);
  std::string body = "{\"name\":";
  appendJsonString(body, m->spec().name);
  body += ",\"version\":";
  appendJsonString(body, m->versionString());
  body += ready ? ",\"ready\":true}" : ",\"ready\":false,\"error\":\"model is not ready\"}";
  send(HttpResponse::json(ready ? 200 : 503, std::move(body)));
}

}  // namespace surge::serving
