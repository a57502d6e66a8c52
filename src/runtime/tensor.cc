#include "runtime/tensor.h"

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "common/status.h"

namespace surge::runtime {
namespace {

struct TypeInfo {
  DataType type;
  std::string_view name;
  size_t size;
};

constexpr TypeInfo kTypes[] = {
    {DataType::kBool, "BOOL", 1},     {DataType::kUint8, "UINT8", 1},
    {DataType::kUint16, "UINT16", 2}, {DataType::kUint32, "UINT32", 4},
    {DataType::kUint64, "UINT64", 8}, {DataType::kInt8, "INT8", 1},
    {DataType::kInt16, "INT16", 2},   {DataType::kInt32, "INT32", 4},
    {DataType::kInt64, "INT64", 8},   {DataType::kFp16, "FP16", 2},
    {DataType::kFp32, "FP32", 4},     {DataType::kFp64, "FP64", 8},
    {DataType::kBytes, "BYTES", 0},
};

template <class T>
T saturate(double v) {
  if (std::isnan(v)) return T(0);
  if (v <= static_cast<double>(std::numeric_limits<T>::lowest())) {
    return std::numeric_limits<T>::lowest();
  }
  if (v >= static_cast<double>(std::numeric_limits<T>::max())) return std::numeric_limits<T>::max();
  return static_cast<T>(v);
}

template <class T>
T load(const std::byte* p, int64_t i) {
  T v;
  std::memcpy(&v, p + static_cast<size_t>(i) * sizeof(T), sizeof(T));
  return v;
}

template <class T>
void store(std::byte* p, int64_t i, T v) {
  std::memcpy(p + static_cast<size_t>(i) * sizeof(T), &v, sizeof(T));
}

}  // namespace

std::string_view dataTypeName(DataType t) {
  for (const auto& ti : kTypes) {
    if (ti.type == t) return ti.name;
  }
  return "INVALID";
}

std::optional<DataType> dataTypeFromName(std::string_view name) {
  for (const auto& ti : kTypes) {
    if (ti.name == name) return ti.type;
  }
  return std::nullopt;
}

size_t dataTypeSize(DataType t) {
  for (const auto& ti : kTypes) {
    if (ti.type == t) return ti.size;
  }
  return 0;
}

int64_t elementCount(const Shape& shape) {
  for (int64_t d : shape) {
    if (d <= 0) return 0;
  }
  int64_t n = 1;
  for (int64_t d : shape) {
    if (__builtin_mul_overflow(n, d, &n)) return std::numeric_limits<int64_t>::max();
  }
  return n;
}

std::string shapeToString(const Shape& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) s += ", ";
    s += std::to_string(shape[i]);
  }
  s += "]";
  return s;
}

uint16_t floatToHalf(float f) {
  uint32_t x = std::bit_cast<uint32_t>(f);
  uint32_t sign = (x >> 16) & 0x8000u;
  uint32_t exp = (x >> 23) & 0xffu;
  uint32_t mant = x & 0x7fffffu;
  if (exp == 0xff) {  // Inf or NaN (keep NaN quiet and non-zero)
    return static_cast<uint16_t>(sign | 0x7c00u | (mant != 0 ? 0x200u | (mant >> 13) : 0u));
  }
  int32_t e = static_cast<int32_t>(exp) - 127 + 15;
  if (e >= 0x1f) return static_cast<uint16_t>(sign | 0x7c00u);  // overflow → Inf
  if (e <= 0) {
    if (e < -10) return static_cast<uint16_t>(sign);  // underflow → ±0
    // Subnormal half: shift the mantissa (with its implicit 1) right, round to nearest even.
    mant |= 0x800000u;
    uint32_t shift = static_cast<uint32_t>(14 - e);
    uint32_t half_mant = mant >> shift;
    uint32_t rem = mant & ((1u << shift) - 1);
    uint32_t halfway = 1u << (shift - 1);
    if (rem > halfway || (rem == halfway && (half_mant & 1u))) ++half_mant;
    return static_cast<uint16_t>(sign | half_mant);
  }
  uint32_t half = sign | (static_cast<uint32_t>(e) << 10) | (mant >> 13);
  uint32_t rem = mant & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (half & 1u))) ++half;  // may carry into the exponent
  return static_cast<uint16_t>(half);
}

float halfToFloat(uint16_t h) {
  uint32_t sign = (static_cast<uint32_t>(h) & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1fu;
  uint32_t mant = h & 0x3ffu;
  uint32_t x;
  if (exp == 0) {
    if (mant == 0) {
      x = sign;
    } else {  // subnormal: normalize
      int e = -1;
      do {
        ++e;
        mant <<= 1;
      } while ((mant & 0x400u) == 0);
      x = sign | (static_cast<uint32_t>(127 - 15 - e) << 23) | ((mant & 0x3ffu) << 13);
    }
  } else if (exp == 0x1f) {
    x = sign | 0x7f800000u | (mant << 13);
  } else {
    x = sign | ((exp - 15 + 127) << 23) | (mant << 13);
  }
  return std::bit_cast<float>(x);
}

Tensor::Tensor(DataType dtype, Shape shape) : dtype_(dtype), shape_(std::move(shape)) {
  for (int64_t d : shape_) SURGE_CHECK(d >= 0);
  count_ = runtime::elementCount(shape_);
  // Callers check sizes against what backs them first (serving/infer_json.h, model_config.h);
  // a size that cannot even be expressed is an allocation failure, caught at the request boundary.
  size_t elem = dtype_ == DataType::kBytes ? sizeof(std::string) : dataTypeSize(dtype_);
  if (count_ == std::numeric_limits<int64_t>::max() ||
      (elem > 0 && static_cast<uint64_t>(count_) > std::numeric_limits<size_t>::max() / elem)) {
    throw std::length_error("tensor of " + shapeToString(shape_) + " is too large");
  }
  if (dtype_ == DataType::kBytes) {
    strings_.resize(static_cast<size_t>(count_));
  } else {
    bytes_.resize(static_cast<size_t>(count_) * dataTypeSize(dtype_));
  }
}

int64_t Tensor::rowElements() const {
  if (shape_.empty()) return 1;
  int64_t n = 1;
  for (size_t i = 1; i < shape_.size(); ++i) n *= shape_[i];
  return n;
}

double Tensor::valueAt(int64_t i) const {
  const std::byte* p = bytes_.data();
  switch (dtype_) {
    case DataType::kBool:
      return load<uint8_t>(p, i) != 0 ? 1.0 : 0.0;
    case DataType::kUint8:
      return load<uint8_t>(p, i);
    case DataType::kUint16:
      return load<uint16_t>(p, i);
    case DataType::kUint32:
      return load<uint32_t>(p, i);
    case DataType::kUint64:
      return static_cast<double>(load<uint64_t>(p, i));
    case DataType::kInt8:
      return load<int8_t>(p, i);
    case DataType::kInt16:
      return load<int16_t>(p, i);
    case DataType::kInt32:
      return load<int32_t>(p, i);
    case DataType::kInt64:
      return static_cast<double>(load<int64_t>(p, i));
    case DataType::kFp16:
      return halfToFloat(load<uint16_t>(p, i));
    case DataType::kFp32:
      return load<float>(p, i);
    case DataType::kFp64:
      return load<double>(p, i);
    case DataType::kBytes:
      return static_cast<double>(strings_[static_cast<size_t>(i)].size());
    case DataType::kInvalid:
      break;
  }
  return 0;
}

void Tensor::setValue(int64_t i, double v) {
  std::byte* p = bytes_.data();
  switch (dtype_) {
    case DataType::kBool:
      store<uint8_t>(p, i, v != 0 ? 1 : 0);
      return;
    case DataType::kUint8:
      store(p, i, saturate<uint8_t>(v));
      return;
    case DataType::kUint16:
      store(p, i, saturate<uint16_t>(v));
      return;
    case DataType::kUint32:
      store(p, i, saturate<uint32_t>(v));
      return;
    case DataType::kUint64:
      store(p, i, saturate<uint64_t>(v));
      return;
    case DataType::kInt8:
      store(p, i, saturate<int8_t>(v));
      return;
    case DataType::kInt16:
      store(p, i, saturate<int16_t>(v));
      return;
    case DataType::kInt32:
      store(p, i, saturate<int32_t>(v));
      return;
    case DataType::kInt64:
      store(p, i, saturate<int64_t>(v));
      return;
    case DataType::kFp16:
      store(p, i, floatToHalf(static_cast<float>(v)));
      return;
    case DataType::kFp32:
      store(p, i, static_cast<float>(v));
      return;
    case DataType::kFp64:
      store(p, i, v);
      return;
    case DataType::kBytes: {
      char buf[32];
      auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
      strings_[static_cast<size_t>(i)].assign(buf, ec == std::errc() ? end : buf);
      return;
    }
    case DataType::kInvalid:
      return;
  }
}

bool Tensor::reshape(Shape shape) {
  for (int64_t d : shape) {
    if (d < 0) return false;
  }
  if (runtime::elementCount(shape) != count_) return false;
  shape_ = std::move(shape);
  return true;
}

Tensor Tensor::sliceRows(int64_t begin, int64_t count) const {
  SURGE_CHECK(!shape_.empty() && begin >= 0 && count >= 0 && begin + count <= shape_[0]);
  Shape s = shape_;
  s[0] = count;
  Tensor out(dtype_, std::move(s));
  int64_t per_row = rowElements();
  if (dtype_ == DataType::kBytes) {
    auto first = strings_.begin() + begin * per_row;
    std::copy(first, first + count * per_row, out.strings_.begin());
  } else {
    size_t row_bytes = static_cast<size_t>(per_row) * dataTypeSize(dtype_);
    if (count > 0) {
      std::memcpy(out.bytes_.data(), bytes_.data() + static_cast<size_t>(begin) * row_bytes,
                  static_cast<size_t>(count) * row_bytes);
    }
  }
  return out;
}

Tensor Tensor::stackRows(std::span<const Tensor* const> parts) {
  SURGE_CHECK(!parts.empty());
  const Tensor& first = *parts[0];
  SURGE_CHECK(!first.shape_.empty());
  Shape s = first.shape_;
  s[0] = 0;
  for (const Tensor* t : parts) {
    SURGE_CHECK(t->dtype_ == first.dtype_ && t->shape_.size() == first.shape_.size());
    SURGE_CHECK(std::equal(t->shape_.begin() + 1, t->shape_.end(), first.shape_.begin() + 1));
    s[0] += t->shape_[0];
  }
  Tensor out(first.dtype_, std::move(s));
  if (first.dtype_ == DataType::kBytes) {
    auto it = out.strings_.begin();
    for (const Tensor* t : parts) it = std::copy(t->strings_.begin(), t->strings_.end(), it);
  } else {
    std::byte* dst = out.bytes_.data();
    for (const Tensor* t : parts) {
      if (!t->bytes_.empty()) std::memcpy(dst, t->bytes_.data(), t->bytes_.size());
      dst += t->bytes_.size();
    }
  }
  return out;
}

bool Tensor::operator==(const Tensor& other) const {
  return dtype_ == other.dtype_ && shape_ == other.shape_ && bytes_ == other.bytes_ &&
         strings_ == other.strings_;
}

}  // namespace surge::runtime
