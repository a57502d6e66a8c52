#include "serving/infer_json.h"

#include "net/http_util.h"

#include <simdjson.h>

#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>

#include "common/hash.h"

namespace surge::serving {
namespace {

namespace dom = simdjson::dom;
using runtime::DataType;
using runtime::Shape;
using runtime::Tensor;

dom::parser& threadParser() {
  thread_local dom::parser parser;
  return parser;
}

std::string names(const std::vector<runtime::TensorSpec>& specs) {
  std::string s;
  for (const auto& t : specs) {
    if (!s.empty()) s += ", ";
    s += t.name;
  }
  return s;
}

// Flattens (possibly nested) `data` into the tensor's elements with `store(element, index)`.
// Counts every leaf, storing only the first `count`.
template <class Store>
bool walk(dom::element e, int64_t& index, int64_t count, Store& store, int64_t* bad_index) {
  dom::array arr;
  if (e.get_array().get(arr) == simdjson::SUCCESS) {
    for (dom::element x : arr) {
      if (!walk(x, index, count, store, bad_index)) return false;
    }
    return true;
  }
  if (index < count && !store(e, index)) {
    *bad_index = index;
    return false;
  }
  ++index;
  return true;
}

template <class T>
bool storeInteger(dom::element e, T* dst) {
  if constexpr (std::is_same_v<T, uint64_t>) {
    return e.get_uint64().get(*dst) == simdjson::SUCCESS;
  } else {
    int64_t v;
    if (e.get_int64().get(v) != simdjson::SUCCESS) return false;
    if (v < static_cast<int64_t>(std::numeric_limits<T>::lowest()) ||
        v > static_cast<int64_t>(std::numeric_limits<T>::max())) {
      return false;
    }
    *dst = static_cast<T>(v);
    return true;
  }
}

Status fillTensor(dom::element data, Tensor& t, const std::string& input) {
  int64_t count = t.elementCount();
  int64_t index = 0;
  int64_t bad = -1;
  bool ok = true;
  auto run = [&](auto store) { ok = walk(data, index, count, store, &bad); };
  switch (t.dtype()) {
    case DataType::kBool: {
      auto* p = t.dataAs<uint8_t>();
      run([p](dom::element e, int64_t i) {
        bool v;
        if (e.get_bool().get(v) != simdjson::SUCCESS) return false;
        p[i] = v ? 1 : 0;
        return true;
      });
      break;
    }
#define SURGE_INT_CASE(KIND, T)                                                \
  case DataType::KIND: {                                                       \
    auto* p = t.dataAs<T>();                                                   \
    run([p](dom::element e, int64_t i) { return storeInteger<T>(e, p + i); }); \
    break;                                                                     \
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
      run([p](dom::element e, int64_t i) {
        double v;
        if (e.get_double().get(v) != simdjson::SUCCESS) return false;
        p[i] = runtime::floatToHalf(static_cast<float>(v));
        return true;
      });
      break;
    }
    case DataType::kFp32: {
      auto* p = t.dataAs<float>();
      run([p](dom::element e, int64_t i) {
        double v;
        if (e.get_double().get(v) != simdjson::SUCCESS) return false;
        p[i] = static_cast<float>(v);
        return true;
      });
      break;
    }
    case DataType::kFp64: {
      auto* p = t.dataAs<double>();
      run([p](dom::element e, int64_t i) { return e.get_double().get(p[i]) == simdjson::SUCCESS; });
      break;
    }
    case DataType::kBytes: {
      auto* s = &t.strings();
      run([s](dom::element e, int64_t i) {
        std::string_view v;
        if (e.get_string().get(v) != simdjson::SUCCESS) return false;
        (*s)[static_cast<size_t>(i)].assign(v);
        return true;
      });
      break;
    }
    case DataType::kInvalid:
      return invalidArgument("input '" + input + "': invalid datatype");
  }
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
  if (index != count) {
    return invalidArgument("input '" + input + "': shape " + runtime::shapeToString(t.shape()) +
                           " needs " + std::to_string(count) + " elements, data has " +
                           std::to_string(index));
  }
  return Status::ok();
}

bool dimsMatch(const Shape& want, const Shape& got, size_t offset) {
  if (got.size() != want.size() + offset) return false;
  for (size_t i = 0; i < want.size(); ++i) {
    if (want[i] != -1 && want[i] != got[i + offset]) return false;
  }
  return true;
}

// [rows] + reshape (batched) or reshape, with its -1 resolved from the element count.
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
      fixed *= pattern[i];
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
  return runtime::elementCount(*out) == elements;
}

Status parseOutputs(dom::element outputs, const runtime::ModelSpec& spec, InferRequest* out) {
  dom::array arr;
  if (outputs.get_array().get(arr) != simdjson::SUCCESS) {
    return invalidArgument("'outputs' must be an array");
  }
  for (dom::element o : arr) {
    dom::object obj;
    if (o.get_object().get(obj) != simdjson::SUCCESS) {
      return invalidArgument("each entry of 'outputs' must be an object");
    }
    std::string_view name;
    if (obj["name"].get_string().get(name) != simdjson::SUCCESS) {
      return invalidArgument("each entry of 'outputs' needs a string 'name'");
    }
    int k = spec.outputIndex(name);
    if (k < 0) {
      return invalidArgument("unknown output '" + std::string(name) + "' for model '" + spec.name +
                             "' (outputs: " + names(spec.outputs) + ")");
    }
    dom::object params;
    if (obj["parameters"].get_object().get(params) == simdjson::SUCCESS) {
      dom::element b;
      if (params["binary_data"].get(b) == simdjson::SUCCESS) {
        bool binary = false;
        if (b.get_bool().get(binary) != simdjson::SUCCESS) {
          return invalidArgument("output '" + std::string(name) +
                                 "': parameter 'binary_data' must be true or false");
        }
        out->binary_outputs[static_cast<size_t>(k)] = binary;
      }
      if (params["classification"].error() == simdjson::SUCCESS) {
        return invalidArgument("output '" + std::string(name) +
                               "': the classification extension is not supported");
      }
    }
    if (!out->outputs_wanted[static_cast<size_t>(k)]) {
      out->outputs_wanted[static_cast<size_t>(k)] = true;
      out->outputs.push_back(k);
    }
  }
  return Status::ok();
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
Status fillTensorBinary(std::string_view raw, Tensor& t, const std::string& input) {
  if (t.dtype() != DataType::kBytes) {
    size_t want = t.byteSize();
    if (raw.size() != want) {
      return invalidArgument("input '" + input + "': shape " + runtime::shapeToString(t.shape()) +
                             " needs " + std::to_string(want) + " bytes of binary data, got " +
                             std::to_string(raw.size()));
    }
    if (want > 0) std::memcpy(t.data(), raw.data(), want);
    if (t.dtype() == DataType::kBool) {
      for (size_t i = 0; i < want; ++i) {
        if (static_cast<uint8_t>(raw[i]) > 1) {
          return invalidArgument("input '" + input + "': BOOL binary data must be 0 or 1");
        }
      }
    }
    return Status::ok();
  }
  size_t pos = 0;
  for (auto& s : t.strings()) {
    if (raw.size() - pos < 4) {
      return invalidArgument("input '" + input + "': BYTES binary data ends inside an element");
    }
    uint32_t n = static_cast<uint32_t>(static_cast<uint8_t>(raw[pos])) |
                 static_cast<uint32_t>(static_cast<uint8_t>(raw[pos + 1])) << 8 |
                 static_cast<uint32_t>(static_cast<uint8_t>(raw[pos + 2])) << 16 |
                 static_cast<uint32_t>(static_cast<uint8_t>(raw[pos + 3])) << 24;
    pos += 4;
    if (raw.size() - pos < n) {
      return invalidArgument("input '" + input + "': BYTES binary data ends inside an element");
    }
    s.assign(raw.substr(pos, n));
    pos += n;
  }
  if (pos != raw.size()) {
    return invalidArgument("input '" + input + "': " + std::to_string(raw.size() - pos) +
                           " bytes of binary data left after " + std::to_string(t.elementCount()) +
                           " BYTES elements");
  }
  return Status::ok();
}

void appendBinary(std::string& out, const Tensor& t) {
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

size_t binarySize(const Tensor& t) {
  if (t.dtype() != DataType::kBytes) return t.byteSize();
  size_t n = 0;
  for (const auto& s : t.strings()) n += 4 + s.size();
  return n;
}

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
  dom::element doc;
  if (auto err = threadParser().parse(body.data(), body.size()).get(doc)) {
    return invalidArgument(std::string("malformed JSON: ") + simdjson::error_message(err));
  }
  dom::object root;
  if (doc.get_object().get(root) != simdjson::SUCCESS) {
    return invalidArgument("the request body must be a JSON object");
  }
  *out = InferRequest();
  size_t n_in = spec.inputs.size();
  out->inputs.resize(n_in);
  out->outputs_wanted.assign(spec.outputs.size(), false);
  out->binary_outputs.assign(spec.outputs.size(), false);
  std::vector<bool> seen(n_in, false);
  bool batched = spec.max_batch_size > 0;
  int64_t rows = -1;
  std::string rows_from;
  std::vector<int64_t> key_dims;
  bool have_inputs = false;
  dom::element outputs_el;
  bool have_outputs = false;

  for (auto [key, value] : root) {
    if (key == "id") {
      std::string_view id;
      if (value.get_string().get(id) != simdjson::SUCCESS) {
        return invalidArgument("'id' must be a string");
      }
      out->id.assign(id);
      out->has_id = true;
    } else if (key == "parameters") {
      dom::object params;
      if (value.get_object().get(params) != simdjson::SUCCESS) {
        return invalidArgument("'parameters' must be an object");
      }
      for (auto [pk, pv] : params) {
        if (pk == "timeout") {
          uint64_t us;
          if (pv.get_uint64().get(us) != simdjson::SUCCESS || us > 3600ull * 1000 * 1000) {
            return invalidArgument("parameter 'timeout' must be microseconds (0..3600000000)");
          }
          out->timeout = std::chrono::microseconds(us);
        } else if (pk == "binary_data_output") {
          if (pv.get_bool().get(binary_default) != simdjson::SUCCESS) {
            return invalidArgument("parameter 'binary_data_output' must be true or false");
          }
        }
      }
    } else if (key == "outputs") {
      outputs_el = value;
      have_outputs = true;
    } else if (key == "inputs") {
      dom::array inputs;
      if (value.get_array().get(inputs) != simdjson::SUCCESS) {
        return invalidArgument("'inputs' must be an array");
      }
      have_inputs = true;
      for (dom::element in : inputs) {
        dom::object obj;
        if (in.get_object().get(obj) != simdjson::SUCCESS) {
          return invalidArgument("each entry of 'inputs' must be an object");
        }
        std::string_view name, datatype;
        dom::element shape_el, data_el, params_el;
        bool has_shape = false, has_data = false, has_params = false, has_name = false,
             has_dt = false;
        for (auto [k, v] : obj) {
          if (k == "name") {
            if (v.get_string().get(name) != simdjson::SUCCESS) {
              return invalidArgument("input 'name' must be a string");
            }
            has_name = true;
          } else if (k == "datatype") {
            if (v.get_string().get(datatype) != simdjson::SUCCESS) {
              return invalidArgument("input 'datatype' must be a string");
            }
            has_dt = true;
          } else if (k == "shape") {
            shape_el = v;
            has_shape = true;
          } else if (k == "data") {
            data_el = v;
            has_data = true;
          } else if (k == "parameters") {
            params_el = v;
            has_params = true;
          }
        }
        if (!has_name) return invalidArgument("an input has no 'name'");
        std::string iname(name);
        int idx = spec.inputIndex(name);
        if (idx < 0) {
          return invalidArgument("unknown input '" + iname + "' for model '" + spec.name +
                                 "' (inputs: " + names(spec.inputs) + ")");
        }
        const runtime::TensorSpec& ts = spec.inputs[static_cast<size_t>(idx)];
        if (seen[static_cast<size_t>(idx)]) {
          return invalidArgument("input '" + iname + "' is given twice");
        }
        seen[static_cast<size_t>(idx)] = true;
        bool binary_input = false;
        uint64_t binary_size = 0;
        if (has_params) {
          dom::object p;
          if (params_el.get_object().get(p) == simdjson::SUCCESS &&
              p["binary_data_size"].error() == simdjson::SUCCESS) {
            if (p["binary_data_size"].get_uint64().get(binary_size) != simdjson::SUCCESS) {
              return invalidArgument("input '" + iname +
                                     "': binary_data_size must be a non-negative integer");
            }
            binary_input = true;
          }
        }
        if (!has_dt) return invalidArgument("input '" + iname + "' has no 'datatype'");
        auto dt = runtime::dataTypeFromName(datatype);
        if (!dt) {
          return invalidArgument("input '" + iname + "': unknown datatype '" +
                                 std::string(datatype) + "'");
        }
        if (*dt != ts.dtype) {
          return invalidArgument("input '" + iname + "': datatype " + std::string(datatype) +
                                 " does not match the model's " +
                                 std::string(runtime::dataTypeName(ts.dtype)));
        }
        if (!has_shape) return invalidArgument("input '" + iname + "' has no 'shape'");
        dom::array shape_arr;
        if (shape_el.get_array().get(shape_arr) != simdjson::SUCCESS) {
          return invalidArgument("input '" + iname + "': 'shape' must be an array of integers");
        }
        Shape shape;
        for (dom::element d : shape_arr) {
          int64_t v;
          if (d.get_int64().get(v) != simdjson::SUCCESS || v < 0) {
            return invalidArgument("input '" + iname +
                                   "': 'shape' must be an array of non-negative integers");
          }
          shape.push_back(v);
        }
        Shape want = ts.dims;
        if (batched) want.insert(want.begin(), -1);
        if (!dimsMatch(ts.dims, shape, batched ? 1 : 0)) {
          return invalidArgument("input '" + iname + "': shape " + runtime::shapeToString(shape) +
                                 " does not match the model's " + runtime::shapeToString(want) +
                                 (batched ? " (batch dimension first)" : ""));
        }
        if (batched) {
          if (shape[0] < 1 || shape[0] > spec.max_batch_size) {
            return invalidArgument("input '" + iname + "': batch size " + std::to_string(shape[0]) +
                                   " is outside [1, max_batch_size " +
                                   std::to_string(spec.max_batch_size) + "]");
          }
          if (rows >= 0 && shape[0] != rows) {
            return invalidArgument("inputs '" + rows_from + "' and '" + iname +
                                   "' have different batch sizes (" + std::to_string(rows) +
                                   " and " + std::to_string(shape[0]) + ")");
          }
          rows = shape[0];
          rows_from = iname;
        }
        Tensor t(ts.dtype, shape);
        if (binary_input) {
          if (has_data) {
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
          RETURN_IF_ERROR(fillTensorBinary(binary.substr(binary_pos, binary_size), t, iname));
          binary_pos += binary_size;
        } else {
          if (!has_data) return invalidArgument("input '" + iname + "' has no 'data'");
          RETURN_IF_ERROR(fillTensor(data_el, t, iname));
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
      }
    }
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
  if (binary_default) out->binary_outputs.assign(spec.outputs.size(), true);
  if (have_outputs) RETURN_IF_ERROR(parseOutputs(outputs_el, spec, out));
  if (out->outputs.empty()) {
    for (size_t k = 0; k < spec.outputs.size(); ++k) {
      out->outputs_wanted[k] = true;
      out->outputs.push_back(static_cast<int>(k));
    }
  }
  return Status::ok();
}

size_t appendInferResponse(std::string& out, const runtime::ModelSpec& spec,
                           const InferRequest& request, const std::vector<Tensor>& outputs) {
  size_t start = out.size();
  bool any_binary = false;
  size_t estimate = 128;
  for (int k : request.outputs) {
    estimate += 64 + static_cast<size_t>(outputs[static_cast<size_t>(k)].elementCount()) * 12;
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
    bool binary = static_cast<size_t>(k) < request.binary_outputs.size() &&
                  request.binary_outputs[static_cast<size_t>(k)];
    if (binary) {
      any_binary = true;
      out += "],\"parameters\":{\"binary_data_size\":";
      appendInt(out, binarySize(t));
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
    if (request.binary_outputs[static_cast<size_t>(k)]) {
      appendBinary(out, outputs[static_cast<size_t>(k)]);
    }
  }
  return json_length;
}

}  // namespace surge::serving
