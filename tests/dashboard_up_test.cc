// The autoscaler's dashboard in a real browser (headless Chromium, tests/dashboard_browser.h):
// `surge up --synthetic` with its two replicas at first (surge up's floor); the page (GET / of
// the autoscaler admin) shows them as ready; load through the gateway makes the autoscaler scale
// out, and the page that stayed open shows the new replica and the scale event without a reload.
// The HPA's name is hostile HTML: it must appear as text, never as an element.
// SURGE_DASHBOARD_SCREENSHOTS=DIR also writes the phone and desktop screenshots of docs/images.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <cstdlib>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "dashboard_browser.h"
#include "support/fixtures.h"
#include "support/http_client.h"
#include "support/process.h"
#include "support/wait.h"

namespace surge::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

constexpr const char* kPolicy = R"(
sync_period: 1s
hpa:
  metadata: {name: '<img src=x id=pwn onerror="document.title=1">'}
  spec:
    minReplicas: 2
    maxReplicas: 3
    metrics:
      - type: Pods
        pods:
          metric: {name: requests_per_second}
          target: {type: AverageValue, averageValue: "10"}
    behavior:
      scaleUp: {stabilizationWindowSeconds: 0}
      scaleDown: {stabilizationWindowSeconds: 300}
)";

// Replicas on the open page: [[name, state], ...] from the rendered table.
constexpr const char* kRows =
    "Array.from(document.querySelectorAll('#replicas tr.replica'))"
    ".map(r => [r.dataset.name, r.dataset.state])";

class DashboardUp : public ::testing::Test {
 protected:
  void TearDown() override { up_.stop(15000ms); }

  json dashboard() {
    HttpResult r = httpGet(scaler_port_, "/api/dashboard");
    if (r.status != 200) return json();
    return json::parse(r.body, nullptr, false);
  }
  int readyReplicas() {
    json d = dashboard();
    int n = 0;
    if (d.is_object() && d["replicas"].is_array()) {
      for (const auto& r : d["replicas"]) n += r.value("state", "") == "ready";
    }
    return n;
  }

  ScratchDir dir_{"dashboard-up"};
  ServerProcess up_;
  int gw_port_ = 0, scaler_port_ = 0;
};

TEST_F(DashboardUp, ShowsTheReplicasAndFollowsAScaleOutLive) {
  SURGE_REQUIRE_CHROMIUM();
  dir_.write("autoscale.yaml", kPolicy);
  ASSERT_TRUE(startUp(up_, dir_, {"--config", dir_.file("autoscale.yaml")})) << up_.log();
  gw_port_ = up_.port();
  scaler_port_ = up_.portAfter("autoscaler");
  const std::string url = "http://127.0.0.1:" + std::to_string(scaler_port_) + "/";
  ASSERT_TRUE(waitUntil([&] { return readyReplicas() == 2; }, 60s, 100ms, "two ready replicas"))
      << dashboard().dump(2) << "\n"
      << up_.log();

  // A fresh load: the rendered DOM has the replica, its state and the page's structure.
  std::string dom = dumpDom(dir_, url);
  EXPECT_EQ(countOf(dom, "<tr class=\"replica\""), 2) << dom;
  EXPECT_NE(dom.find("data-name=\"replica-1\" data-state=\"ready\""), std::string::npos) << dom;
  EXPECT_NE(dom.find("data-name=\"replica-2\" data-state=\"ready\""), std::string::npos) << dom;
  EXPECT_NE(dom.find("live · updated"), std::string::npos) << dom;
  EXPECT_NE(dom.find("id=\"traffic\""), std::string::npos);
  EXPECT_NE(dom.find("<svg"), std::string::npos);
  // The hostile name is text: escaped in the serialized DOM, never an element.
  EXPECT_EQ(dom.find("<img"), std::string::npos) << dom;
  EXPECT_NE(dom.find("&lt;img src=x id=pwn"), std::string::npos) << dom;

  // The same page kept open.
  Browser browser;
  ASSERT_TRUE(browser.open(dir_, url));
  ASSERT_TRUE(waitUntil(
      [&] {
        json rows = browser.evaluate(kRows);
        return rows.is_array() && rows.size() == 2 && rows[0][1] == "ready" &&
               rows[1][1] == "ready";
      },
      20s, 100ms, "the open page shows two ready replicas"))
      << browser.evaluate(kRows).dump() << " " << browser.lastError() << "\n"
      << browser.log();
  EXPECT_EQ(browser.evaluate("document.getElementById('pwn') === null"), true);

  // Scale out: 60 req/s against 10 per replica wants 6, capped at 3 (the page has not reloaded).
  Process load;
  std::string err;
  ASSERT_TRUE(
      load.start({surgeBinary(), "load", "--url", "http://127.0.0.1:" + std::to_string(gw_port_),
                  "--model", "mlp", "--rate", "60", "--duration", "60s", "--timeout", "10s"},
                 &err, dir_.file("load.log")))
      << err;
  ASSERT_TRUE(waitUntil(
      [&] {
        json rows = browser.evaluate(kRows);
        int ready = 0;
        if (rows.is_array()) {
          for (const auto& r : rows) ready += r[1] == "ready";
        }
        return ready == 3;
      },
      60s, 200ms, "the open page shows a third ready replica (no reload)"))
      << browser.evaluate(kRows).dump() << "\n"
      << dashboard().dump(2) << "\n"
      << up_.log();
  // The rescale event and its reason, and the replicas' own numbers.
  EXPECT_TRUE(waitUntil(
      [&] {
        json text = browser.evaluate("document.getElementById('events').textContent");
        return text.is_string() &&
               text.get<std::string>().find("SuccessfulRescale") != std::string::npos &&
               text.get<std::string>().find("above target") != std::string::npos;
      },
      10s, 100ms, "the scale event on the page"))
      << browser.evaluate("document.getElementById('events').textContent").dump();
  EXPECT_TRUE(waitUntil(
      [&] {
        json rps = browser.evaluate(
            "Array.from(document.querySelectorAll('#replicas tr.replica td[data-label=\"req/s\"]'))"
            ".map(td => td.textContent)");
        if (!rps.is_array()) return false;
        for (const auto& v : rps) {
          if (v.is_string() && v != "—" && std::atof(v.get<std::string>().c_str()) > 0) return true;
        }
        return false;
      },
      20s, 200ms, "a replica's request rate on the page"));
  EXPECT_EQ(browser.evaluate("document.getElementById('pwn') === null"), true);

  if (const char* shots = std::getenv("SURGE_DASHBOARD_SCREENSHOTS"); shots && *shots) {
    EXPECT_TRUE(screenshot(dir_, url, std::string(shots) + "/autoscaler-desktop.png", 1280, 1300));
    EXPECT_TRUE(screenshot(dir_, url, std::string(shots) + "/autoscaler-phone.png", 390, 844));
  }
  browser.close();
  load.stop(2000ms);
}

}  // namespace
}  // namespace surge::testing
