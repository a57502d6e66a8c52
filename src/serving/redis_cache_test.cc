// RedisCache pieces that need no Redis: the value codec (every datatype, corrupt and foreign
// values), URL parsing, option checks — and the driver against a closed port (every lookup a
// miss, errors counted, the breaker opens and then refuses inline). The real-Redis behaviour is
// in tests/redis_cache_integration_test.cc.
#include "serving/redis_cache.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>

#include "metrics/text_parser.h"

namespace surge::serving {
namespace {

using namespace std::chrono_literals;
using runtime::DataType;
using runtime::Tensor;

PredictionKey testKey() {
  return PredictionKey{"m", 3, 0x0123456789abcdefULL, 0xfedcba9876543210ULL};
}

Tensor filled(DataType dt, runtime::Shape shape) {
  Tensor t(dt, std::move(shape));
  for (int64_t i = 0; i < t.elementCount(); ++i) t.setValue(i, static_cast<double>(i * 7 % 5 + 1));
  return t;
}

TEST(CacheValue, RoundTripsEveryDatatype) {
  const DataType all[] = {DataType::kBool,   DataType::kUint8, DataType::kUint16, DataType::kUint32,
                          DataType::kUint64, DataType::kInt8,  DataType::kInt16,  DataType::kInt32,
                          DataType::kInt64,  DataType::kFp16,  DataType::kFp32,   DataType::kFp64,
                          DataType::kBytes};
  for (DataType dt : all) {
    SCOPED_TRACE(std::string(runtime::dataTypeName(dt)));
    PredictionCache::Outputs outputs;
    outputs.push_back(filled(dt, {2, 3}));
    outputs.emplace_back();  // an output the request did not ask for
    outputs.push_back(filled(dt, {1}));
    outputs.push_back(Tensor(dt, {0, 4}));  // empty
    std::string v = encodeCacheValue(testKey(), outputs);
    auto back = decodeCacheValue(v, testKey());
    ASSERT_TRUE(back.isOk()) << back.status().message();
    ASSERT_EQ(back->size(), outputs.size());
    for (size_t i = 0; i < outputs.size(); ++i) {
      EXPECT_EQ((*back)[i].dtype(), outputs[i].dtype()) << i;
      EXPECT_EQ((*back)[i].shape(), outputs[i].shape()) << i;
      EXPECT_TRUE((*back)[i] == outputs[i]) << i;
    }
  }
}

TEST(CacheValue, BytesKeepsArbitraryContent) {
  Tensor t(DataType::kBytes, {4});
  t.strings()[0] = "";
  t.strings()[1] = std::string("a\0b", 3);
  t.strings()[2] = std::string(1000, '\xff');
  t.strings()[3] = "héllo";
  std::string v = encodeCacheValue(testKey(), {t});
  auto back = decodeCacheValue(v, testKey());
  ASSERT_TRUE(back.isOk()) << back.status().message();
  EXPECT_EQ((*back)[0].strings(), t.strings());
}

TEST(CacheValue, RejectsEveryTruncation) {
  PredictionCache::Outputs outputs = {filled(DataType::kFp32, {2, 2}),
                                      filled(DataType::kBytes, {3})};
  std::string v = encodeCacheValue(testKey(), outputs);
  for (size_t n = 0; n < v.size(); ++n) {
    EXPECT_FALSE(decodeCacheValue(std::string_view(v).substr(0, n), testKey()).isOk()) << n;
  }
  EXPECT_FALSE(decodeCacheValue(v + "x", testKey()).isOk());
}

TEST(CacheValue, RejectsEveryFlippedByte) {
  PredictionCache::Outputs outputs = {filled(DataType::kInt32, {2, 2}),
                                      filled(DataType::kBytes, {2})};
  std::string v = encodeCacheValue(testKey(), outputs);
  for (size_t i = 0; i < v.size(); ++i) {
    std::string bad = v;
    bad[i] = static_cast<char>(bad[i] ^ 0x10);
    EXPECT_FALSE(decodeCacheValue(bad, testKey()).isOk()) << i;
  }
}

TEST(CacheValue, RejectsForeignValues) {
  std::string v = encodeCacheValue(testKey(), {filled(DataType::kFp32, {1, 2})});
  PredictionKey other = testKey();
  other.lo ^= 1;
  auto r = decodeCacheValue(v, other);
  ASSERT_FALSE(r.isOk());
  EXPECT_NE(r.status().message().find("another key"), std::string::npos) << r.status().message();
  other = testKey();
  other.version = 4;
  EXPECT_FALSE(decodeCacheValue(v, other).isOk());
  other = testKey();
  other.model = "n";
  EXPECT_FALSE(decodeCacheValue(v, other).isOk());
  // Something another program wrote under the key.
  EXPECT_FALSE(decodeCacheValue("{\"outputs\": [1, 2]}", testKey()).isOk());
  EXPECT_FALSE(decodeCacheValue("", testKey()).isOk());
  // A future format version.
  std::string future = v;
  future[3] = 2;
  EXPECT_FALSE(decodeCacheValue(future, testKey()).isOk());
}

TEST(CacheValue, HugeShapeWithValidChecksumDoesNotAllocate) {
  // Hand-craft a value whose checksum is right but whose shape claims 2^62 elements: the decoder
  // must refuse from the payload length, not try to allocate.
  Tensor t = filled(DataType::kFp64, {1});
  std::string v = encodeCacheValue(testKey(), {t});
  auto back = decodeCacheValue(v, testKey());
  ASSERT_TRUE(back.isOk());
  // Layout: 4 + 16 + 2 + 1 ("m") + 8 + 4 = 35, then dtype (1), rank (1), dims (8 each).
  std::string body = v.substr(0, v.size() - 8);
  ASSERT_EQ(body[35], static_cast<char>(DataType::kFp64));
  ASSERT_EQ(body[36], 1);
  for (int64_t huge : {int64_t{1} << 62, int64_t{2}, int64_t{-1}}) {
    std::string bad = body;
    for (int i = 0; i < 8; ++i) bad[37 + i] = static_cast<char>((huge >> (8 * i)) & 0xff);
    uint64_t sum = cacheValueChecksum(bad);
    for (int i = 0; i < 8; ++i) bad += static_cast<char>((sum >> (8 * i)) & 0xff);
    auto r = decodeCacheValue(bad, testKey());
    ASSERT_FALSE(r.isOk()) << huge;
    EXPECT_EQ(r.status().message().find("checksum"), std::string::npos) << r.status().message();
  }
}

TEST(CacheValue, OutputsFitRequest) {
  InferRequest req;
  req.outputs = {1};
  req.outputs_wanted = {false, true};
  PredictionCache::Outputs ok = {Tensor(), filled(DataType::kFp32, {1, 2})};
  EXPECT_TRUE(outputsFitRequest(ok, req));
  PredictionCache::Outputs missing = {filled(DataType::kFp32, {1, 2}), Tensor()};
  EXPECT_FALSE(outputsFitRequest(missing, req));
  PredictionCache::Outputs short_list = {Tensor()};
  EXPECT_FALSE(outputsFitRequest(short_list, req));
}

TEST(RedisUrl, Parses) {
  auto u = parseRedisUrl("redis://cache.local:6380/2");
  ASSERT_TRUE(u.isOk()) << u.status().message();
  EXPECT_EQ(u->host, "cache.local");
  EXPECT_EQ(u->port, 6380);
  EXPECT_EQ(u->db, 2);
  EXPECT_EQ(u->toString(), "redis://cache.local:6380/2");
  u = parseRedisUrl("redis://127.0.0.1:7000");
  ASSERT_TRUE(u.isOk());
  EXPECT_EQ(u->port, 7000);
  EXPECT_EQ(u->db, 0);
  u = parseRedisUrl("redis://redis");
  ASSERT_TRUE(u.isOk());
  EXPECT_EQ(u->port, 6379);
  u = parseRedisUrl("redis://[::1]:6379/0");
  ASSERT_TRUE(u.isOk()) << u.status().message();
  EXPECT_EQ(u->host, "::1");
  EXPECT_EQ(u->toString(), "redis://[::1]:6379/0");
  u = parseRedisUrl("redis://h:1/");
  ASSERT_TRUE(u.isOk());
  EXPECT_EQ(u->db, 0);
}

TEST(RedisUrl, RejectsWithClearMessages) {
  struct Case {
    const char* url;
    const char* message;
  } cases[] = {
      {"", "missing the redis:// scheme"},
      {"localhost:6379", "missing the redis:// scheme"},
      {"http://h:1", "scheme must be redis://"},
      {"rediss://h:1", "TLS"},
      {"redis://", "missing host"},
      {"redis://:6379", "missing host"},
      {"redis://h:", "empty port"},
      {"redis://h:0", "not in 1..65535"},
      {"redis://h:65536", "not in 1..65535"},
      {"redis://h:63x", "not in 1..65535"},
      {"redis://h:1/x", "database 'x'"},
      {"redis://h:1/-1", "database"},
      {"redis://u:p@h:1", "credentials"},
      {"redis://h:1?db=2", "query"},
      {"redis://::1:6379", "brackets"},
      {"redis://[::1", "unterminated"},
      {"redis://h h:1", "bad character"},
  };
  for (const Case& c : cases) {
    auto u = parseRedisUrl(c.url);
    ASSERT_FALSE(u.isOk()) << c.url;
    EXPECT_NE(u.status().message().find(c.message), std::string::npos)
        << c.url << ": " << u.status().message();
    EXPECT_NE(u.status().message().find("redis://HOST:PORT"), std::string::npos);
  }
}

TEST(RedisCacheOptions, Validates) {
  RedisCacheOptions o;
  o.url.host = "h";
  EXPECT_TRUE(validateRedisCacheOptions(o).isOk());
  auto bad = o;
  bad.ttl = 500us;
  EXPECT_NE(validateRedisCacheOptions(bad).message().find("--cache-ttl"), std::string::npos);
  bad = o;
  bad.command_timeout = 0ms;
  EXPECT_NE(validateRedisCacheOptions(bad).message().find("--cache-timeout"), std::string::npos);
  bad = o;
  bad.workers = 0;
  EXPECT_FALSE(validateRedisCacheOptions(bad).isOk());
  bad = o;
  bad.breaker.failure_threshold = 0;
  EXPECT_FALSE(validateRedisCacheOptions(bad).isOk());
}

// A TCP port on 127.0.0.1 with nothing listening (bound then closed: connect is refused).
int closedPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

double sample(metrics::Registry& r, std::string_view name, const metrics::LabelPairs& f = {}) {
  auto page = metrics::parseText(r.render());
  EXPECT_TRUE(page.isOk());
  return page.isOk() ? page->sum(name, f) : -1;
}

TEST(RedisCacheDriver, UnreachableRedisIsAMissAndOpensTheBreaker) {
  metrics::Registry registry;
  RedisCacheOptions o;
  o.url.host = "127.0.0.1";
  o.url.port = closedPort();
  o.workers = 1;
  o.breaker = BreakerOptions{3, std::chrono::hours(1)};
  RedisCache cache(o, registry, SteadyClock::instance());
  InferRequest req;
  req.outputs = {0};
  req.outputs_wanted = {true};
  PredictionKey key = testKey();
  // Every lookup is answered, as a miss, whatever the outcome; the breaker opens after three
  // errors and further lookups are refused inline.
  for (int i = 0; i < 10; ++i) {
    std::promise<bool> p;
    cache.lookup(key, req,
                 [&](std::optional<PredictionCache::Outputs> o) { p.set_value(o.has_value()); });
    auto f = p.get_future();
    ASSERT_EQ(f.wait_for(5s), std::future_status::ready);
    EXPECT_FALSE(f.get());
  }
  EXPECT_EQ(cache.breakerState(), BreakerState::kOpen);
  EXPECT_EQ(sample(registry, "surge_serve_cache_breaker_opens_total"), 1);
  EXPECT_EQ(sample(registry, "surge_serve_cache_breaker_state"), 1);
  EXPECT_GE(sample(registry, "surge_serve_cache_errors_total", {{"kind", "connection"}}), 3);
  EXPECT_GE(sample(registry, "surge_serve_cache_dropped_total",
                   {{"op", "lookup"}, {"reason", "breaker_open"}}),
            1);
  EXPECT_EQ(sample(registry, "nv_cache_num_misses_per_model_total", {{"model", "m"}}), 10);
  EXPECT_EQ(sample(registry, "nv_cache_num_hits_per_model_total"), 0);
  // Stores while open are dropped, not queued.
  cache.store(key, req, {filled(DataType::kFp32, {1})});
  EXPECT_EQ(sample(registry, "surge_serve_cache_dropped_total",
                   {{"op", "store"}, {"reason", "breaker_open"}}),
            1);
  EXPECT_EQ(sample(registry, "surge_serve_cache_stores_total"), 0);
}

TEST(RedisCacheDriver, DestructorAnswersQueuedLookups) {
  metrics::Registry registry;
  RedisCacheOptions o;
  o.url.host = "127.0.0.1";
  o.url.port = closedPort();
  o.workers = 1;
  std::atomic<int> answered{0};
  {
    RedisCache cache(o, registry, SteadyClock::instance());
    InferRequest req;
    req.outputs = {0};
    req.outputs_wanted = {true};
    for (int i = 0; i < 50; ++i) {
      cache.lookup(testKey(), req, [&](std::optional<PredictionCache::Outputs> r) {
        EXPECT_FALSE(r.has_value());
        answered.fetch_add(1);
      });
    }
  }
  EXPECT_EQ(answered.load(), 50);
}

}  // namespace
}  // namespace surge::serving
