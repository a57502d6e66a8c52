// The admin pages: the autoscaler's live dashboard (GET / of `surge autoscale` / `surge up`'s
// autoscaler admin) and the gateway's stats page (GET / of the gateway admin). Plain HTML + JS +
// SVG compiled into the binary (assets.cc); the page scripts poll the admin's JSON endpoints and
// build the DOM with textContent only (names, reasons and addresses are never parsed as HTML).
// Every response carries Content-Type with charset=utf-8, X-Content-Type-Options: nosniff, a
// strict Content-Security-Policy (no inline script or style, nothing from another origin),
// Referrer-Policy: no-referrer and Cache-Control: no-store. Decisions: docs/design/dashboard.md.
// Thread-safety: free functions over constant data.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "net/http_message.h"

namespace surge::web {

enum class Page { kAutoscaler, kGateway };

// The Content-Security-Policy every page response carries.
inline constexpr const char* kContentSecurityPolicy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

// The page and its assets for GET/HEAD of `path`: "/" (also "/index.html"), "/surge.css",
// "/surge.js" and the page's own script ("/autoscaler.js" or "/gateway.js"). nullopt for any
// other path (the caller's API answers it).
std::optional<net::HttpResponse> serve(Page page, std::string_view path);

// True when `path` is one that serve() answers for `page`.
bool isPagePath(Page page, std::string_view path);

// Adds the security headers above (not Content-Type) to `r`.
void addSecurityHeaders(net::HttpResponse& r);

// A JSON body with "application/json; charset=utf-8" and the security headers.
net::HttpResponse json(int status, std::string body);

// The raw assets (tests check them).
std::string_view stylesheet();
std::string_view commonScript();
std::string_view pageScript(Page page);
std::string_view pageHtml(Page page);

}  // namespace surge::web
