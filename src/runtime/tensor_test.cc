#include "runtime/tensor.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace surge::runtime {
namespace {

TEST(DataType, NamesRoundTrip) {
  for (DataType t :
       {DataType::kBool, DataType::kUint8, DataType::kUint16, DataType::kUint32, DataType::kUint64,
        DataType::kInt8, DataType::kInt16, DataType::kInt32, DataType::kInt64, DataType::kFp16,
        DataType::kFp32, DataType::kFp64, DataType::kBytes}) {
    auto back = dataTypeFromName(dataTypeName(t));
    ASSERT_TRUE(back.has_value()) << dataTypeName(t);
    EXPECT_EQ(*back, t);
  }
  EXPECT_FALSE(dataTypeFromName("fp32").has_value());
  EXPECT_FALSE(dataTypeFromName("INVALID").has_value());
  EXPECT_EQ(dataTypeSize(DataType::kFp16), 2u);
  EXPECT_EQ(dataTypeSize(DataType::kInt64), 8u);
  EXPECT_EQ(dataTypeSize(DataType::kBytes), 0u);
}

TEST(Shape, CountAndText) {
  EXPECT_EQ(elementCount({}), 1);
  EXPECT_EQ(elementCount({2, 3, 4}), 24);
  EXPECT_EQ(elementCount({2, 0}), 0);
  EXPECT_EQ(shapeToString({2, -1}), "[2, -1]");
  EXPECT_EQ(shapeToString({}), "[]");
}

TEST(Fp16, ExactValuesRoundTrip) {
  for (float f : {0.0f, 1.0f, -2.0f, 0.5f, 65504.0f, 6.103515625e-05f, 5.960464477539063e-08f,
                  1024.0f, -0.333251953125f}) {
    EXPECT_EQ(halfToFloat(floatToHalf(f)), f) << f;
  }
  EXPECT_EQ(floatToHalf(1.0f), 0x3c00);
  EXPECT_EQ(floatToHalf(-2.0f), 0xc000);
  EXPECT_EQ(floatToHalf(65504.0f), 0x7bff);
  EXPECT_EQ(floatToHalf(1e6f), 0x7c00);  // overflow → +Inf
  EXPECT_TRUE(std::isinf(halfToFloat(floatToHalf(std::numeric_limits<float>::infinity()))));
  EXPECT_TRUE(std::isnan(halfToFloat(floatToHalf(std::nanf("")))));
  EXPECT_EQ(floatToHalf(1e-10f), 0);  // underflow → 0
}

TEST(Fp16, RoundsToNearestEven) {
  // 1 + 2^-11 is halfway between 1 and 1 + 2^-10: ties to even (1.0).
  EXPECT_EQ(floatToHalf(1.0f + std::ldexp(1.0f, -11)), 0x3c00);
  // 1 + 3 * 2^-11 is halfway between 1 + 2^-10 (odd) and 1 + 2^-9 (even).
  EXPECT_EQ(floatToHalf(1.0f + 3 * std::ldexp(1.0f, -11)), 0x3c02);
  // Slightly above halfway rounds up.
  EXPECT_EQ(floatToHalf(1.0f + std::ldexp(1.0f, -11) + std::ldexp(1.0f, -20)), 0x3c01);
  // Relative error of a random-ish value stays under 2^-11.
  float v = 3.14159f;
  EXPECT_NEAR(halfToFloat(floatToHalf(v)), v, v * std::ldexp(1.0f, -11));
}

TEST(Tensor, ZeroFilledWithShape) {
  Tensor t(DataType::kFp32, {2, 3});
  EXPECT_EQ(t.elementCount(), 6);
  EXPECT_EQ(t.rows(), 2);
  EXPECT_EQ(t.rowElements(), 3);
  EXPECT_EQ(t.byteSize(), 24u);
  for (int i = 0; i < 6; ++i) EXPECT_EQ(t.dataAs<float>()[i], 0.0f);
  Tensor b(DataType::kBytes, {4});
  EXPECT_EQ(b.strings().size(), 4u);
  EXPECT_EQ(b.byteSize(), 0u);
}

TEST(Tensor, SetValueConvertsAndSaturates) {
  Tensor i8(DataType::kInt8, {3});
  i8.setValue(0, 300);
  i8.setValue(1, -300);
  i8.setValue(2, 7.9);
  EXPECT_EQ(i8.dataAs<int8_t>()[0], 127);
  EXPECT_EQ(i8.dataAs<int8_t>()[1], -128);
  EXPECT_EQ(i8.dataAs<int8_t>()[2], 7);
  Tensor u(DataType::kUint16, {1});
  u.setValue(0, -5);
  EXPECT_EQ(u.dataAs<uint16_t>()[0], 0);
  Tensor b(DataType::kBool, {2});
  b.setValue(0, 0.0);
  b.setValue(1, -2.0);
  EXPECT_EQ(b.valueAt(0), 0.0);
  EXPECT_EQ(b.valueAt(1), 1.0);
  Tensor s(DataType::kBytes, {1});
  s.setValue(0, 2.5);
  EXPECT_EQ(s.strings()[0], "2.5");
  EXPECT_EQ(s.valueAt(0), 3.0);  // BYTES count their length
  Tensor h(DataType::kFp16, {1});
  h.setValue(0, 1.5);
  EXPECT_EQ(h.valueAt(0), 1.5);
}

TEST(Tensor, StackAndSliceRowsRoundTrip) {
  Tensor a(DataType::kInt32, {1, 2}), b(DataType::kInt32, {3, 2});
  for (int i = 0; i < 2; ++i) a.setValue(i, 10 + i);
  for (int i = 0; i < 6; ++i) b.setValue(i, 20 + i);
  const Tensor* parts[] = {&a, &b};
  Tensor s = Tensor::stackRows(parts);
  EXPECT_EQ(s.shape(), (Shape{4, 2}));
  EXPECT_EQ(s.valueAt(0), 10);
  EXPECT_EQ(s.valueAt(2), 20);
  EXPECT_EQ(s.valueAt(7), 25);
  EXPECT_EQ(s.sliceRows(0, 1), a);
  EXPECT_EQ(s.sliceRows(1, 3), b);
  EXPECT_EQ(s.sliceRows(2, 1).valueAt(1), 23);
}

TEST(Tensor, StackBytes) {
  Tensor a(DataType::kBytes, {1}), b(DataType::kBytes, {2});
  a.strings()[0] = "x";
  b.strings() = {"yy", "zzz"};
  const Tensor* parts[] = {&a, &b};
  Tensor s = Tensor::stackRows(parts);
  EXPECT_EQ(s.strings(), (std::vector<std::string>{"x", "yy", "zzz"}));
  EXPECT_EQ(s.sliceRows(1, 2), b);
}

TEST(Tensor, ReshapeKeepsElements) {
  Tensor t(DataType::kFp64, {2, 3});
  t.setValue(5, 9);
  EXPECT_TRUE(t.reshape({3, 2}));
  EXPECT_EQ(t.shape(), (Shape{3, 2}));
  EXPECT_EQ(t.valueAt(5), 9);
  EXPECT_FALSE(t.reshape({4, 2}));
  EXPECT_FALSE(t.reshape({-1, 6}));
  EXPECT_EQ(t.shape(), (Shape{3, 2}));
}

}  // namespace
}  // namespace surge::runtime
