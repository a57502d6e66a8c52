#include "net/url.h"

#include <charconv>

namespace surge::net {
namespace {

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

Status malformedUrl(std::string_view url, const std::string& why) {
  return invalidArgument("malformed URL '" + std::string(url) + "': " + why);
}

}  // namespace

// ---- Url ----------------------------------------------------------------------------------------

std::string Url::hostPort() const {
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return h + ":" + std::to_string(port);
}

std::string Url::origin() const {
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  if (explicit_port) h += ":" + std::to_string(port);
  return scheme + "://" + h;
}

std::string Url::str() const { return origin() + target; }

StatusOr<Url> parseUrl(std::string_view text, std::string_view default_scheme) {
  std::string_view rest = text;
  Url out;
  size_t scheme_end = rest.find("://");
  if (scheme_end != std::string_view::npos) {
    std::string scheme(rest.substr(0, scheme_end));
    for (char& c : scheme) c = lower(c);
    if (scheme != "http" && scheme != "https") {
      return invalidArgument("unsupported URL scheme '" + std::string(rest.substr(0, scheme_end)) +
                             "' in '" + std::string(text) + "' (supported: http, https)");
    }
    out.scheme = scheme;
    rest.remove_prefix(scheme_end + 3);
  } else if (!default_scheme.empty()) {
    out.scheme = std::string(default_scheme);
  } else {
    return malformedUrl(text, "no scheme (expected http:// or https://)");
  }
  out.port = out.scheme == "https" ? 443 : 80;
  size_t slash = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, slash);
  std::string_view target = slash == std::string_view::npos ? "" : rest.substr(slash);
  if (size_t hash = target.find('#'); hash != std::string_view::npos) target = target.substr(0, hash);
  out.target = target.empty() ? "/" : std::string(target);
  if (out.target[0] == '?') out.target.insert(0, "/");
  for (char c : out.target) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= ' ' || u == 0x7f) {
      return malformedUrl(text, "a space or control character in the path or query");
    }
    if (u >= 0x80) {  // curl would send it raw; servers disagree on what raw UTF-8 means
      return malformedUrl(text, "a non-ASCII byte in the path or query (percent-encode it)");
    }
  }
  if (authority.find('@') != std::string_view::npos) {
    return malformedUrl(text, "user info is not supported");
  }
  std::string_view port_text;
  bool has_colon = false;
  bool bracketed = false;
  if (!authority.empty() && authority[0] == '[') {
    bracketed = true;
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return malformedUrl(text, "unterminated '['");
    out.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') return malformedUrl(text, "junk after ']'");
      has_colon = true;
      port_text = after.substr(1);
    }
    if (out.host.find(':') == std::string::npos) {
      return malformedUrl(text, "'[...]' must hold an IPv6 address");
    }
  } else {
    size_t colon = authority.rfind(':');
    out.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      has_colon = true;
      port_text = authority.substr(colon + 1);
    }
    if (out.host.find(':') != std::string::npos) {
      return malformedUrl(text, "an IPv6 address must be in brackets ('[::1]:9090')");
    }
  }
  if (out.host.empty()) return malformedUrl(text, "no host");
  // '%' only inside brackets, as the IPv6 zone ("[fe80::1%25eth0]", RFC 6874): a percent-encoded
  // name ("a%20b") is not a host.
  for (char c : out.host) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '.' || c == '_' || c == ':' || (c == '%' && bracketed);
    if (!ok) return malformedUrl(text, "bad character in the host");
  }
  if (has_colon) {
    unsigned port = 0;
    auto [p, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (port_text.empty() || ec != std::errc() || p != port_text.data() + port_text.size() ||
        port == 0 || port > 65535) {
      return malformedUrl(text, "bad port '" + std::string(port_text) + "'");
    }
    out.port = static_cast<uint16_t>(port);
    out.explicit_port = true;
  }
  return out;
}

std::string queryEscape(std::string_view s) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size() * 3);
  for (unsigned char c : s) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else if (c == ' ') {
      out.push_back('+');
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

std::string pathEscape(std::string_view s) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size() * 3);
  const bool dots = s == "." || s == "..";
  for (unsigned char c : s) {
    if (!dots && ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '_' || c == '.' || c == '~')) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

}  // namespace surge::net
