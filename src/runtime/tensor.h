// Tensor: the value type every inference backend consumes and produces — a datatype, a shape and
// row-major element storage. Fixed-size datatypes keep raw little-endian bytes (BOOL one byte per
// element, FP16 as IEEE 754 binary16 bits); BYTES keeps one std::string per element.
// Rows are slices along dimension 0, the batch dimension: the batcher stacks the rows of several
// requests into one tensor (stackRows) and hands each request its own rows back (sliceRows).
// Datatype names are the Open Inference Protocol's ("FP32", "BYTES"); Triton's config names
// ("TYPE_FP32", "TYPE_STRING") map onto the same enum in serving/model_config.
// Complexity: stack/slice O(bytes copied). Thread-safety: a value type (copying is deep).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace surge::runtime {

enum class DataType : uint8_t {
  kInvalid = 0,
  kBool,
  kUint8,
  kUint16,
  kUint32,
  kUint64,
  kInt8,
  kInt16,
  kInt32,
  kInt64,
  kFp16,
  kFp32,
  kFp64,
  kBytes,
};

// "FP32", "BYTES"... ("INVALID" for kInvalid).
std::string_view dataTypeName(DataType t);
// Inverse of dataTypeName (exact, upper case); nullopt for unknown names and "INVALID".
std::optional<DataType> dataTypeFromName(std::string_view name);
// Bytes per element; 0 for BYTES and kInvalid.
size_t dataTypeSize(DataType t);

using Shape = std::vector<int64_t>;

// Product of the dimensions (1 for a scalar, []). Negative dimensions count as 0; a product above
// INT64_MAX saturates at INT64_MAX (overflow-safe for shapes from the wire).
int64_t elementCount(const Shape& shape);
// "[2, 3]".
std::string shapeToString(const Shape& shape);

// IEEE 754 binary16 <-> binary32, round to nearest even; NaN and infinities preserved.
uint16_t floatToHalf(float f);
float halfToFloat(uint16_t h);

class Tensor {
 public:
  Tensor() = default;
  // Zero-filled (empty strings for BYTES). Negative dimensions are a programming error; a shape
  // whose byte size overflows throws std::length_error (check sizes before: infer_json.h).
  Tensor(DataType dtype, Shape shape);

  DataType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  int64_t elementCount() const { return count_; }
  // Size of dimension 0 (1 for a scalar).
  int64_t rows() const { return shape_.empty() ? 1 : shape_[0]; }
  // Elements per row (the product of the dimensions after the first).
  int64_t rowElements() const;

  // Fixed-size datatypes: raw element bytes (elementCount() * dataTypeSize()).
  std::byte* data() { return bytes_.data(); }
  const std::byte* data() const { return bytes_.data(); }
  size_t byteSize() const { return bytes_.size(); }
  template <class T>
  T* dataAs() {
    return reinterpret_cast<T*>(bytes_.data());
  }
  template <class T>
  const T* dataAs() const {
    return reinterpret_cast<const T*>(bytes_.data());
  }
  // BYTES: one string per element.
  std::vector<std::string>& strings() { return strings_; }
  const std::vector<std::string>& strings() const { return strings_; }

  // Element i converted to double (BOOL 0/1, FP16 widened; BYTES: its length).
  double valueAt(int64_t i) const;
  // Stores v into element i, converted to the tensor's datatype (saturating casts for integers,
  // BOOL = v != 0, BYTES = shortest decimal text of v).
  void setValue(int64_t i, double v);

  // Same elements, another shape; false (and unchanged) when the element counts differ.
  bool reshape(Shape shape);

  // Rows [begin, begin + count) as a new tensor of shape [count] + shape[1:].
  Tensor sliceRows(int64_t begin, int64_t count) const;
  // Concatenates tensors along dimension 0. Every part must have the same datatype and the same
  // dimensions after the first (the caller checks; a mismatch is a programming error).
  static Tensor stackRows(std::span<const Tensor* const> parts);

  // Same datatype, shape and elements.
  bool operator==(const Tensor& other) const;

 private:
  DataType dtype_ = DataType::kInvalid;
  Shape shape_;
  int64_t count_ = 0;
  std::vector<std::byte> bytes_;
  std::vector<std::string> strings_;
};

}  // namespace surge::runtime
