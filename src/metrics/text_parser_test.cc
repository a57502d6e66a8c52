#include "metrics/text_parser.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "metrics/registry.h"

namespace surge::metrics {
namespace {

ParsedPage parse(std::string_view text) {
  auto p = parseText(text);
  EXPECT_TRUE(p.isOk()) << p.status().toString();
  return p.isOk() ? *p : ParsedPage{};
}

std::string parseError(std::string_view text) {
  auto p = parseText(text);
  EXPECT_FALSE(p.isOk());
  return p.status().message();
}

TEST(TextParser, RoundTripsARenderedRegistry) {
  Registry r;
  auto& req = r.counter("surge_requests_total", "Requests\nhandled \\ all.", {"backend", "code"});
  req.labels({"a:1", "2xx"}).inc(40);
  req.labels({"a:1", "5xx"}).inc(2);
  req.labels({"we\"ird\\x\ny", "2xx"}).inc(0.25);
  r.gauge("surge_queue_depth", "Queue.").get().set(-std::numeric_limits<double>::infinity());
  auto& h = r.histogram("surge_latency_seconds", "Latency.", {0.1, 1}, {"backend"});
  for (double v : {0.05, 0.5, 0.5, 5.0}) h.labels({"a:1"}).observe(v);

  ParsedPage page = parse(r.render());
  EXPECT_EQ(page.types.at("surge_requests_total"), "counter");
  EXPECT_EQ(page.types.at("surge_latency_seconds"), "histogram");
  EXPECT_EQ(page.help.at("surge_requests_total"), "Requests\nhandled \\ all.");
  EXPECT_EQ(*page.value("surge_requests_total", {{"backend", "a:1"}, {"code", "5xx"}}), 2);
  EXPECT_EQ(*page.value("surge_requests_total", {{"backend", "we\"ird\\x\ny"}}), 0.25);
  EXPECT_DOUBLE_EQ(page.sum("surge_requests_total"), 42.25);
  EXPECT_DOUBLE_EQ(page.sum("surge_requests_total", {{"backend", "a:1"}}), 42);
  EXPECT_EQ(page.find("surge_requests_total", {{"code", "2xx"}}).size(), 2u);
  EXPECT_TRUE(std::isinf(*page.value("surge_queue_depth")));
  EXPECT_FALSE(page.value("absent").has_value());
  EXPECT_EQ(page.sum("absent"), 0);
  EXPECT_EQ(*page.value("surge_latency_seconds_bucket", {{"le", "+Inf"}}), 4);
  EXPECT_EQ(*page.value("surge_latency_seconds_count"), 4);
  EXPECT_DOUBLE_EQ(*page.value("surge_latency_seconds_sum"), 6.05);
  // Median: rank 2 of 4 falls in (0.1, 1] holding 2 → 0.1 + 0.9 * (1/2).
  EXPECT_DOUBLE_EQ(*page.quantile(0.5, "surge_latency_seconds"), 0.55);
  EXPECT_DOUBLE_EQ(*page.quantile(0.99, "surge_latency_seconds"), 1);  // in +Inf: highest bound
  EXPECT_FALSE(page.quantile(0.5, "surge_latency_seconds", {{"backend", "zz"}}).has_value());
}

TEST(TextParser, AcceptsWhatOtherClientsWrite) {
  ParsedPage page = parse(
      "# A free comment\n"
      "\n"
      "# TYPE up gauge\n"
      "up 1 1700000000000\n"
      "http_requests_total{method=\"post\",code=\"200\",} 1027\r\n"
      "  spaced { a = \"1\" , b=\"x\\q\" }   3.5e2  \n"
      "nan_metric NaN\n"
      "inf_metric Inf\n");
  ASSERT_EQ(page.samples.size(), 5u);
  EXPECT_EQ(*page.samples[0].timestamp_ms, 1700000000000);
  EXPECT_EQ(page.samples[1].labels.size(), 2u);
  EXPECT_EQ(*page.samples[1].label("code"), "200");
  EXPECT_EQ(page.samples[2].value, 350);
  EXPECT_EQ(*page.samples[2].label("b"), "x\\q");
  EXPECT_TRUE(std::isnan(page.samples[3].value));
  EXPECT_TRUE(std::isinf(page.samples[4].value));
  EXPECT_EQ(page.samples[2].label("zz"), nullptr);
}

TEST(TextParser, ErrorsNameTheLine) {
  EXPECT_EQ(parseError("ok 1\nbad{code 1}\n"), "line 2: expected '=' after label name 'code'");
  EXPECT_EQ(parseError("x{a=\"1\"} one\n"), "line 1: invalid sample value 'one'");
  EXPECT_EQ(parseError("x{a=\"1} 2\n"), "line 1: unterminated label value");
  EXPECT_EQ(parseError("x{a=\"1\" b=\"2\"} 2\n"),
            "line 1: expected ',' or '}' after a label value");
  EXPECT_EQ(parseError("x{a=\"1\",a=\"2\"} 2\n"), "line 1: duplicate label 'a'");
  EXPECT_EQ(parseError("x 1 2 3\n"), "line 1: unexpected text after the timestamp");
  EXPECT_EQ(parseError("x 1 soon\n"), "line 1: invalid timestamp 'soon'");
  EXPECT_EQ(parseError("# TYPE x widget\n"), "line 1: unknown metric type 'widget'");
  EXPECT_EQ(parseError("{a=\"1\"} 2\n"), "line 1: expected a metric name");
  EXPECT_EQ(parseError("x\n"), "line 1: invalid sample value ''");
}

TEST(HistogramQuantile, MatchesPrometheus) {
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<std::pair<double, double>> b = {{0.1, 10}, {0.5, 30}, {1, 40}, {inf, 40}};
  EXPECT_DOUBLE_EQ(*histogramQuantile(0.25, b), 0.1);             // rank 10: top of bucket 1
  EXPECT_DOUBLE_EQ(*histogramQuantile(0.5, b), 0.1 + 0.4 * 0.5);  // rank 20: half of (0.1, 0.5]
  EXPECT_DOUBLE_EQ(*histogramQuantile(0.1, b), 0.04);             // from 0 within the first bucket
  EXPECT_DOUBLE_EQ(*histogramQuantile(1, b), 1);
  EXPECT_EQ(*histogramQuantile(-0.1, b), -inf);
  EXPECT_EQ(*histogramQuantile(1.1, b), inf);
  EXPECT_TRUE(std::isnan(*histogramQuantile(std::nan(""), b)));
  std::vector<std::pair<double, double>> tail = {{1, 1}, {inf, 10}};
  EXPECT_DOUBLE_EQ(*histogramQuantile(0.9, tail), 1);  // rank in +Inf: highest finite bound
  std::vector<std::pair<double, double>> negative = {{-1, 5}, {inf, 5}};
  EXPECT_DOUBLE_EQ(*histogramQuantile(0.5, negative), -1);
  std::vector<std::pair<double, double>> skewed = {{1, 5}, {2, 4}, {inf, 6}};  // not monotonic
  EXPECT_DOUBLE_EQ(*histogramQuantile(0.5, skewed), 0.6);  // rank 3 of 6 within (0, 1] holding 5
  EXPECT_FALSE(histogramQuantile(0.5, {{1, 0}, {inf, 0}}).has_value());
  EXPECT_FALSE(histogramQuantile(0.5, {{inf, 3}}).has_value());
  EXPECT_FALSE(histogramQuantile(0.5, {{1, 3}, {2, 3}}).has_value());
}

}  // namespace
}  // namespace surge::metrics
