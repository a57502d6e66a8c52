// The HTTP content codings: round trips, what tritonclient sends, compression bombs (refused at the
// limit, quickly), truncated and corrupt streams, header parsing and Accept-Encoding negotiation.
#include "serving/http_compression.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <chrono>
#include <random>

namespace surge::serving {
namespace {

// Compresses with zlib directly (independently of encodeBody): window_bits 15+16 gzip, 15 zlib
// (Python's zlib.compress), -15 raw deflate.
std::string zcompress(std::string_view data, int window_bits, int level = 6) {
  z_stream zs{};
  EXPECT_EQ(deflateInit2(&zs, level, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&zs, data.size()) + 64, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&zs, Z_FINISH), Z_STREAM_END);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

std::string sample(size_t n) {
  std::mt19937 rng(7);
  std::string s;
  s.reserve(n);
  while (s.size() < n) {
    s += "{\"name\":\"x\",\"data\":[" + std::to_string(rng() % 1000) + "]}";
  }
  s.resize(n);
  return s;
}

// A gzip member inflating to `chunks` MiB of zeros, built without compressing all of it: one
// fully flushed deflate chunk for 1 MiB of zeros, repeated, then the final block and the trailer.
std::string gzipBomb(size_t chunks) {
  const std::string mib(1 << 20, '\0');
  z_stream zs{};
  EXPECT_EQ(deflateInit2(&zs, 9, Z_DEFLATED, -15, 9, Z_DEFAULT_STRATEGY), Z_OK);
  std::string chunk(1 << 16, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(mib.data()));
  zs.avail_in = static_cast<uInt>(mib.size());
  zs.next_out = reinterpret_cast<Bytef*>(chunk.data());
  zs.avail_out = static_cast<uInt>(chunk.size());
  EXPECT_EQ(deflate(&zs, Z_FULL_FLUSH), Z_OK);
  chunk.resize(chunk.size() - zs.avail_out);
  std::string tail(64, '\0');
  zs.next_out = reinterpret_cast<Bytef*>(tail.data());
  zs.avail_out = static_cast<uInt>(tail.size());
  EXPECT_EQ(deflate(&zs, Z_FINISH), Z_STREAM_END);
  tail.resize(tail.size() - zs.avail_out);
  deflateEnd(&zs);

  std::string out("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03", 10);
  out.reserve(out.size() + chunk.size() * chunks + tail.size() + 8);
  uLong crc = crc32(0, nullptr, 0);
  uLong crc_mib = crc32(0, reinterpret_cast<const Bytef*>(mib.data()), static_cast<uInt>(mib.size()));
  for (size_t i = 0; i < chunks; ++i) {
    out += chunk;
    crc = crc32_combine(crc, crc_mib, static_cast<z_off_t>(mib.size()));
  }
  out += tail;
  uint32_t size = static_cast<uint32_t>(chunks << 20);
  for (uint32_t v : {static_cast<uint32_t>(crc), size}) {
    for (int b = 0; b < 4; ++b) out += static_cast<char>((v >> (8 * b)) & 0xff);
  }
  return out;
}

TEST(HttpCompressionTest, RoundTripsEveryCoding) {
  for (size_t n : {size_t{1}, size_t{100}, size_t{5000}, size_t{1} << 20}) {
    std::string body = sample(n);
    for (ContentCoding c : {ContentCoding::kGzip, ContentCoding::kDeflate}) {
      auto enc = encodeBody(body, c);
      ASSERT_TRUE(enc.isOk());
      auto dec = decodeBody(*enc, c, n);  // exactly at the limit
      ASSERT_TRUE(dec.isOk()) << dec.status().message();
      EXPECT_EQ(*dec, body);
      auto over = decodeBody(*enc, c, n - 1);  // one byte over
      ASSERT_FALSE(over.isOk());
      EXPECT_EQ(over.status().code(), StatusCode::kResourceExhausted);
      EXPECT_EQ(over.status().message(),
                "decompressed body exceeds --max-request-size (" + std::to_string(n - 1) +
                    " bytes)");
    }
  }
  // An empty payload compresses to a valid stream and decodes to nothing.
  auto enc = encodeBody("", ContentCoding::kGzip);
  ASSERT_TRUE(enc.isOk());
  auto dec = decodeBody(*enc, ContentCoding::kGzip, 0);
  ASSERT_TRUE(dec.isOk()) << dec.status().message();
  EXPECT_EQ(*dec, "");
}

TEST(HttpCompressionTest, DecodesWhatTritonclientSends) {
  std::string body = sample(3000);
  // tritonclient.http: gzip.compress (RFC 1952) for "gzip", zlib.compress (RFC 1950) for "deflate".
  auto gz = decodeBody(zcompress(body, 15 + 16), ContentCoding::kGzip, 1 << 20);
  ASSERT_TRUE(gz.isOk()) << gz.status().message();
  EXPECT_EQ(*gz, body);
  auto zl = decodeBody(zcompress(body, 15), ContentCoding::kDeflate, 1 << 20);
  ASSERT_TRUE(zl.isOk()) << zl.status().message();
  EXPECT_EQ(*zl, body);
  // Raw deflate (RFC 1951) under "deflate"; and, like Triton, either wrapper under either name.
  for (int level : {0, 1, 9}) {
    auto raw = decodeBody(zcompress(body, -15, level), ContentCoding::kDeflate, 1 << 20);
    ASSERT_TRUE(raw.isOk()) << level << ": " << raw.status().message();
    EXPECT_EQ(*raw, body);
  }
  auto swapped = decodeBody(zcompress(body, 15), ContentCoding::kGzip, 1 << 20);
  ASSERT_TRUE(swapped.isOk());
  EXPECT_EQ(*swapped, body);
  swapped = decodeBody(zcompress(body, 15 + 16), ContentCoding::kDeflate, 1 << 20);
  ASSERT_TRUE(swapped.isOk());
  EXPECT_EQ(*swapped, body);
  // Concatenated gzip members are one body.
  auto two = decodeBody(zcompress("abc", 31) + zcompress("def", 31), ContentCoding::kGzip, 100);
  ASSERT_TRUE(two.isOk()) << two.status().message();
  EXPECT_EQ(*two, "abcdef");
}

TEST(HttpCompressionTest, BombsAreRefusedAtTheLimitQuickly) {
  // DEFLATE expands at most ~1032:1: 10 KiB inflates to ~10 MiB, ~1 MiB to 1 GiB.
  std::string small = gzipBomb(10);
  EXPECT_LT(small.size(), 12u << 10);
  auto s = decodeBody(small, ContentCoding::kGzip, 1 << 20);
  ASSERT_FALSE(s.isOk());
  EXPECT_EQ(s.status().code(), StatusCode::kResourceExhausted);
  // The bomb is a valid stream: with room enough it decodes to its 10 MiB of zeros.
  auto whole = decodeBody(small, ContentCoding::kGzip, 10 << 20);
  ASSERT_TRUE(whole.isOk()) << whole.status().message();
  EXPECT_EQ(whole->size(), size_t{10} << 20);

  std::string big = gzipBomb(1024);  // 1 GiB
  EXPECT_LT(big.size(), 2u << 20);
  auto start = std::chrono::steady_clock::now();
  auto b = decodeBody(big, ContentCoding::kGzip, 64 << 20);  // --max-request-size's default
  auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(b.isOk());
  EXPECT_EQ(b.status().code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(b.status().message(), "decompressed body exceeds --max-request-size (67108864 bytes)");
  // Inflating 64 MiB of zeros takes tens of milliseconds; the whole GiB would take seconds.
  EXPECT_LT(took, std::chrono::seconds(5));
}

TEST(HttpCompressionTest, TruncatedCorruptAndWrongStreamsAre400) {
  std::string body = sample(4000);
  std::string gz = zcompress(body, 31);
  auto expect400 = [](StatusOr<std::string> r, const std::string& needle) {
    ASSERT_FALSE(r.isOk());
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << r.status().message();
    EXPECT_NE(r.status().message().find(needle), std::string::npos) << r.status().message();
  };
  expect400(decodeBody(gz.substr(0, gz.size() / 2), ContentCoding::kGzip, 1 << 20), "truncated");
  expect400(decodeBody(gz.substr(0, gz.size() - 4), ContentCoding::kGzip, 1 << 20), "truncated");
  expect400(decodeBody(gz.substr(0, 5), ContentCoding::kGzip, 1 << 20), "truncated");
  std::string bad = gz;
  bad[bad.size() - 6] = static_cast<char>(bad[bad.size() - 6] ^ 0x55);  // CRC-32
  expect400(decodeBody(bad, ContentCoding::kGzip, 1 << 20), "corrupt gzip body");
  bad = gz;
  for (size_t i = 20; i < 60; ++i) bad[i] = static_cast<char>(0xff);
  expect400(decodeBody(bad, ContentCoding::kGzip, 1 << 20), "corrupt gzip body");
  expect400(decodeBody(body, ContentCoding::kGzip, 1 << 20), "not gzip data");
  expect400(decodeBody("", ContentCoding::kGzip, 1 << 20), "empty body");
  expect400(decodeBody("", ContentCoding::kDeflate, 1 << 20), "empty body");
  expect400(decodeBody(gz + "xyz", ContentCoding::kGzip, 1 << 20), "3 bytes after the end");
  std::string zl = zcompress(body, 15);
  expect400(decodeBody(zl.substr(0, zl.size() - 1), ContentCoding::kDeflate, 1 << 20),
            "truncated");
  bad = zl;
  bad[bad.size() - 1] = static_cast<char>(bad[bad.size() - 1] ^ 1);  // Adler-32
  expect400(decodeBody(bad, ContentCoding::kDeflate, 1 << 20), "corrupt deflate body");
  // Plain JSON under "deflate" is neither zlib nor valid raw deflate.
  auto plain = decodeBody(R"({"inputs":[]})", ContentCoding::kDeflate, 1 << 20);
  EXPECT_FALSE(plain.isOk());
  EXPECT_EQ(plain.status().code(), StatusCode::kInvalidArgument);
  // A zlib stream that needs a preset dictionary.
  expect400(decodeBody(std::string("\x78\xbb\x00\x00\x00\x01", 6), ContentCoding::kDeflate, 100),
            "preset dictionary");
}

TEST(HttpCompressionTest, ContentEncodingHeader) {
  auto is = [](std::string_view v, ContentCoding want) {
    auto c = parseContentEncoding(v);
    return c.isOk() && *c == want;
  };
  EXPECT_TRUE(is("", ContentCoding::kIdentity));
  EXPECT_TRUE(is("identity", ContentCoding::kIdentity));
  EXPECT_TRUE(is("gzip", ContentCoding::kGzip));
  EXPECT_TRUE(is(" GZip ", ContentCoding::kGzip));
  EXPECT_TRUE(is("x-gzip", ContentCoding::kGzip));
  EXPECT_TRUE(is("deflate", ContentCoding::kDeflate));
  EXPECT_TRUE(is("identity, deflate", ContentCoding::kDeflate));
  auto br = parseContentEncoding("br");
  ASSERT_FALSE(br.isOk());
  EXPECT_EQ(br.status().message(),
            "unsupported Content-Encoding 'br' (supported: gzip, deflate, identity)");
  auto stacked = parseContentEncoding("gzip, gzip");
  ASSERT_FALSE(stacked.isOk());
  EXPECT_NE(stacked.status().message().find("stacked"), std::string::npos);
  EXPECT_FALSE(parseContentEncoding("deflate, gzip").isOk());
  EXPECT_FALSE(parseContentEncoding("gzip;q=1").isOk());
  auto long_name = parseContentEncoding(std::string(1000, 'z'));
  ASSERT_FALSE(long_name.isOk());
  EXPECT_LT(long_name.status().message().size(), 200u);
}

TEST(HttpCompressionTest, AcceptEncodingNegotiation) {
  using C = ContentCoding;
  EXPECT_EQ(negotiateAcceptEncoding(""), C::kIdentity);
  EXPECT_EQ(negotiateAcceptEncoding("gzip"), C::kGzip);
  EXPECT_EQ(negotiateAcceptEncoding("deflate"), C::kDeflate);
  EXPECT_EQ(negotiateAcceptEncoding("gzip, deflate, br"), C::kGzip);
  EXPECT_EQ(negotiateAcceptEncoding("deflate, gzip"), C::kGzip);  // tie: gzip
  EXPECT_EQ(negotiateAcceptEncoding("gzip;q=0.5, deflate;q=0.8"), C::kDeflate);
  EXPECT_EQ(negotiateAcceptEncoding("GZIP ; Q=0.2"), C::kGzip);
  EXPECT_EQ(negotiateAcceptEncoding("gzip;q=0"), C::kIdentity);
  EXPECT_EQ(negotiateAcceptEncoding("gzip;q=0.5, identity"), C::kIdentity);
  EXPECT_EQ(negotiateAcceptEncoding("gzip, identity;q=0.5"), C::kGzip);
  EXPECT_EQ(negotiateAcceptEncoding("identity"), C::kIdentity);
  EXPECT_EQ(negotiateAcceptEncoding("br"), C::kIdentity);
  EXPECT_EQ(negotiateAcceptEncoding("*"), C::kGzip);
  EXPECT_EQ(negotiateAcceptEncoding("*;q=0.3, gzip;q=0"), C::kDeflate);
  EXPECT_EQ(negotiateAcceptEncoding("*;q=0"), C::kIdentity);
  // Nothing acceptable: identity anyway (documented).
  EXPECT_EQ(negotiateAcceptEncoding("identity;q=0"), C::kIdentity);
  EXPECT_EQ(negotiateAcceptEncoding("br, identity;q=0"), C::kIdentity);
  // Malformed q-values drop their element.
  EXPECT_EQ(negotiateAcceptEncoding("gzip;q=2"), C::kIdentity);
  EXPECT_EQ(negotiateAcceptEncoding("gzip;q=abc, deflate"), C::kDeflate);
  EXPECT_EQ(negotiateAcceptEncoding("gzip;q=0.12345"), C::kIdentity);
  EXPECT_EQ(negotiateAcceptEncoding("gzip;q=1.000"), C::kGzip);
}

}  // namespace
}  // namespace surge::serving
