#include "web/web.h"

namespace surge::web {
namespace {

net::HttpResponse asset(std::string_view body, const char* content_type) {
  net::HttpResponse r;
  r.status = 200;
  r.headers.emplace_back("Content-Type", content_type);
  addSecurityHeaders(r);
  r.body.assign(body.data(), body.size());
  return r;
}

std::string_view pageScriptPath(Page page) {
  return page == Page::kAutoscaler ? "/autoscaler.js" : "/gateway.js";
}

}  // namespace

void addSecurityHeaders(net::HttpResponse& r) {
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  r.headers.emplace_back("Content-Security-Policy", kContentSecurityPolicy);
  r.headers.emplace_back("Referrer-Policy", "no-referrer");
  r.headers.emplace_back("Cache-Control", "no-store");
  r.headers.emplace_back("X-Frame-Options", "DENY");
}

net::HttpResponse json(int status, std::string body) {
  net::HttpResponse r;
  r.status = status;
  r.headers.emplace_back("Content-Type", "application/json; charset=utf-8");
  addSecurityHeaders(r);
  r.body = std::move(body);
  return r;
}

bool isPagePath(Page page, std::string_view path) {
  return path == "/" || path == "/index.html" || path == "/surge.css" || path == "/surge.js" ||
         path == pageScriptPath(page);
}

std::optional<net::HttpResponse> serve(Page page, std::string_view path) {
  if (path == "/" || path == "/index.html") {
    return asset(pageHtml(page), "text/html; charset=utf-8");
  }
  if (path == "/surge.css") return asset(stylesheet(), "text/css; charset=utf-8");
  if (path == "/surge.js") return asset(commonScript(), "text/javascript; charset=utf-8");
  if (path == pageScriptPath(page)) {
    return asset(pageScript(page), "text/javascript; charset=utf-8");
  }
  return std::nullopt;
}

}  // namespace surge::web
