#include "serving/grpc/grpc_codec.h"

#include <cstring>
#include <limits>

#include "common/hash.h"
#include "serving/tensor_wire.h"
#include "serving/model_config.pb.h"

namespace surge::serving {
namespace {

using runtime::DataType;
using runtime::Shape;
using runtime::Tensor;

constexpr uint64_t kMaxTimeoutMicros = 3600ull * 1000 * 1000;


// The typed contents field a datatype travels in (FP16: none, raw only).
const char* contentsFieldFor(DataType t) {
  switch (t) {
    case DataType::kBool:
      return "bool_contents";
    case DataType::kInt8:
    case DataType::kInt16:
    case DataType::kInt32:
      return "int_contents";
    case DataType::kInt64:
      return "int64_contents";
    case DataType::kUint8:
    case DataType::kUint16:
    case DataType::kUint32:
      return "uint_contents";
    case DataType::kUint64:
      return "uint64_contents";
    case DataType::kFp32:
      return "fp32_contents";
    case DataType::kFp64:
      return "fp64_contents";
    case DataType::kBytes:
      return "bytes_contents";
    default:
      return nullptr;
  }
}

// Element counts of every contents field, by name.
struct FieldCount {
  const char* name;
  int64_t count;
};

std::vector<FieldCount> fieldCounts(const inference::InferTensorContents& c) {
  return {{"bool_contents", c.bool_contents_size()},   {"int_contents", c.int_contents_size()},
          {"int64_contents", c.int64_contents_size()}, {"uint_contents", c.uint_contents_size()},
          {"uint64_contents", c.uint64_contents_size()}, {"fp32_contents", c.fp32_contents_size()},
          {"fp64_contents", c.fp64_contents_size()},   {"bytes_contents", c.bytes_contents_size()}};
}

template <class T, class Src>
Status copyNarrow(const Src& src, Tensor& t, const std::string& input, const char* type) {
  T* dst = t.dataAs<T>();
  for (int i = 0; i < src.size(); ++i) {
    auto v = src.Get(i);
    if (v < static_cast<decltype(v)>(std::numeric_limits<T>::min()) ||
        v > static_cast<decltype(v)>(std::numeric_limits<T>::max())) {
      return invalidArgument("input '" + input + "': element " + std::to_string(i) + " (" +
                             std::to_string(v) + ") is out of range for " + type);
    }
    T x = static_cast<T>(v);
    std::memcpy(dst + i, &x, sizeof(T));
  }
  return Status::ok();
}

template <class T, class Src>
void copySame(const Src& src, Tensor& t) {
  if (src.size() > 0) std::memcpy(t.data(), src.data(), static_cast<size_t>(src.size()) * sizeof(T));
}

// Fills `t` (its element count already equal to the matching field's size) from typed contents.
Status fillTyped(const inference::InferTensorContents& c, Tensor& t, const std::string& input) {
  switch (t.dtype()) {
    case DataType::kBool: {
      auto* dst = reinterpret_cast<uint8_t*>(t.data());
      for (int i = 0; i < c.bool_contents_size(); ++i) dst[i] = c.bool_contents(i) ? 1 : 0;
      return Status::ok();
    }
    case DataType::kInt8:
      return copyNarrow<int8_t>(c.int_contents(), t, input, "INT8");
    case DataType::kInt16:
      return copyNarrow<int16_t>(c.int_contents(), t, input, "INT16");
    case DataType::kInt32:
      copySame<int32_t>(c.int_contents(), t);
      return Status::ok();
    case DataType::kInt64:
      copySame<int64_t>(c.int64_contents(), t);
      return Status::ok();
    case DataType::kUint8:
      return copyNarrow<uint8_t>(c.uint_contents(), t, input, "UINT8");
    case DataType::kUint16:
      return copyNarrow<uint16_t>(c.uint_contents(), t, input, "UINT16");
    case DataType::kUint32:
      copySame<uint32_t>(c.uint_contents(), t);
      return Status::ok();
    case DataType::kUint64:
      copySame<uint64_t>(c.uint64_contents(), t);
      return Status::ok();
    case DataType::kFp32:
      copySame<float>(c.fp32_contents(), t);
      return Status::ok();
    case DataType::kFp64:
      copySame<double>(c.fp64_contents(), t);
      return Status::ok();
    case DataType::kBytes: {
      auto& strings = t.strings();
      for (int i = 0; i < c.bytes_contents_size(); ++i) {
        strings[static_cast<size_t>(i)] = c.bytes_contents(i);
      }
      return Status::ok();
    }
    default:
      return invalidArgument("input '" + input + "': datatype " +
                             std::string(runtime::dataTypeName(t.dtype())) +
                             " has no typed contents field; send it in raw_input_contents");
  }
}

// Fills `t` from raw little-endian bytes (BYTES: 4-byte length + bytes per element). The size
// was checked against the element count before `t` was allocated.

Status readTimeout(const inference::InferParameter& p, Duration* out) {
  Status bad = invalidArgument("parameter 'timeout' must be microseconds (0..3600000000)");
  uint64_t us = 0;
  if (p.parameter_choice_case() == inference::InferParameter::kInt64Param) {
    if (p.int64_param() < 0) return bad;
    us = static_cast<uint64_t>(p.int64_param());
  } else if (p.parameter_choice_case() == inference::InferParameter::kUint64Param) {
    us = p.uint64_param();
  } else {
    return bad;
  }
  if (us > kMaxTimeoutMicros) return bad;
  *out = std::chrono::microseconds(us);
  return Status::ok();
}

}  // namespace

Status parseGrpcInferRequest(const inference::ModelInferRequest& req,
                             const runtime::ModelSpec& spec, InferRequest* out) {
  *out = InferRequest();
  const size_t n_in = spec.inputs.size();
  out->inputs.resize(n_in);
  out->outputs_wanted.assign(spec.outputs.size(), false);
  out->binary_outputs.assign(spec.outputs.size(), false);
  out->binary_set.assign(spec.outputs.size(), false);
  if (!req.id().empty()) {
    out->id = req.id();
    out->has_id = true;
  }
  for (const auto& [key, value] : req.parameters()) {
    if (key == "timeout") RETURN_IF_ERROR(readTimeout(value, &out->timeout));
  }
  const bool raw = req.raw_input_contents_size() > 0;
  if (raw && req.raw_input_contents_size() != req.inputs_size()) {
    return invalidArgument("raw_input_contents has " +
                           std::to_string(req.raw_input_contents_size()) + " entries for " +
                           std::to_string(req.inputs_size()) +
                           " inputs (one per input, in the order of 'inputs')");
  }
  const bool batched = spec.max_batch_size > 0;
  std::vector<bool> seen(n_in, false);
  int64_t rows = -1;
  std::string rows_from;
  std::vector<int64_t> key_dims;
  for (int i = 0; i < req.inputs_size(); ++i) {
    const auto& in = req.inputs(i);
    const std::string& iname = in.name();
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
    if (in.datatype().empty()) return invalidArgument("input '" + iname + "' has no 'datatype'");
    auto dt = runtime::dataTypeFromName(in.datatype());
    if (!dt) {
      return invalidArgument("input '" + iname + "': unknown datatype '" + in.datatype() + "'");
    }
    if (*dt != ts.dtype) {
      return invalidArgument("input '" + iname + "': datatype " + in.datatype() +
                             " does not match the model's " +
                             std::string(runtime::dataTypeName(ts.dtype)));
    }
    Shape shape(in.shape().begin(), in.shape().end());
    for (int64_t d : shape) {
      if (d < 0) {
        return invalidArgument("input '" + iname + "': shape " + runtime::shapeToString(shape) +
                               " has a negative dimension");
      }
    }
    int64_t count = 0;
    RETURN_IF_ERROR(
        checkInputShape(ts, shape, spec.max_batch_size, iname, &rows, &rows_from, &count));
    Tensor t;
    if (raw) {
      if (in.has_contents()) {
        return invalidArgument("input '" + iname +
                               "' has 'contents' while the request uses raw_input_contents "
                               "(use one or the other for every input)");
      }
      const std::string& bytes = req.raw_input_contents(i);
      const uint64_t size = runtime::dataTypeSize(ts.dtype);
      const auto ucount = static_cast<uint64_t>(count);
      if (ts.dtype != DataType::kBytes) {
        if (ucount > bytes.size() / size || ucount * size != bytes.size()) {
          return invalidArgument(
              "input '" + iname + "': shape " + runtime::shapeToString(shape) + " needs " +
              (ucount > std::numeric_limits<uint64_t>::max() / size
                   ? std::string("more than 2^64")
                   : std::to_string(ucount * size)) +
              " bytes of raw_input_contents, got " + std::to_string(bytes.size()));
        }
      } else if (ucount > bytes.size() / 4) {
        return invalidArgument("input '" + iname + "': shape " + runtime::shapeToString(shape) +
                               " needs at least " + std::to_string(count) +
                               " BYTES elements of 4 bytes or more, raw_input_contents has " +
                               std::to_string(bytes.size()) + " bytes");
      }
      t = Tensor(ts.dtype, shape);  // bounded by the raw bytes the request carries
      RETURN_IF_ERROR(fillRawTensor(bytes, t, iname, "raw_input_contents"));
    } else {
      if (!in.has_contents()) {
        return invalidArgument("input '" + iname +
                               "' has no data (set its 'contents' or the request's "
                               "raw_input_contents)");
      }
      const char* field = contentsFieldFor(ts.dtype);
      if (field == nullptr) {
        return invalidArgument("input '" + iname + "': datatype " + in.datatype() +
                               " has no typed contents field; send it in raw_input_contents");
      }
      int64_t have = 0;
      for (const auto& fc : fieldCounts(in.contents())) {
        if (std::strcmp(fc.name, field) == 0) {
          have = fc.count;
        } else if (fc.count > 0) {
          return invalidArgument("input '" + iname + "': datatype " + in.datatype() +
                                 " travels in contents." + field + ", but contents." + fc.name +
                                 " has " + std::to_string(fc.count) + " elements");
        }
      }
      if (have != count) {
        return invalidArgument("input '" + iname + "': shape " + runtime::shapeToString(shape) +
                               " needs " + std::to_string(count) + " elements, contents." +
                               field + " has " + std::to_string(have));
      }
      t = Tensor(ts.dtype, shape);  // count == elements the request carries
      RETURN_IF_ERROR(fillTyped(in.contents(), t, iname));
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
  if (req.inputs_size() == 0 && n_in > 0) return invalidArgument("the request has no inputs");
  for (size_t i = 0; i < n_in; ++i) {
    if (!seen[i]) return invalidArgument("missing input '" + spec.inputs[i].name + "'");
  }
  out->rows = batched ? rows : 1;
  out->shape_key = hash64(std::string_view(reinterpret_cast<const char*>(key_dims.data()),
                                           key_dims.size() * sizeof(int64_t)));
  for (const auto& o : req.outputs()) {
    int k = spec.outputIndex(o.name());
    if (k < 0) {
      return invalidArgument("unknown output '" + o.name() + "' for model '" + spec.name +
                             "' (outputs: " + tensorNames(spec.outputs) + ")");
    }
    if (o.parameters().count("classification") > 0) {
      return invalidArgument("output '" + o.name() +
                             "': the classification extension is not supported");
    }
    if (!out->outputs_wanted[static_cast<size_t>(k)]) {
      out->outputs_wanted[static_cast<size_t>(k)] = true;
      out->outputs.push_back(k);
    }
  }
  if (out->outputs.empty()) {
    for (size_t k = 0; k < spec.outputs.size(); ++k) {
      out->outputs_wanted[k] = true;
      out->outputs.push_back(static_cast<int>(k));
    }
  }
  return Status::ok();
}

Status renderGrpcInferResponse(const runtime::ModelSpec& spec, const InferRequest& request,
                               const std::vector<Tensor>& outputs,
                               inference::ModelInferResponse* out) {
  out->Clear();
  out->set_model_name(spec.name);
  out->set_model_version(std::to_string(spec.version));
  if (request.has_id) out->set_id(request.id);
  const bool batched = spec.max_batch_size > 0;
  for (int k : request.outputs) {
    auto ku = static_cast<size_t>(k);
    if (k < 0 || ku >= outputs.size() || ku >= spec.outputs.size()) {
      out->Clear();
      return internalError("output " + std::to_string(k) + " is missing from the model's result");
    }
    const Tensor& t = outputs[ku];
    const runtime::TensorSpec& os = spec.outputs[ku];
    Shape shape = t.shape();
    if (os.has_reshape) {
      Shape config;
      if (resolveShape(os.dims, t.elementCount(), batched, batched ? t.rows() : 1, &config)) {
        shape = std::move(config);
      }
    }
    auto* o = out->add_outputs();
    o->set_name(os.name);
    o->set_datatype(std::string(runtime::dataTypeName(t.dtype())));
    o->mutable_shape()->Add(shape.begin(), shape.end());
    appendRawTensor(*out->add_raw_output_contents(), t);
  }
  return Status::ok();
}

void fillModelMetadata(const runtime::ModelSpec& spec, const std::vector<std::string>& versions,
                       inference::ModelMetadataResponse* out) {
  out->Clear();
  out->set_name(spec.name);
  for (const auto& v : versions) out->add_versions(v);
  out->set_platform(spec.platform.empty() ? spec.backend : spec.platform);
  const bool batched = spec.max_batch_size > 0;
  auto add = [batched](const runtime::TensorSpec& ts,
                       inference::ModelMetadataResponse::TensorMetadata* m) {
    m->set_name(ts.name);
    m->set_datatype(std::string(runtime::dataTypeName(ts.dtype)));
    if (batched) m->add_shape(-1);
    for (int64_t d : ts.dims) m->add_shape(d);
  };
  for (const auto& ts : spec.inputs) add(ts, out->add_inputs());
  for (const auto& ts : spec.outputs) add(ts, out->add_outputs());
}

void fillModelConfig(const ModelConfig& c, pb::ModelConfig* out) {
  out->Clear();
  const runtime::ModelSpec& s = c.spec;
  out->set_name(s.name);
  out->set_platform(s.platform);
  out->set_backend(s.backend);
  auto* vp = out->mutable_version_policy();
  switch (c.version_policy.kind) {
    case VersionPolicy::Kind::kAll:
      vp->mutable_all();
      break;
    case VersionPolicy::Kind::kSpecific:
      for (int64_t v : c.version_policy.versions) vp->mutable_specific()->add_versions(v);
      break;
    case VersionPolicy::Kind::kLatest:
      vp->mutable_latest()->set_num_versions(static_cast<uint32_t>(c.version_policy.num_versions));
      break;
  }
  out->set_max_batch_size(s.max_batch_size);
  // runtime::DataType and Triton's DataType enum share their numbering (TYPE_BOOL = 1 ...
  // TYPE_STRING = 13 for BYTES).
  auto type = [](runtime::DataType t) { return static_cast<pb::DataType>(static_cast<int>(t)); };
  for (const auto& t : s.inputs) {
    auto* in = out->add_input();
    in->set_name(t.name);
    in->set_data_type(type(t.dtype));
    for (int64_t d : t.dims) in->add_dims(d);
    if (t.has_reshape) {
      for (int64_t d : t.reshape) in->mutable_reshape()->add_shape(d);
    }
  }
  for (const auto& t : s.outputs) {
    auto* o = out->add_output();
    o->set_name(t.name);
    o->set_data_type(type(t.dtype));
    for (int64_t d : t.dims) o->add_dims(d);
    if (t.has_reshape) {
      for (int64_t d : t.reshape) o->mutable_reshape()->add_shape(d);
    }
  }
  for (const auto& g : c.instance_groups) {
    auto* ig = out->add_instance_group();
    ig->set_name(g.name);
    ig->set_count(g.count);
    for (int gpu : g.gpus) ig->add_gpus(gpu);
    switch (g.kind) {
      case InstanceKind::kGpu:
        ig->set_kind(pb::ModelInstanceGroup::KIND_GPU);
        break;
      case InstanceKind::kModel:
        ig->set_kind(pb::ModelInstanceGroup::KIND_MODEL);
        break;
      case InstanceKind::kAuto:
        ig->set_kind(pb::ModelInstanceGroup::KIND_AUTO);
        break;
      case InstanceKind::kCpu:
        ig->set_kind(pb::ModelInstanceGroup::KIND_CPU);
        break;
    }
  }
  out->set_default_model_filename(s.default_model_filename);
  if (c.dynamic_batching) {
    const DynamicBatchingConfig& d = *c.dynamic_batching;
    auto* db = out->mutable_dynamic_batching();
    for (int64_t b : c.preferredBatchSizes()) db->add_preferred_batch_size(static_cast<int32_t>(b));
    auto micros = [](Duration x) {
      auto us = std::chrono::duration_cast<std::chrono::microseconds>(x).count();
      return us < 0 ? uint64_t{0} : static_cast<uint64_t>(us);
    };
    db->set_max_queue_delay_microseconds(micros(d.max_queue_delay));
    db->set_preserve_ordering(d.preserve_ordering);
    const QueuePolicy& q = d.queue_policy;
    if (q.timeout_action != TimeoutAction::kReject || q.default_timeout != Duration::zero() ||
        q.allow_timeout_override || q.max_queue_size != 0) {
      auto* qp = db->mutable_default_queue_policy();
      qp->set_timeout_action(q.timeout_action == TimeoutAction::kDelay
                                 ? pb::ModelQueuePolicy::DELAY
                                 : pb::ModelQueuePolicy::REJECT);
      qp->set_default_timeout_microseconds(micros(q.default_timeout));
      qp->set_allow_timeout_override(q.allow_timeout_override);
      qp->set_max_queue_size(q.max_queue_size);
    }
  }
  for (const auto& [key, value] : s.parameters) {
    (*out->mutable_parameters())[key].set_string_value(value);
  }
}

}  // namespace surge::serving
