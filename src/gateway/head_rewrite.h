// HeadRewrite: the heads the gateway writes, built from parsed ones — the request head toward the
// upstream, the response head toward the client, and the gateway's own JSON answers. The proxy
// (proxy.cc) parses, calls these with its reused buffers and sends the bytes.
// Request head rules (docs/design/gateway.md, "A request" and "Policies"; docs/design/
// http-edge-rules.md RL7, RL8, H4, H5, H6, E3, T0; tested in head_rewrite_test.cc):
//   - request line: the method as received, the target as received (origin-form, asterisk-form)
//     or, for absolute-form, its path and query in origin-form ("/" when the path is empty), and
//     always "HTTP/1.1";
//   - absolute-form: "Host: <authority of the target>" first; the client's Host field is dropped;
//   - dropped: hop-by-hop fields (Connection, Keep-Alive, Proxy-Connection, TE, Trailer,
//     Transfer-Encoding, Upgrade and every field named in Connection — never Host, as the parser
//     marks them), Expect (the proxy answers 100 Continue itself) and Content-Length (rewritten);
//   - every other field goes on verbatim, in order, name as received;
//   - X-Forwarded-For: the first one gets ", <client ip>" appended in place; later ones are
//     dropped; without one, "X-Forwarded-For: <client ip>" follows the client's fields;
//   - X-Request-Id: passed through (every one the client sent); without one, one is generated
//     after X-Forwarded-For: 32 hex digits from two values of `random` (drawn only then, so the
//     balancer's random sequence is untouched when the client sends an id);
//   - framing last: "Content-Length: N" as parsed, or "Transfer-Encoding: chunked" (the body is
//     re-framed by BodyDecoder::reframe), or nothing for a request without a body.
// Response head rules:
//   - status line "HTTP/1.1 <status> <reason>" (the standard phrase when the upstream sent none);
//   - hop-by-hop fields dropped; Content-Length dropped when the body is chunked;
//   - chunked: "Transfer-Encoding: <codings as received, fields joined by ", ">" for HTTP/1.1
//     clients; HTTP/1.0 clients get the payload de-chunked and the connection closes;
//   - a read-until-close body closes the client connection;
//   - "Connection: close" when the client connection ends after this response,
//     "Connection: keep-alive" when an HTTP/1.0 client's stays open, nothing otherwise.
// No allocation once `out` has grown to the head's size (the proxy reuses one string per session)
// except writeLocalResponse (error answers only). Complexity: O(head bytes).
// Thread-safety: pure functions (`random` is the caller's).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/random.h"
#include "net/http_parser.h"

namespace surge::gateway {

// 32 lowercase hex digits: the nibbles of a, low first, then those of b.
void formatRequestId(uint64_t a, uint64_t b, char out[32]);

// Replaces `out` with the upstream request head for the complete request head `request`, received
// from `client_ip`. Draws two values from `random` when the client sent no X-Request-Id.
void writeUpstreamHead(const net::HeadParser& request, std::string_view client_ip, Random& random,
                       std::string& out);

struct ClientResponseHead {
  bool keep_alive = true;  // the client connection stays open after this response
  bool dechunk = false;    // forward the chunked body's payload only (HTTP/1.0 client)
};

// Replaces `out` with the response head for the client. `keep_alive`: the client connection may
// stay open as far as the request is concerned (its Connection header, no shutdown, its body read
// in full); the response's framing may still close it.
ClientResponseHead writeClientResponseHead(const net::HeadParser& response, int client_minor,
                                           bool keep_alive, std::string& out);

// Replaces `out` with the gateway's own answer: `status`, a JSON body {"error": "<message>"}
// (omitted for HEAD, Content-Length kept), and the Connection field as for responses.
void writeLocalResponse(int status, std::string_view message, int client_minor, bool keep_alive,
                        bool head_request, std::string& out);

}  // namespace surge::gateway
