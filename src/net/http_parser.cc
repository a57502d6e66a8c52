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

// Request-target bytes: visible ASCII (no spaces, no controls); obs-text is rejected.
constexpr std::array<bool, 256> makeTargetTable() {
  std::array<bool, 256> t{};
  for (int c = 0x21; c < 0x7f; ++c) t[c] = true;
  return t;
}
constexpr std::array<bool, 256> kTarget = makeTargetTable();

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

// Parses a non-empty run of decimal digits; false on anything else or overflow.
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

// Last token of a comma-separated list ("gzip, chunked" → "chunked").
std::string_view lastToken(std::string_view list) {
  size_t comma = list.rfind(',');
  return trimOws(comma == std::string_view::npos ? list : list.substr(comma + 1));
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
      return "invalid or conflicting Content-Length";
    case ParseError::kBadTransferEncoding:
      return "invalid Transfer-Encoding";
    case ParseError::kHeadTooLarge:
      return "request header fields too large";
    case ParseError::kBadChunk:
      return "malformed chunked body";
    case ParseError::kBodyTooLarge:
      return "payload too large";
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

// ---------------------------------------------------------------------------------------------
// HeadParser

void HeadParser::reset() {
  request_was_head_ = false;
  scan_pos_ = 0;
  head_size_ = 0;
  error_ = ParseError::kNone;
  method_ = target_ = reason_ = {};
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
  // Search for the empty line that ends the head: "\n\r\n" or "\n\n". Requests may be preceded
  // by empty lines (RFC 9112 §2.2), which are skipped.
  size_t start = 0;
  if (kind_ == Kind::kRequest) {
    while (start < len && start < 16 && (data[start] == '\r' || data[start] == '\n')) ++start;
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
  if (len >= limits_.max_head_bytes) return fail(ParseError::kHeadTooLarge);
  return Status::kIncomplete;
}

HeadParser::Status HeadParser::parseComplete(const char* data, size_t len) {
  header_count_ = 0;
  std::string_view rest(data, len);
  bool first = true;
  while (!rest.empty()) {
    size_t nl = rest.find('\n');  // always found: the head ends with a blank line
    std::string_view line = rest.substr(0, nl);
    rest.remove_prefix(nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
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
  for (char c : target_) {
    if (!kTarget[static_cast<unsigned char>(c)]) {
      fail(ParseError::kBadRequestLine);
      return false;
    }
  }
  std::string_view version = line.substr(sp2 + 1);
  if (version.size() != 8 || version.substr(0, 5) != "HTTP/" || version[6] != '.' ||
      version[5] < '0' || version[5] > '9' || version[7] < '0' || version[7] > '9') {
    fail(ParseError::kBadRequestLine);
    return false;
  }
  if (version[5] != '1') {
    fail(ParseError::kBadVersion);
    return false;
  }
  version_minor_ = version[7] == '0' ? 0 : 1;
  is_head_ = method_ == "HEAD";
  return true;
}

bool HeadParser::parseStatusLine(std::string_view line) {
  // HTTP/1.1 SP 3DIGIT SP reason (the reason may be empty; a missing last SP is tolerated).
  if (line.size() < 12 || line.substr(0, 5) != "HTTP/" || line[6] != '.' || line[8] != ' ' ||
      line[5] != '1' || (line[7] != '0' && line[7] != '1')) {
    fail(ParseError::kBadStatusLine);
    return false;
  }
  version_minor_ = line[7] - '0';
  int s = 0;
  for (int k = 9; k < 12; ++k) {
    if (line[k] < '0' || line[k] > '9') {
      fail(ParseError::kBadStatusLine);
      return false;
    }
    s = s * 10 + (line[k] - '0');
  }
  if (s < 100) {
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
  if (i == 0 || i == line.size() || line[i] != ':') {  // includes whitespace before ':'
    fail(ParseError::kBadHeader);
    return false;
  }
  std::string_view value = line.substr(i + 1);
  for (char c : value) {
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
  bool has_cl = false, has_te = false, te_chunked = false, conn_upgrade = false;
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
            for (size_t k = 0; k < header_count_; ++k) {
              if (equalsIgnoreCase(headers_[k].name, tok)) headers_[k].hop_by_hop = true;
            }
          }
          if (comma == std::string_view::npos) break;
          list.remove_prefix(comma + 1);
        }
        break;
      }
      case HeaderId::kContentLength: {
        // A list of identical values ("5, 5") is one value (RFC 9110 §8.6).
        std::string_view list = f.value;
        while (true) {
          size_t comma = list.find(',');
          uint64_t v;
          if (!parseDecimal(trimOws(list.substr(0, comma)), &v)) {
            return fail(ParseError::kBadContentLength);
          }
          if (has_cl && v != cl) return fail(ParseError::kBadContentLength);
          has_cl = true;
          cl = v;
          if (comma == std::string_view::npos) break;
          list.remove_prefix(comma + 1);
        }
        break;
      }
      case HeaderId::kTransferEncoding:
        has_te = true;
        if (f.value.empty()) return fail(ParseError::kBadTransferEncoding);
        te_chunked = equalsIgnoreCase(lastToken(f.value), "chunked");
        break;
      case HeaderId::kExpect:
        if (request && equalsIgnoreCase(f.value, "100-continue")) expect_continue_ = true;
        break;
      default:
        break;
    }
  }
  upgrade_ = conn_upgrade && find(HeaderId::kUpgrade) != nullptr;

  if (request) {
    if (has_te) {
      // RFC 9112 §6.3: TE with CL, TE in HTTP/1.0, or a final coding other than chunked is an
      // error in a request (request smuggling defence).
      if (has_cl || version_minor_ == 0 || !te_chunked) {
        return fail(ParseError::kBadTransferEncoding);
      }
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
    content_length_ = has_te ? 0 : cl;
    return Status::kDone;
  }

  // Responses (RFC 9112 §6.3).
  content_length_ = cl;
  if (request_was_head_ || (status_ >= 100 && status_ < 200) || status_ == 204 || status_ == 304) {
    framing_ = BodyFraming::kNone;
    return Status::kDone;
  }
  if (has_te) {
    content_length_ = 0;
    if (te_chunked) {
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

BodyDecoder::Step BodyDecoder::step(std::string_view in) {
  constexpr uint32_t kMaxLine = 4096;       // chunk size line with extensions
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
        char c = in[i];
        int h = hexValue(c);
        if (h >= 0) {
          if (++size_digits_ > 15) return fail(ParseError::kBadChunk, i);
          remaining_ = remaining_ * 16 + static_cast<uint64_t>(h);
          ++i;
          break;
        }
        if (size_digits_ == 0) return fail(ParseError::kBadChunk, i);
        if (c == ';' || c == ' ' || c == '\t') {
          state_ = State::kChunkExt;
          line_bytes_ = 0;
        } else if (c == '\r') {
          state_ = State::kChunkSizeLf;
          ++i;
        } else if (c == '\n') {
          state_ = State::kChunkSizeLf;  // bare LF tolerated; handled below without consuming
        } else {
          return fail(ParseError::kBadChunk, i);
        }
        break;
      }
      case State::kChunkExt: {
        char c = in[i];
        if (c == '\r') {
          state_ = State::kChunkSizeLf;
          ++i;
        } else if (c == '\n') {
          state_ = State::kChunkSizeLf;
        } else {
          if (c != '\t' && (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)) {
            return fail(ParseError::kBadChunk, i);
          }
          if (++line_bytes_ > kMaxLine) return fail(ParseError::kBadChunk, i);
          ++i;
        }
        break;
      }
      case State::kChunkSizeLf: {
        if (in[i] != '\n') return fail(ParseError::kBadChunk, i);
        ++i;
        size_digits_ = 0;
        if (remaining_ == 0) {
          state_ = State::kTrailerLineStart;
          line_bytes_ = 0;
        } else {
          if (max_body_ != 0 && payload_ + remaining_ > max_body_) {
            return fail(ParseError::kBodyTooLarge, i);
          }
          in_chunk_ = true;
          state_ = State::kData;
        }
        break;
      }
      case State::kChunkDataCr: {
        char c = in[i];
        if (c == '\r') {
          state_ = State::kChunkDataLf;
          ++i;
        } else if (c == '\n') {
          state_ = State::kChunkSize;
          ++i;
        } else {
          return fail(ParseError::kBadChunk, i);
        }
        break;
      }
      case State::kChunkDataLf:
        if (in[i] != '\n') return fail(ParseError::kBadChunk, i);
        ++i;
        state_ = State::kChunkSize;
        break;
      case State::kTrailerLineStart: {
        char c = in[i];
        if (c == '\r') {
          state_ = State::kFinalLf;
          ++i;
        } else if (c == '\n') {
          state_ = State::kDone;
          ++i;
          return {i, {}};
        } else {
          if (c == ' ' || c == '\t' || c == ':') return fail(ParseError::kBadChunk, i);
          state_ = State::kTrailerLine;
        }
        break;
      }
      case State::kTrailerLine: {
        char c = in[i];
        if (++line_bytes_ > kMaxTrailers) return fail(ParseError::kBadChunk, i);
        ++i;
        if (c == '\n') {
          state_ = State::kTrailerLineStart;
        } else if (c != '\r' && c != '\t' && (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)) {
          return fail(ParseError::kBadChunk, i - 1);
        }
        break;
      }
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

}  // namespace surge::net
