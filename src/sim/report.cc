#include "sim/report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

namespace surge::sim {
namespace {

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

std::string ms(double s) {
  if (s >= 10) return fmt("%.1f s", s);
  if (s >= 1) return fmt("%.2f s", s);
  if (s >= 0.01) return fmt("%.1f ms", s * 1e3);
  return fmt("%.2f ms", s * 1e3);
}

std::string pctLabel(double p) {
  std::string s = fmt("%.4g", p * 100);
  return "p" + s;
}

std::string escapeXml(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// A "nice" axis maximum ≥ v: 1, 2, 2.5, 5 × 10^k.
double niceMax(double v) {
  if (v <= 0) return 1;
  double e = std::pow(10, std::floor(std::log10(v)));
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0}) {
    if (m * e >= v) return m * e;
  }
  return 10 * e;
}

std::string timeLabel(double s) {
  if (s >= 86400 * 2) return fmt("%.0fd", s / 86400);
  if (s >= 3600) return fmt("%.0fh", s / 3600);
  if (s >= 60) return fmt("%.0fm", s / 60);
  return fmt("%.0fs", s);
}

}  // namespace

std::string formatSummaryTable(const std::vector<SimSummary>& runs) {
  std::vector<std::pair<std::string, std::vector<std::string>>> rows;
  auto add = [&](std::string label, auto f) {
    std::vector<std::string> cells;
    for (const auto& r : runs) cells.push_back(f(r));
    rows.emplace_back(std::move(label), std::move(cells));
  };
  add("requests", [](const SimSummary& r) { return std::to_string(r.requests); });
  add("served", [](const SimSummary& r) { return std::to_string(r.served); });
  add("rejected", [](const SimSummary& r) {
    return std::to_string(r.rejected) +
           (r.requests ? fmt(" (%.3f%%)", 100.0 * static_cast<double>(r.rejected) /
                                              static_cast<double>(r.requests))
                       : "");
  });
  add("latency p50", [](const SimSummary& r) { return ms(r.p50_s); });
  add("latency p95", [](const SimSummary& r) { return ms(r.p95_s); });
  add("latency p99", [](const SimSummary& r) { return ms(r.p99_s); });
  add("latency mean", [](const SimSummary& r) { return ms(r.mean_s); });
  if (!runs.empty()) {
    add("SLO " + pctLabel(runs[0].slo_percentile) + " <= " + ms(runs[0].slo_target_s),
        [](const SimSummary& r) { return ms(r.slo_percentile_s); });
  }
  add("SLO-violation minutes", [](const SimSummary& r) { return fmt("%.0f", r.slo_violation_minutes); });
  add("replica-hours", [](const SimSummary& r) { return fmt("%.1f", r.replica_hours); });
  add("cost ($)", [](const SimSummary& r) { return fmt("%.2f", r.cost); });
  add("mean replicas", [](const SimSummary& r) { return fmt("%.1f", r.mean_replicas); });
  add("max replicas", [](const SimSummary& r) { return std::to_string(r.max_replicas); });
  add("mean utilization", [](const SimSummary& r) { return fmt("%.1f%%", 100 * r.mean_utilization); });
  add("replicas started/drained", [](const SimSummary& r) {
    return std::to_string(r.scale_ups) + "/" + std::to_string(r.scale_downs);
  });
  add("CPU time", [](const SimSummary& r) {
    return fmt("%.2f s", r.cpu_seconds) +
           (r.cpu_seconds > 0 ? fmt(" (%.2fM req/s)", static_cast<double>(r.requests) /
                                                         r.cpu_seconds / 1e6)
                              : "");
  });
  add("wall time", [](const SimSummary& r) { return fmt("%.2f s", r.wall_seconds); });
  size_t w0 = 0;
  for (const auto& [l, _] : rows) w0 = std::max(w0, l.size());
  std::vector<size_t> w(runs.size(), 0);
  for (size_t i = 0; i < runs.size(); ++i) {
    w[i] = runs[i].name.size();
    for (const auto& [_, cells] : rows) w[i] = std::max(w[i], cells[i].size());
  }
  std::ostringstream out;
  auto pad = [](const std::string& s, size_t n, bool right) {
    std::string p(n > s.size() ? n - s.size() : 0, ' ');
    return right ? p + s : s + p;
  };
  out << pad("", w0, false);
  for (size_t i = 0; i < runs.size(); ++i) out << "  " << pad(runs[i].name, w[i], true);
  out << "\n";
  for (const auto& [label, cells] : rows) {
    out << pad(label, w0, false);
    for (size_t i = 0; i < cells.size(); ++i) out << "  " << pad(cells[i], w[i], true);
    out << "\n";
  }
  return out.str();
}

std::string summaryJson(const std::vector<SimSummary>& runs, uint64_t seed) {
  nlohmann::json j;
  j["schema"] = "surge.sim/v1";
  j["seed"] = seed;
  nlohmann::json arr = nlohmann::json::array();
  for (const auto& r : runs) {
    nlohmann::json o;
    o["name"] = r.name;
    o["duration_s"] = r.duration_s;
    o["requests"] = r.requests;
    o["served"] = r.served;
    o["rejected"] = r.rejected;
    o["latency_s"] = {{"p50", r.p50_s}, {"p95", r.p95_s}, {"p99", r.p99_s},
                      {"mean", r.mean_s}, {"max", r.max_s}};
    o["slo"] = {{"percentile", r.slo_percentile},
                {"target_s", r.slo_target_s},
                {"achieved_s", r.slo_percentile_s},
                {"violation_minutes", r.slo_violation_minutes}};
    o["replica_hours"] = r.replica_hours;
    o["cost"] = r.cost;
    o["mean_replicas"] = r.mean_replicas;
    o["max_replicas"] = r.max_replicas;
    o["mean_utilization"] = r.mean_utilization;
    o["replicas_started"] = r.scale_ups;
    o["replicas_drained"] = r.scale_downs;
    o["wall_seconds"] = r.wall_seconds;
    o["cpu_seconds"] = r.cpu_seconds;
    o["simulated_requests_per_wall_second"] =
        r.wall_seconds > 0 ? static_cast<double>(r.requests) / r.wall_seconds : 0.0;
    o["simulated_requests_per_cpu_second"] =
        r.cpu_seconds > 0 ? static_cast<double>(r.requests) / r.cpu_seconds : 0.0;
    arr.push_back(std::move(o));
  }
  j["runs"] = std::move(arr);
  return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

std::string seriesCsv(const std::vector<IntervalRow>& series) {
  std::ostringstream out;
  out << "time_s,offered_rps,arrival_rps,served,rejected,ready_replicas,replicas,desired,"
         "p50_ms,p99_ms,slo_ms,utilization,queued,slo_violated,note\n";
  for (const auto& r : series) {
    char buf[512];
    std::snprintf(buf, sizeof buf,
                  "%.3f,%.3f,%.3f,%llu,%llu,%lld,%lld,%d,%.4f,%.4f,%.4f,%.4f,%lld,%d,%s\n", r.t_s,
                  r.offered_rps, r.arrival_rps, static_cast<unsigned long long>(r.served),
                  static_cast<unsigned long long>(r.rejected),
                  static_cast<long long>(r.ready_replicas), static_cast<long long>(r.replicas),
                  r.desired, r.p50_ms, r.p99_ms, r.slo_ms, r.utilization,
                  static_cast<long long>(r.queued), r.slo_violated ? 1 : 0, r.note.c_str());
    out << buf;
  }
  return out.str();
}

std::string chartSvg(const std::vector<std::string>& names,
                     const std::vector<const std::vector<IntervalRow>*>& runs,
                     double slo_target_ms, const std::string& slo_label) {
  static const char* kColors[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e",
                                  "#9467bd", "#8c564b", "#e377c2", "#17becf"};
  const double width = 1000, left = 70, right = 20, panel_h = 170, gap = 45, top = 50;
  const double plot_w = width - left - right;
  const double height = top + 3 * panel_h + 3 * gap + 20;
  double t_max = 1;
  double rps_max = 0, rep_max = 0, lat_max = slo_target_ms;
  for (const auto* s : runs) {
    for (const auto& r : *s) {
      t_max = std::max(t_max, r.t_s);
      rep_max = std::max(rep_max, static_cast<double>(std::max<int64_t>(r.replicas, r.desired)));
      lat_max = std::max(lat_max, r.slo_ms);
    }
  }
  if (!runs.empty()) {
    for (const auto& r : *runs[0]) rps_max = std::max({rps_max, r.offered_rps, r.arrival_rps});
  }
  // Latency axis: cap at 4× the target so one overload does not flatten everything.
  lat_max = std::min(lat_max, 4 * slo_target_ms);
  std::ostringstream o;
  o << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width << "\" height=\"" << height
    << "\" viewBox=\"0 0 " << width << " " << height
    << "\" font-family=\"sans-serif\" font-size=\"12\">\n";
  o << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  o << "<text x=\"" << left << "\" y=\"22\" font-size=\"16\">surge sim</text>\n";
  // legend
  double lx = left + 100;
  for (size_t i = 0; i < names.size(); ++i) {
    const char* col = kColors[i % 8];
    o << "<rect x=\"" << lx << "\" y=\"12\" width=\"14\" height=\"4\" fill=\"" << col << "\"/>";
    o << "<text x=\"" << lx + 18 << "\" y=\"18\">" << escapeXml(names[i]) << "</text>\n";
    lx += 30 + 7.0 * static_cast<double>(names[i].size());
  }
  auto panel = [&](int k, const std::string& title, double ymax, auto value, bool per_run,
                   std::optional<double> hline) {
    double y0 = top + k * (panel_h + gap);
    double ymax_n = niceMax(ymax);
    o << "<text x=\"" << left << "\" y=\"" << y0 - 8 << "\" font-weight=\"bold\">"
      << escapeXml(title) << "</text>\n";
    o << "<rect x=\"" << left << "\" y=\"" << y0 << "\" width=\"" << plot_w << "\" height=\""
      << panel_h << "\" fill=\"none\" stroke=\"#999\"/>\n";
    for (int g = 0; g <= 4; ++g) {
      double y = y0 + panel_h - panel_h * g / 4.0;
      o << "<line x1=\"" << left << "\" x2=\"" << left + plot_w << "\" y1=\"" << y << "\" y2=\""
        << y << "\" stroke=\"#eee\"/>";
      o << "<text x=\"" << left - 5 << "\" y=\"" << y + 4 << "\" text-anchor=\"end\">"
        << fmt("%g", ymax_n * g / 4.0) << "</text>\n";
    }
    for (int g = 0; g <= 6; ++g) {
      double x = left + plot_w * g / 6.0;
      o << "<text x=\"" << x << "\" y=\"" << y0 + panel_h + 14 << "\" text-anchor=\"middle\">"
        << timeLabel(t_max * g / 6.0) << "</text>";
    }
    o << "\n";
    auto px = [&](double t) { return left + plot_w * t / t_max; };
    auto py = [&](double v) {
      return y0 + panel_h - panel_h * std::clamp(v / ymax_n, 0.0, 1.0);
    };
    if (hline) {
      o << "<line x1=\"" << left << "\" x2=\"" << left + plot_w << "\" y1=\"" << py(*hline)
        << "\" y2=\"" << py(*hline) << "\" stroke=\"#000\" stroke-dasharray=\"6,4\"/>";
      o << "<text x=\"" << left + plot_w - 4 << "\" y=\"" << py(*hline) - 4
        << "\" text-anchor=\"end\">target</text>\n";
    }
    size_t n = per_run ? runs.size() : std::min<size_t>(1, runs.size());
    for (size_t i = 0; i < n; ++i) {
      o << "<polyline fill=\"none\" stroke-width=\"1.5\" stroke=\""
        << (per_run ? kColors[i % 8] : "#555") << "\" points=\"";
      for (const auto& r : *runs[i]) o << fmt("%.1f", px(r.t_s)) << "," << fmt("%.1f", py(value(r))) << " ";
      o << "\"/>\n";
    }
  };
  panel(0, "traffic (req/s)", rps_max, [](const IntervalRow& r) { return r.arrival_rps; }, false,
        std::nullopt);
  panel(1, "replicas (provisioned)", rep_max,
        [](const IntervalRow& r) { return static_cast<double>(r.replicas); }, true, std::nullopt);
  panel(2, slo_label + " latency (ms), per interval", lat_max,
        [](const IntervalRow& r) { return r.slo_ms; }, true, slo_target_ms);
  o << "</svg>\n";
  return o.str();
}

}  // namespace surge::sim
