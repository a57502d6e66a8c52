#include "gateway/h2_rewrite.h"

#include <charconv>

#include "common/hash.h"
#include "common/json_escape.h"
#include "gateway/hash_key.h"
#include "gateway/head_rewrite.h"

namespace surge::gateway {

void rewriteH2Request(const std::vector<h2::Header>& in, std::string_view client_ip,
                      std::string_view client_scheme, Random& random,
                      std::vector<h2::Header>* out) {
  out->clear();
  out->reserve(in.size() + 3);
  static constexpr std::string_view kPseudo[] = {":method", ":scheme", ":authority", ":path"};
  for (std::string_view p : kPseudo) {
    const std::string* v = h2::findHeader(in, p);
    // RFC 9113 §8.3.1: a request may carry Host instead of :authority; the upstream gets it as
    // :authority.
    if (v == nullptr && p == ":authority") v = h2::findHeader(in, "host");
    if (v == nullptr) continue;
    out->push_back({std::string(p), p == ":scheme" ? std::string("http") : *v});
  }
  bool xff_seen = false, proto_seen = false, rid_seen = false;
  for (const auto& h : in) {
    if (!h.name.empty() && h.name[0] == ':') continue;
    if (h.name == "te") {
      if (h.value == "trailers") out->push_back(h);
      continue;
    }
    if (h.name == "connection" || h.name == "keep-alive" || h.name == "proxy-connection" ||
        h.name == "transfer-encoding" || h.name == "upgrade" || h.name == "host") {
      continue;  // connection-specific (host duplicates :authority in HTTP/2)
    }
    if (h.name == "x-forwarded-for") {
      if (xff_seen) continue;
      xff_seen = true;
      std::string v = h.value;
      v.append(", ").append(client_ip);
      out->push_back({h.name, std::move(v)});
      continue;
    }
    if (h.name == "x-forwarded-proto") proto_seen = true;
    if (h.name == "x-request-id") rid_seen = true;
    out->push_back(h);
  }
  if (!xff_seen) out->push_back({"x-forwarded-for", std::string(client_ip)});
  if (!proto_seen) out->push_back({"x-forwarded-proto", std::string(client_scheme)});
  if (!rid_seen) {
    char id[32];
    uint64_t a = random.next(), b = random.next();
    formatRequestId(a, b, id);
    out->push_back({"x-request-id", std::string(id, sizeof id)});
  }
}

std::optional<uint64_t> h2HashKey(const HashKeySource& source,
                                  const std::vector<h2::Header>& headers) {
  std::optional<std::string_view> v;
  switch (source.kind) {
    case HashKeySource::Kind::kHeader: {
      std::string lower;
      lower.reserve(source.name.size());
      for (char c : source.name) lower.push_back(c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c);
      if (const std::string* f = h2::findHeader(headers, lower)) v = *f;
      break;
    }
    case HashKeySource::Kind::kQuery:
      if (const std::string* p = h2::findHeader(headers, ":path")) v = rawQueryParam(*p, source.name);
      break;
    case HashKeySource::Kind::kCookie:
      for (const auto& h : headers) {
        if (h.name == "cookie") v = cookieValue(h.value, source.name);
        if (v) break;
      }
      break;
  }
  if (!v || v->empty()) return std::nullopt;
  return hash64(*v);
}

h2::GrpcCode grpcCodeForGatewayStatus(int s) {
  using C = h2::GrpcCode;
  switch (s) {
    case 504:
      return C::kDeadlineExceeded;
    case 502:
    case 503:
    case 429:
      return C::kUnavailable;
    case 413:
      return C::kResourceExhausted;
    case 400:
      return C::kInvalidArgument;
    case 401:
      return C::kUnauthenticated;
    case 403:
      return C::kPermissionDenied;
    case 404:
      return C::kUnimplemented;
    default:
      return C::kUnknown;
  }
}

H2LocalAnswer h2LocalAnswer(bool grpc, int http_status, std::string_view message) {
  H2LocalAnswer a;
  if (grpc) {
    a.headers = h2::grpcTrailersOnly(grpcCodeForGatewayStatus(http_status), message);
    return a;
  }
  a.body = "{\"error\": \"" + jsonEscape(message) + "\"}";
  a.headers = {{":status", std::to_string(http_status)},
               {"content-type", "application/json"},
               {"content-length", std::to_string(a.body.size())},
               {"x-content-type-options", "nosniff"}};
  return a;
}

}  // namespace surge::gateway
