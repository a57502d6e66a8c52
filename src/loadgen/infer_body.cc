#include "loadgen/infer_body.h"

#include <cstring>
#include <nlohmann/json.hpp>

#include "common/random.h"

namespace surge::loadgen {
namespace {

using nlohmann::json;

uint16_t halfBits(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  uint32_t sign = (x >> 16) & 0x8000;
  int32_t exp = static_cast<int32_t>((x >> 23) & 0xff) - 127 + 15;
  uint32_t mant = x & 0x7fffff;
  if (((x >> 23) & 0xff) == 0xff) return static_cast<uint16_t>(sign | 0x7c00 | (mant ? 0x200 : 0));
  if (exp >= 31) return static_cast<uint16_t>(sign | 0x7c00);
  if (exp <= 0) return static_cast<uint16_t>(sign);  // tiny: flush to zero (load data only)
  uint32_t h = sign | (static_cast<uint32_t>(exp) << 10) | (mant >> 13);
  if ((mant & 0x1fff) > 0x1000 || ((mant & 0x1fff) == 0x1000 && (h & 1))) ++h;
  return static_cast<uint16_t>(h);
}

void flatten(const json& v, std::vector<const json*>* out) {
  if (v.is_array()) {
    for (const auto& e : v) flatten(e, out);
  } else {
    out->push_back(&v);
  }
}

template <class T>
void appendLe(std::string& out, T v) {
  char b[sizeof(T)];
  std::memcpy(b, &v, sizeof(T));
  out.append(b, sizeof(T));
}

Status appendElement(std::string& out, const std::string& dt, const json& v,
                     const std::string& input) {
  auto bad = [&] {
    return invalidArgument("input '" + input + "': a " + dt + " element is " + v.dump());
  };
  if (dt == "BYTES") {
    if (!v.is_string()) return bad();
    const std::string& s = v.get_ref<const std::string&>();
    appendLe<uint32_t>(out, static_cast<uint32_t>(s.size()));
    out += s;
    return Status::ok();
  }
  if (dt == "BOOL") {
    if (!v.is_boolean() && !v.is_number()) return bad();
    out += static_cast<char>(v.is_boolean() ? v.get<bool>() : v.get<double>() != 0);
    return Status::ok();
  }
  if (!v.is_number()) return bad();
  if (dt == "FP32") appendLe<float>(out, v.get<float>());
  else if (dt == "FP64") appendLe<double>(out, v.get<double>());
  else if (dt == "FP16") appendLe<uint16_t>(out, halfBits(v.get<float>()));
  else if (dt == "INT8") appendLe<int8_t>(out, static_cast<int8_t>(v.get<int64_t>()));
  else if (dt == "INT16") appendLe<int16_t>(out, static_cast<int16_t>(v.get<int64_t>()));
  else if (dt == "INT32") appendLe<int32_t>(out, static_cast<int32_t>(v.get<int64_t>()));
  else if (dt == "INT64") appendLe<int64_t>(out, v.get<int64_t>());
  else if (dt == "UINT8") appendLe<uint8_t>(out, static_cast<uint8_t>(v.get<uint64_t>()));
  else if (dt == "UINT16") appendLe<uint16_t>(out, static_cast<uint16_t>(v.get<uint64_t>()));
  else if (dt == "UINT32") appendLe<uint32_t>(out, static_cast<uint32_t>(v.get<uint64_t>()));
  else if (dt == "UINT64") appendLe<uint64_t>(out, v.get<uint64_t>());
  else return invalidArgument("input '" + input + "': unknown datatype '" + dt + "'");
  return Status::ok();
}

}  // namespace

StatusOr<std::string> buildInferBody(std::string_view metadata_json, int batch, uint64_t seed) {
  nlohmann::json meta = nlohmann::json::parse(metadata_json, nullptr, false);
  if (meta.is_discarded() || !meta.is_object() || !meta.contains("inputs") ||
      !meta["inputs"].is_array()) {
    return invalidArgument("model metadata is not {\"inputs\": [...]}");
  }
  Random random(seed);
  nlohmann::json req;
  req["inputs"] = nlohmann::json::array();
  for (const auto& in : meta["inputs"]) {
    if (!in.is_object() || !in.contains("name") || !in["name"].is_string() ||
        !in.contains("datatype") || !in["datatype"].is_string() || !in.contains("shape") ||
        !in["shape"].is_array()) {
      return invalidArgument("model metadata input without name/datatype/shape");
    }
    const std::string name = in["name"];
    const std::string dt = in["datatype"];
    std::vector<int64_t> shape;
    int64_t elements = 1;
    bool first = true;
    for (const auto& d : in["shape"]) {
      if (!d.is_number_integer()) return invalidArgument("input '" + name + "': bad shape");
      int64_t v = d.get<int64_t>();
      if (v < 0) v = first ? batch : 1;
      shape.push_back(v);
      elements *= v;
      first = false;
    }
    if (batch > 1 && (in["shape"].empty() || in["shape"][0].get<int64_t>() >= 0)) {
      return invalidArgument("--batch " + std::to_string(batch) + ": model input '" + name +
                             "' has no batch dimension");
    }
    nlohmann::json data = nlohmann::json::array();
    for (int64_t i = 0; i < elements; ++i) {
      if (dt == "FP32" || dt == "FP64" || dt == "FP16" || dt == "BF16") {
        data.push_back(static_cast<float>(random.uniformDouble()));
      } else if (dt == "INT8" || dt == "INT16" || dt == "INT32" || dt == "INT64" || dt == "UINT8" ||
                 dt == "UINT16" || dt == "UINT32" || dt == "UINT64") {
        data.push_back(random.uniform(100));
      } else if (dt == "BOOL") {
        data.push_back(random.uniform(2) == 1);
      } else if (dt == "BYTES") {
        data.push_back("s" + std::to_string(random.uniform(1000)));
      } else {
        return invalidArgument("input '" + name + "': unknown datatype '" + dt + "'");
      }
    }
    req["inputs"].push_back({{"name", name}, {"shape", shape}, {"datatype", dt}, {"data", data}});
  }
  return req.dump();
}

StatusOr<RawRequest> rawRequestFromJson(std::string_view body) {
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("inputs") || !j["inputs"].is_array()) {
    return invalidArgument("the request body is not a JSON object with an \"inputs\" array");
  }
  RawRequest out;
  if (j.contains("id") && j["id"].is_string()) {
    out.id = j["id"].get<std::string>();
    out.has_id = true;
  }
  if (j.contains("parameters") && j["parameters"].is_object() &&
      j["parameters"].contains("timeout") && j["parameters"]["timeout"].is_number_integer()) {
    out.timeout_us = j["parameters"]["timeout"].get<int64_t>();
  }
  for (const auto& in : j["inputs"]) {
    if (!in.is_object() || !in.contains("name") || !in["name"].is_string() ||
        !in.contains("datatype") || !in["datatype"].is_string() || !in.contains("shape") ||
        !in["shape"].is_array() || !in.contains("data")) {
      return invalidArgument("every input needs name, datatype, shape and data");
    }
    RawRequest::Input t;
    t.name = in["name"].get<std::string>();
    t.datatype = in["datatype"].get<std::string>();
    for (const auto& d : in["shape"]) {
      if (!d.is_number_integer()) return invalidArgument("input '" + t.name + "': bad shape");
      t.shape.push_back(d.get<int64_t>());
    }
    std::vector<const json*> leaves;
    flatten(in["data"], &leaves);
    for (const json* v : leaves) RETURN_IF_ERROR(appendElement(t.bytes, t.datatype, *v, t.name));
    out.inputs.push_back(std::move(t));
  }
  if (j.contains("outputs") && j["outputs"].is_array()) {
    for (const auto& o : j["outputs"]) {
      if (o.is_object() && o.contains("name") && o["name"].is_string()) {
        out.outputs.push_back(o["name"].get<std::string>());
      }
    }
  }
  return out;
}

StatusOr<BinaryBody> binaryInferBody(std::string_view json_body) {
  ASSIGN_OR_RETURN(RawRequest raw, rawRequestFromJson(json_body));
  json head;
  if (raw.has_id) head["id"] = raw.id;
  head["parameters"] = {{"binary_data_output", true}};
  if (raw.timeout_us >= 0) head["parameters"]["timeout"] = raw.timeout_us;
  head["inputs"] = json::array();
  for (const auto& in : raw.inputs) {
    head["inputs"].push_back({{"name", in.name},
                              {"datatype", in.datatype},
                              {"shape", in.shape},
                              {"parameters", {{"binary_data_size", in.bytes.size()}}}});
  }
  if (!raw.outputs.empty()) {
    head["outputs"] = json::array();
    for (const auto& o : raw.outputs) head["outputs"].push_back({{"name", o}});
  }
  BinaryBody out;
  out.body = head.dump();
  out.json_length = out.body.size();
  for (const auto& in : raw.inputs) out.body += in.bytes;
  return out;
}

}  // namespace surge::loadgen
