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

// An axis time, exact: "2d", "1d12h", "1h30m", "7m", "45s" (ticks fall on whole steps, below).
std::string timeLabel(double seconds) {
  auto s = static_cast<int64_t>(std::llround(seconds));
  const int64_t d = s / 86400, h = s % 86400 / 3600, m = s % 3600 / 60, sec = s % 60;
  std::string out;
  if (d > 0) out += std::to_string(d) + "d";
  if (h > 0) out += std::to_string(h) + "h";
  if (m > 0 && d == 0) out += std::to_string(m) + "m";
  if (sec > 0 && d == 0 && h == 0) out += std::to_string(sec) + "s";
  return out.empty() ? "0" : out;
}

// The x-axis tick step: the smallest whole step giving at most 8 intervals over `t_max`.
double tickStep(double t_max) {
  static const double kSteps[] = {1,     2,     5,     10,    15,    30,     60,     120,
                                  300,   600,   900,   1800,  3600,  7200,   10800,  21600,
                                  43200, 86400, 172800, 604800, 1209600, 2592000};
  for (double step : kSteps) {
    if (t_max / step <= 8) return step;
  }
  return std::ceil(t_max / 8 / 86400) * 86400;
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
  // Each configuration has a colour AND a dash pattern (readable in grey print and for colour
  // blindness); earlier runs are drawn wider, so a later run on the same values leaves them
  // visible at its dash gaps.
  static const char* kColors[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e",
                                  "#9467bd", "#8c564b", "#e377c2", "#17becf"};
  static const char* kDashes[] = {"", "9,5", "2,4", "12,4,3,4", "5,3", "1,3", "14,6", "6,3,2,3"};
  const size_t nruns = runs.size();
  auto color = [](size_t i) { return kColors[i % 8]; };
  auto dash = [](size_t i) { return kDashes[(i + i / 8) % 8]; };  // 9th run: new pairing
  auto width_of = [&](size_t i) {
    return nruns > 1 ? 1.5 + 1.5 * static_cast<double>(nruns - 1 - i) / static_cast<double>(nruns - 1)
                     : 1.5;
  };
  const double width = 1000, left = 70, right = 20, panel_h = 150, gap = 45;
  const double legend_h = 18.0 * static_cast<double>(std::max<size_t>(1, nruns));
  const double top = 40 + legend_h + 20;
  const double plot_w = width - left - right;
  const double strip_row = 14;
  const double strips_h = 22 + strip_row * static_cast<double>(nruns);
  // Panels: traffic, replicas, latency (+ SLO-violation strips below it), rejections.
  const double y_traffic = top, y_replicas = y_traffic + panel_h + gap,
               y_latency = y_replicas + panel_h + gap, y_strips = y_latency + panel_h + 42,
               y_rejected = y_strips + strips_h + gap;
  const double height = y_rejected + panel_h + 40;

  double t_max = 1;
  double rps_max = 0, rep_max = 0, lat_peak = 0, rej_max = 0;
  // Per run: totals over its series.
  std::vector<uint64_t> rejected_total(nruns, 0);
  std::vector<double> violation_min(nruns, 0), peak_ms(nruns, 0), peak_t(nruns, 0);
  auto rejectedRate = [](const IntervalRow& r, double prev_t) {
    double len = r.t_s - prev_t;
    return len > 0 ? static_cast<double>(r.rejected) / len : 0.0;
  };
  for (size_t i = 0; i < nruns; ++i) {
    double prev = 0;
    for (const auto& r : *runs[i]) {
      t_max = std::max(t_max, r.t_s);
      rep_max = std::max(rep_max, static_cast<double>(std::max<int64_t>(r.replicas, r.desired)));
      if (r.slo_ms > peak_ms[i]) {
        peak_ms[i] = r.slo_ms;
        peak_t[i] = r.t_s;
      }
      rejected_total[i] += r.rejected;
      rej_max = std::max(rej_max, rejectedRate(r, prev));
      if (r.slo_violated) violation_min[i] += (r.t_s - prev) / 60;
      prev = r.t_s;
    }
    lat_peak = std::max(lat_peak, peak_ms[i]);
  }
  if (!runs.empty()) {
    for (const auto& r : *runs[0]) rps_max = std::max({rps_max, r.offered_rps, r.arrival_rps});
  }
  // Latency axis: cap at 4× the target so one overload does not flatten everything; values
  // above the cap are pinned to the top edge and marked, and the title says so.
  const double lat_cap = niceMax(std::min(std::max(lat_peak, slo_target_ms), 4 * slo_target_ms));
  const bool clipped = lat_peak > lat_cap;

  std::ostringstream o;
  o << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width << "\" height=\"" << height
    << "\" viewBox=\"0 0 " << width << " " << height
    << "\" font-family=\"sans-serif\" font-size=\"12\">\n";
  o << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  o << "<text x=\"" << left << "\" y=\"22\" font-size=\"16\">surge sim</text>\n";
  auto dashAttr = [&](size_t i) {
    std::string d = dash(i);
    return d.empty() ? std::string() : " stroke-dasharray=\"" + d + "\"";
  };
  // Legend: one row per run — its line style, name, rejected requests, SLO-violation minutes.
  for (size_t i = 0; i < nruns; ++i) {
    double y = 40 + 18.0 * static_cast<double>(i);
    o << "<g class=\"legend run-" << i << "\"><line x1=\"" << left << "\" x2=\"" << left + 40
      << "\" y1=\"" << y - 4 << "\" y2=\"" << y - 4 << "\" stroke=\"" << color(i)
      << "\" stroke-width=\"" << fmt("%.2f", width_of(i)) << "\"" << dashAttr(i) << "/>";
    o << "<text x=\"" << left + 48 << "\" y=\"" << y << "\">"
      << escapeXml(i < names.size() ? names[i] : "run " + std::to_string(i + 1))
      << " \xe2\x80\x94 rejected " << rejected_total[i] << ", SLO violated "
      << fmt("%.0f", violation_min[i]) << " min"
      << (peak_ms[i] > lat_cap ? ", peak " + slo_label + " " + fmt("%.0f", peak_ms[i]) + " ms"
                               : std::string())
      << "</text></g>\n";
  }

  auto px = [&](double t) { return left + plot_w * t / t_max; };
  auto frame = [&](double y0, const std::string& title, double ymax_n) {
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
    const double step = tickStep(t_max);
    for (double t = 0; t <= t_max + 1e-9; t += step) {
      double x = left + plot_w * t / t_max;
      o << "<text x=\"" << fmt("%.1f", x) << "\" y=\"" << y0 + panel_h + 14
        << "\" text-anchor=\"middle\">" << timeLabel(t) << "</text>";
    }
    o << "\n";
  };
  // One polyline per run (or the first run's only), values clamped to [0, ymax_n].
  auto lines = [&](double y0, double ymax_n, auto value, bool per_run, const char* cls) {
    auto py = [&](double v) {
      return y0 + panel_h - panel_h * std::clamp(v / ymax_n, 0.0, 1.0);
    };
    size_t n = per_run ? nruns : std::min<size_t>(1, nruns);
    for (size_t i = 0; i < n; ++i) {
      o << "<polyline class=\"" << cls << " run-" << i << "\" fill=\"none\" stroke-width=\""
        << fmt("%.2f", per_run ? width_of(i) : 1.5) << "\" stroke=\""
        << (per_run ? color(i) : "#555") << "\"" << (per_run ? dashAttr(i) : std::string())
        << " points=\"";
      double prev = 0;
      for (const auto& r : *runs[i]) {
        o << fmt("%.1f", px(r.t_s)) << "," << fmt("%.1f", py(value(r, prev))) << " ";
        prev = r.t_s;
      }
      o << "\"/>\n";
    }
  };

  double traffic_max = niceMax(rps_max);
  frame(y_traffic, "traffic (req/s)", traffic_max);
  lines(y_traffic, traffic_max, [](const IntervalRow& r, double) { return r.arrival_rps; }, false,
        "traffic");

  double rep_axis = niceMax(rep_max);
  frame(y_replicas, "replicas (provisioned)", rep_axis);
  lines(y_replicas, rep_axis,
        [](const IntervalRow& r, double) { return static_cast<double>(r.replicas); }, true,
        "replicas");

  // Latency: minutes over the target shaded (any run), the target line, the runs, clip marks.
  {
    std::string title = slo_label + " latency (ms), per interval";
    if (clipped) {
      title += " \xe2\x80\x94 axis clipped at " + fmt("%g", lat_cap) + " ms, peak " +
               fmt("%.0f", lat_peak) + " ms (\xe2\x96\xb2 marks clipped values)";
    }
    frame(y_latency, title, lat_cap);
    // Union of the runs' violated intervals: light red background.
    std::vector<std::pair<double, double>> spans;
    for (size_t i = 0; i < nruns; ++i) {
      double prev = 0;
      for (const auto& r : *runs[i]) {
        if (r.slo_violated) spans.emplace_back(prev, r.t_s);
        prev = r.t_s;
      }
    }
    std::sort(spans.begin(), spans.end());
    std::vector<std::pair<double, double>> merged;
    for (const auto& sp : spans) {
      if (!merged.empty() && sp.first <= merged.back().second) {
        merged.back().second = std::max(merged.back().second, sp.second);
      } else {
        merged.push_back(sp);
      }
    }
    for (const auto& [a, b] : merged) {
      o << "<rect class=\"slo-violation-shade\" x=\"" << fmt("%.1f", px(a)) << "\" y=\""
        << y_latency << "\" width=\"" << fmt("%.1f", std::max(0.5, px(b) - px(a)))
        << "\" height=\"" << panel_h << "\" fill=\"#d62728\" fill-opacity=\"0.10\"/>";
    }
    if (!merged.empty()) o << "\n";
    double ty = y_latency + panel_h - panel_h * std::clamp(slo_target_ms / lat_cap, 0.0, 1.0);
    o << "<line x1=\"" << left << "\" x2=\"" << left + plot_w << "\" y1=\"" << ty << "\" y2=\""
      << ty << "\" stroke=\"#000\" stroke-dasharray=\"6,4\"/>";
    o << "<text x=\"" << left + plot_w - 4 << "\" y=\"" << ty - 4
      << "\" text-anchor=\"end\">target " << fmt("%g", slo_target_ms) << " ms</text>\n";
    lines(y_latency, lat_cap, [](const IntervalRow& r, double) { return r.slo_ms; }, true,
          "latency");
    // Clipped values: a small triangle on the top edge for each, and at each run's peak an arrow
    // above the edge and a label (inside the panel, one row per run) with the real value.
    for (size_t i = 0; i < nruns; ++i) {
      if (peak_ms[i] <= lat_cap) continue;
      o << "<g class=\"clip-marker run-" << i << "\" fill=\"" << color(i) << "\">";
      for (const auto& r : *runs[i]) {
        if (r.slo_ms <= lat_cap) continue;
        double x = px(r.t_s);
        o << "<path d=\"M" << fmt("%.1f", x - 3) << "," << y_latency + 1 << " L"
          << fmt("%.1f", x + 3) << "," << y_latency + 1 << " L" << fmt("%.1f", x) << ","
          << y_latency + 7 << " Z\"/>";
      }
      double x = px(peak_t[i]);
      const char* anchor = x > left + plot_w * 0.85 ? "end" : "start";
      o << "<path d=\"M" << fmt("%.1f", x - 5) << "," << y_latency - 10 << " L"
        << fmt("%.1f", x + 5) << "," << y_latency - 10 << " L" << fmt("%.1f", x) << ","
        << y_latency - 1 << " Z\"/>";
      o << "<text class=\"clip-label\" x=\"" << fmt("%.1f", x + (anchor[0] == 'e' ? -7 : 7))
        << "\" y=\"" << y_latency + 18 + 14.0 * static_cast<double>(i)
        << "\" text-anchor=\"" << anchor << "\">peak " << fmt("%.0f", peak_ms[i]) << " ms ("
        << escapeXml(i < names.size() ? names[i] : "") << ")</text></g>\n";
    }
  }

  // SLO-violation strips: one row per run, its violated intervals filled in its colour.
  o << "<text x=\"" << left << "\" y=\"" << y_strips - 6
    << "\" font-weight=\"bold\">minutes over the SLO (" << escapeXml(slo_label) << " above "
    << fmt("%g", slo_target_ms) << " ms or too many rejections)</text>\n";
  for (size_t i = 0; i < nruns; ++i) {
    double y = y_strips + strip_row * static_cast<double>(i);
    o << "<g class=\"slo-violation run-" << i << "\"><rect x=\"" << left << "\" y=\"" << y
      << "\" width=\"" << plot_w << "\" height=\"" << strip_row - 3
      << "\" fill=\"#f4f4f4\"/>";
    double prev = 0;
    for (const auto& r : *runs[i]) {
      if (r.slo_violated) {
        o << "<rect x=\"" << fmt("%.1f", px(prev)) << "\" y=\"" << y << "\" width=\""
          << fmt("%.1f", std::max(0.5, px(r.t_s) - px(prev))) << "\" height=\"" << strip_row - 3
          << "\" fill=\"" << color(i) << "\"/>";
      }
      prev = r.t_s;
    }
    o << "<text x=\"" << left - 5 << "\" y=\"" << y + strip_row - 4
      << "\" text-anchor=\"end\" font-size=\"10\">" << fmt("%.0f", violation_min[i])
      << " min</text></g>\n";
    // Which run the row is (a row without a violated minute is otherwise blank): its colour
    // swatch on the left, its name inside the row.
    o << "<g class=\"slo-label run-" << i << "\"><rect x=\"4\" y=\"" << y + 1
      << "\" width=\"10\" height=\"" << strip_row - 5 << "\" fill=\"" << color(i) << "\"/>"
      << "<text x=\"" << left + 4 << "\" y=\"" << y + strip_row - 5
      << "\" font-size=\"9\" fill=\"#333\">" << escapeXml(i < names.size() ? names[i] : "")
      << "</text></g>\n";
  }

  // Rejections: rejected requests per second, per run.
  double rej_axis = niceMax(rej_max);
  uint64_t all_rejected = 0;
  for (uint64_t r : rejected_total) all_rejected += r;
  frame(y_rejected,
        "rejected (req/s)" + std::string(all_rejected == 0 ? " \xe2\x80\x94 none" : ""),
        rej_axis);
  lines(y_rejected, rej_axis, rejectedRate, true, "rejections");
  o << "</svg>\n";
  return o.str();
}

}  // namespace surge::sim
