#include "serving/tensor_wire.h"

#include <cstring>
#include <limits>

namespace surge::serving {

using runtime::DataType;
using runtime::Shape;
using runtime::Tensor;

std::string tensorNames(const std::vector<runtime::TensorSpec>& specs) {
  std::string out;
  for (const auto& s : specs) {
    if (!out.empty()) out += ", ";
    out += s.name;
  }
  return out;
}

bool checkedElementCount(const Shape& shape, int64_t* out) {
  for (int64_t d : shape) {
    if (d < 0) return false;
  }
  for (int64_t d : shape) {
    if (d == 0) {
      *out = 0;
      return true;
    }
  }
  int64_t n = 1;
  for (int64_t d : shape) {
    if (n > std::numeric_limits<int64_t>::max() / d) return false;
    n *= d;
  }
  *out = n;
  return true;
}

bool dimsMatch(const Shape& want, const Shape& got, size_t offset) {
  if (got.size() != want.size() + offset) return false;
  for (size_t i = 0; i < want.size(); ++i) {
    if (want[i] != -1 && want[i] != got[i + offset]) return false;
  }
  return true;
}

bool resolveShape(const Shape& pattern, int64_t elements, bool batched, int64_t rows, Shape* out) {
  out->clear();
  if (batched) out->push_back(rows);
  int64_t per = batched ? (rows > 0 ? elements / rows : 0) : elements;
  int64_t fixed = 1;
  int wildcard = -1;
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] < 0) {
      wildcard = static_cast<int>(i);
    } else {
      fixed *= pattern[i];  // config dims: their product is range-checked at load
    }
  }
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (static_cast<int>(i) == wildcard) {
      if (fixed == 0 || per % fixed != 0) return false;
      out->push_back(per / fixed);
    } else {
      out->push_back(pattern[i]);
    }
  }
  int64_t n = 0;
  return checkedElementCount(*out, &n) && n == elements;
}

Status checkInputShape(const runtime::TensorSpec& ts, const Shape& shape, int64_t max_batch_size,
                       const std::string& iname, int64_t* rows, std::string* rows_from,
                       int64_t* count) {
  const bool batched = max_batch_size > 0;
  Shape want = ts.dims;
  if (batched) want.insert(want.begin(), -1);
  if (!dimsMatch(ts.dims, shape, batched ? 1 : 0)) {
    return invalidArgument("input '" + iname + "': shape " + runtime::shapeToString(shape) +
                           " does not match the model's " + runtime::shapeToString(want) +
                           (batched ? " (batch dimension first)" : ""));
  }
  if (batched) {
    if (shape[0] < 1 || shape[0] > max_batch_size) {
      return invalidArgument("input '" + iname + "': batch size " + std::to_string(shape[0]) +
                             " is outside [1, max_batch_size " + std::to_string(max_batch_size) +
                             "]");
    }
    if (*rows >= 0 && shape[0] != *rows) {
      return invalidArgument("inputs '" + *rows_from + "' and '" + iname +
                             "' have different batch sizes (" + std::to_string(*rows) + " and " +
                             std::to_string(shape[0]) + ")");
    }
    *rows = shape[0];
    *rows_from = iname;
  }
  if (!checkedElementCount(shape, count)) {
    return invalidArgument("input '" + iname + "': shape " + runtime::shapeToString(shape) +
                           " has more elements than fit in 64 bits");
  }
  return Status::ok();
}

Status fillRawTensor(std::string_view raw, Tensor& t, const std::string& input,
                     std::string_view source) {
  const std::string what(source);
  if (t.dtype() != DataType::kBytes) {
    size_t want = t.byteSize();
    if (raw.size() != want) {
      return invalidArgument("input '" + input + "': shape " + runtime::shapeToString(t.shape()) +
                             " needs " + std::to_string(want) + " bytes of " + what + ", got " +
                             std::to_string(raw.size()));
    }
    if (want > 0) std::memcpy(t.data(), raw.data(), want);
    if (t.dtype() == DataType::kBool) {
      for (size_t i = 0; i < want; ++i) {
        if (static_cast<uint8_t>(raw[i]) > 1) {
          return invalidArgument("input '" + input + "': BOOL " + what + " must be 0 or 1");
        }
      }
    }
    return Status::ok();
  }
  size_t pos = 0;
  for (auto& s : t.strings()) {
    if (raw.size() - pos < 4) {
      return invalidArgument("input '" + input + "': BYTES " + what + " ends inside an element");
    }
    uint32_t n = static_cast<uint32_t>(static_cast<uint8_t>(raw[pos])) |
                 static_cast<uint32_t>(static_cast<uint8_t>(raw[pos + 1])) << 8 |
                 static_cast<uint32_t>(static_cast<uint8_t>(raw[pos + 2])) << 16 |
                 static_cast<uint32_t>(static_cast<uint8_t>(raw[pos + 3])) << 24;
    pos += 4;
    if (raw.size() - pos < n) {
      return invalidArgument("input '" + input + "': BYTES " + what + " ends inside an element");
    }
    s.assign(raw.substr(pos, n));
    pos += n;
  }
  if (pos != raw.size()) {
    return invalidArgument("input '" + input + "': " + std::to_string(raw.size() - pos) +
                           " bytes of " + what + " left after " +
                           std::to_string(t.elementCount()) + " BYTES elements");
  }
  return Status::ok();
}

void appendRawTensor(std::string& out, const Tensor& t) {
  if (t.dtype() != DataType::kBytes) {
    out.append(reinterpret_cast<const char*>(t.data()), t.byteSize());
    return;
  }
  for (const auto& s : t.strings()) {
    auto n = static_cast<uint32_t>(s.size());
    char len[4] = {static_cast<char>(n & 0xff), static_cast<char>((n >> 8) & 0xff),
                   static_cast<char>((n >> 16) & 0xff), static_cast<char>((n >> 24) & 0xff)};
    out.append(len, 4);
    out += s;
  }
}

size_t rawTensorSize(const Tensor& t) {
  if (t.dtype() != DataType::kBytes) return t.byteSize();
  size_t n = 0;
  for (const auto& s : t.strings()) n += 4 + s.size();
  return n;
}

}  // namespace surge::serving
