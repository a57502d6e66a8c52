#include "autoscale/sources/replica_stats.h"

#include <algorithm>
#include <limits>
#include <set>

namespace surge::autoscale {
namespace {

double requests(const metrics::ParsedPage& p) {
  return p.sum("nv_inference_request_success") + p.sum("nv_inference_request_failure");
}

// Cumulative buckets of histogram `name` summed over its series, by upper bound.
std::map<double, double> buckets(const metrics::ParsedPage& p, const std::string& name) {
  std::map<double, double> out;
  for (const metrics::ParsedSample* s : p.find(name + "_bucket")) {
    const std::string* le = s->label("le");
    if (!le) continue;
    double bound = 0;
    if (*le == "+Inf") {
      bound = std::numeric_limits<double>::infinity();
    } else {
      try {
        bound = std::stod(*le);
      } catch (...) {
        continue;
      }
    }
    out[bound] += s->value;
  }
  return out;
}

std::optional<double> quantileMs(double q, const std::map<double, double>& cur,
                                 const std::map<double, double>* prev) {
  std::vector<std::pair<double, double>> b;
  for (const auto& [bound, count] : cur) {
    double c = count;
    if (prev) {
      auto it = prev->find(bound);
      if (it != prev->end()) c -= it->second;
    }
    b.emplace_back(bound, std::max(0.0, c));
  }
  auto v = metrics::histogramQuantile(q, b);
  if (!v) return std::nullopt;
  return *v * 1000.0;
}

}  // namespace

bool replicaRestarted(const metrics::ParsedPage& prev, const metrics::ParsedPage& cur) {
  return requests(prev) > requests(cur) ||
         prev.sum("model_latency_count") > cur.sum("model_latency_count") ||
         prev.sum("surge_serve_batch_size_count") > cur.sum("surge_serve_batch_size_count");
}

ReplicaNumbers replicaNumbers(const metrics::ParsedPage* prev, double prev_s,
                              const metrics::ParsedPage& cur, double cur_s) {
  ReplicaNumbers n;
  if (!cur.find("model_request_queue_length").empty()) {
    n.queue = cur.sum("model_request_queue_length");  // a gauge: "now" needs no earlier scrape
  }
  // The other numbers are over the window: none on a replica's first scrape, nor against a page
  // of a process that has since restarted (its counters went down) — lifetime totals would be
  // shown as "the last few seconds".
  if (!prev || cur_s <= prev_s || replicaRestarted(*prev, cur)) return n;
  n.rps = (requests(cur) - requests(*prev)) / (cur_s - prev_s);

  const auto lat = buckets(cur, "model_latency");
  const auto lat_prev = buckets(*prev, "model_latency");
  n.p50_ms = quantileMs(0.5, lat, &lat_prev);
  n.p99_ms = quantileMs(0.99, lat, &lat_prev);

  const double rows =
      cur.sum("surge_serve_batch_size_sum") - prev->sum("surge_serve_batch_size_sum");
  const double batches =
      cur.sum("surge_serve_batch_size_count") - prev->sum("surge_serve_batch_size_count");
  if (batches > 0) n.batch_size = rows / batches;
  return n;
}

ReplicaStatsScraper::ReplicaStatsScraper(net::ClientOptions http, Duration window,
                                         std::string metrics_path)
    : http_(std::move(http)), window_(window), path_(std::move(metrics_path)) {}

std::map<std::string, ReplicaNumbers> ReplicaStatsScraper::scrape(
    const std::vector<std::string>& addresses, TimePoint now) {
  std::map<std::string, ReplicaNumbers> out;
  std::set<std::string> wanted(addresses.begin(), addresses.end());
  std::erase_if(history_, [&](const auto& kv) { return !wanted.count(kv.first); });
  for (const std::string& address : wanted) {
    if (address.empty()) continue;
    auto reply = net::httpGet("http://" + address + path_, http_);
    if (!reply.isOk()) {
      out[address].error = reply.status().message();
      continue;
    }
    if (reply->status != 200) {
      out[address].error = path_ + " answered HTTP " + std::to_string(reply->status);
      continue;
    }
    auto page = metrics::parseText(reply->body);
    if (!page.isOk()) {
      out[address].error = path_ + ": " + page.status().message();
      continue;
    }
    auto& h = history_[address];
    while (!h.empty() && now - h.front().at > window_) h.pop_front();
    // A restarted replica starts a new window: its old process's scrapes are no baseline.
    if (!h.empty() && replicaRestarted(h.back().page, *page)) h.clear();
    const Scrape* prev = h.empty() ? nullptr : &h.front();
    out[address] =
        replicaNumbers(prev ? &prev->page : nullptr, prev ? toSeconds(prev->at - TimePoint{}) : 0,
                       *page, toSeconds(now - TimePoint{}));
    h.push_back({now, std::move(*page)});
  }
  return out;
}

}  // namespace surge::autoscale
