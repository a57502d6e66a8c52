#include "serving/redis_cache.h"

#include <fcntl.h>

#include <hiredis/hiredis.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <csignal>
#include <cstring>
#include <limits>
#include <map>

#include "common/hash.h"
#include "common/logging.h"
#include "config/units.h"

namespace surge::serving {

using runtime::DataType;
using runtime::Tensor;

// ---------------------------------------------------------------------------------------------
// URL

std::string RedisUrl::toString() const {
  bool v6 = host.find(':') != std::string::npos;
  std::string creds;
  if (hasAuth()) creds = user + ":***@";
  return "redis://" + creds + (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port) + "/" +
         std::to_string(db);
}

std::string redactRedisUrl(std::string_view url) {
  // The same rule as parseRedisUrl: credentials run from the scheme to the last '@'.
  size_t scheme = url.find("://");
  size_t from = scheme == std::string_view::npos ? 0 : scheme + 3;
  size_t at = url.rfind('@');
  if (at == std::string_view::npos || at < from) return std::string(url);
  std::string_view userinfo = url.substr(from, at - from);
  size_t colon = userinfo.find(':');
  std::string masked = colon == std::string_view::npos
                           ? std::string("***")
                           : std::string(userinfo.substr(0, colon)) + ":***";
  return std::string(url.substr(0, from)) + masked + std::string(url.substr(at));
}

std::string scrubSecret(std::string text, std::string_view secret) {
  if (secret.empty()) return text;
  for (size_t pos = text.find(secret); pos != std::string::npos;
       pos = text.find(secret, pos + 3)) {
    text.replace(pos, secret.size(), "***");
  }
  return text;
}

namespace {

bool parseInt(std::string_view s, int64_t lo, int64_t hi, int64_t* out) {
  if (s.empty()) return false;
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v < lo || v > hi) return false;
  *out = v;
  return true;
}

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// RFC 3986 §2.1 percent-decoding of a userinfo part; false on a bad escape.
bool percentDecode(std::string_view in, std::string* out) {
  out->clear();
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      *out += in[i];
      continue;
    }
    if (i + 2 >= in.size()) return false;
    int hi = hexValue(in[i + 1]), lo = hexValue(in[i + 2]);
    if (hi < 0 || lo < 0) return false;
    *out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return true;
}

}  // namespace

StatusOr<RedisUrl> parseRedisUrl(std::string_view url) {
  auto bad = [&](const std::string& why) {
    return invalidArgument("invalid Redis URL '" + redactRedisUrl(url) + "': " + why +
                           " (want redis://[[USER]:PASSWORD@]HOST:PORT[/DB])");
  };
  constexpr std::string_view kScheme = "redis://";
  if (url.substr(0, 9) == "rediss://") return bad("TLS (rediss://) is not supported");
  if (url.substr(0, kScheme.size()) != kScheme) {
    if (url.find("://") != std::string_view::npos) return bad("the scheme must be redis://");
    return bad("missing the redis:// scheme");
  }
  std::string_view rest = url.substr(kScheme.size());
  if (size_t q = rest.find_first_of("?#"); q != std::string_view::npos &&
                                            rest.find('@', q) == std::string_view::npos) {
    return bad("query strings are not supported");
  }
  RedisUrl out;
  // Credentials end at the last '@' (a raw '@' in a password is tolerated; '%40' is the norm).
  if (size_t at = rest.rfind('@'); at != std::string_view::npos) {
    std::string_view userinfo = rest.substr(0, at);
    rest = rest.substr(at + 1);
    size_t colon = userinfo.find(':');
    if (colon == std::string_view::npos) {
      return bad("credentials must be USER:PASSWORD@ or :PASSWORD@");
    }
    if (!percentDecode(userinfo.substr(0, colon), &out.user) ||
        !percentDecode(userinfo.substr(colon + 1), &out.password)) {
      return bad("bad percent-escape in the credentials");
    }
    if (out.password.empty()) return bad("empty password");
  }
  std::string_view authority = rest, path;
  if (size_t slash = rest.find('/'); slash != std::string_view::npos) {
    authority = rest.substr(0, slash);
    path = rest.substr(slash + 1);
  }
  std::string_view port;
  if (!authority.empty() && authority[0] == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return bad("unterminated '[' in the IPv6 address");
    out.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') return bad("expected ':' after ']'");
      port = after.substr(1);
      if (port.empty()) return bad("empty port");
    }
  } else {
    size_t colon = authority.rfind(':');
    if (colon != std::string_view::npos) {
      if (authority.find(':') != colon) return bad("IPv6 addresses must be in brackets");
      port = authority.substr(colon + 1);
      if (port.empty()) return bad("empty port");
      authority = authority.substr(0, colon);
    }
    out.host = std::string(authority);
  }
  if (out.host.empty()) return bad("missing host");
  for (char c : out.host) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '-' || c == '_' || c == ':';
    if (!ok) return bad("bad character in host '" + out.host + "'");
  }
  if (!port.empty()) {
    int64_t p = 0;
    if (!parseInt(port, 1, 65535, &p))
      return bad("port '" + std::string(port) + "' not in 1..65535");
    out.port = static_cast<int>(p);
  }
  if (!path.empty()) {
    int64_t db = 0;
    if (!parseInt(path, 0, 1 << 20, &db)) {
      return bad("database '" + std::string(path) + "' is not a non-negative integer");
    }
    out.db = static_cast<int>(db);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Value codec

namespace {

constexpr char kMagic[3] = {'S', 'P', 'C'};
constexpr uint8_t kFormatVersion = 2;  // 2: the full SHA-256 key digest (1: a 128-bit hash)
constexpr std::string_view kKeyMismatch = "stored for another key (digest mismatch)";
constexpr size_t kMaxOutputs = 4096;
constexpr size_t kMaxRank = 32;
constexpr uint64_t kChecksumSeed = 0x5350430100000001ULL;

template <class T>
void put(std::string& out, T v) {
  using U = std::make_unsigned_t<T>;
  U u = static_cast<U>(v);
  for (size_t i = 0; i < sizeof(T); ++i) out += static_cast<char>((u >> (8 * i)) & 0xff);
}

class Reader {
 public:
  explicit Reader(std::string_view s) : s_(s) {}
  template <class T>
  bool get(T* v) {
    if (s_.size() - pos_ < sizeof(T)) return false;
    using U = std::make_unsigned_t<T>;
    U u = 0;
    for (size_t i = 0; i < sizeof(T); ++i) {
      u |= static_cast<U>(static_cast<U>(static_cast<uint8_t>(s_[pos_ + i])) << (8 * i));
    }
    pos_ += sizeof(T);
    *v = static_cast<T>(u);
    return true;
  }
  bool bytes(size_t n, std::string_view* out) {
    if (s_.size() - pos_ < n) return false;
    *out = s_.substr(pos_, n);
    pos_ += n;
    return true;
  }
  size_t remaining() const { return s_.size() - pos_; }

 private:
  std::string_view s_;
  size_t pos_ = 0;
};

}  // namespace

uint64_t cacheValueChecksum(std::string_view body) { return hash64(body, kChecksumSeed); }

bool isCacheKeyMismatch(const Status& status) {
  return !status.isOk() && status.message() == "cache value: " + std::string(kKeyMismatch);
}

std::string encodeCacheValue(const PredictionKey& key, const PredictionCache::Outputs& outputs) {
  size_t estimate = 40 + key.model.size();
  for (const Tensor& t : outputs) estimate += 16 + t.shape().size() * 8 + t.byteSize();
  std::string out;
  out.reserve(estimate);
  out.append(kMagic, sizeof kMagic);
  put<uint8_t>(out, kFormatVersion);
  out.append(reinterpret_cast<const char*>(key.digest.data()), key.digest.size());
  size_t name_len = std::min<size_t>(key.model.size(), 0xffff);
  put<uint16_t>(out, static_cast<uint16_t>(name_len));
  out.append(key.model, 0, name_len);
  put<int64_t>(out, key.version);
  put<uint32_t>(out, static_cast<uint32_t>(outputs.size()));
  for (const Tensor& t : outputs) {
    put<uint8_t>(out, static_cast<uint8_t>(t.dtype()));
    if (t.dtype() == DataType::kInvalid) continue;
    put<uint8_t>(out, static_cast<uint8_t>(t.shape().size()));
    for (int64_t d : t.shape()) put<int64_t>(out, d);
    if (t.dtype() == DataType::kBytes) {
      size_t len = 0;
      for (const std::string& s : t.strings()) len += 4 + s.size();
      put<uint64_t>(out, len);
      for (const std::string& s : t.strings()) {
        put<uint32_t>(out, static_cast<uint32_t>(s.size()));
        out += s;
      }
    } else {
      put<uint64_t>(out, t.byteSize());
      out.append(reinterpret_cast<const char*>(t.data()), t.byteSize());
    }
  }
  put<uint64_t>(out, cacheValueChecksum(out));
  return out;
}

StatusOr<PredictionCache::Outputs> decodeCacheValue(std::string_view value,
                                                    const PredictionKey& key) {
  auto corrupt = [](const std::string& why) { return invalidArgument("cache value: " + why); };
  // The checksum first: a value damaged anywhere is rejected before anything is allocated.
  if (value.size() < 12) return corrupt("too short");
  {
    Reader tail(value.substr(value.size() - 8));
    uint64_t sum = 0;
    tail.get(&sum);
    if (value.substr(0, 3) == std::string_view(kMagic, 3) &&
        cacheValueChecksum(value.substr(0, value.size() - 8)) != sum) {
      return corrupt("checksum mismatch");
    }
  }
  Reader r(value.substr(0, value.size() - 8));
  std::string_view magic;
  if (!r.bytes(3, &magic) || magic != std::string_view(kMagic, 3)) {
    return corrupt("not a surge prediction (bad magic)");
  }
  uint8_t version = 0;
  if (!r.get(&version)) return corrupt("truncated header");
  if (version != kFormatVersion) {
    return corrupt("format version " + std::to_string(version) + ", expected " +
                   std::to_string(kFormatVersion));
  }
  std::string_view digest;
  uint16_t name_len = 0;
  std::string_view name;
  int64_t model_version = 0;
  uint32_t count = 0;
  if (!r.bytes(PredictionKey::kDigestSize, &digest) || !r.get(&name_len) ||
      !r.bytes(name_len, &name) ||
      !r.get(&model_version) || !r.get(&count)) {
    return corrupt("truncated header");
  }
  if (std::memcmp(digest.data(), key.digest.data(), key.digest.size()) != 0 ||
      name != key.model || model_version != key.version) {
    return corrupt(std::string(kKeyMismatch));
  }
  if (count > kMaxOutputs) return corrupt("too many outputs (" + std::to_string(count) + ")");
  PredictionCache::Outputs outputs;
  outputs.reserve(count);
  for (uint32_t i = 0; i < count; ++i) {
    std::string at = "output " + std::to_string(i) + ": ";
    uint8_t dt = 0;
    if (!r.get(&dt)) return corrupt(at + "truncated");
    if (dt == 0) {
      outputs.emplace_back();
      continue;
    }
    if (dt > static_cast<uint8_t>(DataType::kBytes)) {
      return corrupt(at + "unknown datatype " + std::to_string(dt));
    }
    DataType dtype = static_cast<DataType>(dt);
    uint8_t rank = 0;
    if (!r.get(&rank)) return corrupt(at + "truncated");
    if (rank > kMaxRank) return corrupt(at + "rank " + std::to_string(rank) + " too large");
    runtime::Shape shape(rank);
    for (auto& d : shape) {
      if (!r.get(&d)) return corrupt(at + "truncated shape");
      if (d < 0) return corrupt(at + "negative dimension");
    }
    uint64_t len = 0;
    if (!r.get(&len)) return corrupt(at + "truncated");
    if (len > r.remaining()) return corrupt(at + "payload longer than the value");
    std::string_view payload;
    r.bytes(static_cast<size_t>(len), &payload);
    // Element count, bounded by the payload (every element takes at least one byte, BYTES four),
    // so a huge shape cannot allocate.
    size_t min_elem = dtype == DataType::kBytes ? 4 : runtime::dataTypeSize(dtype);
    uint64_t elements = 1;
    for (int64_t d : shape) {
      if (d == 0) elements = 0;  // a zero dim anywhere: no elements, whatever the others say
    }
    for (int64_t d : shape) {
      if (elements == 0) break;
      if (elements > len / static_cast<uint64_t>(d)) {
        return corrupt(at + "shape larger than its payload");
      }
      elements *= static_cast<uint64_t>(d);
    }
    if (elements * min_elem > len) return corrupt(at + "shape larger than its payload");
    Tensor t(dtype, shape);
    if (dtype == DataType::kBytes) {
      Reader p(payload);
      for (auto& s : t.strings()) {
        uint32_t n = 0;
        std::string_view b;
        if (!p.get(&n) || !p.bytes(n, &b)) return corrupt(at + "truncated BYTES element");
        s.assign(b);
      }
      if (p.remaining() != 0) return corrupt(at + "payload length mismatch");
    } else {
      if (len != t.byteSize()) return corrupt(at + "payload length mismatch");
      if (len > 0) std::memcpy(t.data(), payload.data(), payload.size());
    }
    outputs.push_back(std::move(t));
  }
  if (r.remaining() != 0) return corrupt("trailing bytes");
  return outputs;
}

namespace {

bool outputsFit(const PredictionCache::Outputs& outputs, const std::vector<int>& requested,
                size_t output_count) {
  if (outputs.size() != output_count) return false;
  for (int k : requested) {
    if (k < 0 || static_cast<size_t>(k) >= outputs.size()) return false;
    if (outputs[static_cast<size_t>(k)].dtype() == DataType::kInvalid) return false;
  }
  return true;
}

}  // namespace

bool outputsFitRequest(const PredictionCache::Outputs& outputs, const InferRequest& request) {
  return outputsFit(outputs, request.outputs, request.outputs_wanted.size());
}

// ---------------------------------------------------------------------------------------------
// Options

Status validateRedisCacheOptions(const RedisCacheOptions& o) {
  if (o.url.host.empty()) return invalidArgument("--cache: missing Redis host");
  if (o.ttl < std::chrono::milliseconds(1)) {
    return invalidArgument("--cache-ttl must be at least 1ms (got " +
                           config::formatDuration(o.ttl) + ")");
  }
  if (o.connect_timeout <= Duration(0) || o.command_timeout < std::chrono::microseconds(1)) {
    return invalidArgument("--cache-timeout must be at least 1us");
  }
  if (o.workers < 1 || o.workers > 64) return invalidArgument("--cache-workers wants 1..64");
  if (o.queue_capacity < 1) return invalidArgument("cache queue capacity must be >= 1");
  if (o.breaker.failure_threshold < 1) {
    return invalidArgument("--cache-breaker-errors must be >= 1");
  }
  if (o.breaker.cooldown < Duration(0)) return invalidArgument("cache breaker cooldown < 0");
  if (o.backoff_min <= Duration(0) || o.backoff_max < o.backoff_min) {
    return invalidArgument("cache reconnect backoff: need 0 < min <= max");
  }
  return Status::ok();
}

// ---------------------------------------------------------------------------------------------
// RedisCache

struct RedisCache::Op {
  bool is_lookup = true;
  PredictionKey key;
  std::string value;  // store: the encoded outputs
  std::vector<int> requested;
  size_t output_count = 0;
  LookupDone done;
  TimePoint enqueued;
};

struct RedisCache::Conn {
  redisContext* ctx = nullptr;
  TimePoint next_connect{};
  Duration backoff{0};
  uint64_t epoch = 0;
  ~Conn() { close(); }
  void close() {
    if (ctx != nullptr) redisFree(ctx);
    ctx = nullptr;
  }
};

struct RedisCache::Metrics {
  metrics::Family<metrics::Counter>* hits = nullptr;
  metrics::Family<metrics::Counter>* misses = nullptr;
  metrics::Family<metrics::Counter>* hit_us = nullptr;
  metrics::Family<metrics::Counter>* miss_us = nullptr;
  metrics::Counter* errors[7] = {};
  metrics::Counter* stores = nullptr;
  metrics::Counter* drop_lookup_full = nullptr;
  metrics::Counter* drop_lookup_expired = nullptr;
  metrics::Counter* drop_lookup_breaker = nullptr;
  metrics::Counter* drop_store_full = nullptr;
  metrics::Counter* drop_store_breaker = nullptr;
  metrics::Gauge* breaker_state = nullptr;
  metrics::Counter* breaker_opens = nullptr;
  metrics::Histogram* lookup_seconds = nullptr;

  // Triton's four cache counters of one model version, looked up in their families once: a
  // lookup then takes one lock (series_mu), as a single labels() call would.
  struct ModelSeries {
    metrics::Counter* hits = nullptr;
    metrics::Counter* misses = nullptr;
    metrics::Counter* hit_us = nullptr;
    metrics::Counter* miss_us = nullptr;
    // The durations in ns; the µs counters read floor(ns / 1000), integral as Triton's.
    std::atomic<uint64_t> hit_ns{0}, miss_ns{0};

    static void add(std::atomic<uint64_t>& sum, metrics::Counter* us, Duration d) {
      auto v = static_cast<uint64_t>(std::max<int64_t>(0, d.count()));
      uint64_t before = sum.fetch_add(v, std::memory_order_relaxed);
      uint64_t whole = (before + v) / 1000 - before / 1000;
      if (whole > 0) us->inc(static_cast<double>(whole));
    }
    void addHit(Duration d) { add(hit_ns, hit_us, d); }
    void addMiss(Duration d) { add(miss_ns, miss_us, d); }
  };
  std::mutex series_mu;
  std::map<std::string, std::map<int64_t, ModelSeries>, std::less<>> series;  // guarded

  ModelSeries& seriesFor(const PredictionKey& key) {
    std::lock_guard<std::mutex> lock(series_mu);
    auto& versions = series[key.model];
    auto it = versions.find(key.version);
    if (it == versions.end()) {
      const std::vector<std::string> l = {key.model, std::to_string(key.version)};
      it = versions.try_emplace(key.version).first;
      it->second.hits = &hits->labels(l);
      it->second.misses = &misses->labels(l);
      it->second.hit_us = &hit_us->labels(l);
      it->second.miss_us = &miss_us->labels(l);
    }
    return it->second;  // never erased: the reference stays valid
  }
};

namespace {

const char* const kErrorKinds[7] = {"timeout",  "connection", "server",      "protocol",
                                    "corrupt", "auth",       "key_mismatch"};

timeval toTimeval(Duration d) {
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(d).count();
  us = std::max<int64_t>(us, 1);
  timeval tv;
  tv.tv_sec = static_cast<time_t>(us / 1000000);
  tv.tv_usec = static_cast<suseconds_t>(us % 1000000);
  return tv;
}

bool isTimeout(int saved_errno, const char* errstr) {
  if (saved_errno == EAGAIN || saved_errno == EWOULDBLOCK || saved_errno == ETIMEDOUT ||
      saved_errno == EINPROGRESS) {
    return true;
  }
  return std::strstr(errstr, "timed out") != nullptr ||
         std::strstr(errstr, "temporarily unavailable") != nullptr;
}

}  // namespace

RedisCache::RedisCache(RedisCacheOptions options, metrics::Registry& registry, Clock& clock)
    : options_(std::move(options)),
      clock_(clock),
      metrics_(std::make_unique<Metrics>()),
      breaker_(options_.breaker, clock) {
  // hiredis writes with write(2): a Redis that dies must not kill the server with SIGPIPE.
  std::signal(SIGPIPE, SIG_IGN);
  Metrics& m = *metrics_;
  // Triton's response-cache counters: names, HELP texts and units (µs) verbatim
  // (triton-inference-server/core src/metrics.cc; promtool lint: metrics/promtool_allowlist.h).
  m.hits = &registry.counter("nv_cache_num_hits_per_model", "Number of cache hits per model",
                             {"model", "version"});
  m.misses = &registry.counter("nv_cache_num_misses_per_model", "Number of cache misses per model",
                               {"model", "version"});
  m.hit_us = &registry.counter("nv_cache_hit_duration_per_model",
                               "Total cache hit duration per model, in microseconds",
                               {"model", "version"});
  m.miss_us = &registry.counter(
      "nv_cache_miss_duration_per_model",
      "Total cache miss (insert+lookup) duration per model, in microseconds", {"model", "version"});
  auto& errors = registry.counter("surge_serve_cache_errors_total",
                                  "Prediction cache operations that failed, by kind", {"kind"});
  for (int i = 0; i < 7; ++i) m.errors[i] = &errors.labels({kErrorKinds[i]});
  m.stores = &registry
                  .counter("surge_serve_cache_stores_total",
                           "Predictions stored in the cache (SET acknowledged)")
                  .get();
  auto& dropped = registry.counter(
      "surge_serve_cache_dropped_total",
      "Prediction cache operations not sent to Redis (queue_full, expired, breaker_open)",
      {"op", "reason"});
  m.drop_lookup_full = &dropped.labels({"lookup", "queue_full"});
  m.drop_lookup_expired = &dropped.labels({"lookup", "expired"});
  m.drop_lookup_breaker = &dropped.labels({"lookup", "breaker_open"});
  m.drop_store_full = &dropped.labels({"store", "queue_full"});
  m.drop_store_breaker = &dropped.labels({"store", "breaker_open"});
  m.breaker_state = &registry
                         .gauge("surge_serve_cache_breaker_state",
                                "Prediction cache circuit breaker: 0 closed, 1 open, 2 half-open")
                         .get();
  m.breaker_opens = &registry
                         .counter("surge_serve_cache_breaker_opens_total",
                                  "Times the prediction cache circuit breaker opened")
                         .get();
  m.lookup_seconds =
      &registry
           .histogram("surge_serve_cache_lookup_duration_seconds",
                      "Prediction cache lookup time, from the request to its answer",
                      {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1}, {})
           .get();
  workers_.reserve(static_cast<size_t>(options_.workers));
  for (int i = 0; i < options_.workers; ++i) workers_.emplace_back([this, i] { workerLoop(i); });
}

RedisCache::~RedisCache() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : workers_) t.join();
  // Workers answer what is left before they exit; nothing should remain.
  for (auto& op : lookups_) answer(*op, std::nullopt);
  lookups_.clear();
  stores_.clear();
}

BreakerState RedisCache::breakerState() const {
  std::lock_guard<std::mutex> lock(mu_);
  return breaker_.state();
}

void RedisCache::answer(Op& op, std::optional<Outputs> outputs, bool looked_up) {
  Duration took = clock_.now() - op.enqueued;
  if (looked_up) {
    // Triton counts a miss only for a lookup that ran and found nothing; dropped and failed
    // lookups have surge_serve_cache_dropped_total / _errors_total.
    Metrics::ModelSeries& series = metrics_->seriesFor(op.key);
    if (outputs) {
      series.hits->inc();
      series.addHit(took);
    } else {
      series.misses->inc();
      series.addMiss(took);
    }
  }
  metrics_->lookup_seconds->observe(toSeconds(took));
  auto done = std::move(op.done);
  done(std::move(outputs), looked_up);
}

void RedisCache::lookup(const PredictionKey& key, const InferRequest& request, LookupDone done) {
  auto op = std::make_unique<Op>();
  op->is_lookup = true;
  op->key = key;
  op->requested = request.outputs;
  op->output_count = request.outputs_wanted.size();
  op->done = std::move(done);
  op->enqueued = clock_.now();
  metrics::Counter* refused = nullptr;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) {
      refused = metrics_->drop_lookup_full;
    } else if (!breaker_.wouldAllow()) {
      refused = metrics_->drop_lookup_breaker;
    } else if (lookups_.size() >= options_.queue_capacity) {
      refused = metrics_->drop_lookup_full;
    } else {
      lookups_.push_back(std::move(op));
    }
  }
  if (refused != nullptr) {
    refused->inc();
    answer(*op, std::nullopt);
    return;
  }
  cv_.notify_one();
}

void RedisCache::store(const PredictionKey& key, const InferRequest& request,
                       const Outputs& outputs) {
  (void)request;
  metrics::Counter* refused = nullptr;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ || stores_.size() >= options_.queue_capacity) {
      refused = metrics_->drop_store_full;
    } else if (!breaker_.wouldAllow()) {
      refused = metrics_->drop_store_breaker;
    }
  }
  if (refused != nullptr) {
    refused->inc();
    return;
  }
  // Encoded on the caller's thread: one pass over the outputs, and the worker only sends bytes.
  auto op = std::make_unique<Op>();
  op->is_lookup = false;
  op->key = key;
  op->value = encodeCacheValue(key, outputs);
  op->enqueued = clock_.now();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stores_.size() >= options_.queue_capacity) {
      refused = metrics_->drop_store_full;
    } else {
      stores_.push_back(std::move(op));
    }
  }
  if (refused != nullptr) {
    refused->inc();
    return;
  }
  cv_.notify_one();
}

void RedisCache::recordSuccess() {
  std::lock_guard<std::mutex> lock(mu_);
  BreakerState before = breaker_.state();
  breaker_.onSuccess();
  if (before != BreakerState::kClosed && breaker_.state() == BreakerState::kClosed) {
    ++reconnect_epoch_;  // Redis is back: workers in backoff reconnect at once
    SURGE_LOG(kInfo, "cache",
              "Redis " + options_.url.toString() + " reachable again: breaker closed");
  }
  metrics_->breaker_state->set(static_cast<double>(breaker_.state()));
}

void RedisCache::recordFailure(ErrorKind kind, const std::string& detail) {
  metrics_->errors[static_cast<int>(kind)]->inc();
  std::lock_guard<std::mutex> lock(mu_);
  uint64_t opens = breaker_.opens();
  breaker_.onFailure();
  if (breaker_.opens() != opens) {
    metrics_->breaker_opens->inc();
    SURGE_LOG(kWarn, "cache",
              "Redis " + options_.url.toString() + " failing (" + detail +
                  "): breaker open, lookups are misses for " +
                  config::formatDuration(options_.breaker.cooldown));
  }
  metrics_->breaker_state->set(static_cast<double>(breaker_.state()));
}

void RedisCache::workerLoop(int index) {
  (void)index;
  Conn conn;
  for (;;) {
    std::unique_ptr<Op> op;
    bool probe = false;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !lookups_.empty() || !stores_.empty(); });
      if (stopping_) {
        // Answer every queued lookup (as a miss) before exiting; stores are dropped.
        while (!lookups_.empty()) {
          auto left = std::move(lookups_.front());
          lookups_.pop_front();
          lock.unlock();
          answer(*left, std::nullopt);
          lock.lock();
        }
        return;
      }
      // Lookups first: a request waits on them; stores only warm the cache.
      auto& q = !lookups_.empty() ? lookups_ : stores_;
      op = std::move(q.front());
      q.pop_front();
      bool expired = op->is_lookup && clock_.now() - op->enqueued > options_.command_timeout;
      if (expired) {
        lock.unlock();
        metrics_->drop_lookup_expired->inc();
        answer(*op, std::nullopt);
        continue;
      }
      if (!breaker_.allow()) {
        lock.unlock();
        if (op->is_lookup) {
          metrics_->drop_lookup_breaker->inc();
          answer(*op, std::nullopt);
        } else {
          metrics_->drop_store_breaker->inc();
        }
        continue;
      }
      probe = breaker_.state() == BreakerState::kHalfOpen;
      metrics_->breaker_state->set(static_cast<double>(breaker_.state()));
      if (conn.epoch != reconnect_epoch_) {
        conn.epoch = reconnect_epoch_;
        conn.next_connect = TimePoint{};
        conn.backoff = Duration(0);
      }
    }
    if (probe) conn.next_connect = TimePoint{};  // the probe always tries to connect
    execute(*op, conn);
  }
}

void RedisCache::execute(Op& op, Conn& conn) {
  auto fail = [&](ErrorKind kind, const std::string& detail) {
    recordFailure(kind, detail);
    if (op.is_lookup) answer(op, std::nullopt);
  };
  if (conn.ctx == nullptr) {
    TimePoint now = clock_.now();
    if (now < conn.next_connect) {
      fail(ErrorKind::kConnection, "reconnect backoff");
      return;
    }
    redisContext* ctx = redisConnectWithTimeout(options_.url.host.c_str(), options_.url.port,
                                                toTimeval(options_.connect_timeout));
    int saved_errno = errno;
    if (ctx == nullptr || ctx->err != 0) {
      std::string detail =
          ctx == nullptr ? "out of memory" : std::string("connect: ") + ctx->errstr;
      bool timeout = ctx != nullptr && isTimeout(saved_errno, ctx->errstr);
      if (ctx != nullptr) redisFree(ctx);
      conn.backoff = conn.backoff == Duration(0)
                         ? options_.backoff_min
                         : std::min<Duration>(conn.backoff * 2, options_.backoff_max);
      conn.next_connect = clock_.now() + conn.backoff;
      fail(timeout ? ErrorKind::kTimeout : ErrorKind::kConnection, detail);
      return;
    }
    conn.ctx = ctx;
    // hiredis opens its socket without close-on-exec; a spawned process must not inherit it.
    ::fcntl(ctx->fd, F_SETFD, FD_CLOEXEC);
    redisSetTimeout(ctx, toTimeval(options_.command_timeout));
    if (options_.url.hasAuth()) {
      // Every (re)connection authenticates first. The password goes out as a binary-safe argument
      // and is scrubbed from whatever the server answers (it never reaches a log line).
      const RedisUrl& u = options_.url;
      auto* reply = static_cast<redisReply*>(
          u.user.empty()
              ? redisCommand(ctx, "AUTH %b", u.password.data(), u.password.size())
              : redisCommand(ctx, "AUTH %b %b", u.user.data(), u.user.size(), u.password.data(),
                             u.password.size()));
      int saved = errno;
      bool ok = reply != nullptr && reply->type == REDIS_REPLY_STATUS;
      ErrorKind kind = ErrorKind::kAuth;
      std::string detail;
      if (reply == nullptr) {
        kind = isTimeout(saved, ctx->errstr) ? ErrorKind::kTimeout : ErrorKind::kConnection;
        detail = std::string("AUTH: ") + ctx->errstr;
      } else if (reply->type == REDIS_REPLY_ERROR) {
        detail = "AUTH as " + (u.user.empty() ? std::string("the default user") : u.user) +
                 " refused: " + std::string(reply->str, reply->len);
      } else if (!ok) {
        detail = "AUTH: unexpected reply";
      }
      if (reply != nullptr) freeReplyObject(reply);
      if (!ok) {
        conn.close();
        conn.next_connect = clock_.now() + options_.backoff_max;
        detail = scrubSecret(detail, u.password);
        if (kind == ErrorKind::kAuth && !auth_warned_.exchange(true)) {
          SURGE_LOG(kWarn, "cache", "Redis " + u.toString() + ": " + detail);
        }
        fail(kind, detail);
        return;
      }
      auth_warned_.store(false, std::memory_order_relaxed);
    }
    if (options_.url.db != 0) {
      auto* reply = static_cast<redisReply*>(redisCommand(ctx, "SELECT %d", options_.url.db));
      bool ok = reply != nullptr && reply->type == REDIS_REPLY_STATUS;
      std::string detail = reply == nullptr ? std::string("SELECT: ") + ctx->errstr
                           : reply->type == REDIS_REPLY_ERROR
                               ? "SELECT: " + std::string(reply->str, reply->len)
                               : "SELECT: unexpected reply";
      if (reply != nullptr) freeReplyObject(reply);
      if (!ok) {
        conn.close();
        conn.next_connect = clock_.now() + options_.backoff_max;
        fail(ErrorKind::kServer, detail);
        return;
      }
    }
    conn.backoff = Duration(0);
  }
  std::string key = redisKey(op.key);
  redisReply* reply = nullptr;
  if (op.is_lookup) {
    reply = static_cast<redisReply*>(redisCommand(conn.ctx, "GET %b", key.data(), key.size()));
  } else {
    long long ms = std::max<long long>(
        1, std::chrono::duration_cast<std::chrono::milliseconds>(options_.ttl).count());
    reply =
        static_cast<redisReply*>(redisCommand(conn.ctx, "SET %b %b PX %lld", key.data(), key.size(),
                                              op.value.data(), op.value.size(), ms));
  }
  int saved_errno = errno;
  if (reply == nullptr) {
    // The context is unusable after any I/O or protocol error: reconnect next time.
    ErrorKind kind = conn.ctx->err == REDIS_ERR_PROTOCOL ? ErrorKind::kProtocol
                     : conn.ctx->err == REDIS_ERR_IO && isTimeout(saved_errno, conn.ctx->errstr)
                         ? ErrorKind::kTimeout
                         : ErrorKind::kConnection;
    std::string detail = conn.ctx->errstr;
    conn.close();
    fail(kind, detail);
    return;
  }
  struct Free {
    redisReply* r;
    ~Free() { freeReplyObject(r); }
  } free_reply{reply};
  if (reply->type == REDIS_REPLY_ERROR) {
    std::string text(reply->str, reply->len);
    // NOAUTH / WRONGPASS: the server wants (other) credentials than the URL gave.
    bool auth = text.rfind("NOAUTH", 0) == 0 || text.rfind("WRONGPASS", 0) == 0;
    text = scrubSecret(std::move(text), options_.url.password);
    if (auth && !auth_warned_.exchange(true)) {
      std::string hint =
          options_.url.hasAuth() ? "" : " (give the password: --cache redis://:PASSWORD@HOST)";
      SURGE_LOG(kWarn, "cache",
                "Redis " + options_.url.toString() + " refused the command: " + text + hint);
    }
    fail(auth ? ErrorKind::kAuth : ErrorKind::kServer, text);
    return;
  }
  if (!op.is_lookup) {
    if (reply->type != REDIS_REPLY_STATUS) {
      fail(ErrorKind::kProtocol, "unexpected SET reply");
      return;
    }
    recordSuccess();
    metrics_->stores->inc();
    // Triton's miss duration is lookup + insert: the SET's time joins the miss's lookup time.
    metrics_->seriesFor(op.key).addMiss(clock_.now() - op.enqueued);
    return;
  }
  if (reply->type == REDIS_REPLY_NIL) {
    recordSuccess();
    answer(op, std::nullopt, /*looked_up=*/true);
    return;
  }
  if (reply->type != REDIS_REPLY_STRING) {
    fail(ErrorKind::kProtocol, "unexpected GET reply");
    return;
  }
  // Redis answered: the breaker sees a success even if the value turns out to be unusable.
  recordSuccess();
  auto decoded = decodeCacheValue(std::string_view(reply->str, reply->len), op.key);
  if (!decoded.isOk() || !outputsFit(*decoded, op.requested, op.output_count)) {
    bool mismatch = !decoded.isOk() && isCacheKeyMismatch(decoded.status());
    metrics_->errors[static_cast<int>(mismatch ? ErrorKind::kKeyMismatch : ErrorKind::kCorrupt)]
        ->inc();
    SURGE_LOG(kDebug, "cache",
              "ignoring cached value for " + key + ": " +
                  (decoded.isOk() ? std::string("outputs do not fit the request")
                                  : decoded.status().message()));
    answer(op, std::nullopt, /*looked_up=*/true);
    return;
  }
  answer(op, std::move(decoded).value(), /*looked_up=*/true);
}

}  // namespace surge::serving
