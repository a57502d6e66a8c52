#include "net/http_parser.h"

#include <cstring>

namespace surge::net {
namespace {

// RFC 9110 §5.6.2 tchar.
constexpr std::array<bool, 256> makeTokenTable() {
  std::array<bool, 256> t{};
  for (int c = '0'; c <= '9'; ++c) t[c] = true;
  for (int c = 'a'; c <= 'z'; ++c) t[c] = true;
  for (int c = 'A'; c <= 'Z'; ++c) t[c] = true;
  for (char c : std::string_view("!#$%&'*+-.^_`|~")) t[static_cast<unsigned char>(c)] = true;
  return t;
}
constexpr std::array<bool, 256> kToken = makeTokenTable();

// Field value bytes: VCHAR, SP, HTAB, obs-text.
constexpr std::array<bool, 256> makeValueTable() {
  std::array<bool, 256> t{};
  for (int c = 0x20; c < 0x7f; ++c) t[c] = true;
  for (int c = 0x80; c < 0x100; ++c) t[c] = true;
  t['\t'] = true;
  return t;
}
constexpr std::array<bool, 256> kValue = makeValueTable();

// Request-target bytes: visible ASCII but '#' (a fragment is never sent, RFC 9112 §3.2); no
// spaces, controls or obs-text. '%' is checked for two hex digits after it.
constexpr std::array<bool, 256> makeTargetTable() {
  std::array<bool, 256> t{};
  for (int c = 0x21; c < 0x7f; ++c) t[c] = true;
  t['#'] = false;
  return t;
}
constexpr std::array<bool, 256> kTarget = makeTargetTable();

// RFC 3986 reg-name bytes: unreserved / sub-delims ('%' handled apart). IPv4 is a reg-name too.
constexpr std::array<bool, 256> makeRegNameTable() {
  std::array<bool, 256> t{};
  for (int c = '0'; c <= '9'; ++c) t[c] = true;
  for (int c = 'a'; c <= 'z'; ++c) t[c] = true;
  for (int c = 'A'; c <= 'Z'; ++c) t[c] = true;
  for (char c : std::string_view("-._~!$&'()*+,;=")) t[static_cast<unsigned char>(c)] = true;
  return t;
}
constexpr std::array<bool, 256> kRegName = makeRegNameTable();

// quoted-string content (RFC 9110 §5.6.4 qdtext): HTAB, SP, VCHAR but '"' and '\\', obs-text.
constexpr std::array<bool, 256> makeQdTextTable() {
  std::array<bool, 256> t = makeValueTable();
  t['"'] = false;
  t['\\'] = false;
  return t;
}
constexpr std::array<bool, 256> kQdText = makeQdTextTable();

inline unsigned char lower(unsigned char c) { return (c >= 'A' && c <= 'Z') ? c | 0x20 : c; }

std::string_view trimOws(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

HeaderId classify(std::string_view n) {
  switch (n.size()) {
    case 2:
      if (equalsIgnoreCase(n, "te")) return HeaderId::kTe;
      break;
    case 4:
      if (equalsIgnoreCase(n, "host")) return HeaderId::kHost;
      break;
    case 6:
      if (equalsIgnoreCase(n, "expect")) return HeaderId::kExpect;
      if (equalsIgnoreCase(n, "cookie")) return HeaderId::kCookie;
      break;
    case 7:
      if (equalsIgnoreCase(n, "trailer")) return HeaderId::kTrailer;
      if (equalsIgnoreCase(n, "upgrade")) return HeaderId::kUpgrade;
      break;
    case 10:
      if (equalsIgnoreCase(n, "connection")) return HeaderId::kConnection;
      if (equalsIgnoreCase(n, "keep-alive")) return HeaderId::kKeepAlive;
      break;
    case 12:
      if (equalsIgnoreCase(n, "x-request-id")) return HeaderId::kXRequestId;
      break;
    case 14:
      if (equalsIgnoreCase(n, "content-length")) return HeaderId::kContentLength;
      break;
    case 15:
      if (equalsIgnoreCase(n, "x-forwarded-for")) return HeaderId::kXForwardedFor;
      break;
    case 16:
      if (equalsIgnoreCase(n, "proxy-connection")) return HeaderId::kProxyConnection;
      break;
    case 17:
      if (equalsIgnoreCase(n, "transfer-encoding")) return HeaderId::kTransferEncoding;
      break;
    case 18:
      if (equalsIgnoreCase(n, "proxy-authenticate")) return HeaderId::kProxyAuthenticate;
      break;
    case 19:
      if (equalsIgnoreCase(n, "proxy-authorization")) return HeaderId::kProxyAuthorization;
      break;
    default:
      break;
  }
  return HeaderId::kOther;
}

// Hop-by-hop by definition (RFC 9110 §7.6.1), plus Proxy-Connection (legacy) and the framing
// header Transfer-Encoding, which the proxy re-frames.
bool hopByHopById(HeaderId id) {
  switch (id) {
    case HeaderId::kConnection:
    case HeaderId::kKeepAlive:
    case HeaderId::kProxyConnection:
    case HeaderId::kTe:
    case HeaderId::kTrailer:
    case HeaderId::kTransferEncoding:
    case HeaderId::kUpgrade:
      return true;
    default:
      return false;
  }
}

// Parses a non-empty run of at most 19 decimal digits (no sign, no list); false on anything else.
bool parseDecimal(std::string_view s, uint64_t* out) {
  if (s.empty() || s.size() > 19) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  *out = v;
  return true;
}

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool isToken(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!kToken[static_cast<unsigned char>(c)]) return false;
  }
  return true;
}

// The transfer codings of a message, across all its Transfer-Encoding fields in order.
struct CodingList {
  bool any = false;          // a Transfer-Encoding field was present
  bool malformed = false;    // an empty element, a non-token, parameters, chunked twice
  bool final_chunked = false;
  bool other = false;        // a coding other than chunked
  bool chunked_seen = false;

  void add(std::string_view value) {
    any = true;
    while (true) {
      size_t comma = value.find(',');
      std::string_view item = trimOws(value.substr(0, comma));
      if (!isToken(item)) {
        malformed = true;  // empty element, parameters (";"), quotes, spaces inside
      } else if (equalsIgnoreCase(item, "chunked")) {
        if (chunked_seen) malformed = true;  // RFC 9112 §6.1: never applied twice
        chunked_seen = true;
        final_chunked = true;
      } else {
        other = true;
        final_chunked = false;
      }
      if (comma == std::string_view::npos) break;
      value.remove_prefix(comma + 1);
    }
  }
};

// IP-literal content between the brackets: IPv6address (hex digits, ':', '.' for an embedded
// IPv4; at least two ':') or IPvFuture ("v" 1*HEXDIG "." 1*( unreserved / sub-delims / ":" )).
bool validIpLiteral(std::string_view s) {
  if (s.empty()) return false;
  if (s[0] == 'v' || s[0] == 'V') {
    size_t i = 1;
    while (i < s.size() && hexValue(s[i]) >= 0) ++i;
    if (i == 1 || i >= s.size() || s[i] != '.') return false;
    if (++i == s.size()) return false;
    for (; i < s.size(); ++i) {
      if (!kRegName[static_cast<unsigned char>(s[i])] && s[i] != ':') return false;
    }
    return true;
  }
  int colons = 0;
  for (char c : s) {
    if (c == ':') {
      ++colons;
    } else if (hexValue(c) < 0 && c != '.') {
      return false;
    }
  }
  return colons >= 2 && s.size() <= 45;
}

}  // namespace

int statusForError(ParseError e) {
  switch (e) {
    case ParseError::kNone:
      return 200;
    case ParseError::kBadStatusLine:
      return 502;
    case ParseError::kBadVersion:
      return 505;
    case ParseError::kHeadTooLarge:
      return 431;
    case ParseError::kBodyTooLarge:
      return 413;
    case ParseError::kUriTooLong:
      return 414;
    case ParseError::kExpectationFailed:
      return 417;
    case ParseError::kUnsupportedCoding:
    case ParseError::kMethodNotImplemented:
      return 501;
    default:
      return 400;
  }
}

std::string_view describeError(ParseError e) {
  switch (e) {
    case ParseError::kNone:
      return "ok";
    case ParseError::kBadRequestLine:
      return "malformed request line";
    case ParseError::kBadStatusLine:
      return "malformed status line";
    case ParseError::kBadVersion:
      return "unsupported HTTP version";
    case ParseError::kBadHeader:
      return "malformed header field";
    case ParseError::kBadContentLength:
      return "invalid or duplicate Content-Length";
    case ParseError::kBadTransferEncoding:
      return "invalid Transfer-Encoding";
    case ParseError::kHeadTooLarge:
      return "request header fields too large";
    case ParseError::kBadChunk:
      return "malformed chunked body";
    case ParseError::kBodyTooLarge:
      return "payload too large";
    case ParseError::kBadHost:
      return "missing, duplicate or invalid Host";
    case ParseError::kBadTarget:
      return "invalid request-target";
    case ParseError::kUriTooLong:
      return "request-target too long";
    case ParseError::kUnsupportedCoding:
      return "unsupported transfer coding";
    case ParseError::kMethodNotImplemented:
      return "method not implemented";
    case ParseError::kExpectationFailed:
      return "unsupported expectation";
  }
  return "bad message";
}

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (lower(static_cast<unsigned char>(a[i])) != lower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

bool listContainsToken(std::string_view list, std::string_view token) {
  while (!list.empty()) {
    size_t comma = list.find(',');
    std::string_view item = trimOws(list.substr(0, comma));
    if (equalsIgnoreCase(item, token)) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

bool isValidAuthority(std::string_view a) {
  size_t i = 0;
  const size_t n = a.size();
  if (n == 0) return false;
  if (a[0] == '[') {
    size_t close = a.find(']');
    if (close == std::string_view::npos || !validIpLiteral(a.substr(1, close - 1))) return false;
    i = close + 1;
  } else {
    while (i < n) {
      unsigned char c = static_cast<unsigned char>(a[i]);
      if (kRegName[c]) {
        ++i;
      } else if (c == '%') {
        if (i + 2 >= n || hexValue(a[i + 1]) < 0 || hexValue(a[i + 2]) < 0) return false;
        i += 3;
      } else {
        break;
      }
    }
    if (i == 0) return false;  // empty host (RFC 9110 §4.2.1)
  }
  if (i == n) return true;
  if (a[i] != ':') return false;  // '@' (userinfo), '/', spaces...
  std::string_view port = a.substr(i + 1);
  if (port.size() > 5) return false;
  uint32_t v = 0;
  for (char c : port) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint32_t>(c - '0');
  }
  return v <= 65535;
}

// ---------------------------------------------------------------------------------------------
// HeadParser

void HeadParser::reset() {
  scan_pos_ = 0;
  head_size_ = 0;
  error_ = ParseError::kNone;
  method_ = target_ = reason_ = path_ = host_ = {};
  target_form_ = TargetForm::kOrigin;
  status_ = 0;
  version_minor_ = 1;
  is_head_ = false;
  header_count_ = 0;
  framing_ = BodyFraming::kNone;
  content_length_ = 0;
  keep_alive_ = true;
  expect_continue_ = false;
  upgrade_ = false;
}

HeadParser::Status HeadParser::parse(const char* data, size_t len) {
  if (error_ != ParseError::kNone) return Status::kError;
  // Search for the empty line that ends the head: "\n\r\n" or "\n\n" (the latter is an error in
  // a request, found when the lines are parsed). Requests may be preceded by empty lines (RFC
  // 9112 §2.2), CRLF each, which are skipped.
  size_t start = 0;
  if (kind_ == Kind::kRequest) {
    while (start + 1 < len && start < 16 && data[start] == '\r' && data[start + 1] == '\n') {
      start += 2;
    }
  }
  size_t i = scan_pos_ > start ? scan_pos_ : start;
  const size_t limit = len < limits_.max_head_bytes ? len : limits_.max_head_bytes;
  while (i < limit) {
    const void* nl = std::memchr(data + i, '\n', limit - i);
    if (nl == nullptr) {
      i = limit;
      break;
    }
    size_t p = static_cast<const char*>(nl) - data;
    if (p == start) {  // an empty line where the start line should be
      return fail(kind_ == Kind::kRequest ? ParseError::kBadRequestLine
                                          : ParseError::kBadStatusLine);
    }
    if (p + 1 >= len) {
      i = p;
      break;
    }
    if (data[p + 1] == '\n') {
      head_size_ = p + 2;
      return parseComplete(data + start, head_size_ - start);
    }
    if (data[p + 1] == '\r') {
      if (p + 2 >= len) {
        i = p;
        break;
      }
      if (data[p + 2] == '\n') {
        head_size_ = p + 3;
        return parseComplete(data + start, head_size_ - start);
      }
    }
    i = p + 1;
  }
  scan_pos_ = i;
  if (len >= limits_.max_head_bytes) {
    return kind_ == Kind::kRequest ? requestHeadTooLarge(data, start, len)
                                   : fail(ParseError::kHeadTooLarge);
  }
  return Status::kIncomplete;
}

// Over the head limit: 414 when the request line alone does not fit (RFC 9112 §3: a server
// that receives a request-target longer than it wishes to parse answers 414), 431 when the
// fields do not (RFC 6585 §5). A first "line" that is not a method and a space is 400.
HeadParser::Status HeadParser::requestHeadTooLarge(const char* data, size_t start, size_t len) {
  const size_t limit = len < limits_.max_head_bytes ? len : limits_.max_head_bytes;
  if (std::memchr(data + start, '\n', limit - start) != nullptr) {
    return fail(ParseError::kHeadTooLarge);
  }
  std::string_view line(data + start, limit - start);
  size_t sp = line.find(' ');
  if (sp == std::string_view::npos || !isToken(line.substr(0, sp))) {
    return fail(ParseError::kBadRequestLine);
  }
  return fail(ParseError::kUriTooLong);
}

HeadParser::Status HeadParser::parseComplete(const char* data, size_t len) {
  header_count_ = 0;
  const bool crlf_only = kind_ == Kind::kRequest;  // responses: bare LF tolerated (§2.2)
  std::string_view rest(data, len);
  bool first = true;
  while (!rest.empty()) {
    size_t nl = rest.find('\n');  // always found: the head ends with a blank line
    std::string_view line = rest.substr(0, nl);
    rest.remove_prefix(nl + 1);
    if (!line.empty() && line.back() == '\r') {
      line.remove_suffix(1);
    } else if (crlf_only) {  // a bare LF: RFC 9112 §2.2 allows rejecting it; we do
      return fail(first ? ParseError::kBadRequestLine : ParseError::kBadHeader);
    }
    if (first) {
      first = false;
      bool ok = kind_ == Kind::kRequest ? parseRequestLine(line) : parseStatusLine(line);
      if (!ok) return Status::kError;
      continue;
    }
    if (line.empty()) break;
    if (!parseHeaderLine(line)) return Status::kError;
  }
  return finish();
}

bool HeadParser::parseRequestLine(std::string_view line) {
  // method SP request-target SP HTTP-version, single spaces (RFC 9112 §3).
  size_t sp1 = line.find(' ');
  if (sp1 == std::string_view::npos || sp1 == 0) {
    fail(ParseError::kBadRequestLine);
    return false;
  }
  method_ = line.substr(0, sp1);
  for (char c : method_) {
    if (!kToken[static_cast<unsigned char>(c)]) {
      fail(ParseError::kBadRequestLine);
      return false;
    }
  }
  size_t sp2 = line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || sp2 == sp1 + 1) {
    fail(ParseError::kBadRequestLine);
    return false;
  }
  target_ = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const size_t tn = target_.size();
  for (size_t k = 0; k < tn; ++k) {
    unsigned char c = static_cast<unsigned char>(target_[k]);
    if (!kTarget[c]) {
      fail(ParseError::kBadRequestLine);
      return false;
    }
    if (c == '%') {  // pct-encoded = "%" HEXDIG HEXDIG (RFC 3986 §2.1)
      if (k + 2 >= tn || hexValue(target_[k + 1]) < 0 || hexValue(target_[k + 2]) < 0) {
        fail(ParseError::kBadTarget);
        return false;
      }
      k += 2;
    }
  }
  std::string_view version = line.substr(sp2 + 1);
  if (version.size() != 8 || version.substr(0, 5) != "HTTP/" || version[6] != '.' ||
      version[5] < '0' || version[5] > '9' || version[7] < '0' || version[7] > '9') {
    fail(ParseError::kBadRequestLine);
    return false;
  }
  if (version[5] != '1') {  // HTTP/0.9 (with a version), HTTP/2.0...
    fail(ParseError::kBadVersion);
    return false;
  }
  version_minor_ = version[7] == '0' ? 0 : 1;  // 1.2+ is served as 1.1 (RFC 9110 §2.5)
  is_head_ = method_ == "HEAD";
  if (method_ == "CONNECT") {  // RFC 9110 §9.3.6: for proxies; a gateway does not tunnel
    fail(ParseError::kMethodNotImplemented);
    return false;
  }
  return parseTarget();
}

bool HeadParser::parseTarget() {
  // RFC 9112 §3.2: origin-form for everything, absolute-form accepted from anyone, asterisk-form
  // only with OPTIONS, authority-form only with CONNECT (answered 501 before we get here).
  if (target_[0] == '/') {
    target_form_ = TargetForm::kOrigin;
    path_ = target_;
    return true;
  }
  if (target_ == "*") {
    if (method_ != "OPTIONS") {
      fail(ParseError::kBadTarget);
      return false;
    }
    target_form_ = TargetForm::kAsterisk;
    path_ = target_;
    return true;
  }
  size_t colon = target_.find(':');
  if (colon != std::string_view::npos && target_.substr(colon, 3) == "://") {
    std::string_view scheme = target_.substr(0, colon);
    if (equalsIgnoreCase(scheme, "http") || equalsIgnoreCase(scheme, "https")) {
      std::string_view rest = target_.substr(colon + 3);
      size_t end = rest.find_first_of("/?");
      std::string_view authority = rest.substr(0, end);
      if (isValidAuthority(authority)) {
        target_form_ = TargetForm::kAbsolute;
        host_ = authority;
        path_ = end == std::string_view::npos ? std::string_view() : rest.substr(end);
        return true;
      }
    }
  }
  fail(ParseError::kBadTarget);
  return false;
}

bool HeadParser::parseStatusLine(std::string_view line) {
  // HTTP/1.x SP 3DIGIT SP reason (the reason may be empty; a missing last SP is tolerated).
  if (line.size() < 12 || line.substr(0, 5) != "HTTP/" || line[6] != '.' || line[8] != ' ' ||
      line[5] != '1' || line[7] < '0' || line[7] > '9') {
    fail(ParseError::kBadStatusLine);
    return false;
  }
  version_minor_ = line[7] == '0' ? 0 : 1;
  int s = 0;
  for (int k = 9; k < 12; ++k) {
    if (line[k] < '0' || line[k] > '9') {
      fail(ParseError::kBadStatusLine);
      return false;
    }
    s = s * 10 + (line[k] - '0');
  }
  if (s < 100 || s > 599) {  // RFC 9110 §15: outside 100..599 is invalid
    fail(ParseError::kBadStatusLine);
    return false;
  }
  status_ = s;
  if (line.size() > 12) {
    if (line[12] != ' ') {
      fail(ParseError::kBadStatusLine);
      return false;
    }
    reason_ = line.substr(13);
    for (char c : reason_) {
      if (!kValue[static_cast<unsigned char>(c)]) {
        fail(ParseError::kBadStatusLine);
        return false;
      }
    }
  }
  return true;
}

bool HeadParser::parseHeaderLine(std::string_view line) {
  if (line.front() == ' ' || line.front() == '\t') {  // obs-fold: rejected (RFC 9112 §5.2)
    fail(ParseError::kBadHeader);
    return false;
  }
  size_t i = 0;
  while (i < line.size() && kToken[static_cast<unsigned char>(line[i])]) ++i;
  // RFC 9112 §5.1: no whitespace between the name and ':' (400).
  if (i == 0 || i == line.size() || line[i] != ':') {
    fail(ParseError::kBadHeader);
    return false;
  }
  std::string_view value = line.substr(i + 1);
  for (char c : value) {  // RFC 9110 §5.5: no NUL, CR, LF or other CTL but HTAB
    if (!kValue[static_cast<unsigned char>(c)]) {
      fail(ParseError::kBadHeader);
      return false;
    }
  }
  if (header_count_ == kMaxHeaders) {
    fail(ParseError::kHeadTooLarge);
    return false;
  }
  HeaderField& f = headers_[header_count_++];
  f.name = line.substr(0, i);
  f.value = trimOws(value);
  f.id = classify(f.name);
  f.hop_by_hop = hopByHopById(f.id);
  return true;
}

HeadParser::Status HeadParser::finish() {
  const bool request = kind_ == Kind::kRequest;
  keep_alive_ = version_minor_ >= 1;
  bool has_cl = false, conn_upgrade = false;
  int hosts = 0;
  std::string_view host_field;
  CodingList te;
  uint64_t cl = 0;
  for (size_t h = 0; h < header_count_; ++h) {
    HeaderField& f = headers_[h];
    switch (f.id) {
      case HeaderId::kConnection: {
        std::string_view list = f.value;
        while (!list.empty()) {
          size_t comma = list.find(',');
          std::string_view tok = trimOws(list.substr(0, comma));
          if (equalsIgnoreCase(tok, "close")) {
            keep_alive_ = false;
          } else if (equalsIgnoreCase(tok, "keep-alive")) {
            if (version_minor_ == 0) keep_alive_ = true;
          } else if (equalsIgnoreCase(tok, "upgrade")) {
            conn_upgrade = true;
          } else if (!tok.empty()) {
            // Host is end-to-end: "Connection: host" must not make the gateway drop it (the
            // upstream would get a request without Host).
            for (size_t k = 0; k < header_count_; ++k) {
              if (headers_[k].id != HeaderId::kHost && equalsIgnoreCase(headers_[k].name, tok)) {
                headers_[k].hop_by_hop = true;
              }
            }
          }
          if (comma == std::string_view::npos) break;
          list.remove_prefix(comma + 1);
        }
        break;
      }
      case HeaderId::kContentLength:
        // RFC 9110 §8.6 lets a recipient reject a list or repeated fields even when the values
        // agree; we do: one field, one value, digits only.
        if (has_cl || !parseDecimal(f.value, &cl)) return fail(ParseError::kBadContentLength);
        has_cl = true;
        break;
      case HeaderId::kTransferEncoding:
        te.add(f.value);
        break;
      case HeaderId::kHost:
        if (++hosts == 1) host_field = f.value;
        break;
      case HeaderId::kExpect:
        // RFC 9110 §10.1.1: 100-continue is the only expectation; anything else (another
        // expectation, a list, a second field) → 417. HTTP/1.0 ignores 100-continue.
        if (request && !f.value.empty()) {
          if (expect_continue_ || !equalsIgnoreCase(f.value, "100-continue")) {
            return fail(ParseError::kExpectationFailed);
          }
          expect_continue_ = true;
        }
        break;
      default:
        break;
    }
  }
  upgrade_ = conn_upgrade && find(HeaderId::kUpgrade) != nullptr;

  if (request) {
    if (version_minor_ == 0) expect_continue_ = false;
    // RFC 9110 §7.2: exactly one valid Host (a missing one is an error in HTTP/1.1 when
    // required). In absolute-form the target's authority is the request's host (RFC 9112
    // §3.2.2), but the Host field must still be valid.
    if (hosts > 1 || (hosts == 1 && !isValidAuthority(host_field)) ||
        (hosts == 0 && version_minor_ >= 1 && limits_.require_host)) {
      return fail(ParseError::kBadHost);
    }
    if (target_form_ != TargetForm::kAbsolute) host_ = host_field;
    if (te.any) {
      // RFC 9112 §6.1/§6.3 (request smuggling defence): TE with CL, TE in HTTP/1.0, a malformed
      // coding list, chunked twice or not final → 400; a final chunked after codings we do not
      // implement → 501.
      if (has_cl || version_minor_ == 0 || te.malformed || !te.final_chunked) {
        return fail(ParseError::kBadTransferEncoding);
      }
      if (te.other) return fail(ParseError::kUnsupportedCoding);
      framing_ = BodyFraming::kChunked;
    } else if (has_cl && cl > 0) {
      if (limits_.max_body_bytes != 0 && cl > limits_.max_body_bytes) {
        content_length_ = cl;
        return fail(ParseError::kBodyTooLarge);
      }
      framing_ = BodyFraming::kContentLength;
    } else {
      framing_ = BodyFraming::kNone;
    }
    content_length_ = te.any ? 0 : cl;
    return Status::kDone;
  }

  // Responses (RFC 9112 §6.3). TE with CL, TE in HTTP/1.0 and a malformed coding list are
  // faulty framing ("ought to be handled as an error", §6.3 item 3): the proxy answers 502.
  if (te.any && (has_cl || version_minor_ == 0 || te.malformed)) {
    return fail(ParseError::kBadTransferEncoding);
  }
  content_length_ = cl;
  if (request_was_head_ || (status_ >= 100 && status_ < 200) || status_ == 204 || status_ == 304) {
    framing_ = BodyFraming::kNone;
    return Status::kDone;
  }
  if (te.any) {
    content_length_ = 0;
    if (te.final_chunked) {
      framing_ = BodyFraming::kChunked;
    } else {
      framing_ = BodyFraming::kUntilClose;
      keep_alive_ = false;
    }
  } else if (has_cl) {
    framing_ = cl > 0 ? BodyFraming::kContentLength : BodyFraming::kNone;
  } else {
    framing_ = BodyFraming::kUntilClose;
    keep_alive_ = false;
  }
  return Status::kDone;
}

const HeaderField* HeadParser::find(std::string_view name) const {
  for (size_t h = 0; h < header_count_; ++h) {
    if (equalsIgnoreCase(headers_[h].name, name)) return &headers_[h];
  }
  return nullptr;
}

const HeaderField* HeadParser::find(HeaderId id) const {
  for (size_t h = 0; h < header_count_; ++h) {
    if (headers_[h].id == id) return &headers_[h];
  }
  return nullptr;
}

// ---------------------------------------------------------------------------------------------
// BodyDecoder

void BodyDecoder::reset(BodyFraming framing, uint64_t content_length, uint64_t max_body) {
  framing_ = framing;
  error_ = ParseError::kNone;
  payload_ = 0;
  max_body_ = max_body;
  size_digits_ = 0;
  line_bytes_ = 0;
  in_chunk_ = false;
  final_emitted_ = false;
  remaining_ = 0;
  switch (framing) {
    case BodyFraming::kNone:
      state_ = State::kDone;
      break;
    case BodyFraming::kContentLength:
      remaining_ = content_length;
      state_ = content_length == 0 ? State::kDone : State::kData;
      break;
    case BodyFraming::kChunked:
      state_ = State::kChunkSize;
      break;
    case BodyFraming::kUntilClose:
      state_ = State::kData;
      break;
  }
}

void BodyDecoder::onEof() {
  if (framing_ == BodyFraming::kUntilClose && state_ == State::kData) state_ = State::kDone;
}

// chunk-ext = *( BWS ";" BWS ext-name [ BWS "=" BWS ext-val ] ), ext-val = token /
// quoted-string (RFC 9112 §7.1.1); the size line ends with CRLF right after the last element.
bool BodyDecoder::extensionByte(unsigned char c) {
  const bool ws = c == ' ' || c == '\t';
  switch (state_) {
    case State::kExtBws:
      if (ws) return true;
      if (c != ';') return false;
      state_ = State::kExtNameStart;
      return true;
    case State::kExtNameStart:
      if (ws) return true;
      if (!kToken[c]) return false;
      state_ = State::kExtName;
      return true;
    case State::kExtName:
    case State::kExtAfterName:
      if (state_ == State::kExtName && kToken[c]) return true;
      if (ws) {
        state_ = State::kExtAfterName;
      } else if (c == '=') {
        state_ = State::kExtValueStart;
      } else if (c == ';') {
        state_ = State::kExtNameStart;
      } else if (c == '\r' && state_ == State::kExtName) {
        state_ = State::kChunkSizeLf;
      } else {
        return false;
      }
      return true;
    case State::kExtValueStart:
      if (ws) return true;
      if (c == '"') {
        state_ = State::kExtQuoted;
      } else if (kToken[c]) {
        state_ = State::kExtValueToken;
      } else {
        return false;
      }
      return true;
    case State::kExtValueToken:
    case State::kExtAfterQuoted:
      if (state_ == State::kExtValueToken && kToken[c]) return true;
      if (ws) {
        state_ = State::kExtBws;
      } else if (c == ';') {
        state_ = State::kExtNameStart;
      } else if (c == '\r') {
        state_ = State::kChunkSizeLf;
      } else {
        return false;
      }
      return true;
    case State::kExtQuoted:
      if (c == '"') {
        state_ = State::kExtAfterQuoted;
      } else if (c == '\\') {
        state_ = State::kExtQuotedPair;
      } else if (!kQdText[c]) {
        return false;
      }
      return true;
    case State::kExtQuotedPair:  // quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text )
      if (!kValue[c]) return false;
      state_ = State::kExtQuoted;
      return true;
    default:
      return false;
  }
}

// trailer-section = *( field-line CRLF ) CRLF, field-line = field-name ":" field-value.
bool BodyDecoder::trailerByte(unsigned char c) {
  switch (state_) {
    case State::kTrailerLineStart:
      if (c == '\r') {
        state_ = State::kFinalLf;
        return true;
      }
      if (!kToken[c]) return false;  // also obs-fold, ':' with an empty name, a bare LF
      state_ = State::kTrailerName;
      return true;
    case State::kTrailerName:
      if (kToken[c]) return true;
      if (c != ':') return false;  // whitespace before ':' too
      state_ = State::kTrailerValue;
      return true;
    case State::kTrailerValue:
      if (kValue[c]) return true;
      if (c != '\r') return false;
      state_ = State::kTrailerLf;
      return true;
    case State::kTrailerLf:
      if (c != '\n') return false;
      state_ = State::kTrailerLineStart;
      return true;
    default:
      return false;
  }
}

BodyDecoder::Step BodyDecoder::step(std::string_view in) {
  constexpr uint32_t kMaxLine = 4096;       // chunk extensions of one size line
  constexpr uint32_t kMaxTrailers = 65536;  // all trailer lines together
  size_t i = 0;
  const size_t n = in.size();
  while (i < n) {
    switch (state_) {
      case State::kDone:
      case State::kError:
        return {i, {}};
      case State::kData: {
        size_t take = n - i;
        if (framing_ != BodyFraming::kUntilClose && take > remaining_) take = remaining_;
        if (framing_ == BodyFraming::kUntilClose) {
          if (max_body_ != 0 && payload_ + take > max_body_)
            return fail(ParseError::kBodyTooLarge, i);
        } else {
          remaining_ -= take;
        }
        payload_ += take;
        std::string_view data = in.substr(i, take);
        i += take;
        if (framing_ != BodyFraming::kUntilClose && remaining_ == 0) {
          state_ = in_chunk_ ? State::kChunkDataCr : State::kDone;
        }
        return {i, data};
      }
      case State::kChunkSize: {
        // chunk-size = 1*HEXDIG, at most 16 digits (no overflow; leading junk is an error).
        const char c = in[i];
        int h = hexValue(c);
        if (h >= 0) {
          if (++size_digits_ > 16) return fail(ParseError::kBadChunk, i);
          remaining_ = remaining_ * 16 + static_cast<uint64_t>(h);
          ++i;
          break;
        }
        if (size_digits_ == 0) return fail(ParseError::kBadChunk, i);
        line_bytes_ = 0;
        if (c == '\r') {
          state_ = State::kChunkSizeLf;
        } else if (c == ';') {
          state_ = State::kExtNameStart;
        } else if (c == ' ' || c == '\t') {
          state_ = State::kExtBws;
        } else {
          return fail(ParseError::kBadChunk, i);  // a bare LF too
        }
        ++i;
        break;
      }
      case State::kExtBws:
      case State::kExtNameStart:
      case State::kExtName:
      case State::kExtAfterName:
      case State::kExtValueStart:
      case State::kExtValueToken:
      case State::kExtQuoted:
      case State::kExtQuotedPair:
      case State::kExtAfterQuoted:
        if (++line_bytes_ > kMaxLine || !extensionByte(static_cast<unsigned char>(in[i]))) {
          return fail(ParseError::kBadChunk, i);
        }
        ++i;
        break;
      case State::kChunkSizeLf: {
        if (in[i] != '\n') return fail(ParseError::kBadChunk, i);
        ++i;
        size_digits_ = 0;
        if (remaining_ == 0) {
          state_ = State::kTrailerLineStart;
          line_bytes_ = 0;
        } else {
          if (max_body_ != 0 && remaining_ > max_body_ - payload_) {
            return fail(ParseError::kBodyTooLarge, i);
          }
          in_chunk_ = true;
          state_ = State::kData;
        }
        break;
      }
      case State::kChunkDataCr:
        if (in[i] != '\r') return fail(ParseError::kBadChunk, i);
        ++i;
        state_ = State::kChunkDataLf;
        break;
      case State::kChunkDataLf:
        if (in[i] != '\n') return fail(ParseError::kBadChunk, i);
        ++i;
        state_ = State::kChunkSize;
        break;
      case State::kTrailerLineStart:
      case State::kTrailerName:
      case State::kTrailerValue:
      case State::kTrailerLf:
        if (++line_bytes_ > kMaxTrailers || !trailerByte(static_cast<unsigned char>(in[i]))) {
          return fail(ParseError::kBadChunk, i);
        }
        ++i;
        break;
      case State::kFinalLf:
        if (in[i] != '\n') return fail(ParseError::kBadChunk, i);
        ++i;
        state_ = State::kDone;
        return {i, {}};
    }
  }
  return {i, {}};
}

size_t BodyDecoder::consumeAll(std::string_view in) {
  size_t total = 0;
  while (total < in.size() && !done() && !failed()) {
    Step s = step(in.substr(total));
    total += s.consumed;
    if (s.consumed == 0) break;
  }
  return total;
}

size_t BodyDecoder::reframe(std::string_view in, std::string* out) {
  const bool chunked = framing_ == BodyFraming::kChunked;
  size_t total = 0;
  while (total < in.size() && !done() && !failed()) {
    Step s = step(in.substr(total));
    total += s.consumed;
    if (!s.data.empty()) {
      if (chunked) {
        static const char kHex[] = "0123456789abcdef";
        char size[20];
        size_t k = sizeof size - 2;
        size[k] = '\r';
        size[k + 1] = '\n';
        uint64_t v = s.data.size();
        do {
          size[--k] = kHex[v & 15];
          v >>= 4;
        } while (v != 0);
        out->append(size + k, sizeof size - k);
        out->append(s.data);
        out->append("\r\n", 2);
      } else {
        out->append(s.data);
      }
    }
    if (s.consumed == 0) break;
  }
  if (chunked && done() && !final_emitted_) {
    out->append("0\r\n\r\n", 5);
    final_emitted_ = true;
  }
  return total;
}

}  // namespace surge::net
