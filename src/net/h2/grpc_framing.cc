#include "net/h2/grpc_framing.h"

#include <cctype>
#include <charconv>
#include <limits>

namespace surge::h2 {

Status GrpcMessageReader::feed(std::string_view data) {
  if (error_code_ != GrpcCode::kOk) return internalError("gRPC: stream already failed");
  if (offset_ > 0 && offset_ == buffer_.size()) {
    buffer_.clear();
    offset_ = 0;
  }
  // Check every prefix that completes in the new bytes before buffering a payload.
  buffer_.append(data);
  size_t pos = offset_;
  while (buffer_.size() - pos >= 5) {
    const auto* p = reinterpret_cast<const unsigned char*>(buffer_.data() + pos);
    if (p[0] != 0) {
      error_code_ = p[0] == 1 ? GrpcCode::kUnimplemented : GrpcCode::kInternal;
      return Status(StatusCode::kInvalidArgument,
                    p[0] == 1 ? "gRPC: compressed messages are not supported (grpc-encoding: "
                                "identity only)"
                              : "gRPC: invalid message flag");
    }
    const uint64_t len =
        (uint64_t{p[1]} << 24) | (uint64_t{p[2]} << 16) | (uint64_t{p[3]} << 8) | uint64_t{p[4]};
    if (len > max_) {
      error_code_ = GrpcCode::kResourceExhausted;
      return Status(StatusCode::kResourceExhausted, "gRPC: received message larger than max (" +
                                                        std::to_string(len) + " vs. " +
                                                        std::to_string(max_) + ")");
    }
    if (buffer_.size() - pos - 5 < len) break;
    pos += 5 + static_cast<size_t>(len);
  }
  return Status::ok();
}

std::optional<std::string> GrpcMessageReader::next() {
  if (error_code_ != GrpcCode::kOk || buffer_.size() - offset_ < 5) return std::nullopt;
  const auto* p = reinterpret_cast<const unsigned char*>(buffer_.data() + offset_);
  const size_t len =
      (size_t{p[1]} << 24) | (size_t{p[2]} << 16) | (size_t{p[3]} << 8) | size_t{p[4]};
  if (buffer_.size() - offset_ - 5 < len) return std::nullopt;
  std::string msg = buffer_.substr(offset_ + 5, len);
  offset_ += 5 + len;
  if (offset_ == buffer_.size()) {
    buffer_.clear();
    offset_ = 0;
  }
  return msg;
}

void appendGrpcFrame(std::string* out, std::string_view message) {
  const uint32_t n = static_cast<uint32_t>(message.size());
  out->push_back('\0');
  out->push_back(static_cast<char>(n >> 24));
  out->push_back(static_cast<char>(n >> 16));
  out->push_back(static_cast<char>(n >> 8));
  out->push_back(static_cast<char>(n));
  out->append(message);
}

std::string grpcFrame(std::string_view message) {
  std::string out;
  out.reserve(message.size() + 5);
  appendGrpcFrame(&out, message);
  return out;
}

StatusOr<Duration> parseGrpcTimeout(std::string_view v) {
  if (v.size() < 2 || v.size() > 9) {
    return invalidArgument("grpc-timeout: expected 1 to 8 digits and a unit (H, M, S, m, u, n)");
  }
  int64_t n = 0;
  for (size_t i = 0; i + 1 < v.size(); ++i) {
    if (v[i] < '0' || v[i] > '9') {
      return invalidArgument("grpc-timeout: expected 1 to 8 digits and a unit (H, M, S, m, u, n)");
    }
    n = n * 10 + (v[i] - '0');
  }
  int64_t unit_ns = 0;
  switch (v.back()) {
    case 'H':
      unit_ns = 3'600'000'000'000;
      break;
    case 'M':
      unit_ns = 60'000'000'000;
      break;
    case 'S':
      unit_ns = 1'000'000'000;
      break;
    case 'm':
      unit_ns = 1'000'000;
      break;
    case 'u':
      unit_ns = 1'000;
      break;
    case 'n':
      unit_ns = 1;
      break;
    default:
      return invalidArgument("grpc-timeout: unknown unit (expected H, M, S, m, u or n)");
  }
  // 99999999H does not fit in int64 nanoseconds: saturate (a deadline ~292 years away).
  if (n > std::numeric_limits<int64_t>::max() / unit_ns) return Duration::max();
  return Duration(n * unit_ns);
}

std::string grpcPercentEncode(std::string_view m) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(m.size());
  for (char ch : m) {
    auto c = static_cast<unsigned char>(ch);
    if (c >= 0x20 && c <= 0x7E && c != '%') {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xF]);
    }
  }
  return out;
}

std::string grpcPercentDecode(std::string_view v) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  std::string out;
  out.reserve(v.size());
  for (size_t i = 0; i < v.size(); ++i) {
    if (v[i] == '%' && i + 2 < v.size()) {
      int a = hex(v[i + 1]), b = hex(v[i + 2]);
      if (a >= 0 && b >= 0) {
        out.push_back(static_cast<char>(a * 16 + b));
        i += 2;
        continue;
      }
    }
    out.push_back(v[i]);
  }
  return out;
}

std::vector<Header> grpcTrailers(GrpcCode code, std::string_view message) {
  std::vector<Header> t{{"grpc-status", std::to_string(static_cast<int>(code))}};
  if (code != GrpcCode::kOk && !message.empty()) {
    t.push_back({"grpc-message", grpcPercentEncode(message)});
  }
  return t;
}

std::vector<Header> grpcResponseHeaders() {
  return {{":status", "200"}, {"content-type", "application/grpc"}};
}

std::vector<Header> grpcTrailersOnly(GrpcCode code, std::string_view message) {
  std::vector<Header> h = grpcResponseHeaders();
  for (Header& t : grpcTrailers(code, message)) h.push_back(std::move(t));
  return h;
}

const std::string* findHeader(const std::vector<Header>& headers, std::string_view name) {
  for (const Header& h : headers) {
    if (h.name == name) return &h.value;
  }
  return nullptr;
}

bool isGrpcRequest(const std::vector<Header>& headers) {
  const std::string* method = findHeader(headers, ":method");
  const std::string* type = findHeader(headers, "content-type");
  if (method == nullptr || *method != "POST" || type == nullptr) return false;
  std::string_view t = *type;
  constexpr std::string_view kGrpc = "application/grpc";
  if (t.size() < kGrpc.size()) return false;
  for (size_t i = 0; i < kGrpc.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(t[i])) != kGrpc[i]) return false;
  }
  return t.size() == kGrpc.size() || t[kGrpc.size()] == '+' || t[kGrpc.size()] == ';';
}

int grpcStatusOf(const std::vector<Header>& headers) {
  const std::string* v = findHeader(headers, "grpc-status");
  if (v == nullptr) return -1;
  int code = -1;
  auto r = std::from_chars(v->data(), v->data() + v->size(), code);
  if (r.ec != std::errc() || r.ptr != v->data() + v->size() || code < 0) return -1;
  return code;
}

}  // namespace surge::h2
