// Kubernetes quantity parsing/formatting (apimachinery resource.Quantity semantics).
#include "autoscale/hpa/quantity.h"

#include <gtest/gtest.h>

namespace surge::autoscale {
namespace {

int64_t milli(const char* s) {
  auto q = parseQuantityMilli(s);
  EXPECT_TRUE(q.isOk()) << s << ": " << q.status().message();
  return q.isOk() ? q.value() : -999;
}

TEST(QuantityTest, DecimalSuffixes) {
  EXPECT_EQ(milli("500m"), 500);
  EXPECT_EQ(milli("123456789n"), 124);  // metrics-server's nanocores, rounded up
  EXPECT_EQ(milli("250000000n"), 250);
  EXPECT_EQ(milli("1500u"), 2);
  EXPECT_EQ(milli("12"), 12000);
  EXPECT_EQ(milli("1.5"), 1500);
  EXPECT_EQ(milli("2k"), 2000000);
  EXPECT_EQ(milli("1M"), 1000000000);
  EXPECT_EQ(milli("1G"), 1000000000000);
  EXPECT_EQ(milli("1T"), 1000000000000000);
  EXPECT_EQ(milli("1P"), 1000000000000000000);
  EXPECT_EQ(milli("0"), 0);
  EXPECT_EQ(milli("+3"), 3000);
  EXPECT_EQ(milli("-3"), -3000);
  EXPECT_EQ(milli(".5"), 500);
  EXPECT_EQ(milli("5."), 5000);
}

TEST(QuantityTest, BinarySuffixes) {
  EXPECT_EQ(milli("1Ki"), 1024000);
  EXPECT_EQ(milli("1Gi"), 1073741824000);
  EXPECT_EQ(milli("1.5Mi"), 1572864000);
  EXPECT_EQ(milli("1Ti"), 1099511627776000);
}

TEST(QuantityTest, Exponents) {
  EXPECT_EQ(milli("1e3"), 1000000);
  EXPECT_EQ(milli("1E3"), 1000000);
  EXPECT_EQ(milli("1e-3"), 1);
  EXPECT_EQ(milli("1.5e+2"), 150000);
}

TEST(QuantityTest, MilliValueRoundsUp) {
  EXPECT_EQ(milli("0.0001"), 1);   // 0.1m → 1m
  EXPECT_EQ(milli("1.0001"), 1001);
  EXPECT_EQ(milli("1e-9"), 1);
  EXPECT_EQ(milli("1.5m"), 2);
  EXPECT_EQ(milli("0.1Ki"), 102400);  // 102.4 → 102400m exactly
  EXPECT_EQ(milli("0.001Ki"), 1024);  // 1.024 → 1024m
  EXPECT_EQ(milli("0.0000001Ki"), 1);  // 0.0001024 → rounds up to 1m
  EXPECT_EQ(milli("12345678901234567890123e-20"), 123457);  // 123.4567…: 123456.7…m → up
}

TEST(QuantityTest, Malformed) {
  for (const char* bad : {"", "12x", "m", "1mm", "1 ", " 1", "1e", "e3", ".", "1Ki2", "1ki",
                          "1Ei5", "--1", "1.2.3", "0x10", "1e1.5"}) {
    auto q = parseQuantityMilli(bad);
    EXPECT_FALSE(q.isOk()) << "'" << bad << "'";
  }
  auto q = parseQuantityMilli("12x");
  EXPECT_EQ(q.status().message(), "malformed quantity '12x'");
}

TEST(QuantityTest, OutOfRange) {
  EXPECT_FALSE(parseQuantityMilli("10E").isOk());
  EXPECT_FALSE(parseQuantityMilli("8Ei").isOk());
  EXPECT_FALSE(parseQuantityMilli("1e30").isOk());
  EXPECT_FALSE(parseQuantityMilli("9E").isOk());  // 9e21 milli overflows int64
  EXPECT_EQ(milli("9P"), 9000000000000000000);
}

TEST(QuantityTest, Double) {
  EXPECT_DOUBLE_EQ(parseQuantityDouble("0.05").value(), 0.05);
  EXPECT_DOUBLE_EQ(parseQuantityDouble("50m").value(), 0.05);
  EXPECT_DOUBLE_EQ(parseQuantityDouble("0.0001").value(), 0.0001);
  EXPECT_DOUBLE_EQ(parseQuantityDouble("1Ki").value(), 1024.0);
  EXPECT_FALSE(parseQuantityDouble("abc").isOk());
}

TEST(QuantityTest, Format) {
  EXPECT_EQ(formatQuantityMilli(500), "500m");
  EXPECT_EQ(formatQuantityMilli(12000), "12");
  EXPECT_EQ(formatQuantityMilli(1500), "1500m");
  EXPECT_EQ(formatQuantityMilli(0), "0");
  EXPECT_EQ(formatQuantityMilli(2000000), "2k");
  EXPECT_EQ(formatQuantityMilli(1073741824000), "1073741824");
  EXPECT_EQ(formatQuantityMilli(-250), "-250m");
  EXPECT_EQ(formatQuantityMilli(5000000000000), "5G");
  for (int64_t v : {1LL, 999LL, 1000LL, 123456789LL, 1073741824000LL, 7000000000000000LL}) {
    EXPECT_EQ(parseQuantityMilli(formatQuantityMilli(v)).value(), v);
  }
}

}  // namespace
}  // namespace surge::autoscale
