// gateway.yaml `timeouts` (per_try in particular): parsed values, defaults, and errors naming
// file:line:col and the field.
#include "gateway/gateway_config.h"

#include <gtest/gtest.h>

#include "config/node.h"

namespace surge::gateway {
namespace {

using namespace std::chrono_literals;

StatusOr<GatewayConfig> parse(const std::string& yaml) {
  auto n = config::Node::loadString(yaml, "gateway.yaml");
  if (!n.isOk()) return n.status();
  return parseGatewayConfig(*n);
}

TEST(GatewayConfigTimeouts, PerTryIsOffByDefault) {
  auto c = parse("backends: [127.0.0.1:8001]\n");
  ASSERT_TRUE(c.isOk()) << c.status().message();
  EXPECT_EQ(c->per_try_timeout, Duration::zero());
  auto t = parse("timeouts: {connect: 2s}\n");
  ASSERT_TRUE(t.isOk()) << t.status().message();
  EXPECT_EQ(t->per_try_timeout, Duration::zero());
  EXPECT_EQ(t->connect_timeout, 2s);
}

TEST(GatewayConfigTimeouts, PerTryParses) {
  auto c = parse("retries: 2\ntimeouts: {per_try: 1s, request: 30s}\n");
  ASSERT_TRUE(c.isOk()) << c.status().message();
  EXPECT_EQ(c->per_try_timeout, 1s);
  EXPECT_EQ(c->request_timeout, 30s);
  EXPECT_TRUE(validateGatewayConfig(*c).isOk());
  auto ms = parse("timeouts:\n  per_try: 250ms\n");
  ASSERT_TRUE(ms.isOk());
  EXPECT_EQ(ms->per_try_timeout, 250ms);
}

TEST(GatewayConfigTimeouts, PerTryZeroOrOffDisables) {
  for (const char* v : {"0", "0s", "off", "none"}) {
    auto c = parse(std::string("timeouts: {per_try: ") + v + "}\n");
    ASSERT_TRUE(c.isOk()) << v << ": " << c.status().message();
    EXPECT_EQ(c->per_try_timeout, Duration::zero()) << v;
  }
}

TEST(GatewayConfigTimeouts, PerTryErrorsNameTheField) {
  auto neg = parse("timeouts:\n  per_try: -1s\n");
  ASSERT_FALSE(neg.isOk());
  EXPECT_NE(neg.status().message().find("gateway.yaml:2:"), std::string::npos)
      << neg.status().message();
  EXPECT_NE(neg.status().message().find("per_try"), std::string::npos) << neg.status().message();

  auto tiny = parse("timeouts: {per_try: 10us}\n");
  ASSERT_FALSE(tiny.isOk());
  EXPECT_NE(tiny.status().message().find("at least 1ms"), std::string::npos);

  auto junk = parse("timeouts: {per_try: soon}\n");
  ASSERT_FALSE(junk.isOk());
  EXPECT_NE(junk.status().message().find("per_try"), std::string::npos);

  auto over = parse("timeouts: {per_try: 2m, request: 60s}\n");
  ASSERT_FALSE(over.isOk());
  EXPECT_NE(over.status().message().find("must not exceed timeouts.request"), std::string::npos)
      << over.status().message();

  auto typo = parse("timeouts: {per_try_timeout: 1s}\n");
  ASSERT_FALSE(typo.isOk());
  EXPECT_NE(typo.status().message().find("per_try_timeout"), std::string::npos);

  auto not_map = parse("timeouts: 1s\n");
  ASSERT_FALSE(not_map.isOk());
}

TEST(GatewayConfigTimeouts, ValidateRejectsPerTryAboveTheRequestTimeout) {
  GatewayConfig c;
  c.per_try_timeout = 2s;
  c.request_timeout = 1s;
  EXPECT_FALSE(validateGatewayConfig(c).isOk());
  c.per_try_timeout = 1s;
  EXPECT_TRUE(validateGatewayConfig(c).isOk());
}

TEST(GatewayConfigAccessLog, OffByDefault) {
  auto c = parse("backends: [127.0.0.1:8001]\n");
  ASSERT_TRUE(c.isOk()) << c.status().message();
  EXPECT_FALSE(c->access_log.enabled());
  auto off = parse("access_log: off\n");
  ASSERT_TRUE(off.isOk()) << off.status().message();
  EXPECT_FALSE(off->access_log.enabled());
}

TEST(GatewayConfigAccessLog, ScalarAndMapForms) {
  auto s = parse("access_log: /var/log/surge/access.log\n");
  ASSERT_TRUE(s.isOk()) << s.status().message();
  EXPECT_EQ(s->access_log.path, "/var/log/surge/access.log");
  EXPECT_EQ(s->access_log.format, AccessLogFormat::kText);
  auto m = parse("access_log: {path: stdout, format: json, buffer_size: 4MiB}\n");
  ASSERT_TRUE(m.isOk()) << m.status().message();
  EXPECT_TRUE(m->access_log.toStdout());
  EXPECT_EQ(m->access_log.format, AccessLogFormat::kJson);
  EXPECT_EQ(m->access_log.buffer_bytes, 4u << 20);
}

TEST(GatewayConfigAccessLog, ErrorsNameLineColumnAndField) {
  auto f = parse("workers: 1\naccess_log:\n  path: a.log\n  format: xml\n");
  ASSERT_FALSE(f.isOk());
  EXPECT_NE(f.status().message().find("gateway.yaml:4:"), std::string::npos)
      << f.status().message();
  EXPECT_NE(f.status().message().find("format"), std::string::npos) << f.status().message();
  auto b = parse("access_log: {path: a.log, buffer_size: 1KiB}\n");
  ASSERT_FALSE(b.isOk());
  EXPECT_NE(b.status().message().find("buffer_size"), std::string::npos);
  EXPECT_NE(b.status().message().find("64KiB"), std::string::npos) << b.status().message();
  auto k = parse("access_log: {path: a.log, fromat: json}\n");
  ASSERT_FALSE(k.isOk());
  EXPECT_NE(k.status().message().find("fromat"), std::string::npos) << k.status().message();
  auto p = parse("access_log: {format: json}\n");
  ASSERT_FALSE(p.isOk());
  EXPECT_NE(p.status().message().find("path"), std::string::npos) << p.status().message();
}

TEST(GatewayConfigActivator, OffByDefaultAndParses) {
  auto d = parse("backends: [127.0.0.1:8001]\n");
  ASSERT_TRUE(d.isOk()) << d.status().message();
  EXPECT_FALSE(d->activator.enabled);
  auto c = parse("activator: {queue_size: 50, timeout: 20s, retry_after: 3s}\n");
  ASSERT_TRUE(c.isOk()) << c.status().message();
  EXPECT_TRUE(c->activator.enabled);  // a map turns it on unless enabled: false
  EXPECT_EQ(c->activator.queue_size, 50);
  EXPECT_EQ(c->activator.timeout, 20s);
  EXPECT_EQ(c->activator.retry_after, 3s);
  EXPECT_TRUE(validateGatewayConfig(*c).isOk());
  auto off = parse("activator: {enabled: false, queue_size: 5}\n");
  ASSERT_TRUE(off.isOk());
  EXPECT_FALSE(off->activator.enabled);
  auto shorthand = parse("activator: true\n");
  ASSERT_TRUE(shorthand.isOk());
  EXPECT_TRUE(shorthand->activator.enabled);
  EXPECT_EQ(shorthand->activator.queue_size, ActivatorOptions{}.queue_size);
}

TEST(GatewayConfigActivator, ErrorsNameFileLineAndField) {
  auto zero = parse("listen: 0.0.0.0:0\nactivator:\n  queue_size: 0\n");
  ASSERT_FALSE(zero.isOk());
  EXPECT_NE(zero.status().message().find("gateway.yaml:3:"), std::string::npos)
      << zero.status().message();
  EXPECT_NE(zero.status().message().find("queue_size"), std::string::npos)
      << zero.status().message();
  auto timeout = parse("activator: {timeout: 0s}\n");
  ASSERT_FALSE(timeout.isOk());
  EXPECT_NE(timeout.status().message().find("timeout"), std::string::npos)
      << timeout.status().message();
  auto unknown = parse("activator: {queue: 5}\n");
  ASSERT_FALSE(unknown.isOk());
  EXPECT_NE(unknown.status().message().find("queue"), std::string::npos);
  auto junk = parse("activator: maybe\n");
  ASSERT_FALSE(junk.isOk());
  EXPECT_NE(junk.status().message().find("gateway.yaml:1:"), std::string::npos)
      << junk.status().message();
}

}  // namespace
}  // namespace surge::gateway

namespace surge::gateway {
namespace {

StatusOr<GatewayConfig> parseH2(const std::string& yaml) {
  auto n = config::Node::loadString(yaml, "gateway.yaml");
  if (!n.isOk()) return n.status();
  return parseGatewayConfig(*n);
}

TEST(GatewayConfigHttp2, DefaultsAndOverrides) {
  auto c = parseH2("backends: [127.0.0.1:8001]\n");
  ASSERT_TRUE(c.isOk()) << c.status().message();
  EXPECT_FALSE(c->upstreamIsH2());
  EXPECT_TRUE(c->http2.enabled);
  EXPECT_FALSE(c->tls.enabled());
  auto h = parseH2(
      "upstream_protocol: h2\nhttp2: {max_concurrent_streams: 64, upstream_connections: 2}\n"
      "tls: {cert: /c.pem, key: /k.pem, client_ca: /ca.pem, require_client_cert: true, "
      "min_version: \"1.3\"}\n");
  ASSERT_TRUE(h.isOk()) << h.status().message();
  EXPECT_TRUE(h->upstreamIsH2());
  EXPECT_EQ(h->http2.max_concurrent_streams, 64u);
  EXPECT_EQ(h->http2.upstream_connections, 2);
  EXPECT_TRUE(h->tls.enabled());
  EXPECT_EQ(h->tls.min_version, "1.3");
  EXPECT_TRUE(h->tls.require_client_cert);
  auto off = parseH2("http2: false\n");
  ASSERT_TRUE(off.isOk());
  EXPECT_FALSE(off->http2.enabled);
}

TEST(GatewayConfigHttp2, BadValuesNameTheLineAndField) {
  auto p = parseH2("upstream_protocol: h3\n");
  ASSERT_FALSE(p.isOk());
  EXPECT_NE(p.status().message().find("gateway.yaml:1"), std::string::npos) << p.status().message();
  EXPECT_NE(p.status().message().find("http1 or h2"), std::string::npos);
  auto t = parseH2("tls: {cert: /c.pem}\n");
  ASSERT_FALSE(t.isOk());
  EXPECT_NE(t.status().message().find("key"), std::string::npos) << t.status().message();
  auto v = parseH2("tls: {cert: /c.pem, key: /k.pem, min_version: \"1.1\"}\n");
  ASSERT_FALSE(v.isOk());
  EXPECT_NE(v.status().message().find("min_version"), std::string::npos) << v.status().message();
  auto m = parseH2("tls: {cert: /c.pem, key: /k.pem, require_client_cert: true}\n");
  ASSERT_FALSE(m.isOk());
  EXPECT_NE(m.status().message().find("client_ca"), std::string::npos) << m.status().message();
  auto s = parseH2("http2: {max_concurrent_streams: 0}\n");
  ASSERT_FALSE(s.isOk());
  auto u = parseH2("http2: {bogus: 1}\n");
  ASSERT_FALSE(u.isOk());
}

TEST(GatewayConfigHttp2, HealthChecksSpeakWhatTheBackendsSpeak) {
  auto c = parseH2(
      "upstream_protocol: h2\nhealth_check: {path: /grpc.health.v1.Health/Check, "
      "grpc: true}\n");
  ASSERT_TRUE(c.isOk()) << c.status().message();
  EXPECT_TRUE(c->health_check.http2);
  EXPECT_TRUE(c->health_check.grpc);
  EXPECT_TRUE(validateGatewayConfig(*c).isOk());
  auto h1 = parseH2("health_check: {path: /healthz}\n");
  ASSERT_TRUE(h1.isOk());
  EXPECT_FALSE(h1->health_check.http2);
  auto bad = parseH2("health_check: {path: /x, grpc: true}\n");
  ASSERT_TRUE(bad.isOk());
  Status st = validateGatewayConfig(*bad);
  ASSERT_FALSE(st.isOk());
  EXPECT_NE(st.message().find("upstream_protocol: h2"), std::string::npos) << st.message();
}

}  // namespace
}  // namespace surge::gateway
