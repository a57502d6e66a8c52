#include "serving/http_api.h"

#include <cctype>
#include <charconv>
#include <optional>
#include <string_view>
#include <vector>

#include "serving/http_compression.h"
#include "serving/model_config_json.h"
#include "serving/repository_json.h"

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

// Every field named `name` (case-insensitive), joined with ", " (RFC 9110 §5.3).
std::string joinedHeader(const net::HttpRequest& r, std::string_view name) {
  std::string out;
  for (const auto& [k, v] : r.headers) {
    if (k.size() != name.size()) continue;
    bool same = true;
    for (size_t i = 0; i < k.size() && same; ++i) {
      same = std::tolower(static_cast<unsigned char>(k[i])) ==
             std::tolower(static_cast<unsigned char>(name[i]));
    }
    if (!same) continue;
    if (!out.empty()) out += ", ";
    out += v;
  }
  return out;
}

// Inference-Header-Content-Length as the request sent it. `value` is nullopt when the header is
// absent or 0 (Triton: the whole body is JSON), else the JSON's length, checked against the
// (decoded) body by jsonLengthFor() once its size is known.
struct HeaderLength {
  std::optional<uint64_t> value;
  bool negative = false;  // "-N": out of range, whatever the body
  std::string text;       // as sent, for the error message
};

// Triton's checks (server src/http_server.cc, GetInferenceHeaderLength) and messages: not a
// number → "Unable to parse ..."; negative or beyond the body → "inference header size should be
// in range (0, N), got: X" (N: the decoded body's size). A value too large for 64 bits is beyond
// any body. Errors are 400.
StatusOr<HeaderLength> parseHeaderLength(const net::HttpRequest& req) {
  HeaderLength h;
  auto v = req.header("Inference-Header-Content-Length");
  if (!v) return h;
  std::string_view t = *v;
  h.text = std::string(t.substr(0, 64));  // echoed in messages: bounded
  std::string_view digits = t.starts_with('-') ? t.substr(1) : t;
  uint64_t n = 0;
  auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
  if (digits.empty() || p != digits.data() + digits.size() ||
      (ec != std::errc() && ec != std::errc::result_out_of_range)) {
    return invalidArgument("Unable to parse Inference-Header-Content-Length, got: " + h.text);
  }
  if (ec == std::errc::result_out_of_range) n = UINT64_MAX;  // beyond every body
  h.negative = t.starts_with('-') && n != 0;
  if (n > 0) h.value = n;
  return h;
}

// The JSON length InferenceService::infer takes: npos = the whole body is JSON (header absent or
// 0); otherwise in (0, body_size], so never npos.
StatusOr<size_t> jsonLengthFor(const HeaderLength& h, size_t body_size) {
  if (!h.value) return std::string_view::npos;
  if (h.negative || *h.value > body_size) {
    return invalidArgument("inference header size should be in range (0, " +
                           std::to_string(body_size) + "), got: " + h.text);
  }
  return static_cast<size_t>(*h.value);
}

// The HTTP answer to an inference: JSON, or JSON + binary tensors (Inference-Header-Content-Length
// keeps the uncompressed JSON length, as Triton's does). A success of kMinCompressBytes or more
// is compressed with `coding` when that makes it smaller; Vary tells caches the answer depends on
// Accept-Encoding.
HttpResponse inferResponse(InferReply r, ContentCoding coding) {
  HttpResponse resp;
  resp.status = r.status;
  resp.headers.emplace_back("Content-Type", r.json_length == 0 ? "application/json"
                                                                : "application/octet-stream");
  if (r.json_length > 0) {
    resp.headers.emplace_back("Inference-Header-Content-Length", std::to_string(r.json_length));
  }
  resp.headers.emplace_back("Vary", "Accept-Encoding");
  if (coding != ContentCoding::kIdentity && r.status == 200 && r.body.size() >= kMinCompressBytes) {
    auto packed = encodeBody(r.body, coding);
    if (packed.isOk() && packed->size() < r.body.size()) {
      resp.headers.emplace_back("Content-Encoding", std::string(contentCodingName(coding)));
      resp.body = std::move(*packed);
      return resp;
    }
  }
  resp.body = std::move(r.body);
  return resp;
}

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
      draining_(draining),
      codec_pool_(options_.codec) {}

void HttpApi::sendInferReply(const std::shared_ptr<net::Responder>& responder, InferReply reply,
                             ContentCoding coding, const Post& post) {
  // Compressing a large answer is left to the codec pool (the loop keeps serving); when the pool
  // is full the answer goes out uncompressed, which every client accepts.
  bool compress = coding != ContentCoding::kIdentity && reply.status == 200 &&
                  reply.body.size() >= kMinCompressBytes;
  if (compress && reply.body.size() >= kPoolCompressBytes) {
    auto shared = std::make_shared<InferReply>(std::move(reply));
    bool queued = codec_pool_.trySubmit(
        [responder, shared, coding, post] {
          auto resp = std::make_shared<HttpResponse>(inferResponse(std::move(*shared), coding));
          post([responder, resp] { responder->send(std::move(*resp)); });
        },
        shared->body.size());
    if (queued) return;
    reply = std::move(*shared);
    coding = ContentCoding::kIdentity;
  }
  responder->send(inferResponse(std::move(reply), coding));
}

HttpResponse HttpApi::metadata(const ServedModel& m) const {
  const runtime::ModelSpec& s = m.spec();
  std::string out = "{\"name\":";
  appendJsonString(out, s.name);
  out += ",\"versions\":[";
  bool first = true;
  for (const auto& v : models_.versionsOf(s.name)) {
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

HttpResponse HttpApi::statistics(
    const std::vector<std::shared_ptr<ServedModel>>& models) const {
  std::string out = "{\"model_stats\":[";
  bool first = true;
  for (const auto& m : models) {
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
    appendDurationStat(out, "compute_input", load(st.compute_count), load(st.compute_input_ns));
    out += ',';
    appendDurationStat(out, "compute_infer", load(st.compute_count), load(st.compute_ns));
    out += ',';
    appendDurationStat(out, "compute_output", load(st.compute_count),
                       load(st.compute_output_ns));
    // Triton always reports the cache counters (0 without a cache); perf_analyzer reads them.
    out += ',';
    appendDurationStat(out, "cache_hit", load(st.cache_hit_count), load(st.cache_hit_ns));
    out += ',';
    appendDurationStat(out, "cache_miss", load(st.cache_miss_count), load(st.cache_miss_ns));
    // Triton's InferBatchStatistics: one entry per executed batch size, ascending.
    out += "},\"batch_stats\":[";
    bool first_batch = true;
    for (const BatchSizeStats& b : st.batchStats()) {
      if (!first_batch) out += ',';
      first_batch = false;
      out += "{\"batch_size\":" + std::to_string(b.batch_size) + ',';
      appendDurationStat(out, "compute_input", b.count, b.compute_input_ns);
      out += ',';
      appendDurationStat(out, "compute_infer", b.count, b.compute_infer_ns);
      out += ',';
      appendDurationStat(out, "compute_output", b.count, b.compute_output_ns);
      out += '}';
    }
    // Triton's fields for decoupled responses and memory usage: surge has neither to report.
    out += "],\"memory_usage\":[],\"response_stats\":{}}";
  }
  out += "]}";
  return HttpResponse::json(200, std::move(out));
}

HttpResponse HttpApi::repositoryIndex(std::string_view body) const {
  auto ready_only = parseIndexRequest(body);
  if (!ready_only.isOk()) return error(400, ready_only.status().message());
  return HttpResponse::json(
      200, renderRepositoryIndex(control_ != nullptr ? control_->index(*ready_only)
                                                     : servedIndex(models_, *ready_only)));
}

void HttpApi::repositoryControl(const net::HttpRequest& req, std::string_view model,
                                std::string_view action,
                                const std::shared_ptr<net::Responder>& responder,
                                const Post& post) {
  // Load and unload take as long as a warm-up or a drain: they run on the control thread and the
  // answer comes back to this event loop through `post`.
  auto answer = [responder, post](Status s) {
    post([responder, s = std::move(s)] {
      if (s.isOk()) return responder->send(HttpResponse::json(200, "{}"));
      HttpResponse r = error(httpStatusFor(s), s.message());
      // ResourceExhausted: too many load / unload requests pending (503).
      if (s.code() == StatusCode::kResourceExhausted) r.headers.emplace_back("Retry-After", "1");
      responder->send(std::move(r));
    });
  };
  if (control_ == nullptr) {
    return responder->send(
        error(503, "explicit model load / unload is not allowed if polling is enabled"));
  }
  std::string name(model);
  if (action == "load") {
    auto config = parseLoadRequest(req.body);
    if (!config.isOk()) return responder->send(error(400, config.status().message()));
    control_->loadAsync(name, std::move(config).value(), std::move(answer));
    return;
  }
  auto dependents = parseUnloadRequest(req.body);  // accepted; surge has no ensembles
  if (!dependents.isOk()) return responder->send(error(400, dependents.status().message()));
  control_->unloadAsync(name, std::move(answer));
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
    out += ",\"extensions\":[";
    bool first_ext = true;
    for (const std::string& e : serverExtensions()) {
      if (!first_ext) out += ',';
      first_ext = false;
      appendJsonString(out, e);
    }
    out += "]}";
    return send(HttpResponse::json(200, std::move(out)));
  }
  if (path == "/v2/repository/index") {
    if (req.method != "POST") return send(methodNotAllowed("POST"));
    return send(repositoryIndex(req.body));
  }
  if (path.starts_with("/v2/repository/") && !path.starts_with("/v2/repository/models/")) {
    // /v2/repository/{r}/models/{m}/load|unload: Triton's answer for a named repository.
    std::vector<std::string_view> p = splitPath(path);
    if (p.size() == 7 && p[4] == "models" && (p[6] == "load" || p[6] == "unload")) {
      if (req.method != "POST") return send(methodNotAllowed("POST"));
      return send(error(400, "'repository_name' specification is not supported"));
    }
  }
  if (path.starts_with("/v2/repository/models/")) {
    // /v2/repository/models/{m}/load|unload
    std::vector<std::string_view> p = splitPath(path);
    if (p.size() != 6 || p[4].empty() || (p[5] != "load" && p[5] != "unload")) {
      return send(error(404, "no route for " + req.method + " " + path));
    }
    if (req.method != "POST") return send(methodNotAllowed("POST"));
    return repositoryControl(req, p[4], p[5], responder, post);
  }
  if (path == "/v2/models/stats") {
    if (!isGet(req)) return send(methodNotAllowed("GET"));
    return send(statistics(models_.all()));
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
      (action != "" && action != "ready" && action != "infer" && action != "stats" &&
       action != "config")) {
    return send(error(404, "no route for " + req.method + " " + path));
  }

  if (action == "infer") {
    if (req.method != "POST") return send(methodNotAllowed("POST"));
    auto header_length = parseHeaderLength(req);
    if (!header_length.isOk()) return send(error(400, header_length.status().message()));
    // Content-Encoding: the body is decoded (bounded by --max-request-size) before parsing;
    // binary tensor offsets (Inference-Header-Content-Length) count in the decoded body.
    auto coding = parseContentEncoding(joinedHeader(req, "Content-Encoding"));
    if (!coding.isOk()) {
      HttpResponse r = error(415, coding.status().message());
      r.headers.emplace_back("Accept-Encoding", "gzip, deflate");
      return send(std::move(r));
    }
    ContentCoding answer = ContentCoding::kIdentity;
    std::string accept = joinedHeader(req, "Accept-Encoding");
    if (!accept.empty()) answer = negotiateAcceptEncoding(accept);
    if (*coding == ContentCoding::kIdentity) {
      auto json_length = jsonLengthFor(*header_length, req.body.size());
      if (!json_length.isOk()) return send(error(400, json_length.status().message()));
      // (The body is parsed before infer() returns.)
      service_.infer(
          model, version, req.body, post,
          [this, responder, answer, post](InferReply r) {
            sendInferReply(responder, std::move(r), answer, post);
          },
          *json_length);
      return;
    }
    // A compressed body is inflated and parsed on the codec pool, never on this event loop: a
    // 70 KB gzip may inflate to --max-request-size, and the loop serves every other connection
    // (health probes, /metrics) meanwhile. Answers go back through `post`.
    auto job = [this, responder, post, answer, header_length = std::move(*header_length),
                coding = *coding, model = std::string(model), version = std::string(version),
                body = req.body]() {
      Status st = guarded([&] {
        auto d = decodeBody(body, coding, options_.max_request_bytes);
        if (!d.isOk()) {
          StatusCode c = d.status().code();
          int code = c == StatusCode::kResourceExhausted ? 413
                     : c == StatusCode::kUnavailable     ? 503
                                                         : 400;
          post([responder, code, msg = d.status().message()] {
            responder->send(error(code, msg));
          });
          return Status::ok();
        }
        std::string decoded = std::move(*d);
        auto json_length = jsonLengthFor(header_length, decoded.size());
        if (!json_length.isOk()) {
          post([responder, msg = json_length.status().message()] {
            responder->send(error(400, msg));
          });
          return Status::ok();
        }
        service_.infer(
            model, version, decoded, post,
            [this, responder, answer, post](InferReply r) {
              // Errors known at once arrive on this pool thread: the loop sends every answer.
              post([this, responder, answer, post, r = std::move(r)]() mutable {
                sendInferReply(responder, std::move(r), answer, post);
              });
            },
            *json_length);
        return Status::ok();
      });
      if (!st.isOk()) {
        post([responder, st] { responder->send(error(httpStatusFor(st), st.message())); });
      }
    };
    if (!codec_pool_.trySubmit(std::move(job), req.body.size())) {
      HttpResponse r = error(503,
                             "too many compressed request bodies are being decoded at once; "
                             "retry, or send this one uncompressed");
      r.headers.emplace_back("Retry-After", "1");
      return send(std::move(r));
    }
    return;
  }
  if (!isGet(req)) return send(methodNotAllowed("GET"));
  auto found = models_.find(model, version);
  if (!found.isOk()) return send(error(404, found.status().message()));
  std::shared_ptr<ServedModel> m = *found;
  if (action.empty()) return send(metadata(*m));
  if (action == "config") return send(HttpResponse::json(200, modelConfigJson((*m).config())));
  if (action == "stats") {
    std::vector<std::shared_ptr<ServedModel>> list;
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
