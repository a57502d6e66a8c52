#include "web/web.h"

#include <gtest/gtest.h>

#include <regex>
#include <string>

namespace surge::web {
namespace {

std::string header(const net::HttpResponse& r, const std::string& name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return "";
}

TEST(Web, ServesEachPageAndItsAssetsWithSecurityHeaders) {
  for (Page page : {Page::kAutoscaler, Page::kGateway}) {
    const std::string own = page == Page::kAutoscaler ? "/autoscaler.js" : "/gateway.js";
    const std::string other = page == Page::kAutoscaler ? "/gateway.js" : "/autoscaler.js";
    for (const std::string path : {"/", "/index.html", "/surge.css", "/surge.js", own.c_str()}) {
      auto r = serve(page, path);
      ASSERT_TRUE(r) << path;
      EXPECT_TRUE(isPagePath(page, path)) << path;
      EXPECT_EQ(r->status, 200);
      EXPECT_NE(header(*r, "Content-Type").find("charset=utf-8"), std::string::npos) << path;
      EXPECT_EQ(header(*r, "X-Content-Type-Options"), "nosniff") << path;
      EXPECT_EQ(header(*r, "Content-Security-Policy"), kContentSecurityPolicy) << path;
      EXPECT_FALSE(r->body.empty()) << path;
    }
    EXPECT_FALSE(serve(page, other)) << other;
    EXPECT_FALSE(isPagePath(page, other));
    EXPECT_FALSE(serve(page, "/backends"));
    EXPECT_EQ(header(*serve(page, "/"), "Content-Type"), "text/html; charset=utf-8");
    EXPECT_EQ(header(*serve(page, "/surge.js"), "Content-Type"), "text/javascript; charset=utf-8");
    EXPECT_EQ(header(*serve(page, "/surge.css"), "Content-Type"), "text/css; charset=utf-8");
  }
}

TEST(Web, CspForbidsInlineScriptAndOtherOrigins) {
  const std::string csp = kContentSecurityPolicy;
  EXPECT_NE(csp.find("default-src 'none'"), std::string::npos);
  EXPECT_NE(csp.find("script-src 'self'"), std::string::npos);
  EXPECT_EQ(csp.find("unsafe-inline"), std::string::npos);
  EXPECT_EQ(csp.find("unsafe-eval"), std::string::npos);
  EXPECT_EQ(csp.find("http"), std::string::npos);
}

TEST(Web, PagesHaveNoInlineScriptNoExternalReferenceAndAViewport) {
  for (Page page : {Page::kAutoscaler, Page::kGateway}) {
    const std::string html(pageHtml(page));
    EXPECT_NE(html.find("<meta name=\"viewport\""), std::string::npos);
    EXPECT_NE(html.find("<meta charset=\"utf-8\">"), std::string::npos);
    // Every <script> has a same-origin src and no body; no inline style or handler.
    std::regex script("<script([^>]*)>([^<]*)</script>");
    int scripts = 0;
    for (auto it = std::sregex_iterator(html.begin(), html.end(), script);
         it != std::sregex_iterator(); ++it) {
      ++scripts;
      EXPECT_NE((*it)[1].str().find("src=\"/"), std::string::npos) << (*it)[0];
      EXPECT_TRUE((*it)[2].str().empty()) << (*it)[0];
    }
    EXPECT_EQ(scripts, 2);
    EXPECT_EQ(html.find(" style="), std::string::npos);
    EXPECT_EQ(html.find(" onclick="), std::string::npos);
    for (std::string_view asset :
         {pageHtml(page), pageScript(page), commonScript(), stylesheet()}) {
      const std::string text(asset);
      EXPECT_EQ(text.find("http://"), text.find("http://www.w3.org/2000/svg")) << "external URL";
      EXPECT_EQ(text.find("https://"), std::string::npos);
      EXPECT_EQ(text.find("//cdn"), std::string::npos);
      // The DOM is built from text, never parsed from strings.
      EXPECT_EQ(text.find("innerHTML"), std::string::npos);
      EXPECT_EQ(text.find("outerHTML"), std::string::npos);
      EXPECT_EQ(text.find("insertAdjacentHTML"), std::string::npos);
      EXPECT_EQ(text.find("document.write"), std::string::npos);
      EXPECT_EQ(text.find("eval("), std::string::npos);
    }
  }
}

TEST(Web, JsonCarriesCharsetAndSecurityHeaders) {
  net::HttpResponse r = json(200, "{}");
  EXPECT_EQ(header(r, "Content-Type"), "application/json; charset=utf-8");
  EXPECT_EQ(header(r, "X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(r.body, "{}");
}

}  // namespace
}  // namespace surge::web
