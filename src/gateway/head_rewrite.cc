#include "gateway/head_rewrite.h"

#include <charconv>

#include "net/http_message.h"
#include "net/http_util.h"

namespace surge::gateway {

using net::BodyFraming;
using net::HeaderId;
using net::HeadParser;

namespace {

inline void appendInt(std::string& s, uint64_t v) {
  char b[24];
  auto [p, ec] = std::to_chars(b, b + sizeof b, v);
  s.append(b, p);
}

// The body passes through with its transfer codings, so the header does too ("gzip, chunked"
// stays; several TE fields are joined).
void appendTransferEncoding(std::string& o, const HeadParser& p) {
  o.append("Transfer-Encoding: ");
  bool first = true;
  for (size_t i = 0; i < p.headerCount(); ++i) {
    const net::HeaderField& f = p.header(i);
    if (f.id != HeaderId::kTransferEncoding) continue;
    if (!first) o.append(", ");
    o.append(f.value);
    first = false;
  }
  o.append("\r\n");
}

void appendConnection(std::string& o, int client_minor, bool keep_alive) {
  if (!keep_alive) {
    o.append("Connection: close\r\n");
  } else if (client_minor == 0) {
    o.append("Connection: keep-alive\r\n");
  }
}

}  // namespace

void formatRequestId(uint64_t a, uint64_t b, char out[32]) {
  static const char kHex[] = "0123456789abcdef";
  for (int i = 0; i < 16; ++i) {
    out[i] = kHex[(a >> (i * 4)) & 0xf];
    out[16 + i] = kHex[(b >> (i * 4)) & 0xf];
  }
}

void writeUpstreamHead(const HeadParser& p, std::string_view client_ip, Random& random,
                       std::string& o) {
  o.clear();
  o.append(p.method());
  o.push_back(' ');
  // absolute-form goes on in origin-form, its authority as Host (RFC 9112 §3.2.2;
  // docs/design/http-edge-rules.md).
  const bool absolute = p.targetForm() == net::TargetForm::kAbsolute;
  if (absolute) {
    std::string_view pq = p.pathAndQuery();
    if (pq.empty() || pq.front() == '?') o.push_back('/');
    o.append(pq);
  } else {
    o.append(p.target());
  }
  o.append(" HTTP/1.1\r\n");
  bool have_xff = false, have_id = false;
  if (absolute) {
    o.append("Host: ");
    o.append(p.host());
    o.append("\r\n");
  }
  for (size_t i = 0; i < p.headerCount(); ++i) {
    const net::HeaderField& f = p.header(i);
    if (f.hop_by_hop) continue;
    switch (f.id) {
      case HeaderId::kContentLength:
      case HeaderId::kExpect:  // answered by the proxy (100 Continue), not forwarded
        continue;
      case HeaderId::kHost:
        if (absolute) continue;  // written above from the target
        break;
      case HeaderId::kXForwardedFor:
        if (have_xff) continue;
        have_xff = true;
        o.append("X-Forwarded-For: ");
        o.append(f.value);
        o.append(", ");
        o.append(client_ip);
        o.append("\r\n");
        continue;
      case HeaderId::kXRequestId:
        have_id = true;
        break;
      default:
        break;
    }
    o.append(f.name);
    o.append(": ");
    o.append(f.value);
    o.append("\r\n");
  }
  if (!have_xff) {
    o.append("X-Forwarded-For: ");
    o.append(client_ip);
    o.append("\r\n");
  }
  if (!have_id) {
    uint64_t a = random.next(), b = random.next();
    char id[32];
    formatRequestId(a, b, id);
    o.append("X-Request-Id: ");
    o.append(id, 32);
    o.append("\r\n");
  }
  switch (p.framing()) {
    case BodyFraming::kContentLength:
      o.append("Content-Length: ");
      appendInt(o, p.contentLength());
      o.append("\r\n");
      break;
    case BodyFraming::kChunked:  // the only coding a request may have; re-framed (reframe())
      o.append("Transfer-Encoding: chunked\r\n");
      break;
    default:
      break;
  }
  o.append("\r\n");
}

ClientResponseHead writeClientResponseHead(const HeadParser& p, int client_minor, bool keep_alive,
                                           std::string& o) {
  ClientResponseHead r;
  r.keep_alive = keep_alive;
  const int status = p.status();
  o.clear();
  o.append("HTTP/1.1 ");
  appendInt(o, static_cast<uint64_t>(status));
  o.push_back(' ');
  if (p.reason().empty()) {
    o.append(net::reasonPhrase(status));
  } else {
    o.append(p.reason());
  }
  o.append("\r\n");
  for (size_t i = 0; i < p.headerCount(); ++i) {
    const net::HeaderField& f = p.header(i);
    if (f.hop_by_hop) continue;
    if (f.id == HeaderId::kContentLength && p.framing() == BodyFraming::kChunked) continue;
    o.append(f.name);
    o.append(": ");
    o.append(f.value);
    o.append("\r\n");
  }
  if (p.framing() == BodyFraming::kChunked) {
    if (client_minor >= 1) {
      appendTransferEncoding(o, p);
    } else {
      r.dechunk = true;
      r.keep_alive = false;
    }
  } else if (p.framing() == BodyFraming::kUntilClose) {
    r.keep_alive = false;
  }
  appendConnection(o, client_minor, r.keep_alive);
  o.append("\r\n");
  return r;
}

void writeLocalResponse(int status, std::string_view message, int client_minor, bool keep_alive,
                        bool head_request, std::string& o) {
  o.clear();
  o.append("HTTP/1.1 ");
  appendInt(o, static_cast<uint64_t>(status));
  o.push_back(' ');
  o.append(net::reasonPhrase(status));
  o.append("\r\nContent-Type: application/json\r\nContent-Length: ");
  std::string body = "{\"error\": \"" + net::jsonEscape(message) + "\"}";
  appendInt(o, body.size());
  o.append("\r\n");
  // 503 = no eligible backend (none yet, e.g. while `surge up` starts its replicas, or all
  // unhealthy): a client may retry shortly.
  if (status == 503) o.append("Retry-After: 1\r\n");
  appendConnection(o, client_minor, keep_alive);
  o.append("\r\n");
  if (!head_request) o.append(body);
}

}  // namespace surge::gateway
