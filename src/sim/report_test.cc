// The chart of `surge sim`: every configuration distinguishable (colour and dash pattern),
// rejections and SLO-violation minutes shown, clipped latencies marked with their real peak.
#include "sim/report.h"

#include <gtest/gtest.h>

#include <regex>
#include <set>
#include <string>
#include <vector>

namespace surge::sim {
namespace {

// A run of `n` one-minute intervals with p99 `slo_ms[i]` and `rejected[i]` rejections.
std::vector<IntervalRow> series(const std::vector<double>& slo_ms,
                                const std::vector<uint64_t>& rejected, double target_ms) {
  std::vector<IntervalRow> out;
  for (size_t i = 0; i < slo_ms.size(); ++i) {
    IntervalRow r;
    r.t_s = 60.0 * static_cast<double>(i + 1);
    r.arrival_rps = 100;
    r.offered_rps = 100;
    r.replicas = 2;
    r.desired = 2;
    r.slo_ms = slo_ms[i];
    r.p99_ms = slo_ms[i];
    r.rejected = rejected[i];
    r.slo_violated = slo_ms[i] > target_ms || rejected[i] > 0;
    out.push_back(r);
  }
  return out;
}

// The attribute `attr` of the polyline with class "`cls` run-`i`".
std::string polylineAttr(const std::string& svg, const std::string& cls, size_t i,
                         const std::string& attr) {
  std::string key = "<polyline class=\"" + cls + " run-" + std::to_string(i) + "\"";
  size_t at = svg.find(key);
  if (at == std::string::npos) return "<missing polyline>";
  size_t end = svg.find("/>", at);
  std::string tag = svg.substr(at, end - at);
  size_t a = tag.find(" " + attr + "=\"");
  if (a == std::string::npos) return "";
  a += attr.size() + 3;
  return tag.substr(a, tag.find('"', a) - a);
}

TEST(SimChart, EveryRunHasItsOwnColourAndDashPattern) {
  auto a = series({10, 20, 30}, {0, 0, 0}, 100);
  auto b = a;  // identical values: b would hide a without distinct styles
  auto c = a;
  std::string svg = chartSvg({"hpa", "predictive", "third"}, {&a, &b, &c}, 100, "p99");
  std::set<std::string> colours, dashes;
  for (size_t i = 0; i < 3; ++i) {
    colours.insert(polylineAttr(svg, "latency", i, "stroke"));
    dashes.insert(polylineAttr(svg, "latency", i, "stroke-dasharray"));
  }
  EXPECT_EQ(colours.size(), 3u) << svg;
  EXPECT_EQ(dashes.size(), 3u) << svg;
  EXPECT_EQ(colours.count("<missing polyline>"), 0u);
  // The first run is drawn wider than the last, so it shows around a line on top of it.
  EXPECT_GT(std::stod(polylineAttr(svg, "latency", 0, "stroke-width")),
            std::stod(polylineAttr(svg, "latency", 2, "stroke-width")));
  // The legend repeats each style.
  EXPECT_NE(svg.find("<g class=\"legend run-2\">"), std::string::npos);
  EXPECT_EQ(svg.find("clip-marker"), std::string::npos) << "nothing is clipped";
  EXPECT_NE(svg.find("rejected (req/s) \xe2\x80\x94 none"), std::string::npos);
}

TEST(SimChart, ClippedLatencyIsMarkedWithItsPeak) {
  // Target 100 ms: the axis stops at 500 ms (4× the target, rounded up); 837 ms is clipped.
  auto a = series({50, 837, 600, 40}, {0, 0, 0, 0}, 100);
  auto b = series({50, 60, 70, 80}, {0, 0, 0, 0}, 100);
  std::string svg = chartSvg({"hpa", "predictive"}, {&a, &b}, 100, "p99");
  EXPECT_NE(svg.find("axis clipped at 500 ms, peak 837 ms"), std::string::npos) << svg;
  EXPECT_NE(svg.find("<g class=\"clip-marker run-0\""), std::string::npos);
  EXPECT_EQ(svg.find("clip-marker run-1"), std::string::npos);  // b is never clipped
  EXPECT_NE(svg.find(">peak 837 ms (hpa)</text>"), std::string::npos);
  // One edge marker per clipped interval (837 and 600), plus the peak's arrow.
  size_t start = svg.find("<g class=\"clip-marker run-0\"");
  std::string group = svg.substr(start, svg.find("</g>", start) - start);
  size_t paths = 0;
  for (size_t p = group.find("<path"); p != std::string::npos; p = group.find("<path", p + 1)) {
    ++paths;
  }
  EXPECT_EQ(paths, 3u) << group;
  // The legend gives the real peak too.
  EXPECT_NE(svg.find("peak p99 837 ms"), std::string::npos);
  EXPECT_EQ(std::count(svg.begin(), svg.end(), '<'), std::count(svg.begin(), svg.end(), '>'));
}

TEST(SimChart, TimeTicksFallOnWholeStepsAndSayTheirExactTime) {
  // 20 one-minute intervals: ticks every 5 minutes, labelled exactly (not 3m20s shown as "3m").
  std::vector<double> p99(20, 50);
  auto a = series(p99, std::vector<uint64_t>(20, 0), 100);
  std::string svg = chartSvg({"only"}, {&a}, 100, "p99");
  for (const char* label : {">0<", ">5m<", ">10m<", ">15m<", ">20m<"}) {
    EXPECT_NE(svg.find(label), std::string::npos) << label;
  }
  EXPECT_EQ(svg.find(">3m<"), std::string::npos);
  EXPECT_EQ(svg.find(">7m<"), std::string::npos);
  // 90 one-minute intervals: 15-minute steps, "1h15m" rather than a rounded "1h".
  std::vector<double> p(90, 50);
  auto b = series(p, std::vector<uint64_t>(90, 0), 100);
  svg = chartSvg({"only"}, {&b}, 100, "p99");
  EXPECT_NE(svg.find(">1h15m<"), std::string::npos) << svg.substr(0, 400);
  EXPECT_NE(svg.find(">1h30m<"), std::string::npos);
}

TEST(SimChart, EverySloRowNamesItsRun) {
  auto a = series({50, 50}, {0, 0}, 100);
  auto b = series({150, 50}, {0, 0}, 100);
  std::string svg = chartSvg({"hpa-defaults", "predictive"}, {&a, &b}, 100, "p99");
  for (size_t i = 0; i < 2; ++i) {
    size_t at = svg.find("<g class=\"slo-label run-" + std::to_string(i) + "\">");
    ASSERT_NE(at, std::string::npos);
    std::string g = svg.substr(at, svg.find("</g>", at) - at);
    EXPECT_NE(g.find(i == 0 ? ">hpa-defaults<" : ">predictive<"), std::string::npos) << g;
  }
}

TEST(SimChart, RejectionsAndSloViolationMinutesAreShown) {
  auto a = series({50, 50, 50, 50}, {0, 0, 0, 0}, 100);
  auto b = series({50, 150, 50, 50}, {0, 6000, 1200, 0}, 100);
  std::string svg = chartSvg({"hpa", "predictive"}, {&a, &b}, 100, "p99");
  // The rejection series of every run; b's peak is 6000 / 60 s = 100 req/s.
  EXPECT_NE(polylineAttr(svg, "rejections", 0, "points"), "<missing polyline>");
  std::string pts = polylineAttr(svg, "rejections", 1, "points");
  EXPECT_NE(pts, "<missing polyline>");
  EXPECT_EQ(svg.find("rejected (req/s) \xe2\x80\x94 none"), std::string::npos);
  EXPECT_NE(svg.find("predictive \xe2\x80\x94 rejected 7200, SLO violated 2 min"),
            std::string::npos)
      << svg;
  EXPECT_NE(svg.find("hpa \xe2\x80\x94 rejected 0, SLO violated 0 min"), std::string::npos);
  // Violated minutes: b's strip has two filled intervals, a's none; the latency panel is shaded.
  size_t start = svg.find("<g class=\"slo-violation run-1\">");
  ASSERT_NE(start, std::string::npos);
  std::string strip = svg.substr(start, svg.find("</g>", start) - start);
  std::regex filled("fill=\"#d62728\"");
  EXPECT_EQ(std::distance(std::sregex_iterator(strip.begin(), strip.end(), filled),
                          std::sregex_iterator()),
            2)
      << strip;
  EXPECT_NE(svg.find("class=\"slo-violation-shade\""), std::string::npos);
  start = svg.find("<g class=\"slo-violation run-0\">");
  ASSERT_NE(start, std::string::npos);
  strip = svg.substr(start, svg.find("</g>", start) - start);
  EXPECT_EQ(strip.find("#1f77b4"), std::string::npos) << strip;
}

}  // namespace
}  // namespace surge::sim
