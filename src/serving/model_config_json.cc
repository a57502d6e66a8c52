#include "serving/model_config_json.h"

#include <chrono>
#include <string_view>

#include "serving/infer_json.h"

namespace surge::serving {
namespace {

// Triton's DataType enum name: TYPE_ + the protocol name, except BYTES, which is TYPE_STRING.
std::string configTypeName(runtime::DataType t) {
  if (t == runtime::DataType::kBytes) return "TYPE_STRING";
  return "TYPE_" + std::string(runtime::dataTypeName(t));
}

template <class Ints>
void appendIntArray(std::string& out, const Ints& values) {
  out += '[';
  bool first = true;
  for (auto v : values) {
    if (!first) out += ',';
    first = false;
    out += std::to_string(v);
  }
  out += ']';
}

uint64_t micros(Duration d) {
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(d).count();
  return us < 0 ? 0 : static_cast<uint64_t>(us);
}

// ModelInput / ModelOutput: the fields in Triton's declaration order.
void appendTensor(std::string& out, const runtime::TensorSpec& t, bool input) {
  out += "{\"name\":";
  appendJsonString(out, t.name);
  out += ",\"data_type\":\"" + configTypeName(t.dtype) + '"';
  if (input) out += ",\"format\":\"FORMAT_NONE\"";
  out += ",\"dims\":";
  appendIntArray(out, t.dims);
  if (t.has_reshape) {
    out += ",\"reshape\":{\"shape\":";
    appendIntArray(out, t.reshape);
    out += '}';
  }
  if (input) {
    out += ",\"is_shape_tensor\":false,\"allow_ragged_batch\":false,\"optional\":false";
  } else {
    out += ",\"label_filename\":\"\",\"is_shape_tensor\":false";
  }
  out += ",\"is_non_linear_format_io\":false}";
}

void appendVersionPolicy(std::string& out, const VersionPolicy& p) {
  switch (p.kind) {
    case VersionPolicy::Kind::kAll:
      out += "{\"all\":{}}";
      return;
    case VersionPolicy::Kind::kSpecific:
      out += "{\"specific\":{\"versions\":";
      appendIntArray(out, p.versions);
      out += "}}";
      return;
    case VersionPolicy::Kind::kLatest:
      break;
  }
  out += "{\"latest\":{\"num_versions\":" + std::to_string(p.num_versions) + "}}";
}

void appendDynamicBatching(std::string& out, const ModelConfig& c) {
  const DynamicBatchingConfig& d = *c.dynamic_batching;
  out += "{\"preferred_batch_size\":";
  appendIntArray(out, c.preferredBatchSizes());
  out += ",\"max_queue_delay_microseconds\":" + std::to_string(micros(d.max_queue_delay));
  out += ",\"preserve_ordering\":";
  out += d.preserve_ordering ? "true" : "false";
  out += ",\"priority_levels\":0,\"default_priority_level\":0";
  // A message field: Triton prints it only when the config set it. surge keeps the values, not
  // whether the block was written, so an all-default policy is left out like an absent one.
  const QueuePolicy& q = d.queue_policy;
  bool default_policy = q.timeout_action == TimeoutAction::kReject &&
                        q.default_timeout == Duration::zero() && !q.allow_timeout_override &&
                        q.max_queue_size == 0;
  if (!default_policy) {
    out += ",\"default_queue_policy\":{\"timeout_action\":\"";
    out += q.timeout_action == TimeoutAction::kDelay ? "DELAY" : "REJECT";
    out += "\",\"default_timeout_microseconds\":" + std::to_string(micros(q.default_timeout));
    out += ",\"allow_timeout_override\":";
    out += q.allow_timeout_override ? "true" : "false";
    out += ",\"max_queue_size\":" + std::to_string(q.max_queue_size) + '}';
  }
  out += ",\"priority_queue_policy\":{}}";
}

const char* kindName(InstanceKind k) {
  switch (k) {
    case InstanceKind::kGpu:
      return "KIND_GPU";
    case InstanceKind::kModel:
      return "KIND_MODEL";
    case InstanceKind::kAuto:
      return "KIND_AUTO";
    case InstanceKind::kCpu:
      break;
  }
  return "KIND_CPU";
}

void appendInstanceGroup(std::string& out, const InstanceGroupConfig& g) {
  out += "{\"name\":";
  appendJsonString(out, g.name);
  out += ",\"kind\":\"";
  out += kindName(g.kind);
  out += "\",\"count\":" + std::to_string(g.count) + ",\"gpus\":";
  appendIntArray(out, g.gpus);
  out += ",\"secondary_devices\":[],\"profile\":[],\"passive\":false,\"host_policy\":\"\"}";
}

}  // namespace

std::string modelConfigJson(const ModelConfig& c) {
  const runtime::ModelSpec& s = c.spec;
  std::string out;
  out.reserve(1024);
  out += "{\"name\":";
  appendJsonString(out, s.name);
  out += ",\"platform\":";
  appendJsonString(out, s.platform);
  out += ",\"backend\":";
  appendJsonString(out, s.backend);
  out += ",\"runtime\":\"\",\"version_policy\":";
  appendVersionPolicy(out, c.version_policy);
  out += ",\"max_batch_size\":" + std::to_string(s.max_batch_size);
  out += ",\"input\":[";
  for (size_t i = 0; i < s.inputs.size(); ++i) {
    if (i > 0) out += ',';
    appendTensor(out, s.inputs[i], true);
  }
  out += "],\"output\":[";
  for (size_t i = 0; i < s.outputs.size(); ++i) {
    if (i > 0) out += ',';
    appendTensor(out, s.outputs[i], false);
  }
  out += "],\"batch_input\":[],\"batch_output\":[]";
  // ModelOptimizationPolicy, which Triton's NormalizeModelConfig always sets (pinned input and
  // output buffers enabled, for every model but ensembles). Its message fields (graph, cuda,
  // execution_accelerators) are unset, so the printer leaves them out; the scalars print at
  // their defaults.
  out += ",\"optimization\":{\"priority\":\"PRIORITY_DEFAULT\","
         "\"input_pinned_memory\":{\"enable\":true},\"output_pinned_memory\":{\"enable\":true},"
         "\"gather_kernel_buffer_threshold\":0,\"eager_batching\":false}";
  if (c.dynamic_batching) {
    out += ",\"dynamic_batching\":";
    appendDynamicBatching(out, c);
  }
  out += ",\"instance_group\":[";
  for (size_t i = 0; i < c.instance_groups.size(); ++i) {
    if (i > 0) out += ',';
    appendInstanceGroup(out, c.instance_groups[i]);
  }
  out += "],\"default_model_filename\":";
  appendJsonString(out, s.default_model_filename);
  out += ",\"cc_model_filenames\":{},\"metric_tags\":{},\"parameters\":{";
  bool first = true;
  for (const auto& [key, value] : s.parameters) {
    if (!first) out += ',';
    first = false;
    appendJsonString(out, key);
    out += ":{\"string_value\":";
    appendJsonString(out, value);
    out += '}';
  }
  out += "},\"model_warmup\":[]}";
  return out;
}

}  // namespace surge::serving
