#include "sim/simulator.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <deque>

#include "lb/balancer.h"
#include "lb/host_set.h"
#include "serving/batch_policy.h"
#include "sim/event_queue.h"
#include "sim/histogram.h"

namespace surge::sim {
namespace {

constexpr int64_t kNever = ArrivalProcess::kNever;

double threadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

enum EventKind : uint32_t { kComplete = 1, kWake, kTick, kReady, kScrape, kSync, kRamp };

// A growable ring buffer of arrival times (no allocation once grown).
class Fifo {
 public:
  bool empty() const { return size_ == 0; }
  size_t size() const { return size_; }
  void push(int64_t v) {
    if (size_ == buf_.size()) grow();
    buf_[(head_ + size_) & (buf_.size() - 1)] = v;
    ++size_;
  }
  int64_t pop() {
    int64_t v = buf_[head_];
    head_ = (head_ + 1) & (buf_.size() - 1);
    --size_;
    return v;
  }

 private:
  void grow() {
    std::vector<int64_t> next(buf_.empty() ? 16 : buf_.size() * 2);
    for (size_t i = 0; i < size_; ++i) next[i] = buf_[(head_ + i) & (buf_.size() - 1)];
    buf_.swap(next);
    head_ = 0;
  }
  std::vector<int64_t> buf_;
  size_t head_ = 0, size_ = 0;
};

// The balancer's view of a replica; `index` maps a pick back to the replica in O(1).
class SimHost : public lb::Host {
 public:
  SimHost(std::string address, uint32_t index) : Host(std::move(address), 1, ""), index(index) {}
  const uint32_t index;
};

struct Replica {
  enum class State { kStarting, kReady, kDraining, kGone };
  std::shared_ptr<SimHost> host;
  State state = State::kStarting;
  int64_t created_ns = 0;
  int64_t ready_ns = -1;
  int64_t busy = 0;       // slots serving
  int64_t in_system = 0;  // waiting here + in service
  Fifo queue;             // arrival times (no batching)
  std::deque<serving::QueuedItem> batch_queue;
  int64_t pending_wake = -1;
  uint64_t requests_total = 0;
  double busy_slot_ns = 0;
};

class Engine {
 public:
  Engine(const SimConfig& c, const RateCurve& curve, Scaler* scaler,
         const std::function<void(const SimProgress&)>& progress)
      : progress_(progress),
        c_(c),
        curve_(curve),
        scaler_(scaler),
        random_(c.seed),
        service_random_(c.seed * 0x9e3779b97f4a7c15ULL + 1),
        lb_random_(c.seed * 0x9e3779b97f4a7c15ULL + 2),
        arrivals_(&curve, c.traffic.poisson, toSeconds(c.traffic.resolution),
                  toSeconds(c.duration), &random_),
        total_hist_(10),
        shared_(c.gateway.mode == GatewayConfig::Mode::kSharedQueue),
        batching_(c.replica.batching.dynamic && c.replica.batching.max_batch_size > 0),
        observe_latency_(c.gateway.balancer.algorithm == "least_latency"),
        slots_(c.replica.slots),
        end_ns_(c.duration.count()),
        interval_ns_(c.interval.count()) {}

  StatusOr<SimResult> run() {
    auto wall0 = std::chrono::steady_clock::now();
    double cpu0 = threadCpuSeconds();
    if (!shared_) {
      auto b = lb::makeBalancer(c_.gateway.balancer, &lb_random_);
      if (!b.isOk()) return b.status();
      balancer_ = std::move(b).value();
    }
    events_.reserve(1024);
    open_.emplace_back();
    int64_t initial = c_.replicas;
    if (scaler_) initial = std::max<int64_t>(initial, scaler_->minReplicas());
    initial = std::min(initial, c_.max_replicas);
    desired_ = static_cast<int32_t>(initial);
    // The initial replicas are ready at time 0 (a deployment that has been running).
    for (int64_t i = 0; i < initial; ++i) addReplica(/*ready_now=*/true);
    rebuildHostSet();
    events_.push(std::min(interval_ns_, end_ns_), kTick, 0);
    if (scaler_) {
      // Scrapes keep the syncs' phase (the real collector reads its counters at each sync):
      // the first at the first sync minus whole scrape intervals, at or after 0.
      const int64_t first_sync = std::max<int64_t>(0, scaler_->firstSync().count());
      const int64_t scrape_every = scaler_->scrapeInterval().count();
      events_.push(scrape_every > 0 ? first_sync % scrape_every : 0, kScrape, 0);
      events_.push(first_sync, kSync, 0);
    }
    int64_t next_arrival = arrivals_.next();
    while (true) {
      int64_t next_event = events_.empty() ? kNever : events_.topTime();
      if (next_arrival < next_event) {
        now_ = next_arrival;
        onArrival();
        next_arrival = arrivals_.next();
        continue;
      }
      if (next_event == kNever) break;
      Event e = events_.pop();
      now_ = e.time;
      ++event_count_;
      switch (e.kind & 0xff) {
        case kComplete:
          onComplete(e.target, static_cast<int64_t>(e.kind >> 8), e.data);
          break;
        case kWake:
          replicas_[e.target].pending_wake = -1;
          tryDispatchBatch(e.target);
          break;
        case kTick:
          onTick();
          break;
        case kReady:
          onReady(e.target);
          break;
        case kScrape:
          scaler_->onScrape(view());
          if (now_ + scaler_->scrapeInterval().count() < end_ns_) {
            events_.push(now_ + scaler_->scrapeInterval().count(), kScrape, 0);
          }
          break;
        case kRamp:
          ramp_pending_ = false;
          rebuildHostSet();
          break;
        case kSync:
          scaleTo(scaler_->onSync(view()));
          if (now_ + scaler_->syncPeriod().count() < end_ns_) {
            events_.push(now_ + scaler_->syncPeriod().count(), kSync, 0);
          }
          break;
      }
    }
    // Requests that never started (a shared queue left without replicas) cannot hold rows back.
    while (!open_.empty()) finishRow();
    SimResult result;
    result.series = std::move(series_);
    SimSummary& s = result.summary;
    s.name = c_.name;
    s.duration_s = toSeconds(c_.duration);
    s.requests = arrivals_total_;
    s.served = total_hist_.count();
    s.rejected = rejected_total_;
    s.p50_s = total_hist_.percentileNanos(0.50) * 1e-9;
    s.p95_s = total_hist_.percentileNanos(0.95) * 1e-9;
    s.p99_s = total_hist_.percentileNanos(0.99) * 1e-9;
    s.slo_percentile = c_.slo.percentile;
    s.slo_percentile_s = total_hist_.percentileNanos(c_.slo.percentile) * 1e-9;
    s.slo_target_s = toSeconds(c_.slo.target);
    s.mean_s = total_hist_.meanNanos() * 1e-9;
    s.max_s = static_cast<double>(total_hist_.maxNanos()) * 1e-9;
    s.slo_violation_minutes = slo_violation_minutes_;
    s.replica_hours = replica_ns_ / 3.6e12;
    s.cost = s.replica_hours * c_.price_per_hour;
    s.mean_utilization = capacity_ns_ > 0 ? busy_total_ns_ / capacity_ns_ : 0;
    s.mean_replicas = s.duration_s > 0 ? replica_ns_ / static_cast<double>(end_ns_) : 0;
    s.max_replicas = max_provisioned_;
    s.scale_ups = scale_ups_;
    s.scale_downs = scale_downs_;
    s.events = event_count_ + arrivals_total_;
    s.wall_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
    s.cpu_seconds = threadCpuSeconds() - cpu0;
    return result;
  }

 private:
  // ---- accounting ---------------------------------------------------------------------------
  // Integrates provisioned replicas and ready slots up to now (capped at the end of the run).
  void integrate() {
    int64_t t = std::min(now_, end_ns_);
    if (t > last_integrate_) {
      double dt = static_cast<double>(t - last_integrate_);
      replica_ns_ += dt * static_cast<double>(provisioned_);
      double cap = dt * static_cast<double>(ready_count_ * slots_);
      capacity_ns_ += cap;
      interval_capacity_ns_ += cap;
      last_integrate_ = t;
    }
  }

  // A request that arrived at `arrival_ns` starts service: its latency counts in the interval
  // of its arrival (as a load generator charges it to the time the request was due).
  void record(int64_t latency_ns, int64_t arrival_ns) {
    total_hist_.record(latency_ns);
    const auto k = static_cast<size_t>(arrival_ns / interval_ns_ - open_base_);
    open_[std::min(k, open_.size() - 1)].hist.record(latency_ns);
  }

  // ---- replicas -----------------------------------------------------------------------------
  void addReplica(bool ready_now) {
    integrate();
    auto idx = static_cast<uint32_t>(replicas_.size());
    replicas_.emplace_back();
    Replica& r = replicas_.back();
    r.host = std::make_shared<SimHost>("replica-" + std::to_string(idx), idx);
    r.created_ns = now_;
    ++provisioned_;
    max_provisioned_ = std::max(max_provisioned_, provisioned_);
    // A list of cold starts: the k-th replica added after the start takes the k-th (the last
    // one beyond the list).
    Duration cold = c_.replica.cold_start;
    if (!ready_now && !c_.replica.cold_starts.empty()) {
      cold = c_.replica.cold_starts[std::min(added_, c_.replica.cold_starts.size() - 1)];
    }
    if (!ready_now) ++added_;
    if (ready_now || cold.count() == 0) {
      makeReady(idx);
    } else {
      r.state = Replica::State::kStarting;
      starting_.push_back(idx);
      events_.push(now_ + cold.count(), kReady, idx);
    }
  }

  void makeReady(uint32_t idx) {
    integrate();
    Replica& r = replicas_[idx];
    r.state = Replica::State::kReady;
    r.ready_ns = now_;
    // A replica ready at the start has been serving for a while: no slow-start ramp.
    r.host->setHealthySince(TimePoint(Duration(
        now_ == 0 ? -c_.gateway.slow_start.count() - 1 : now_)));
    ++ready_count_;
    ready_.push_back(idx);
    if (shared_) {
      for (int64_t s = 0; s < slots_; ++s) free_slots_.push_back(idx);
      drainSharedQueue();
    }
  }

  void onReady(uint32_t idx) {
    Replica& r = replicas_[idx];
    if (r.state != Replica::State::kStarting) return;  // cancelled before it came up
    starting_.erase(std::find(starting_.begin(), starting_.end(), idx));
    makeReady(idx);
    rebuildHostSet();
  }

  void rebuildHostSet() {
    if (shared_) return;
    std::vector<lb::HostPtr> hosts;
    hosts.reserve(ready_.size());
    for (uint32_t i : ready_) hosts.push_back(replicas_[i].host);
    lb::HostSetOptions opts;
    opts.slow_start = c_.gateway.slow_start;
    opts.slow_start_min_weight_percent = c_.gateway.slow_start_min_weight_percent;
    const TimePoint now{Duration(now_)};
    balancer_->update(lb::buildHostSet(hosts, opts, now, ++set_version_));
    // While a ramp runs, republish every 250 ms as the gateway does (gateway/cluster.h
    // ramp_republish_interval), and once more after it ends.
    if (opts.slow_start.count() > 0 && !ramp_pending_ && now_ + 250'000'000 < end_ns_ &&
        (lb::anyHostRamping(hosts, opts, now) || was_ramping_)) {
      was_ramping_ = lb::anyHostRamping(hosts, opts, now);
      ramp_pending_ = true;
      events_.push(now_ + 250'000'000, kRamp, 0);
    }
  }

  void scaleTo(int32_t desired) {
    desired = std::clamp<int32_t>(desired, 0, static_cast<int32_t>(c_.max_replicas));
    desired_ = desired;
    auto current = static_cast<int32_t>(starting_.size() + ready_.size());
    bool changed = false;
    while (current < desired) {
      addReplica(false);
      ++scale_ups_;
      ++current;
      changed = true;
    }
    while (current > desired) {
      integrate();
      ++scale_downs_;
      --current;
      if (!starting_.empty()) {  // a pod that never became ready goes first
        uint32_t idx = starting_.back();
        starting_.pop_back();
        replicas_[idx].state = Replica::State::kGone;
        --provisioned_;
        continue;
      }
      uint32_t idx = ready_.back();  // the newest ready replica drains
      ready_.pop_back();
      --ready_count_;
      Replica& r = replicas_[idx];
      r.state = Replica::State::kDraining;
      r.host->setDraining(true);
      changed = true;
      maybeRemove(idx);
    }
    if (changed) rebuildHostSet();
  }

  void maybeRemove(uint32_t idx) {
    Replica& r = replicas_[idx];
    if (r.state == Replica::State::kDraining && r.in_system == 0) {
      integrate();
      r.state = Replica::State::kGone;
      --provisioned_;
    }
  }

  // ---- requests -----------------------------------------------------------------------------
  void onArrival() {
    ++arrivals_total_;
    ++open_.back().arrivals;
    if (shared_) {
      if (!free_slots_.empty()) {
        uint32_t idx = popFreeSlot();
        if (idx != UINT32_MAX) {
          startService(idx, now_);
          return;
        }
      }
      if (ready_count_ == 0 ||
          (c_.replica.queue_limit > 0 &&
           static_cast<int64_t>(shared_queue_.size()) >= c_.replica.queue_limit * ready_count_)) {
        reject();
        return;
      }
      shared_queue_.push(now_);
      return;
    }
    if (ready_count_ == 0) {
      reject();
      return;
    }
    lb::PickContext ctx;
    ctx.now = TimePoint(Duration(now_));
    lb::Host* h = balancer_->pick(ctx);
    if (h == nullptr) {
      reject();
      return;
    }
    uint32_t idx = static_cast<SimHost*>(h)->index;
    Replica& r = replicas_[idx];
    if (batching_) {
      if (c_.replica.queue_limit > 0 &&
          static_cast<int64_t>(r.batch_queue.size()) >= c_.replica.queue_limit) {
        reject();
        return;
      }
      admit(r);
      serving::QueuedItem item;
      item.enqueued = TimePoint(Duration(now_));
      r.batch_queue.push_back(item);
      tryDispatchBatch(idx);
      return;
    }
    if (r.busy < slots_) {
      admit(r);
      startService(idx, now_);
      return;
    }
    if (c_.replica.queue_limit > 0 && static_cast<int64_t>(r.queue.size()) >= c_.replica.queue_limit) {
      reject();
      return;
    }
    admit(r);
    r.queue.push(now_);
  }

  void admit(Replica& r) {
    ++r.in_system;
    ++r.requests_total;
    r.host->onRequestStart();
  }

  void reject() {
    ++rejected_total_;
    ++open_.back().rejected;
  }

  uint32_t popFreeSlot() {
    while (!free_slots_.empty()) {
      uint32_t idx = free_slots_.back();
      free_slots_.pop_back();
      if (replicas_[idx].state == Replica::State::kReady) return idx;
    }
    return UINT32_MAX;
  }

  void drainSharedQueue() {
    while (!shared_queue_.empty()) {
      uint32_t idx = popFreeSlot();
      if (idx == UINT32_MAX) return;
      startService(idx, shared_queue_.pop());
    }
  }

  // Starts one request (no batching) on replica idx; shared mode admits it here.
  void startService(uint32_t idx, int64_t arrival) {
    Replica& r = replicas_[idx];
    if (shared_) admit(r);
    int64_t dur = c_.replica.service.sampleNanos(1, service_random_);
    record(now_ + dur - arrival, arrival);
    ++r.busy;
    r.busy_slot_ns += static_cast<double>(dur);
    busy_total_ns_ += static_cast<double>(dur);
    interval_busy_ns_ += static_cast<double>(dur);
    events_.push(now_ + dur, kComplete | (1u << 8), idx, arrival);
  }

  void tryDispatchBatch(uint32_t idx) {
    Replica& r = replicas_[idx];
    const auto& opts = c_.replica.batching;
    while (r.busy < slots_ && !r.batch_queue.empty()) {
      bool flush = r.state == Replica::State::kDraining;
      serving::BatchDecision d =
          serving::decideBatch(opts, r.batch_queue, TimePoint(Duration(now_)), flush);
      if (d.action == serving::BatchDecision::Action::kDispatch) {
        int64_t dur = c_.replica.service.sampleNanos(d.rows, service_random_);
        int64_t done = now_ + dur;
        int64_t oldest = r.batch_queue.front().enqueued.time_since_epoch().count();
        for (size_t i = 0; i < d.count; ++i) {
          const int64_t enqueued = r.batch_queue.front().enqueued.time_since_epoch().count();
          record(done - enqueued, enqueued);
          r.batch_queue.pop_front();
        }
        ++r.busy;
        r.busy_slot_ns += static_cast<double>(dur);
        busy_total_ns_ += static_cast<double>(dur);
        interval_busy_ns_ += static_cast<double>(dur);
        ++batches_;
        events_.push(done, kComplete | (static_cast<uint32_t>(d.count) << 8), idx, oldest);
        continue;
      }
      if (d.action == serving::BatchDecision::Action::kWait) {
        int64_t at = d.wake_at.time_since_epoch().count();
        if (r.pending_wake != at) {
          r.pending_wake = at;
          events_.push(std::max(at, now_), kWake, idx);
        }
      }
      break;
    }
  }

  void onComplete(uint32_t idx, int64_t count, int64_t arrival) {
    Replica& r = replicas_[idx];
    --r.busy;
    r.in_system -= count;
    for (int64_t i = 0; i < count; ++i) r.host->onRequestEnd();
    if (observe_latency_) {
      r.host->latency().observe(Duration(now_ - arrival), TimePoint(Duration(now_)),
                                c_.gateway.balancer.ewma_tau);
    }
    if (batching_) {
      tryDispatchBatch(idx);
    } else if (shared_) {
      if (r.state == Replica::State::kReady) {
        if (!shared_queue_.empty()) {
          startService(idx, shared_queue_.pop());
        } else {
          free_slots_.push_back(idx);
        }
      }
    } else if (!r.queue.empty()) {
      startService(idx, r.queue.pop());
    }
    if (r.state == Replica::State::kDraining) maybeRemove(idx);
  }

  // ---- intervals ----------------------------------------------------------------------------
  // The interval that just ended: what is known at its end goes into its row now; its latencies
  // (by arrival) once every request that arrived in it has started service (finishRow).
  void onTick() {
    integrate();
    OpenInterval& cur = open_.back();
    IntervalRow& row = cur.row;
    row.t_s = static_cast<double>(now_) * 1e-9;
    cur.len_s = static_cast<double>(now_ - last_tick_) * 1e-9;
    double mid_s = static_cast<double>(now_ + last_tick_) * 0.5e-9;
    row.offered_rps = curve_.rateAt(mid_s);
    row.arrival_rps = cur.len_s > 0 ? static_cast<double>(cur.arrivals) / cur.len_s : 0;
    row.rejected = cur.rejected;
    row.ready_replicas = ready_count_;
    row.replicas = provisioned_;
    row.desired = desired_;
    row.utilization = interval_capacity_ns_ > 0 ? interval_busy_ns_ / interval_capacity_ns_ : 0;
    int64_t queued = static_cast<int64_t>(shared_queue_.size());
    for (uint32_t i : ready_) {
      queued += static_cast<int64_t>(replicas_[i].queue.size() + replicas_[i].batch_queue.size());
    }
    row.queued = queued;
    if (scaler_) row.note = scaler_->note();
    cur.ended = true;
    if (progress_) {
      progress_({static_cast<double>(now_) * 1e-9, static_cast<double>(end_ns_) * 1e-9,
                 arrivals_total_});
    }
    interval_busy_ns_ = 0;
    interval_capacity_ns_ = 0;
    last_tick_ = now_;
    if (now_ < end_ns_) {
      open_.emplace_back();
      events_.push(std::min(now_ + interval_ns_, end_ns_), kTick, 0);
    }
    while (!open_.empty() && open_.front().ended &&
           open_.front().arrivals == open_.front().rejected + open_.front().hist.count()) {
      finishRow();
    }
  }

  // Latencies and the SLO verdict of the oldest open interval; its row joins the series.
  void finishRow() {
    OpenInterval& o = open_.front();
    IntervalRow& row = o.row;
    row.served = o.hist.count();
    row.p50_ms = o.hist.percentileNanos(0.5) * 1e-6;
    row.p99_ms = o.hist.percentileNanos(0.99) * 1e-6;
    row.slo_ms = o.hist.percentileNanos(c_.slo.percentile) * 1e-6;
    double total = static_cast<double>(row.served + row.rejected);
    double bad = o.hist.fractionAbove(c_.slo.target.count()) * static_cast<double>(row.served) +
                 static_cast<double>(row.rejected);
    row.slo_violated = total > 0 && bad > (1 - c_.slo.percentile) * total;
    if (row.slo_violated) slo_violation_minutes_ += o.len_s / 60;
    if (o.ended) series_.push_back(std::move(row));
    open_.pop_front();
    ++open_base_;
  }

  ClusterView view() const {
    ClusterView v;
    v.now_ns = now_;
    v.start_unix = c_.start_unix;
    v.gateway_requests_total = arrivals_total_;
    v.gateway_rejected_total = rejected_total_;
    v.spec_replicas = desired_;
    for (const auto& list : {starting_, ready_}) {
      for (uint32_t i : list) v.pods.push_back(pod(i));
    }
    for (uint32_t i = 0; i < replicas_.size(); ++i) {
      if (replicas_[i].state == Replica::State::kDraining) v.pods.push_back(pod(i));
    }
    return v;
  }

  ClusterView::Pod pod(uint32_t i) const {
    const Replica& r = replicas_[i];
    ClusterView::Pod p;
    p.id = i;
    p.name = r.host->address();
    p.ready = r.state == Replica::State::kReady;
    p.draining = r.state == Replica::State::kDraining;
    p.created_ns = r.created_ns;
    p.ready_ns = r.ready_ns;
    p.requests_total = r.requests_total;
    p.busy_slot_ns = r.busy_slot_ns;
    p.in_flight = r.in_system;
    p.slots = slots_;
    return p;
  }

  const std::function<void(const SimProgress&)>& progress_;
  const SimConfig& c_;
  const RateCurve& curve_;
  Scaler* scaler_;
  Random random_, service_random_, lb_random_;
  ArrivalProcess arrivals_;
  EventQueue events_;
  LatencyHistogram total_hist_;
  std::unique_ptr<lb::Balancer> balancer_;
  const bool shared_, batching_, observe_latency_;
  const int64_t slots_, end_ns_, interval_ns_;

  int64_t now_ = 0;
  std::deque<Replica> replicas_;  // stable addresses; index = id
  std::vector<uint32_t> starting_, ready_;
  std::vector<uint32_t> free_slots_;  // shared mode: one entry per free slot
  Fifo shared_queue_;
  int64_t ready_count_ = 0, provisioned_ = 0, max_provisioned_ = 0;
  size_t added_ = 0;  // replicas added after the start (their index in cold_starts)
  int32_t desired_ = 0;
  uint64_t set_version_ = 0;
  bool ramp_pending_ = false;  // a kRamp event is queued
  bool was_ramping_ = false;

  uint64_t arrivals_total_ = 0, rejected_total_ = 0, event_count_ = 0, batches_ = 0;
  uint64_t scale_ups_ = 0, scale_downs_ = 0;
  double replica_ns_ = 0, capacity_ns_ = 0, busy_total_ns_ = 0;
  int64_t last_integrate_ = 0;
  double slo_violation_minutes_ = 0;

  int64_t last_tick_ = 0;
  double interval_busy_ns_ = 0, interval_capacity_ns_ = 0;
  // Output intervals whose rows wait for requests that arrived in them and have not started
  // service yet (front: the oldest; open_base_ its index since the start; back: the current one).
  struct OpenInterval {
    IntervalRow row;
    LatencyHistogram hist{7};  // latencies of the requests that arrived in it
    uint64_t arrivals = 0, rejected = 0;
    double len_s = 0;
    bool ended = false;  // its tick has passed: row holds the interval-end state
  };
  std::deque<OpenInterval> open_;
  int64_t open_base_ = 0;
  std::vector<IntervalRow> series_;
};

}  // namespace

StatusOr<SimResult> runSimulation(const SimConfig& config, const RateCurve& curve,
                                  Scaler* scaler,
                                  const std::function<void(const SimProgress&)>& progress) {
  Engine engine(config, curve, scaler, progress);
  return engine.run();
}

}  // namespace surge::sim
