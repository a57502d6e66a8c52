#include "serving/http_compression.h"

#include <zlib.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <optional>
#include <vector>

namespace surge::serving {
namespace {

constexpr std::string_view kSupported = "(supported: gzip, deflate, identity)";
// zlib counts in uInt: feed and drain at most this much per call.
constexpr size_t kMaxStep = size_t{1} << 30;

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// Splits a comma-separated field value into trimmed, non-empty elements.
std::vector<std::string_view> elements(std::string_view value) {
  std::vector<std::string_view> out;
  while (true) {
    size_t comma = value.find(',');
    std::string_view e = trim(value.substr(0, comma));
    if (!e.empty()) out.push_back(e);
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return out;
}

// For messages: at most 64 bytes of what the client sent (the caller JSON-escapes it).
std::string quoted(std::string_view s) {
  constexpr size_t kMax = 64;
  if (s.size() <= kMax) return "'" + std::string(s) + "'";
  return "'" + std::string(s.substr(0, kMax)) + "...'";
}

std::optional<ContentCoding> codingNamed(std::string_view name) {
  std::string n = lower(name);
  if (n == "gzip" || n == "x-gzip") return ContentCoding::kGzip;
  if (n == "deflate") return ContentCoding::kDeflate;
  if (n == "identity") return ContentCoding::kIdentity;
  return std::nullopt;
}

enum class Wrapper { kGzip, kZlib, kRaw };

bool isGzipHeader(std::string_view b) {
  return b.size() >= 2 && static_cast<uint8_t>(b[0]) == 0x1f && static_cast<uint8_t>(b[1]) == 0x8b;
}

// RFC 1950: CM 8 (deflate), CINFO <= 7, FCHECK makes CMF·256 + FLG a multiple of 31.
bool isZlibHeader(std::string_view b) {
  if (b.size() < 2) return false;
  auto cmf = static_cast<uint8_t>(b[0]);
  auto flg = static_cast<uint8_t>(b[1]);
  return (cmf & 0x0f) == 8 && (cmf >> 4) <= 7 && ((cmf << 8) | flg) % 31 == 0;
}

struct Inflater {
  z_stream zs{};
  bool live = false;
  ~Inflater() {
    if (live) inflateEnd(&zs);
  }
};

struct Deflater {
  z_stream zs{};
  bool live = false;
  ~Deflater() {
    if (live) deflateEnd(&zs);
  }
};

Status tooLarge(size_t max_bytes) {
  return Status(StatusCode::kResourceExhausted,
                "decompressed body exceeds --max-request-size (" + std::to_string(max_bytes) +
                    " bytes)");
}

}  // namespace

std::string_view contentCodingName(ContentCoding c) {
  switch (c) {
    case ContentCoding::kGzip:
      return "gzip";
    case ContentCoding::kDeflate:
      return "deflate";
    case ContentCoding::kIdentity:
      break;
  }
  return "identity";
}

StatusOr<ContentCoding> parseContentEncoding(std::string_view value) {
  std::vector<ContentCoding> applied;
  for (std::string_view e : elements(value)) {
    auto c = codingNamed(e);
    if (!c) {
      return invalidArgument("unsupported Content-Encoding " + quoted(e) + " " +
                             std::string(kSupported));
    }
    if (*c != ContentCoding::kIdentity) applied.push_back(*c);
  }
  if (applied.empty()) return ContentCoding::kIdentity;
  if (applied.size() > 1) {
    return invalidArgument("unsupported Content-Encoding " + quoted(trim(value)) +
                           ": one coding at most, stacked codings are not supported " +
                           std::string(kSupported));
  }
  return applied.front();
}

StatusOr<std::string> decodeBody(std::string_view body, ContentCoding coding, size_t max_bytes) {
  if (coding == ContentCoding::kIdentity) {
    if (body.size() > max_bytes) return tooLarge(max_bytes);
    return std::string(body);
  }
  const std::string name(contentCodingName(coding));
  if (body.empty()) return invalidArgument("empty body with Content-Encoding: " + name);
  Wrapper wrapper;
  if (isGzipHeader(body)) {
    wrapper = Wrapper::kGzip;
  } else if (isZlibHeader(body)) {
    wrapper = Wrapper::kZlib;
  } else if (coding == ContentCoding::kDeflate) {
    wrapper = Wrapper::kRaw;
  } else {
    return invalidArgument("body is not gzip data (Content-Encoding: gzip): bad header");
  }
  const int window_bits = wrapper == Wrapper::kGzip   ? 15 + 16
                          : wrapper == Wrapper::kZlib ? 15
                                                      : -15;
  Inflater in;
  if (inflateInit2(&in.zs, window_bits) != Z_OK) {
    return unavailable("cannot start the " + name + " decoder (out of memory)");
  }
  in.live = true;
  z_stream& zs = in.zs;

  std::string out;
  // A first guess at the size, never above the limit; doubled as needed (up to the limit).
  out.resize(std::min(max_bytes, std::max<size_t>(size_t{64} << 10, body.size() * 4)));
  size_t produced = 0;
  size_t consumed = 0;
  auto corrupt = [&](const char* what) {
    std::string m = "corrupt " + name + " body: ";
    m += zs.msg != nullptr ? zs.msg : what;
    return invalidArgument(std::move(m));
  };
  while (true) {
    size_t in_step = std::min(body.size() - consumed, kMaxStep);
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(body.data() + consumed));
    zs.avail_in = static_cast<uInt>(in_step);
    unsigned char probe = 0;
    bool probing = false;
    if (produced == out.size()) {
      if (out.size() >= max_bytes) {
        // Full to the limit: one more byte of output means the body is too large.
        probing = true;
        zs.next_out = &probe;
        zs.avail_out = 1;
      } else {
        out.resize(std::min(max_bytes, std::max<size_t>(out.size() * 2, 4096)));
      }
    }
    size_t out_step = 0;
    if (!probing) {
      out_step = std::min(out.size() - produced, kMaxStep);
      zs.next_out = reinterpret_cast<Bytef*>(out.data() + produced);
      zs.avail_out = static_cast<uInt>(out_step);
    }
    int ret = inflate(&zs, Z_NO_FLUSH);
    size_t took = in_step - zs.avail_in;
    size_t gave = probing ? 1 - zs.avail_out : out_step - zs.avail_out;
    consumed += took;
    if (probing && gave > 0) return tooLarge(max_bytes);
    if (!probing) produced += gave;
    if ((ret == Z_OK || ret == Z_BUF_ERROR) && took == 0 && gave == 0 &&
        consumed < body.size()) {
      return corrupt("the decoder made no progress");  // never loops forever
    }
    switch (ret) {
      case Z_OK:
        continue;
      case Z_STREAM_END: {
        std::string_view rest = body.substr(consumed);
        if (rest.empty()) {
          out.resize(produced);
          return out;
        }
        if (wrapper == Wrapper::kGzip && isGzipHeader(rest)) {
          // Concatenated gzip members (RFC 1952 §2.2): the next one continues the body.
          if (inflateReset(&zs) != Z_OK) return corrupt("cannot reset the decoder");
          continue;
        }
        return invalidArgument(std::to_string(rest.size()) + " bytes after the end of the " +
                               name + " stream");
      }
      case Z_BUF_ERROR:
        // No progress: output space is checked above, so the input ran out mid-stream.
        if (consumed == body.size()) {
          return invalidArgument("truncated " + name + " body (the stream ends early)");
        }
        continue;
      case Z_NEED_DICT:
        return invalidArgument(name + " body needs a preset dictionary (not supported)");
      case Z_MEM_ERROR:
        return unavailable("out of memory decoding the " + name + " body");
      default:
        return corrupt("invalid data");
    }
  }
}

StatusOr<std::string> encodeBody(std::string_view body, ContentCoding coding) {
  if (coding == ContentCoding::kIdentity) return std::string(body);
  Deflater d;
  int window_bits = coding == ContentCoding::kGzip ? 15 + 16 : 15;
  if (deflateInit2(&d.zs, 1, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    return unavailable("cannot start the compressor (out of memory)");
  }
  d.live = true;
  z_stream& zs = d.zs;
  std::string out;
  out.resize(deflateBound(&zs, static_cast<uLong>(std::min<size_t>(body.size(), ULONG_MAX))));
  size_t consumed = 0, produced = 0;
  while (true) {
    if (produced == out.size()) out.resize(out.size() * 2 + 64);
    size_t in_step = std::min(body.size() - consumed, kMaxStep);
    size_t out_step = std::min(out.size() - produced, kMaxStep);
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(body.data() + consumed));
    zs.avail_in = static_cast<uInt>(in_step);
    zs.next_out = reinterpret_cast<Bytef*>(out.data() + produced);
    zs.avail_out = static_cast<uInt>(out_step);
    bool last = consumed + in_step == body.size();
    int ret = deflate(&zs, last ? Z_FINISH : Z_NO_FLUSH);
    consumed += in_step - zs.avail_in;
    produced += out_step - zs.avail_out;
    if (ret == Z_STREAM_END) break;
    if (ret != Z_OK && ret != Z_BUF_ERROR) return internalError("compressor failed");
  }
  out.resize(produced);
  return out;
}

ContentCoding negotiateAcceptEncoding(std::string_view value) {
  // q-values: -1 = not named.
  double gzip = -1, deflate = -1, identity = -1, star = -1;
  for (std::string_view e : elements(value)) {
    std::string_view coding = trim(e.substr(0, e.find(';')));
    double q = 1;
    bool valid = true;
    size_t semi = e.find(';');
    while (semi != std::string_view::npos) {
      std::string_view rest = e.substr(semi + 1);
      size_t next = rest.find(';');
      std::string_view param = trim(rest.substr(0, next));
      if (param.size() >= 2 && (param[0] == 'q' || param[0] == 'Q') && param[1] == '=') {
        // qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )
        std::string_view v = trim(param.substr(2));
        bool ok = !v.empty() && (v[0] == '0' || v[0] == '1') &&
                  (v.size() == 1 || (v[1] == '.' && v.size() <= 5));
        double parsed = ok ? v[0] - '0' : 0;
        double scale = 0.1;
        for (size_t i = 2; ok && i < v.size(); ++i, scale /= 10) {
          if (v[i] < '0' || v[i] > '9') ok = false;
          parsed += (v[i] - '0') * scale;
        }
        if (!ok || parsed > 1) valid = false;
        q = parsed;
      }
      semi = next == std::string_view::npos ? next : semi + 1 + next;
    }
    if (!valid) continue;  // a malformed element is ignored
    std::string c = lower(coding);
    if (c == "gzip" || c == "x-gzip") {
      gzip = std::max(gzip, q);
    } else if (c == "deflate") {
      deflate = std::max(deflate, q);
    } else if (c == "identity") {
      identity = std::max(identity, q);
    } else if (c == "*") {
      star = std::max(star, q);
    }
  }
  if (gzip < 0) gzip = star;
  if (deflate < 0) deflate = star;
  double best = std::max(gzip, deflate);
  if (best <= 0) return ContentCoding::kIdentity;
  if (identity > best) return ContentCoding::kIdentity;
  return gzip >= deflate ? ContentCoding::kGzip : ContentCoding::kDeflate;
}

}  // namespace surge::serving
