// The gateway's stats page in a real browser (headless Chromium, tests/dashboard_browser.h):
// `surge gateway` with an admin token and two `surge upstream` backends.
//   - without the token the page loads (it holds no data) but shows no backend and says the
//     admin API answered 401;
//   - with the token (URL fragment) it shows both backends as healthy, and a backend added with a
//     hostile zone shows that zone as text, never as an element;
//   - a drain through the API (a request in flight keeps it draining) shows as draining on a
//     reload; the page's Undrain button puts it back, its Drain button drains the other one.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "dashboard_browser.h"
#include "support/fixtures.h"
#include "support/http_client.h"
#include "support/socket_client.h"
#include "support/wait.h"

namespace surge::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

constexpr const char* kToken = "s3cret-token";

class DashboardGateway : public ::testing::Test {
 protected:
  void TearDown() override {
    if (hang_fd_ >= 0) ::close(hang_fd_);
    gateway_.stop(5000ms);
    a_.stop(2000ms);
    b_.stop(2000ms);
  }

  HttpResult admin(const std::string& method, const std::string& target,
                   const std::string& body = "") {
    return httpRequest(
        admin_port_, method, target,
        {{"Authorization", std::string("Bearer ") + kToken}, {"Content-Type", "application/json"}},
        body);
  }
  json backend(const std::string& address) {
    HttpResult r = admin("GET", "/backends/" + address);
    return r.status == 200 ? json::parse(r.body, nullptr, false) : json();
  }

  ScratchDir dir_{"dashboard-gateway"};
  ServerProcess a_, b_, gateway_;
  int admin_port_ = 0;
  int hang_fd_ = -1;
};

TEST_F(DashboardGateway, ShowsBackendsNeedsTheTokenAndDrainsAndUndrains) {
  SURGE_REQUIRE_CHROMIUM();
  ASSERT_TRUE(startUpstream(a_, dir_, "a"));
  ASSERT_TRUE(startUpstream(b_, dir_, "b"));
  const std::string addr_a = "127.0.0.1:" + std::to_string(a_.port());
  const std::string addr_b = "127.0.0.1:" + std::to_string(b_.port());
  ASSERT_TRUE(startGateway(gateway_, dir_,
                           std::string(kLocalGateway) + "admin_token: " + kToken + "\n" +
                               backendsYaml({a_.port(), b_.port()})))
      << gateway_.log();
  admin_port_ = gateway_.portAfter("admin");
  const std::string page = "http://127.0.0.1:" + std::to_string(admin_port_) + "/";

  // The page and its assets need no token; the API does.
  ASSERT_EQ(httpGet(admin_port_, "/").status, 200);
  HttpResult unauthorized = httpGet(admin_port_, "/backends");
  ASSERT_EQ(unauthorized.status, 401);
  EXPECT_EQ(unauthorized.headers["x-content-type-options"], "nosniff");

  // Without the token: no backend, and the page says why.
  std::string dom = dumpDom(dir_, page);
  EXPECT_EQ(countOf(dom, "<tr class=\"backend\""), 0) << dom;
  EXPECT_NE(dom.find("401: missing or wrong bearer token"), std::string::npos) << dom;
  EXPECT_NE(dom.find("needs the admin token"), std::string::npos) << dom;

  // A backend whose zone is hostile HTML (nothing listens there: it only has to be listed).
  ASSERT_EQ(
      admin(
          "POST", "/backends",
          R"({"address": "127.0.0.1:9", "zone": "<img src=x id=pwn onerror=\"document.title=1\">"})")
          .status,
      201);

  // With the token in the fragment: the backends, healthy.
  dom = dumpDom(dir_, page + "#token=" + kToken);
  EXPECT_EQ(countOf(dom, "<tr class=\"backend\""), 3) << dom;
  EXPECT_NE(dom.find("data-address=\"" + addr_a + "\" data-health=\"healthy\""), std::string::npos)
      << dom;
  EXPECT_NE(dom.find("data-address=\"" + addr_b + "\" data-health=\"healthy\""), std::string::npos)
      << dom;
  EXPECT_NE(dom.find("token accepted"), std::string::npos) << dom;
  EXPECT_EQ(dom.find("<img"), std::string::npos) << dom;
  EXPECT_NE(dom.find("&lt;img src=x id=pwn"), std::string::npos) << dom;
  EXPECT_EQ(dom.find(kToken), std::string::npos) << "the token must not be in the DOM";
  ASSERT_EQ(admin("DELETE", "/backends/127.0.0.1:9").status, 200);

  // A drain through the API while a request is in flight on a: a stays, draining.
  hang_fd_ = connectTo(gateway_.port());
  ASSERT_GE(hang_fd_, 0);
  ASSERT_TRUE(sendAll(hang_fd_, "GET /hang HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(waitUntil(
      [&] {
        json a = backend(addr_a), b = backend(addr_b);
        return a.value("in_flight", 0) + b.value("in_flight", 0) == 1;
      },
      10s, 20ms, "the request in flight"));
  const std::string busy = backend(addr_a).value("in_flight", 0) == 1 ? addr_a : addr_b;
  const std::string idle = busy == addr_a ? addr_b : addr_a;
  HttpResult drained = admin("DELETE", "/backends/" + busy + "?drain=true");
  ASSERT_EQ(drained.status, 202) << drained.body;
  dom = dumpDom(dir_, page + "#token=" + kToken);
  EXPECT_NE(dom.find("data-address=\"" + busy + "\" data-health=\"draining\""), std::string::npos)
      << dom;
  EXPECT_NE(dom.find("data-address=\"" + idle + "\" data-health=\"healthy\""), std::string::npos)
      << dom;

  // The page's buttons: Undrain the draining one (POST /backends), Drain the other.
  Browser browser;
  ASSERT_TRUE(browser.open(dir_, page + "#token=" + kToken));
  auto rowHealth = [&](const std::string& address) {
    json h = browser.evaluate("(document.querySelector('tr.backend[data-address=\"" + address +
                              "\"]') || {dataset: {}}).dataset.health || ''");
    return h.is_string() ? h.get<std::string>() : std::string();
  };
  ASSERT_TRUE(waitUntil([&] { return rowHealth(busy) == "draining"; }, 20s, 100ms,
                        "the open page shows the drain"))
      << browser.lastError() << "\n"
      << browser.log();
  ASSERT_EQ(browser.evaluate("document.querySelector('tr.backend[data-address=\"" + busy +
                             "\"] button.undrain').click(), true"),
            true);
  ASSERT_TRUE(waitUntil([&] { return backend(busy).value("health", "") == "healthy"; }, 10s, 50ms,
                        "undrained through the page"))
      << backend(busy).dump();
  EXPECT_TRUE(waitUntil([&] { return rowHealth(busy) == "healthy"; }, 10s, 100ms,
                        "the page shows it back"));
  json action = browser.evaluate("document.getElementById('action').textContent");
  EXPECT_NE(action.dump().find("back in rotation"), std::string::npos) << action.dump();

  ASSERT_EQ(browser.evaluate("document.querySelector('tr.backend[data-address=\"" + idle +
                             "\"] button.drain').click(), true"),
            true);
  // Nothing in flight on it: the gateway removes it at once.
  ASSERT_TRUE(waitUntil([&] { return admin("GET", "/backends/" + idle).status == 404; }, 10s, 50ms,
                        "drained through the page"));
  EXPECT_TRUE(waitUntil([&] { return rowHealth(idle).empty(); }, 10s, 100ms,
                        "the page drops the drained backend"));

  // A wrong token typed into the page: the API's 401 is shown, nothing is drained.
  ASSERT_EQ(browser.evaluate("document.getElementById('token').value = 'wrong';"
                             "document.querySelector('form.token button').click(), true"),
            true);
  EXPECT_TRUE(waitUntil(
      [&] {
        json t = browser.evaluate("document.getElementById('auth').textContent");
        return t.is_string() && t.get<std::string>().find("401") != std::string::npos;
      },
      10s, 100ms, "the page reports the 401"));
  EXPECT_EQ(backend(busy).value("health", ""), "healthy");

  if (const char* shots = std::getenv("SURGE_DASHBOARD_SCREENSHOTS"); shots && *shots) {
    ASSERT_EQ(admin("POST", "/backends", "{\"address\": \"" + idle + "\", \"zone\": \"b\"}").status,
              201);
    EXPECT_TRUE(screenshot(dir_, page + "#token=" + kToken,
                           std::string(shots) + "/gateway-desktop.png", 1280, 700));
    EXPECT_TRUE(screenshot(dir_, page + "#token=" + kToken,
                           std::string(shots) + "/gateway-phone.png", 390, 844));
  }
}

}  // namespace
}  // namespace surge::testing
