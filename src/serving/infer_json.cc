#include "serving/infer_json.h"

#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>

#include "common/hash.h"
#include "net/http_util.h"
#include "serving/tensor_wire.h"

namespace surge::serving {
namespace {

using runtime::DataType;
using runtime::Shape;
using runtime::Tensor;

// Nesting depth a request may use (objects and arrays, e.g. a rank-60 nested "data" array).
constexpr int kMaxDepth = 64;


// A forward-only JSON reader (RFC 8259) over the request body: no document tree, nothing
// allocated but the strings that need unescaping, so a request costs its body plus the tensors
// it fills (simdjson's DOM took ~13 bytes per body byte for an array of small numbers). Strings
// must be valid UTF-8; numbers follow the JSON grammar exactly. Values are read in place; a
// position may be remembered (pos) and read again later by a reader made with at(), which is how
// "data" is counted before its tensor is allocated and filled.
class JsonReader {
 public:
  explicit JsonReader(std::string_view s)
      : begin_(s.data()), p_(s.data()), end_(s.data() + s.size()) {}

  const char* pos() const { return p_; }
  // A fresh reader over the same body, at `p` (a pos() of this one).
  JsonReader at(const char* p) const {
    JsonReader r(std::string_view(begin_, static_cast<size_t>(end_ - begin_)));
    r.p_ = p;
    return r;
  }
  bool failed() const { return !error_.empty(); }
  Status status() const { return invalidArgument("malformed JSON: " + error_); }

  bool fail(const char* what) {
    if (error_.empty()) {
      error_ = std::string(what) + " at byte " + std::to_string(p_ - begin_);
    }
    return false;
  }

  void ws() {
    while (p_ < end_ && (*p_ == ' ' || *p_ == '\n' || *p_ == '\r' || *p_ == '\t')) ++p_;
  }
  // The next value's kind after whitespace: '{', '[', '"', '0' (number), 't', 'f', 'n' (null),
  // or 0 at the end / before anything that starts no value.
  char peek() {
    ws();
    if (p_ == end_) return 0;
    char c = *p_;
    if (c == '-' || (c >= '0' && c <= '9')) return '0';
    if (c == '{' || c == '[' || c == '"' || c == 't' || c == 'f' || c == 'n') return c;
    return 0;
  }
  bool atEnd() {
    ws();
    return p_ == end_;
  }

  // A string value; `*out` views the body when the string has no escapes, else `*scratch`.
  bool string(std::string_view* out, std::string* scratch) {
    ws();
    if (p_ == end_ || *p_ != '"') return fail("expected a string");
    ++p_;
    const char* start = p_;
    while (p_ < end_) {
      auto c = static_cast<unsigned char>(*p_);
      if (c == '"') {
        *out = std::string_view(start, static_cast<size_t>(p_ - start));
        ++p_;
        return true;
      }
      if (c == '\\') break;
      if (c < 0x20) return fail("control character in a string");
      if (c < 0x80) {
        ++p_;
        continue;
      }
      size_t n = net::utf8SequenceLength(rest());
      if (n == 0) return fail("invalid UTF-8 in a string");
      p_ += n;
    }
    if (p_ == end_) return fail("unterminated string");
    scratch->assign(start, p_);
    while (p_ < end_) {
      auto c = static_cast<unsigned char>(*p_);
      if (c == '"') {
        ++p_;
        *out = *scratch;
        return true;
      }
      if (c == '\\') {
        if (!escape(scratch)) return false;
        continue;
      }
      if (c < 0x20) return fail("control character in a string");
      size_t n = c < 0x80 ? 1 : net::utf8SequenceLength(rest());
      if (n == 0) return fail("invalid UTF-8 in a string");
      scratch->append(p_, n);
      p_ += n;
    }
    return fail("unterminated string");
  }

  // A number token (the JSON grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?).
  bool number(std::string_view* token, bool* integer) {
    ws();
    const char* start = p_;
    *integer = true;
    if (p_ < end_ && *p_ == '-') ++p_;
    if (p_ < end_ && *p_ == '0') {
      ++p_;
    } else if (p_ < end_ && *p_ >= '1' && *p_ <= '9') {
      skipDigits();
    } else {
      return fail("invalid number");
    }
    if (p_ < end_ && *p_ == '.') {
      *integer = false;
      ++p_;
      if (!digit()) return fail("invalid number");
      skipDigits();
    }
    if (p_ < end_ && (*p_ == 'e' || *p_ == 'E')) {
      *integer = false;
      ++p_;
      if (p_ < end_ && (*p_ == '+' || *p_ == '-')) ++p_;
      if (!digit()) return fail("invalid number");
      skipDigits();
    }
    *token = std::string_view(start, static_cast<size_t>(p_ - start));
    return true;
  }

  // A number as a double, in one pass: the grammar of number() and Clinger's fast path (as
  // simdjson and fast_float take it): up to 15 significant digits and a power of ten within
  // 10^±22 are exact doubles, so one multiplication or division rounds correctly; anything else
  // goes to std::from_chars. False with failed() on a syntax error; false alone when the value is
  // no finite double (1e400); underflow reads as zero.
  bool numberDouble(double* out) {
    static constexpr double kPow10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                        1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                        1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
    ws();
    const char* p = p_;
    const char* const e = end_;
    if (p == e || (*p != '-' && (*p < '0' || *p > '9'))) return false;  // not a number
    const char* start = p;
    bool neg = *p == '-';
    if (neg) ++p;
    auto isDigit = [&p, e] { return p < e && static_cast<unsigned>(*p - '0') < 10; };
    uint64_t mantissa = 0;  // wraps past 19 digits: then unused (digits > 15)
    int64_t digits = 0, exp10 = 0;
    if (p < e && *p == '0') {
      ++p;
    } else if (isDigit()) {
      const char* d0 = p;
      while (isDigit()) mantissa = mantissa * 10 + static_cast<uint64_t>(*p++ - '0');
      digits = p - d0;
    } else {
      p_ = p;
      return fail("invalid number");
    }
    if (p < e && *p == '.') {
      const char* f0 = ++p;
      if (digits == 0) {
        while (p < e && *p == '0') ++p;  // 0.000x: leading zeros are not significant
      }
      const char* d0 = p;
      while (isDigit()) mantissa = mantissa * 10 + static_cast<uint64_t>(*p++ - '0');
      if (p == f0) {
        p_ = p;
        return fail("invalid number");
      }
      digits += p - d0;
      exp10 -= p - f0;
    }
    if (p < e && (*p == 'e' || *p == 'E')) {
      ++p;
      bool eneg = false;
      if (p < e && (*p == '+' || *p == '-')) eneg = *p++ == '-';
      if (!isDigit()) {
        p_ = p;
        return fail("invalid number");
      }
      int64_t x = 0;
      while (isDigit()) {
        if (x < 100000) x = x * 10 + (*p - '0');
        ++p;
      }
      exp10 += eneg ? -x : x;
    }
    p_ = p;
    if (digits <= 15 && exp10 >= -22 && exp10 <= 22) {
      double v = static_cast<double>(mantissa);
      v = exp10 < 0 ? v / kPow10[-exp10] : v * kPow10[exp10];
      *out = neg ? -v : v;
      return true;
    }
    double v = 0;
    auto [end, ec] = std::from_chars(start, p, v);
    if (ec == std::errc::result_out_of_range) {
      if (exp10 > 0) return false;  // overflow: no finite double
      v = neg ? -0.0 : 0.0;         // underflow
    } else if (ec != std::errc() || end != p) {
      return false;
    }
    *out = v;
    return true;
  }

  // Counts the leaves of `data` (see countLeaves) in one light pass that does not validate: exact
  // for valid JSON, never more than the bytes scanned. Sizes the tensor; the filling pass then
  // validates every byte and checks the count again.
  // Leaves the reader after the value (a scalar is skipped with validation).
  int64_t quickCountLeaves() {
    ws();
    if (p_ == end_ || *p_ != '[') return skip() ? 1 : 0;
    int64_t n = 0;
    int depth = 0;
    bool expect = true;
    while (p_ < end_) {
      char c = *p_++;
      switch (c) {
        case ' ':
        case '\n':
        case '\r':
        case '\t':
          break;
        case '[':
          ++depth;
          expect = true;
          break;
        case ']':
          if (--depth <= 0) return n;
          expect = false;
          break;
        case ',':
          expect = true;
          break;
        case '"':
          n += expect ? 1 : 0;
          expect = false;
          skipStringBytes();
          break;
        case '{': {
          n += expect ? 1 : 0;
          expect = false;
          int d = 1;
          while (p_ < end_ && d > 0) {
            char x = *p_++;
            if (x == '"') skipStringBytes();
            d += x == '{' ? 1 : x == '}' ? -1 : 0;
          }
          break;
        }
        default:
          n += expect ? 1 : 0;
          expect = false;
      }
    }
    return n;
  }

  bool boolean(bool* v) {
    ws();
    if (literal("true")) {
      *v = true;
      return true;
    }
    if (literal("false")) {
      *v = false;
      return true;
    }
    return fail("expected true or false");
  }

  // Skips one value of any kind (depth-limited).
  bool skip(int depth = 0) {
    switch (peek()) {
      case '{':
      case '[': {
        if (depth >= kMaxDepth) return fail("nesting too deep");
        bool obj = *p_ == '{';
        ++p_;
        return members(obj, [this, obj, depth] {
          if (obj) {
            std::string_view key;
            if (!string(&key, &skip_scratch_) || !colon()) return false;
          }
          return skip(depth + 1);
        });
      }
      case '"': {
        std::string_view v;
        return string(&v, &skip_scratch_);
      }
      case '0': {
        std::string_view t;
        bool i;
        return number(&t, &i);
      }
      case 't':
      case 'f': {
        bool b;
        return boolean(&b);
      }
      case 'n':
        return literal("null") || fail("invalid literal");
      default:
        return fail("expected a value");
    }
  }

  // Counts the leaves of a value: an array's leaves are its elements' leaves (any nesting); any
  // other value is one leaf. Validates the syntax on the way.
  bool countLeaves(int64_t* n, int depth = 0) {
    if (peek() != '[') {
      if (!skip(depth)) return false;
      ++*n;
      return true;
    }
    if (depth >= kMaxDepth) return fail("nesting too deep");
    ++p_;
    return members(false, [this, n, depth] { return countLeaves(n, depth + 1); });
  }

  // Calls leaf(index) at every leaf, in order (after countLeaves validated the same bytes).
  // leaf consumes its value and returns false when the value has the wrong type.
  template <class Leaf>
  bool forEachLeaf(Leaf& leaf, int64_t& index, int depth = 0) {
    if (peek() != '[') {
      if (!leaf(index)) return false;
      ++index;
      return true;
    }
    if (depth >= kMaxDepth) return fail("nesting too deep");
    ++p_;
    return members(false, [this, &leaf, &index, depth] { return forEachLeaf(leaf, index, depth + 1); });
  }

  // Object iteration with semantic errors: fn(key) reads the member's value and returns a
  // Status. Syntax errors come back as "malformed JSON: ...".
  template <class Fn>
  Status object(Fn&& fn) {
    if (peek() != '{') return invalidArgument("");  // callers check the kind first
    ++p_;
    Status st = Status::ok();
    std::string scratch;
    bool ok = members(true, [&] {
      std::string_view key;
      if (!string(&key, &scratch) || !colon()) return false;
      st = fn(key);
      return st.isOk() && !failed();
    });
    if (!st.isOk()) return st;
    if (!ok) return status();
    return Status::ok();
  }
  template <class Fn>
  Status array(Fn&& fn) {
    if (peek() != '[') return invalidArgument("");
    ++p_;
    Status st = Status::ok();
    bool ok = members(false, [&] {
      st = fn();
      return st.isOk() && !failed();
    });
    if (!st.isOk()) return st;
    if (!ok) return status();
    return Status::ok();
  }

 private:
  std::string_view rest() const { return std::string_view(p_, static_cast<size_t>(end_ - p_)); }
  void skipStringBytes() {  // after the opening quote, to after the closing one (no checks)
    while (p_ < end_) {
      char x = *p_++;
      if (x == '\\') {
        if (p_ < end_) ++p_;
      } else if (x == '"') {
        return;
      }
    }
  }
  bool digit() const { return p_ < end_ && *p_ >= '0' && *p_ <= '9'; }
  void skipDigits() {
    while (digit()) ++p_;
  }
  bool literal(std::string_view lit) {
    if (static_cast<size_t>(end_ - p_) < lit.size() || std::memcmp(p_, lit.data(), lit.size()) != 0) {
      return false;
    }
    p_ += lit.size();
    return true;
  }
  bool colon() {
    ws();
    if (p_ == end_ || *p_ != ':') return fail("expected ':'");
    ++p_;
    return true;
  }
  // After the opening bracket: calls one() per member, handling ',' and the closing bracket.
  template <class One>
  bool members(bool object, One&& one) {
    char close = object ? '}' : ']';
    ws();
    if (p_ < end_ && *p_ == close) {
      ++p_;
      return true;
    }
    while (true) {
      if (!one()) return false;
      ws();
      if (p_ < end_ && *p_ == ',') {
        ++p_;
        continue;
      }
      if (p_ < end_ && *p_ == close) {
        ++p_;
        return true;
      }
      return fail(object ? "expected ',' or '}'" : "expected ',' or ']'");
    }
  }
  bool hex4(uint32_t* v) {
    if (end_ - p_ < 4) return false;
    *v = 0;
    for (int i = 0; i < 4; ++i) {
      char c = *p_++;
      int d = c >= '0' && c <= '9'   ? c - '0'
              : c >= 'a' && c <= 'f' ? c - 'a' + 10
              : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                     : -1;
      if (d < 0) return false;
      *v = *v * 16 + static_cast<uint32_t>(d);
    }
    return true;
  }
  bool escape(std::string* out) {
    ++p_;  // the backslash
    if (p_ == end_) return fail("unterminated string");
    char e = *p_++;
    switch (e) {
      case '"':
      case '\\':
      case '/':
        out->push_back(e);
        return true;
      case 'b':
        out->push_back('\b');
        return true;
      case 'f':
        out->push_back('\f');
        return true;
      case 'n':
        out->push_back('\n');
        return true;
      case 'r':
        out->push_back('\r');
        return true;
      case 't':
        out->push_back('\t');
        return true;
      case 'u': {
        uint32_t cp = 0;
        if (!hex4(&cp)) return fail("invalid \\u escape");
        if (cp >= 0xDC00 && cp <= 0xDFFF) return fail("unpaired UTF-16 surrogate");
        if (cp >= 0xD800 && cp <= 0xDBFF) {
          uint32_t lo = 0;
          if (end_ - p_ < 2 || p_[0] != '\\' || p_[1] != 'u') {
            return fail("unpaired UTF-16 surrogate");
          }
          p_ += 2;
          if (!hex4(&lo) || lo < 0xDC00 || lo > 0xDFFF) return fail("unpaired UTF-16 surrogate");
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        }
        appendUtf8(out, cp);
        return true;
      }
      default:
        return fail("invalid escape in a string");
    }
  }
  static void appendUtf8(std::string* out, uint32_t cp) {
    if (cp < 0x80) {
      out->push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }

  const char* begin_;
  const char* p_;
  const char* end_;
  std::string error_;
  std::string skip_scratch_;
};

// Number leaves. Integers must be written as integers (no fraction or exponent) and fit T.
template <class T>
bool readInteger(JsonReader& r, T* dst) {
  if (r.peek() != '0') return false;
  std::string_view tok;
  bool integer = false;
  if (!r.number(&tok, &integer) || !integer) return false;
  T v{};
  auto [p, ec] = std::from_chars(tok.data(), tok.data() + tok.size(), v);
  if (ec != std::errc() || p != tok.data() + tok.size()) return false;
  *dst = v;
  return true;
}

bool readDouble(JsonReader& r, double* dst) { return r.numberDouble(dst); }

bool readBool(JsonReader& r, bool* dst) {
  char k = r.peek();
  if (k != 't' && k != 'f') return false;
  return r.boolean(dst);
}


// Fills `t` (its element count already equal to the leaf count at `data`) from JSON.
// Fills `t` from the JSON at `data`, validating every byte; leaves beyond the tensor are read
// and counted (never stored) so that the error says how many the data has.
Status fillTensor(const JsonReader& body, const char* data, const char* data_end, Tensor& t,
                  const std::string& input) {
  JsonReader r = body.at(data);
  const int64_t count = t.elementCount();
  int64_t index = 0;
  int64_t bad = -1;
  bool ok = true;
  auto run = [&](auto store) {
    auto leaf = [&](int64_t i) {
      if (i >= count) return r.skip();
      if (store(i)) return true;
      bad = i;
      return false;
    };
    ok = r.forEachLeaf(leaf, index);
  };
  switch (t.dtype()) {
    case DataType::kBool: {
      auto* p = t.dataAs<uint8_t>();
      run([&r, p](int64_t i) {
        bool v;
        if (!readBool(r, &v)) return false;
        p[i] = v ? 1 : 0;
        return true;
      });
      break;
    }
#define SURGE_INT_CASE(KIND, T)                                           \
  case DataType::KIND: {                                                  \
    auto* p = t.dataAs<T>();                                              \
    run([&r, p](int64_t i) { return readInteger<T>(r, p + i); });         \
    break;                                                                \
  }
      SURGE_INT_CASE(kUint8, uint8_t)
      SURGE_INT_CASE(kUint16, uint16_t)
      SURGE_INT_CASE(kUint32, uint32_t)
      SURGE_INT_CASE(kUint64, uint64_t)
      SURGE_INT_CASE(kInt8, int8_t)
      SURGE_INT_CASE(kInt16, int16_t)
      SURGE_INT_CASE(kInt32, int32_t)
      SURGE_INT_CASE(kInt64, int64_t)
#undef SURGE_INT_CASE
    case DataType::kFp16: {
      auto* p = t.dataAs<uint16_t>();
      run([&r, p](int64_t i) {
        double v;
        if (!readDouble(r, &v)) return false;
        p[i] = runtime::floatToHalf(static_cast<float>(v));
        return true;
      });
      break;
    }
    case DataType::kFp32: {
      auto* p = t.dataAs<float>();
      run([&r, p](int64_t i) {
        double v;
        if (!readDouble(r, &v)) return false;
        p[i] = static_cast<float>(v);
        return true;
      });
      break;
    }
    case DataType::kFp64: {
      auto* p = t.dataAs<double>();
      run([&r, p](int64_t i) { return readDouble(r, p + i); });
      break;
    }
    case DataType::kBytes: {
      auto* s = &t.strings();
      std::string scratch;
      run([&r, s, &scratch](int64_t i) {
        if (r.peek() != '"') return false;
        std::string_view v;
        if (!r.string(&v, &scratch)) return false;
        (*s)[static_cast<size_t>(i)].assign(v);
        return true;
      });
      break;
    }
    case DataType::kInvalid:
      return invalidArgument("input '" + input + "': invalid datatype");
  }
  if (r.failed()) return r.status();
  if (!ok) {
    const char* want = t.dtype() == DataType::kBool    ? "true or false"
                       : t.dtype() == DataType::kBytes ? "a string"
                       : (t.dtype() == DataType::kFp16 || t.dtype() == DataType::kFp32 ||
                          t.dtype() == DataType::kFp64)
                           ? "a number"
                           : "an integer in range";
    return invalidArgument("input '" + input + "': data element " + std::to_string(bad) +
                           " is not a valid " + std::string(runtime::dataTypeName(t.dtype())) +
                           " value (want " + want + ")");
  }
  if (r.pos() != data_end) {  // the light pass ended elsewhere: the value was not valid JSON
    r.fail("malformed 'data' value");
    return r.status();
  }
  if (index != count) {
    return invalidArgument("input '" + input + "': shape " + runtime::shapeToString(t.shape()) +
                           " needs " + std::to_string(count) + " elements, data has " +
                           std::to_string(index));
  }
  return Status::ok();
}

Status parseOutputs(JsonReader& r, const runtime::ModelSpec& spec, InferRequest* out) {
  if (r.peek() != '[') {
    if (!r.skip()) return r.status();
    return invalidArgument("'outputs' must be an array");
  }
  return r.array([&]() -> Status {
    if (r.peek() != '{') {
      if (!r.skip()) return r.status();
      return invalidArgument("each entry of 'outputs' must be an object");
    }
    std::string name;
    bool has_name = false;
    const char* params = nullptr;
    RETURN_IF_ERROR(r.object([&](std::string_view key) -> Status {
      if (key == "name" && r.peek() == '"') {
        std::string scratch;
        std::string_view v;
        if (!r.string(&v, &scratch)) return r.status();
        name.assign(v);
        has_name = true;
        return Status::ok();
      }
      if (key == "name") has_name = false;
      if (key == "parameters") params = r.pos();
      if (!r.skip()) return r.status();
      return Status::ok();
    }));
    if (!has_name) return invalidArgument("each entry of 'outputs' needs a string 'name'");
    int k = spec.outputIndex(name);
    if (k < 0) {
      return invalidArgument("unknown output '" + name + "' for model '" + spec.name +
                             "' (outputs: " + tensorNames(spec.outputs) + ")");
    }
    if (params != nullptr) {
      JsonReader p = r.at(params);
      if (p.peek() == '{') {
        RETURN_IF_ERROR(p.object([&](std::string_view key) -> Status {
          if (key == "binary_data") {
            bool binary = false;
            if (!readBool(p, &binary)) {
              return invalidArgument("output '" + name +
                                     "': parameter 'binary_data' must be true or false");
            }
            out->binary_outputs[static_cast<size_t>(k)] = binary;
            out->binary_set[static_cast<size_t>(k)] = true;
            return Status::ok();
          }
          if (key == "classification") {
            return invalidArgument("output '" + name +
                                   "': the classification extension is not supported");
          }
          if (!p.skip()) return p.status();
          return Status::ok();
        }));
      }
    }
    if (!out->outputs_wanted[static_cast<size_t>(k)]) {
      out->outputs_wanted[static_cast<size_t>(k)] = true;
      out->outputs.push_back(k);
    }
    return Status::ok();
  });
}

template <class T>
void appendInt(std::string& out, T v) {
  char buf[24];
  auto [p, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, p);
}

template <class F>
void appendFloat(std::string& out, F v) {
  if (!std::isfinite(v)) {
    out += "null";
    return;
  }
  char buf[32];
  auto [p, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, p);
}

void appendData(std::string& out, const Tensor& t) {
  int64_t n = t.elementCount();
  out += '[';
  for (int64_t i = 0; i < n; ++i) {
    if (i > 0) out += ',';
    switch (t.dtype()) {
      case DataType::kBool:
        out += t.dataAs<uint8_t>()[i] ? "true" : "false";
        break;
      case DataType::kUint8:
        appendInt(out, t.dataAs<uint8_t>()[i]);
        break;
      case DataType::kUint16:
        appendInt(out, t.dataAs<uint16_t>()[i]);
        break;
      case DataType::kUint32:
        appendInt(out, t.dataAs<uint32_t>()[i]);
        break;
      case DataType::kUint64:
        appendInt(out, t.dataAs<uint64_t>()[i]);
        break;
      case DataType::kInt8:
        appendInt(out, t.dataAs<int8_t>()[i]);
        break;
      case DataType::kInt16:
        appendInt(out, t.dataAs<int16_t>()[i]);
        break;
      case DataType::kInt32:
        appendInt(out, t.dataAs<int32_t>()[i]);
        break;
      case DataType::kInt64:
        appendInt(out, t.dataAs<int64_t>()[i]);
        break;
      case DataType::kFp16:
        appendFloat(out, runtime::halfToFloat(t.dataAs<uint16_t>()[i]));
        break;
      case DataType::kFp32:
        appendFloat(out, t.dataAs<float>()[i]);
        break;
      case DataType::kFp64:
        appendFloat(out, t.dataAs<double>()[i]);
        break;
      case DataType::kBytes:
        appendJsonString(out, t.strings()[static_cast<size_t>(i)]);
        break;
      case DataType::kInvalid:
        out += "null";
        break;
    }
  }
  out += ']';
}

}  // namespace

void appendJsonString(std::string& out, std::string_view s) {
  out += '"';
  net::appendJsonEscaped(out, s);
  out += '"';
}

namespace {

// Fills `t` from raw little-endian bytes (BYTES: 4-byte length + bytes per element).
}  // namespace

Status parseInferRequest(std::string_view body, const runtime::ModelSpec& spec, InferRequest* out,
                         size_t json_length) {
  std::string_view binary;
  if (json_length != std::string_view::npos) {
    if (json_length > body.size()) {
      return invalidArgument("Inference-Header-Content-Length " + std::to_string(json_length) +
                             " is larger than the body (" + std::to_string(body.size()) +
                             " bytes)");
    }
    binary = body.substr(json_length);
    body = body.substr(0, json_length);
  }
  size_t binary_pos = 0;
  bool binary_default = false;
  JsonReader r(body);
  if (r.peek() != '{') {
    if (!r.skip() || !r.atEnd()) {
      if (!r.failed()) r.fail("unexpected content after the JSON value");
      return r.status();
    }
    return invalidArgument("the request body must be a JSON object");
  }
  *out = InferRequest();
  size_t n_in = spec.inputs.size();
  out->inputs.resize(n_in);
  out->outputs_wanted.assign(spec.outputs.size(), false);
  out->binary_outputs.assign(spec.outputs.size(), false);
  out->binary_set.assign(spec.outputs.size(), false);
  std::vector<bool> seen(n_in, false);
  bool batched = spec.max_batch_size > 0;
  int64_t rows = -1;
  std::string rows_from;
  std::vector<int64_t> key_dims;
  bool have_inputs = false;
  const char* outputs_at = nullptr;
  std::string scratch;

  // One entry of "inputs": every member is located first, then checked in a fixed order, and the
  // tensor is allocated only once its element count is known to equal the data the body holds.
  auto parseInput = [&]() -> Status {
    if (r.peek() != '{') {
      if (!r.skip()) return r.status();
      return invalidArgument("each entry of 'inputs' must be an object");
    }
    std::string iname, datatype;
    const char* shape_at = nullptr;
    const char* data_at = nullptr;
    const char* data_end = nullptr;
    int64_t data_leaves = 0;
    const char* params_at = nullptr;
    bool has_name = false, has_dt = false;
    RETURN_IF_ERROR(r.object([&](std::string_view k) -> Status {
      if (k == "name" || k == "datatype") {
        std::string_view v;
        if (r.peek() != '"') {
          if (!r.skip()) return r.status();
          return invalidArgument(k == "name" ? "input 'name' must be a string"
                                             : "input 'datatype' must be a string");
        }
        if (!r.string(&v, &scratch)) return r.status();
        (k == "name" ? iname : datatype).assign(v);
        (k == "name" ? has_name : has_dt) = true;
        return Status::ok();
      }
      if (k == "data") {
        // Located and counted in one light pass; validated when the tensor is filled.
        r.ws();
        data_at = r.pos();
        data_leaves = r.quickCountLeaves();
        if (r.failed()) return r.status();
        data_end = r.pos();
        return Status::ok();
      }
      if (k == "shape") shape_at = r.pos();
      if (k == "parameters") params_at = r.pos();
      if (!r.skip()) return r.status();
      return Status::ok();
    }));
    if (!has_name) return invalidArgument("an input has no 'name'");
    int idx = spec.inputIndex(iname);
    if (idx < 0) {
      return invalidArgument("unknown input '" + iname + "' for model '" + spec.name +
                             "' (inputs: " + tensorNames(spec.inputs) + ")");
    }
    const runtime::TensorSpec& ts = spec.inputs[static_cast<size_t>(idx)];
    if (seen[static_cast<size_t>(idx)]) {
      return invalidArgument("input '" + iname + "' is given twice");
    }
    seen[static_cast<size_t>(idx)] = true;
    bool binary_input = false;
    uint64_t binary_size = 0;
    if (params_at != nullptr) {
      JsonReader p = r.at(params_at);
      if (p.peek() == '{') {
        RETURN_IF_ERROR(p.object([&](std::string_view k) -> Status {
          if (k == "binary_data_size") {
            if (!readInteger<uint64_t>(p, &binary_size)) {
              return invalidArgument("input '" + iname +
                                     "': binary_data_size must be a non-negative integer");
            }
            binary_input = true;
            return Status::ok();
          }
          if (!p.skip()) return p.status();
          return Status::ok();
        }));
      }
    }
    if (!has_dt) return invalidArgument("input '" + iname + "' has no 'datatype'");
    auto dt = runtime::dataTypeFromName(datatype);
    if (!dt) {
      return invalidArgument("input '" + iname + "': unknown datatype '" + datatype + "'");
    }
    if (*dt != ts.dtype) {
      return invalidArgument("input '" + iname + "': datatype " + datatype +
                             " does not match the model's " +
                             std::string(runtime::dataTypeName(ts.dtype)));
    }
    if (shape_at == nullptr) return invalidArgument("input '" + iname + "' has no 'shape'");
    Shape shape;
    {
      JsonReader s = r.at(shape_at);
      Status bad = invalidArgument("input '" + iname +
                                   "': 'shape' must be an array of non-negative integers");
      if (s.peek() != '[') return bad;
      Status st = s.array([&]() -> Status {
        int64_t v = 0;
        if (!readInteger<int64_t>(s, &v) || v < 0) return bad;
        shape.push_back(v);
        return Status::ok();
      });
      if (!st.isOk()) return st;
    }
    // The element count the shape claims, checked against what the body really carries before
    // anything is allocated for it.
    int64_t count = 0;
    RETURN_IF_ERROR(
        checkInputShape(ts, shape, spec.max_batch_size, iname, &rows, &rows_from, &count));
    Tensor t;
    if (binary_input) {
      if (data_at != nullptr) {
        return invalidArgument("input '" + iname + "' has both 'data' and binary_data_size");
      }
      if (json_length == std::string_view::npos) {
        return invalidArgument("input '" + iname +
                               "': binary_data_size needs the Inference-Header-Content-Length "
                               "header");
      }
      if (binary_size > binary.size() - binary_pos) {
        return invalidArgument("input '" + iname + "': binary_data_size " +
                               std::to_string(binary_size) + " goes past the end of the body");
      }
      uint64_t size = runtime::dataTypeSize(ts.dtype);
      if (ts.dtype != DataType::kBytes) {
        if (static_cast<uint64_t>(count) > binary_size / size ||
            static_cast<uint64_t>(count) * size != binary_size) {
          return invalidArgument(
              "input '" + iname + "': shape " + runtime::shapeToString(shape) + " needs " +
              (static_cast<uint64_t>(count) > std::numeric_limits<uint64_t>::max() / size
                   ? std::string("more than 2^64")
                   : std::to_string(static_cast<uint64_t>(count) * size)) +
              " bytes of binary data, got " + std::to_string(binary_size));
        }
      } else if (static_cast<uint64_t>(count) > binary_size / 4) {
        // Every BYTES element takes at least its 4-byte length.
        return invalidArgument("input '" + iname + "': shape " + runtime::shapeToString(shape) +
                               " needs at least " + std::to_string(count) +
                               " BYTES elements of 4 bytes or more, binary_data_size is " +
                               std::to_string(binary_size));
      }
      t = Tensor(ts.dtype, shape);
      RETURN_IF_ERROR(
          fillRawTensor(binary.substr(binary_pos, binary_size), t, iname, "binary data"));
      binary_pos += binary_size;
      out->binary_accepted = true;
    } else {
      if (data_at == nullptr) return invalidArgument("input '" + iname + "' has no 'data'");
      // The light count sizes the tensor (never more elements than bytes); when it disagrees
      // with the shape, the validating count decides what to say.
      int64_t leaves = data_leaves;
      if (leaves != count) {
        JsonReader d = r.at(data_at);
        leaves = 0;
        if (!d.countLeaves(&leaves)) return d.status();
      }
      if (leaves != count) {
        return invalidArgument("input '" + iname + "': shape " + runtime::shapeToString(shape) +
                               " needs " + std::to_string(count) + " elements, data has " +
                               std::to_string(leaves));
      }
      t = Tensor(ts.dtype, shape);  // count == leaves <= bytes of the body
      RETURN_IF_ERROR(fillTensor(r, data_at, data_end, t, iname));
    }
    if (ts.has_reshape) {
      Shape backend;
      if (!resolveShape(ts.reshape, t.elementCount(), batched, batched ? rows : 1, &backend) ||
          !t.reshape(backend)) {
        return invalidArgument("input '" + iname + "': shape " + runtime::shapeToString(shape) +
                               " cannot be reshaped to " + runtime::shapeToString(ts.reshape));
      }
    }
    key_dims.push_back(static_cast<int64_t>(idx));
    key_dims.insert(key_dims.end(), shape.begin() + (batched ? 1 : 0), shape.end());
    out->inputs[static_cast<size_t>(idx)] = std::move(t);
    return Status::ok();
  };

  RETURN_IF_ERROR(r.object([&](std::string_view key) -> Status {
    if (key == "id") {
      std::string_view id;
      if (r.peek() != '"') {
        if (!r.skip()) return r.status();
        return invalidArgument("'id' must be a string");
      }
      if (!r.string(&id, &scratch)) return r.status();
      out->id.assign(id);
      out->has_id = true;
      return Status::ok();
    }
    if (key == "parameters") {
      if (r.peek() != '{') {
        if (!r.skip()) return r.status();
        return invalidArgument("'parameters' must be an object");
      }
      return r.object([&](std::string_view pk) -> Status {
        if (pk == "timeout") {
          uint64_t us = 0;
          if (!readInteger<uint64_t>(r, &us) || us > 3600ull * 1000 * 1000) {
            return invalidArgument("parameter 'timeout' must be microseconds (0..3600000000)");
          }
          out->timeout = std::chrono::microseconds(us);
          return Status::ok();
        }
        if (pk == "binary_data_output") {
          if (!readBool(r, &binary_default)) {
            return invalidArgument("parameter 'binary_data_output' must be true or false");
          }
          out->binary_default_set = true;
          return Status::ok();
        }
        if (!r.skip()) return r.status();
        return Status::ok();
      });
    }
    if (key == "outputs") {
      outputs_at = r.pos();
      if (!r.skip()) return r.status();
      return Status::ok();
    }
    if (key == "inputs") {
      if (r.peek() != '[') {
        if (!r.skip()) return r.status();
        return invalidArgument("'inputs' must be an array");
      }
      have_inputs = true;
      return r.array(parseInput);
    }
    if (!r.skip()) return r.status();
    return Status::ok();
  }));
  if (!r.atEnd()) {
    r.fail("unexpected content after the JSON value");
    return r.status();
  }
  if (!have_inputs) return invalidArgument("the request has no 'inputs' array");
  if (binary_pos != binary.size()) {
    return invalidArgument(std::to_string(binary.size() - binary_pos) +
                           " bytes of binary data after the JSON belong to no input");
  }
  for (size_t i = 0; i < n_in; ++i) {
    if (!seen[i]) return invalidArgument("missing input '" + spec.inputs[i].name + "'");
  }
  out->rows = batched ? rows : 1;
  out->shape_key = hash64(std::string_view(reinterpret_cast<const char*>(key_dims.data()),
                                           key_dims.size() * sizeof(int64_t)));
  if (binary_default) {
    out->binary_outputs.assign(spec.outputs.size(), true);
    out->binary_accepted = true;
  }
  if (outputs_at != nullptr) {
    JsonReader o = r.at(outputs_at);
    RETURN_IF_ERROR(parseOutputs(o, spec, out));
  }
  for (size_t k = 0; k < spec.outputs.size(); ++k) {
    if (out->binary_set[k] && out->binary_outputs[k]) out->binary_accepted = true;
  }
  if (out->outputs.empty()) {
    for (size_t k = 0; k < spec.outputs.size(); ++k) {
      out->outputs_wanted[k] = true;
      out->outputs.push_back(static_cast<int>(k));
    }
  }
  return Status::ok();
}

StatusOr<size_t> appendInferResponse(std::string& out, const runtime::ModelSpec& spec,
                                     const InferRequest& request,
                                     const std::vector<Tensor>& outputs) {
  size_t start = out.size();
  bool any_binary = false;
  size_t estimate = 128;
  // Which outputs go out as binary tensor data: those asked for, plus BYTES outputs that are not
  // valid UTF-8 (a JSON string cannot carry them) when the client speaks the binary extension.
  std::vector<bool> binary(spec.outputs.size(), false);
  for (int k : request.outputs) {
    auto ku = static_cast<size_t>(k);
    if (ku >= outputs.size() || ku >= spec.outputs.size()) {
      return internalError("output " + std::to_string(k) + " is missing from the model's result");
    }
    const Tensor& t = outputs[ku];
    binary[ku] = ku < request.binary_outputs.size() && request.binary_outputs[ku];
    if (!binary[ku] && t.dtype() == DataType::kBytes) {
      int64_t bad = -1;
      for (size_t i = 0; i < t.strings().size(); ++i) {
        if (!net::isValidUtf8(t.strings()[i])) {
          bad = static_cast<int64_t>(i);
          break;
        }
      }
      if (bad >= 0) {
        bool refused = ku < request.binary_set.size() && request.binary_set[ku];
        if (!request.binary_accepted || refused) {
          return invalidArgument(
              "output '" + spec.outputs[ku].name + "': BYTES element " + std::to_string(bad) +
              " is not valid UTF-8 and cannot be sent as a JSON string; ask for it as binary "
              "data (output parameter \"binary_data\": true, or request parameter "
              "\"binary_data_output\": true)");
        }
        binary[ku] = true;
      }
    }
    estimate += 64 + (binary[ku] ? 0 : static_cast<size_t>(t.elementCount()) * 12);
  }
  out.reserve(out.size() + estimate);
  out += "{\"model_name\":";
  appendJsonString(out, spec.name);
  out += ",\"model_version\":\"";
  appendInt(out, spec.version);
  out += '"';
  if (request.has_id) {
    out += ",\"id\":";
    appendJsonString(out, request.id);
  }
  out += ",\"outputs\":[";
  bool batched = spec.max_batch_size > 0;
  bool first = true;
  for (int k : request.outputs) {
    const Tensor& t = outputs[static_cast<size_t>(k)];
    const runtime::TensorSpec& os = spec.outputs[static_cast<size_t>(k)];
    Shape shape = t.shape();
    if (os.has_reshape) {
      Shape config;
      if (resolveShape(os.dims, t.elementCount(), batched, batched ? t.rows() : 1, &config)) {
        shape = std::move(config);
      }
    }
    if (!first) out += ',';
    first = false;
    out += "{\"name\":";
    appendJsonString(out, os.name);
    out += ",\"datatype\":\"";
    out += runtime::dataTypeName(t.dtype());
    out += "\",\"shape\":[";
    for (size_t i = 0; i < shape.size(); ++i) {
      if (i > 0) out += ',';
      appendInt(out, shape[i]);
    }
    if (binary[static_cast<size_t>(k)]) {
      any_binary = true;
      out += "],\"parameters\":{\"binary_data_size\":";
      appendInt(out, rawTensorSize(t));
      out += "}}";
    } else {
      out += "],\"data\":";
      appendData(out, t);
      out += '}';
    }
  }
  out += "]}";
  if (!any_binary) return 0;
  size_t json_length = out.size() - start;
  for (int k : request.outputs) {
    if (binary[static_cast<size_t>(k)]) {
      appendRawTensor(out, outputs[static_cast<size_t>(k)]);
    }
  }
  return json_length;
}

}  // namespace surge::serving
