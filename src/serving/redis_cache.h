// RedisCache: the shared prediction cache of
// `surge serve --cache redis://[USER:PASSWORD@]HOST:PORT[/DB]` (issue 6,
// a stateless model server with an external Redis) — a PredictionCache over hiredis.
//   lookup: GET <prefix><model>/<version>/<SHA-256 hex>; a value that decodes, carries the same
//           digest and fits the request is a hit, anything else (absent, error, timeout, corrupt,
//           foreign value, digest mismatch) a miss.
//   connect: AUTH [user] password (when the URL has credentials), then SELECT db, on every
//           connection and reconnection. The password never appears in logs, errors or metrics
//           (RedisUrl::toString and redactRedisUrl print "***").
//   store:  SET <key> <value> PX <ttl> (fire and forget).
// Redis slow or down never fails and never noticeably delays a request:
//   - operations run on a small pool of worker threads, each with its own blocking connection and
//     bounded connect/command timeouts (default 5 ms); lookup() and store() only queue;
//   - the queues are bounded (full → the lookup is a miss, the store is dropped; counted), and a
//     lookup that waited longer than the command timeout in the queue is answered as a miss
//     without asking Redis (expired);
//   - a broken connection is reopened with exponential backoff (10 ms … 1 s) per worker;
//   - a circuit breaker (cache_breaker.h) stops asking after N consecutive errors for a cooldown,
//     then lets one probe through; while open, lookups are misses answered inline.
// Value: a versioned binary encoding (encodeCacheValue below), bound to its key's model, version
// and hash so a value written by anything else is rejected as corrupt, never served.
// Metrics (docs/serving.md "Prediction cache"):
//   nv_cache_num_hits_per_model{model,version}       lookups answered from Redis (Triton's
//   nv_cache_num_misses_per_model{model,version}     every other lookup       names, HELP and
//   nv_cache_hit_duration_per_model{model,version}   µs, hits' lookup time    units: no _total,
//   nv_cache_miss_duration_per_model{model,version}  µs, misses' lookup time µs — see
//                                                    + the SET of the result  serving_metrics.h)
//   surge_serve_cache_errors_total{kind}                 timeout, connection, server, protocol,
//                                                        corrupt, auth, key_mismatch
//   surge_serve_cache_stores_total                       SETs acknowledged by Redis
//   surge_serve_cache_dropped_total{op,reason}           op lookup|store; reason queue_full,
//                                                        expired, breaker_open
//   surge_serve_cache_breaker_state                      gauge 0 closed, 1 open, 2 half-open
//   surge_serve_cache_breaker_opens_total                transitions to open
//   surge_serve_cache_lookup_duration_seconds            histogram: lookup() to its answer
// Thread-safety: lookup()/store() from any thread; `done` runs on a worker thread (or inline on the
// caller's thread when the lookup is refused at once).
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "metrics/registry.h"
#include "serving/cache_breaker.h"
#include "serving/prediction_cache.h"

namespace surge::serving {

// redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]; PORT defaults to 6379, DB to 0. HOST may be a
// name, an IPv4 address or a bracketed IPv6 address ([::1]). USER and PASSWORD are
// percent-decoded (%40 is '@'); no USER means Redis' default user (`AUTH password`).
struct RedisUrl {
  std::string host;
  int port = 6379;
  int db = 0;
  std::string user;      // ACL user; "" = the default user
  std::string password;  // "" = no AUTH
  bool hasAuth() const { return !password.empty(); }
  // "redis://host:port/db", with "user:***@" (or ":***@") when the URL has credentials: safe to
  // log; never contains the password.
  std::string toString() const;
};

// Errors are InvalidArgument naming the problem; they quote the URL with its password masked.
StatusOr<RedisUrl> parseRedisUrl(std::string_view url);
// Masks the credentials of a URL-like string as given on a command line, even a malformed one:
// everything between "://" and the last '@' of the authority becomes "user:***" or "***".
std::string redactRedisUrl(std::string_view url);
// Replaces every occurrence of `secret` in `text` by "***" (server error texts, for safety).
std::string scrubSecret(std::string text, std::string_view secret);

// The value format, version 2 (all integers little-endian):
//   "SPC" 0x02 | 32-byte SHA-256 key digest | u16 model length | model | i64 version |
//   u32 output count | per output: u8 datatype (0 = not computed, nothing follows) |
//   u8 rank | i64 dims[rank] | u64 payload length | payload
//   | u64 checksum (common/hash.h hash64 of everything before it)
// Payload: fixed-size datatypes their raw element bytes (exactly elements × size); BYTES a u32
// length then the bytes, per element. Trailing bytes are an error.
std::string encodeCacheValue(const PredictionKey& key, const PredictionCache::Outputs& outputs);
// Decodes a value and checks it belongs to `key` (same digest, model and version; otherwise the
// error isCacheKeyMismatch recognizes). Errors (InvalidArgument) describe the first problem; never
// reads out of bounds, and allocates in proportion to the value, whatever the input.
StatusOr<PredictionCache::Outputs> decodeCacheValue(std::string_view value,
                                                    const PredictionKey& key);
// True for decodeCacheValue's error on a well-formed value stored for another key.
bool isCacheKeyMismatch(const Status& status);
// The trailing checksum of a value whose other bytes are `body`.
uint64_t cacheValueChecksum(std::string_view body);
// Can `outputs` answer `request`: one tensor per model output and every requested one present?
bool outputsFitRequest(const PredictionCache::Outputs& outputs, const InferRequest& request);

struct RedisCacheOptions {
  RedisUrl url;
  Duration ttl = std::chrono::seconds(300);
  Duration connect_timeout = std::chrono::milliseconds(5);
  Duration command_timeout = std::chrono::milliseconds(5);  // also the longest queue wait
  int workers = 4;
  size_t queue_capacity = 1024;  // per queue (lookups, stores)
  BreakerOptions breaker;
  Duration backoff_min = std::chrono::milliseconds(10);
  Duration backoff_max = std::chrono::seconds(1);
  std::string key_prefix = "surge:pc:";
};

// Checks ttl (>= 1 ms), timeouts (> 0), workers (1..64), queue capacity, breaker options.
Status validateRedisCacheOptions(const RedisCacheOptions& options);

class RedisCache final : public PredictionCache {
 public:
  // Starts the workers (they connect in the background: an unreachable Redis does not delay or
  // fail this). Options must have passed validateRedisCacheOptions.
  RedisCache(RedisCacheOptions options, metrics::Registry& registry, Clock& clock);
  // Stops the workers; lookups still queued are answered as misses.
  ~RedisCache() override;
  RedisCache(const RedisCache&) = delete;
  RedisCache& operator=(const RedisCache&) = delete;

  void lookup(const PredictionKey& key, const InferRequest& request,
              LookupDone done) override;
  void store(const PredictionKey& key, const InferRequest& request,
             const Outputs& outputs) override;

  BreakerState breakerState() const;
  // The Redis key of a prediction key.
  std::string redisKey(const PredictionKey& key) const {
    return options_.key_prefix + key.toString();
  }

 private:
  struct Op;
  struct Conn;
  enum class ErrorKind { kTimeout, kConnection, kServer, kProtocol, kCorrupt, kAuth, kKeyMismatch };
  struct Metrics;

  void workerLoop(int index);
  void execute(Op& op, Conn& conn);
  // Outcome bookkeeping for an operation that reached (or tried to reach) Redis.
  void recordSuccess();
  void recordFailure(ErrorKind kind, const std::string& detail);
  // Answers a lookup; `looked_up` as in PredictionCache::LookupDone (only those count as hits
  // and misses).
  void answer(Op& op, std::optional<Outputs> outputs, bool looked_up = false);

  const RedisCacheOptions options_;
  Clock& clock_;
  std::unique_ptr<Metrics> metrics_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::unique_ptr<Op>> lookups_;
  std::deque<std::unique_ptr<Op>> stores_;
  CacheBreaker breaker_;          // guarded by mu_
  uint64_t reconnect_epoch_ = 0;  // guarded by mu_: bumped when the breaker closes again
  bool stopping_ = false;
  // An authentication failure is logged once (a warning naming the reason, never the password),
  // then again only after an AUTH succeeded: a wrong password must not flood the log.
  std::atomic<bool> auth_warned_{false};
  std::vector<std::thread> workers_;
};

}  // namespace surge::serving
