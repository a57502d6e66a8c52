// RedisCache pieces that need no Redis: the SHA-256 request key (every field changes it, field
// boundaries cannot be moved), the value codec (every datatype, corrupt and foreign values, digest
// mismatch), URL parsing with credentials and their redaction, option checks — and the driver
// against a closed port (every lookup a miss, errors counted, the breaker opens and then refuses
// inline). The real-Redis behaviour (AUTH included) is in tests/redis_cache_integration_test.cc.
#include "serving/redis_cache.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <future>
#include <thread>

#include "metrics/text_parser.h"

namespace surge::serving {
namespace {

using namespace std::chrono_literals;
using runtime::DataType;
using runtime::Tensor;

PredictionKey testKey() {
  PredictionKey k{"m", 3, {}};
  for (size_t i = 0; i < k.digest.size(); ++i) k.digest[i] = static_cast<uint8_t>(i * 37 + 1);
  return k;
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
  // Any digest bit differs: the value belongs to another request, a mismatch (a miss).
  for (size_t byte : {size_t{0}, size_t{15}, size_t{16}, size_t{31}}) {
    PredictionKey other = testKey();
    other.digest[byte] ^= 0x80;
    auto r = decodeCacheValue(v, other);
    ASSERT_FALSE(r.isOk());
    EXPECT_NE(r.status().message().find("another key"), std::string::npos) << r.status().message();
    EXPECT_TRUE(isCacheKeyMismatch(r.status())) << r.status().message();
  }
  EXPECT_FALSE(isCacheKeyMismatch(decodeCacheValue("", testKey()).status()));
  EXPECT_FALSE(isCacheKeyMismatch(Status::ok()));
  PredictionKey other = testKey();
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
  future[3] = 3;
  EXPECT_FALSE(decodeCacheValue(future, testKey()).isOk());
  // The previous format (1: a 128-bit hash, no digest) is never read as a hit.
  std::string old = v;
  old[3] = 1;
  EXPECT_FALSE(decodeCacheValue(old, testKey()).isOk());
  EXPECT_EQ(v[3], 2);
}

TEST(CacheValue, HugeShapeWithValidChecksumDoesNotAllocate) {
  // Hand-craft a value whose checksum is right but whose shape claims 2^62 elements: the decoder
  // must refuse from the payload length, not try to allocate.
  Tensor t = filled(DataType::kFp64, {1});
  std::string v = encodeCacheValue(testKey(), {t});
  auto back = decodeCacheValue(v, testKey());
  ASSERT_TRUE(back.isOk());
  // Layout: 4 + 32 + 2 + 1 ("m") + 8 + 4 = 51, then dtype (1), rank (1), dims (8 each).
  std::string body = v.substr(0, v.size() - 8);
  ASSERT_EQ(body[51], static_cast<char>(DataType::kFp64));
  ASSERT_EQ(body[52], 1);
  for (int64_t huge : {int64_t{1} << 62, int64_t{2}, int64_t{-1}}) {
    std::string bad = body;
    for (int i = 0; i < 8; ++i) bad[53 + i] = static_cast<char>((huge >> (8 * i)) & 0xff);
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
      {"redis://user@h:1", "credentials must be USER:PASSWORD@ or :PASSWORD@"},
      {"redis://u:@h:1", "empty password"},
      {"redis://:pa%zzss@h:1", "bad percent-escape"},
      {"redis://:pass%4@h:1", "bad percent-escape"},
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
    EXPECT_NE(u.status().message().find("HOST:PORT"), std::string::npos);
  }
}

TEST(RedisUrl, ParsesCredentials) {
  auto u = parseRedisUrl("redis://alice:s3cret@cache.local:6380/2");
  ASSERT_TRUE(u.isOk()) << u.status().message();
  EXPECT_EQ(u->user, "alice");
  EXPECT_EQ(u->password, "s3cret");
  EXPECT_EQ(u->host, "cache.local");
  EXPECT_EQ(u->port, 6380);
  EXPECT_EQ(u->db, 2);
  EXPECT_TRUE(u->hasAuth());
  // The default user: password only.
  u = parseRedisUrl("redis://:hunter2@127.0.0.1");
  ASSERT_TRUE(u.isOk()) << u.status().message();
  EXPECT_EQ(u->user, "");
  EXPECT_EQ(u->password, "hunter2");
  EXPECT_EQ(u->port, 6379);
  // Percent-decoding (RFC 3986 §2.1): '@', ':', '/', '%' and spaces in a password.
  u = parseRedisUrl("redis://us%65r:p%40ss%3Aw%2Fo%25rd%20x@h:1/0");
  ASSERT_TRUE(u.isOk()) << u.status().message();
  EXPECT_EQ(u->user, "user");
  EXPECT_EQ(u->password, "p@ss:w/o%rd x");
  // A raw '@' in the password: credentials end at the last '@'.
  u = parseRedisUrl("redis://:a@b@h:2");
  ASSERT_TRUE(u.isOk()) << u.status().message();
  EXPECT_EQ(u->password, "a@b");
  EXPECT_EQ(u->host, "h");
  EXPECT_EQ(u->port, 2);
  // No credentials: no AUTH.
  u = parseRedisUrl("redis://h:1");
  ASSERT_TRUE(u.isOk());
  EXPECT_FALSE(u->hasAuth());
}

TEST(RedisUrl, NeverPrintsThePassword) {
  auto u = parseRedisUrl("redis://alice:s3cret@cache.local:6380/2");
  ASSERT_TRUE(u.isOk());
  EXPECT_EQ(u->toString(), "redis://alice:***@cache.local:6380/2");
  u = parseRedisUrl("redis://:s3cret@h");
  ASSERT_TRUE(u.isOk());
  EXPECT_EQ(u->toString(), "redis://:***@h:6379/0");
  // Errors quote the URL with the password masked, however malformed the rest is.
  for (const char* bad : {"redis://alice:s3cret@h:0", "redis://:s3cret@", "redis://:s3cret@h h",
                          "redis://alice:s3cret@h:1/x", "redis://:s3cret@[::1",
                          "redis://s3cret@h:1", "redis://:s3c%zzret@h", "rediss://:s3cret@h",
                          "http://u:s3cret@h:1"}) {
    auto r = parseRedisUrl(bad);
    ASSERT_FALSE(r.isOk()) << bad;
    EXPECT_EQ(r.status().message().find("s3cret"), std::string::npos) << r.status().message();
    EXPECT_EQ(r.status().message().find("s3c"), std::string::npos) << r.status().message();
    EXPECT_NE(r.status().message().find("***"), std::string::npos) << r.status().message();
  }
  EXPECT_EQ(redactRedisUrl("redis://alice:s3cret@h:1/0"), "redis://alice:***@h:1/0");
  EXPECT_EQ(redactRedisUrl("redis://:a@b@h"), "redis://:***@h");
  EXPECT_EQ(redactRedisUrl("redis://s3cret@h"), "redis://***@h");
  EXPECT_EQ(redactRedisUrl("redis://h:1/0"), "redis://h:1/0");
  EXPECT_EQ(redactRedisUrl(""), "");
  EXPECT_EQ(scrubSecret("WRONGPASS s3cret x s3cret", "s3cret"), "WRONGPASS *** x ***");
  EXPECT_EQ(scrubSecret("nothing", ""), "nothing");
}

// ---- the request key ---------------------------------------------------------------------------

runtime::ModelSpec keySpec() {
  runtime::ModelSpec s;
  s.name = "m";
  s.version = 3;
  s.inputs = {{"a", DataType::kFp32, {2}, {}, false}, {"b", DataType::kBytes, {-1}, {}, false}};
  s.outputs = {{"y", DataType::kFp32, {1}, {}, false}, {"z", DataType::kFp32, {1}, {}, false}};
  return s;
}

InferRequest keyRequest() {
  InferRequest r;
  Tensor a(DataType::kFp32, {1, 2});
  a.setValue(0, 1.5);
  a.setValue(1, -2);
  Tensor b(DataType::kBytes, {1, 2});
  b.strings()[0] = "ab";
  b.strings()[1] = "c";
  r.inputs.push_back(std::move(a));
  r.inputs.push_back(std::move(b));
  r.outputs = {0, 1};
  r.outputs_wanted = {true, true};
  r.binary_outputs = {false, false};
  return r;
}

TEST(PredictionKeyDigest, IsSha256AndStable) {
  PredictionKey k = predictionKey(keySpec(), keyRequest());
  EXPECT_EQ(k, predictionKey(keySpec(), keyRequest()));
  EXPECT_EQ(k.model, "m");
  EXPECT_EQ(k.version, 3);
  EXPECT_EQ(k.toString(), "m/3/" + k.digestHex());
  EXPECT_EQ(k.digestHex().size(), 64u);
  // Known answer: the empty request is SHA-256 of the documented stream (u64 LE length prefixes).
  runtime::ModelSpec spec;
  spec.name = "m";
  spec.version = 1;
  InferRequest empty;
  std::string stream;
  auto u64 = [&](uint64_t v) {
    for (int i = 0; i < 8; ++i) stream += static_cast<char>((v >> (8 * i)) & 0xff);
  };
  auto field = [&](std::string_view f) {
    u64(f.size());
    stream += f;
  };
  field("surge.prediction-key/v1");
  field("m");
  u64(1);  // version
  u64(0);  // inputs
  u64(0);  // outputs
  PredictionKey::Digest want{};
  unsigned int len = 0;
  ASSERT_EQ(EVP_Digest(stream.data(), stream.size(), want.data(), &len, EVP_sha256(), nullptr), 1);
  EXPECT_EQ(predictionKey(spec, empty).digest, want);
}

TEST(PredictionKeyDigest, EveryFieldChangesIt) {
  const runtime::ModelSpec spec = keySpec();
  const PredictionKey base = predictionKey(spec, keyRequest());
  std::vector<std::pair<std::string, PredictionKey>> variants;
  auto with = [&](const std::string& what, auto mutate) {
    runtime::ModelSpec s = spec;
    InferRequest r = keyRequest();
    mutate(s, r);
    variants.emplace_back(what, predictionKey(s, r));
  };
  with("model name", [](auto& s, auto&) { s.name = "n"; });
  with("model version", [](auto& s, auto&) { s.version = 4; });
  with("input name", [](auto& s, auto&) { s.inputs[0].name = "a2"; });
  with("input bytes", [](auto&, auto& r) { r.inputs[0].setValue(1, -2.5); });
  with("input datatype, same bytes", [](auto&, auto& r) {
    Tensor t(DataType::kInt32, {1, 2});
    std::memcpy(t.data(), r.inputs[0].data(), 8);
    r.inputs[0] = std::move(t);
  });
  with("input shape, same bytes", [](auto&, auto& r) {
    Tensor t(DataType::kFp32, {2, 1});
    std::memcpy(t.data(), r.inputs[0].data(), 8);
    r.inputs[0] = std::move(t);
  });
  with("input rank, same bytes", [](auto&, auto& r) {
    Tensor t(DataType::kFp32, {1, 2, 1});
    std::memcpy(t.data(), r.inputs[0].data(), 8);
    r.inputs[0] = std::move(t);
  });
  with("BYTES element boundary", [](auto&, auto& r) {
    r.inputs[1].strings()[0] = "a";
    r.inputs[1].strings()[1] = "bc";
  });
  with("BYTES element count", [](auto&, auto& r) {
    Tensor t(DataType::kBytes, {1, 1});
    t.strings()[0] = "abc";
    r.inputs[1] = std::move(t);
  });
  with("input name boundary", [](auto& s, auto&) {
    s.inputs[0].name = "ab";
    s.inputs[1].name = "";
  });
  with("model name / version boundary", [](auto& s, auto&) {
    s.name = "m3";
    s.version = 0;
  });
  with("one input fewer", [](auto&, auto& r) { r.inputs.pop_back(); });
  with("requested outputs", [](auto&, auto& r) { r.outputs = {0}; });
  with("output order", [](auto&, auto& r) { r.outputs = {1, 0}; });
  with("output name", [](auto& s, auto&) { s.outputs[1].name = "w"; });
  with("binary_data", [](auto&, auto& r) { r.binary_outputs = {false, true}; });
  for (size_t i = 0; i < variants.size(); ++i) {
    EXPECT_NE(variants[i].second, base) << variants[i].first;
    EXPECT_NE(variants[i].second.digest, base.digest) << variants[i].first;
    for (size_t j = i + 1; j < variants.size(); ++j) {
      EXPECT_NE(variants[i].second.digest, variants[j].second.digest)
          << variants[i].first << " vs " << variants[j].first;
    }
  }
  // What cannot change the outputs is not keyed.
  InferRequest r = keyRequest();
  r.id = "request-7";
  r.timeout = std::chrono::seconds(5);
  EXPECT_EQ(predictionKey(spec, r), base);
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
  // Every lookup is answered without outputs whatever the outcome (the request goes to the
  // model), and marked as not looked up; the breaker opens after three errors and further
  // lookups are refused inline.
  for (int i = 0; i < 10; ++i) {
    std::promise<bool> p;
    cache.lookup(key, req, [&](std::optional<PredictionCache::Outputs> o, bool looked_up) {
      EXPECT_FALSE(looked_up);
      p.set_value(o.has_value());
    });
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
  // Failed and dropped lookups are neither hits nor misses (Triton counts lookups that ran).
  EXPECT_EQ(sample(registry, "nv_cache_num_misses_per_model", {{"model", "m"}}), 0);
  EXPECT_EQ(sample(registry, "nv_cache_num_hits_per_model"), 0);
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
      cache.lookup(testKey(), req, [&](std::optional<PredictionCache::Outputs> r, bool) {
        EXPECT_FALSE(r.has_value());
        answered.fetch_add(1);
      });
    }
  }
  EXPECT_EQ(answered.load(), 50);
}

}  // namespace
}  // namespace surge::serving
