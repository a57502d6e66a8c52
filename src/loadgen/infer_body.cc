#include "loadgen/infer_body.h"

#include <nlohmann/json.hpp>

#include "common/random.h"

namespace surge::loadgen {

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

}  // namespace surge::loadgen
