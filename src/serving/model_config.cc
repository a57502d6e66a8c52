#include "serving/model_config.h"

#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/text_format.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include "serving/model_config.pb.h"

namespace surge::serving {
namespace {

namespace gp = google::protobuf;
using Tree = gp::TextFormat::ParseInfoTree;

// Delays and timeouts beyond this are certainly typos (and would overflow nanoseconds).
constexpr uint64_t kMaxMicros = 3600ull * 1000 * 1000;  // one hour
constexpr int kMaxInstances = 256;
// Size limits checked at load (documented in docs/design/serving.md, "Input limits"): warm-up runs
// a batch of max_batch_size rows through every input and output, so one tensor at the largest
// batch (-1 dims counted as 1, BYTES elements as 32 bytes, their in-memory size) must fit the
// cap, and every product must fit int64.
constexpr int64_t kMaxBatchSize = int64_t{1} << 20;
constexpr int64_t kMaxTensorBytes = int64_t{1} << 30;  // 1 GiB
constexpr int64_t kBytesElementSize = 32;

// a * b when it fits in [0, limit], else -1 (both non-negative).
int64_t mulWithin(int64_t a, int64_t b, int64_t limit) {
  if (a < 0 || b < 0) return -1;
  if (b != 0 && a > limit / b) return -1;
  return a * b;
}

class Collector final : public gp::io::ErrorCollector {
 public:
  explicit Collector(const std::string& path) : path_(path) {}
  void AddError(int line, gp::io::ColumnNumber column, const std::string& message) override {
    errors.push_back(path_ + ":" + std::to_string(line + 1) + ":" + std::to_string(column + 1) +
                     ": " + message);
  }
  std::vector<std::string> errors;

 private:
  const std::string& path_;
};

std::string join(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) {
    if (!out.empty()) out += '\n';
    out += l;
  }
  return out;
}

Status parseWithTree(std::string_view text, const std::string& path, pb::ModelConfig* out,
                     Tree* tree) {
  Collector collector(path);
  gp::TextFormat::Parser parser;
  parser.RecordErrorsTo(&collector);
  if (tree != nullptr) parser.WriteLocationsTo(tree);
  bool ok = parser.ParseFromString(std::string(text), out);
  if (!ok || !collector.errors.empty()) {
    if (collector.errors.empty()) collector.errors.push_back(path + ": cannot parse");
    return invalidArgument(join(collector.errors));
  }
  return Status::ok();
}

// "path:line:col" of a field as written (the file alone when it was not written).
class Where {
 public:
  explicit Where(const std::string& path) : path_(path) {}

  std::string at(const Tree* tree, const gp::Message& msg, const char* field,
                 int index = -1) const {
    if (tree == nullptr) return path_;
    const gp::FieldDescriptor* f = msg.GetDescriptor()->FindFieldByName(field);
    if (f == nullptr) return path_;
    if (f->is_repeated() && index < 0) index = 0;
    auto loc = tree->GetLocation(f, index);
    // A list ("dims: [1, 2]") is one occurrence with one location: point at the list.
    if (loc.line < 0 && index > 0) loc = tree->GetLocation(f, 0);
    if (loc.line < 0) return path_;
    return path_ + ":" + std::to_string(loc.line + 1) + ":" + std::to_string(loc.column + 1);
  }

  const Tree* nested(const Tree* tree, const gp::Message& msg, const char* field,
                     int index = -1) const {
    if (tree == nullptr) return nullptr;
    const gp::FieldDescriptor* f = msg.GetDescriptor()->FindFieldByName(field);
    if (f == nullptr) return nullptr;
    return tree->GetTreeForNested(f, index);
  }

 private:
  const std::string& path_;
};

std::optional<runtime::DataType> convertType(pb::DataType t) {
  using runtime::DataType;
  switch (t) {
    case pb::TYPE_BOOL:
      return DataType::kBool;
    case pb::TYPE_UINT8:
      return DataType::kUint8;
    case pb::TYPE_UINT16:
      return DataType::kUint16;
    case pb::TYPE_UINT32:
      return DataType::kUint32;
    case pb::TYPE_UINT64:
      return DataType::kUint64;
    case pb::TYPE_INT8:
      return DataType::kInt8;
    case pb::TYPE_INT16:
      return DataType::kInt16;
    case pb::TYPE_INT32:
      return DataType::kInt32;
    case pb::TYPE_INT64:
      return DataType::kInt64;
    case pb::TYPE_FP16:
      return DataType::kFp16;
    case pb::TYPE_FP32:
      return DataType::kFp32;
    case pb::TYPE_FP64:
      return DataType::kFp64;
    case pb::TYPE_STRING:
      return DataType::kBytes;
    default:
      return std::nullopt;
  }
}

class Validator {
 public:
  Validator(const std::string& path, const pb::ModelConfig& m, const Tree* tree)
      : where_(path), m_(m), tree_(tree) {}

  void error(std::string where, std::string message) {
    errors_.push_back(std::move(where) + ": " + std::move(message));
  }
  const std::vector<std::string>& errors() const { return errors_; }
  const Where& where() const { return where_; }

  // Bytes of one tensor with `dims` at `rows` rows (-1 dims as 1); -1 when above the cap.
  static int64_t tensorBytes(const runtime::Shape& dims, int64_t rows, runtime::DataType dtype) {
    int64_t elem = dtype == runtime::DataType::kBytes
                       ? kBytesElementSize
                       : std::max<int64_t>(1, static_cast<int64_t>(runtime::dataTypeSize(dtype)));
    int64_t n = mulWithin(std::max<int64_t>(rows, 1), elem, kMaxTensorBytes);
    for (int64_t d : dims) {
      if (n < 0) break;
      n = mulWithin(n, d < 0 ? 1 : d, kMaxTensorBytes);
    }
    return n;
  }

  void tensorSize(const std::string& what, const std::string& here, const runtime::Shape& dims,
                  const char* which, runtime::DataType dtype, int64_t max_batch_size) {
    std::string size = "at most 1 GiB per tensor";
    error(here, what + ": " + which + " " + runtime::shapeToString(dims) +
                    (max_batch_size > 0 ? " x max_batch_size " + std::to_string(max_batch_size)
                                        : std::string()) +
                    " x " +
                    (dtype == runtime::DataType::kBytes
                         ? std::string("32 bytes per BYTES element")
                         : std::to_string(runtime::dataTypeSize(dtype)) + " bytes") +
                    " is too large (" + size + ")");
  }

  template <class T>
  void tensor(const char* kind, const char* field, int i, const T& t, runtime::TensorSpec* out,
              std::set<std::string>* names, int64_t max_batch_size) {
    const Tree* tree = where_.nested(tree_, m_, field, i);
    std::string here = where_.at(tree_, m_, field, i);
    std::string what = std::string(kind) + " " + std::to_string(i);
    if (t.name().empty()) {
      error(here, what + ": name is required");
    } else {
      what = std::string(kind) + " '" + t.name() + "'";
      if (!names->insert(t.name()).second) error(where_.at(tree, t, "name"), "duplicate " + what);
    }
    out->name = t.name();
    if (t.data_type() == pb::TYPE_INVALID) {
      error(here, what + ": data_type is required");
    } else if (auto dt = convertType(t.data_type())) {
      out->dtype = *dt;
    } else {
      error(where_.at(tree, t, "data_type"),
            what + ": " + pb::DataType_Name(t.data_type()) + " is not supported");
    }
    if (t.dims_size() == 0) error(here, what + ": dims is required (non-empty)");
    int variable = 0;
    for (int d = 0; d < t.dims_size(); ++d) {
      int64_t v = t.dims(d);
      if (v == -1) ++variable;
      if (v == 0 || v < -1) {
        error(where_.at(tree, t, "dims", d),
              what + ": dims must be positive or -1 (any size), got " + std::to_string(v));
      }
      out->dims.push_back(v);
    }
    // The size cap before anything multiplies dims (the reshape check below, warm-up).
    if (out->dtype != runtime::DataType::kInvalid &&
        tensorBytes(out->dims, max_batch_size, out->dtype) < 0) {
      tensorSize(what, where_.at(tree, t, "dims"), out->dims, "dims", out->dtype, max_batch_size);
      return;
    }
    if (t.has_reshape()) {
      out->has_reshape = true;
      const Tree* rtree = where_.nested(tree, t, "reshape");
      int rvariable = 0;
      for (int d = 0; d < t.reshape().shape_size(); ++d) {
        int64_t v = t.reshape().shape(d);
        if (v == -1) ++rvariable;
        if (v == 0 || v < -1) {
          error(where_.at(rtree, t.reshape(), "shape", d),
                what + ": reshape dims must be positive or -1, got " + std::to_string(v));
        }
        out->reshape.push_back(v);
      }
      std::string rhere = where_.at(tree, t, "reshape");
      bool reshape_ok = true;
      for (int64_t v : out->reshape) reshape_ok = reshape_ok && (v > 0 || v == -1);
      if (reshape_ok && out->dtype != runtime::DataType::kInvalid &&
          tensorBytes(out->reshape, max_batch_size, out->dtype) < 0) {
        tensorSize(what, rhere, out->reshape, "reshape", out->dtype, max_batch_size);
        return;
      }
      if (rvariable > 1) {
        error(rhere, what + ": reshape may have at most one -1");
      } else if (variable == 0 && rvariable == 0 &&
                 runtime::elementCount(out->dims) != runtime::elementCount(out->reshape)) {
        error(rhere, what + ": reshape " + runtime::shapeToString(out->reshape) + " has " +
                         std::to_string(runtime::elementCount(out->reshape)) + " elements, dims " +
                         runtime::shapeToString(out->dims) + " have " +
                         std::to_string(runtime::elementCount(out->dims)));
      } else if ((variable > 0) != (rvariable > 0)) {
        error(rhere, what + ": dims and reshape must both have a -1 or neither");
      }
    }
  }

 private:
  Where where_;
  const pb::ModelConfig& m_;
  const Tree* tree_;
  std::vector<std::string> errors_;
};

// Index of the parameters entry whose key is named in `message` ("parameter 'key'"), or -1.
int parameterEntryIndex(const pb::ModelConfig& m, const std::string& message) {
  size_t p = message.find("parameter '");
  if (p == std::string::npos) return -1;
  size_t start = p + 11, end = message.find('\'', start);
  if (end == std::string::npos) return -1;
  std::string key = message.substr(start, end - start);
  const gp::FieldDescriptor* f = m.GetDescriptor()->FindFieldByName("parameters");
  const gp::Reflection* r = m.GetReflection();
  for (int i = 0; i < r->FieldSize(m, f); ++i) {
    const gp::Message& entry = r->GetRepeatedMessage(m, f, i);
    const gp::FieldDescriptor* kf = entry.GetDescriptor()->FindFieldByName("key");
    if (entry.GetReflection()->GetString(entry, kf) == key) return i;
  }
  return -1;
}

}  // namespace

std::vector<runtime::InstanceSpec> ModelConfig::instances() const {
  std::vector<runtime::InstanceSpec> out;
  for (const auto& g : instance_groups) {
    if (g.kind == InstanceKind::kGpu) {
      for (int gpu : g.gpus) {
        for (int n = 0; n < g.count; ++n) {
          out.push_back({g.name + "_" + std::to_string(n) + "_gpu" + std::to_string(gpu),
                         static_cast<int>(out.size()), runtime::DeviceKind::kGpu, gpu});
        }
      }
    } else {
      for (int n = 0; n < g.count; ++n) {
        out.push_back({g.name + "_" + std::to_string(n), static_cast<int>(out.size()),
                       runtime::DeviceKind::kCpu, -1});
      }
    }
  }
  return out;
}

std::vector<int64_t> ModelConfig::preferredBatchSizes() const {
  if (spec.max_batch_size <= 0) return {};
  if (dynamic_batching && !dynamic_batching->declared_preferred_batch_sizes.empty()) {
    return dynamic_batching->declared_preferred_batch_sizes;
  }
  if (dynamic_batching && !dynamic_batching->preferred_batch_sizes.empty()) {
    return dynamic_batching->preferred_batch_sizes;
  }
  return {spec.max_batch_size};
}

Status parseModelConfigText(std::string_view text, const std::string& path, pb::ModelConfig* out) {
  return parseWithTree(text, path, out, nullptr);
}

StatusOr<ModelConfig> loadModelConfig(std::string_view text, const std::string& path,
                                      const std::string& dir_name,
                                      const runtime::BackendRegistry& backends) {
  pb::ModelConfig m;
  Tree tree;
  RETURN_IF_ERROR(parseWithTree(text, path, &m, &tree));
  Validator v(path, m, &tree);
  const Where& w = v.where();

  ModelConfig c;
  c.path = path;
  runtime::ModelSpec& s = c.spec;
  s.name = dir_name;
  if (!m.name().empty() && m.name() != dir_name) {
    v.error(w.at(&tree, m, "name"),
            "name '" + m.name() + "' does not match the model directory '" + dir_name + "'");
  }
  s.platform = m.platform();
  s.default_model_filename = m.default_model_filename();
  for (const auto& [k, p] : m.parameters()) s.parameters[k] = p.string_value();

  runtime::Backend* backend = nullptr;
  auto resolved = backends.resolve(m.backend(), m.platform());
  if (resolved.isOk()) {
    backend = *resolved;
    s.backend = std::string(backend->name());
  } else {
    const char* field = !m.backend().empty() ? "backend" : "platform";
    v.error(w.at(&tree, m, field), resolved.status().message());
  }
  int gpu_count = backend != nullptr ? backend->gpuCount() : 0;

  if (m.max_batch_size() < 0 || m.max_batch_size() > kMaxBatchSize) {
    v.error(w.at(&tree, m, "max_batch_size"),
            "max_batch_size must be in [0, " + std::to_string(kMaxBatchSize) + "], got " +
                std::to_string(m.max_batch_size()));
  }
  s.max_batch_size =
      static_cast<int>(std::clamp<int64_t>(m.max_batch_size(), 0, kMaxBatchSize));

  std::set<std::string> input_names, output_names;
  if (m.input_size() == 0) v.error(path, "at least one input is required");
  for (int i = 0; i < m.input_size(); ++i) {
    runtime::TensorSpec t;
    v.tensor("input", "input", i, m.input(i), &t, &input_names, s.max_batch_size);
    if (m.input(i).optional()) {
      v.error(w.at(w.nested(&tree, m, "input", i), m.input(i), "optional"),
              "input '" + t.name + "': optional inputs are not supported");
    }
    s.inputs.push_back(std::move(t));
  }
  if (m.output_size() == 0) v.error(path, "at least one output is required");
  for (int i = 0; i < m.output_size(); ++i) {
    runtime::TensorSpec t;
    v.tensor("output", "output", i, m.output(i), &t, &output_names, s.max_batch_size);
    s.outputs.push_back(std::move(t));
  }

  if (m.has_dynamic_batching()) {
    const auto& db = m.dynamic_batching();
    const Tree* dtree = w.nested(&tree, m, "dynamic_batching");
    DynamicBatchingConfig d;
    if (s.max_batch_size == 0) {
      v.error(w.at(&tree, m, "dynamic_batching"),
              "dynamic_batching needs max_batch_size > 0 (a model that batches)");
    }
    std::set<int64_t> seen;
    for (int i = 0; i < db.preferred_batch_size_size(); ++i) {
      int64_t p = db.preferred_batch_size(i);
      std::string here = w.at(dtree, db, "preferred_batch_size", i);
      if (p < 1 || (s.max_batch_size > 0 && p > s.max_batch_size)) {
        v.error(here, "preferred_batch_size " + std::to_string(p) + " is outside [1, " +
                          "max_batch_size " + std::to_string(s.max_batch_size) + "]");
      } else if (!seen.insert(p).second) {
        v.error(here, "duplicate preferred_batch_size " + std::to_string(p));
      } else {
        d.declared_preferred_batch_sizes.push_back(p);
      }
    }
    d.preferred_batch_sizes.assign(seen.begin(), seen.end());
    if (db.max_queue_delay_microseconds() > kMaxMicros) {
      v.error(w.at(dtree, db, "max_queue_delay_microseconds"),
              "max_queue_delay_microseconds above one hour");
    }
    d.max_queue_delay = std::chrono::microseconds(
        std::min<uint64_t>(db.max_queue_delay_microseconds(), kMaxMicros));
    const auto& qp = db.default_queue_policy();
    const Tree* qtree = w.nested(dtree, db, "default_queue_policy");
    if (qp.default_timeout_microseconds() > kMaxMicros) {
      v.error(w.at(qtree, qp, "default_timeout_microseconds"),
              "default_timeout_microseconds above one hour");
    }
    d.queue_policy.timeout_action = qp.timeout_action() == pb::ModelQueuePolicy::DELAY
                                        ? TimeoutAction::kDelay
                                        : TimeoutAction::kReject;
    d.queue_policy.default_timeout = std::chrono::microseconds(
        std::min<uint64_t>(qp.default_timeout_microseconds(), kMaxMicros));
    d.queue_policy.allow_timeout_override = qp.allow_timeout_override();
    d.queue_policy.max_queue_size = qp.max_queue_size();
    d.preserve_ordering = db.preserve_ordering();
    c.dynamic_batching = std::move(d);
  }

  int64_t total_instances = 0;  // saturates just above the cap: count x gpus cannot overflow
  for (int i = 0; i < m.instance_group_size(); ++i) {
    const auto& g = m.instance_group(i);
    const Tree* gtree = w.nested(&tree, m, "instance_group", i);
    InstanceGroupConfig out;
    out.name = g.name().empty() ? s.name + "_" + std::to_string(i) : g.name();
    if (g.count() < 0) {
      v.error(w.at(gtree, g, "count"), "count must be >= 0, got " + std::to_string(g.count()));
    }
    out.count = g.count() <= 0 ? 1 : g.count();
    out.gpus.assign(g.gpus().begin(), g.gpus().end());
    std::string kind_at = w.at(gtree, g, "kind");
    if (kind_at == path) kind_at = w.at(&tree, m, "instance_group", i);
    switch (g.kind()) {
      case pb::ModelInstanceGroup::KIND_CPU:
      case pb::ModelInstanceGroup::KIND_MODEL:
        if (!out.gpus.empty()) {
          v.error(w.at(gtree, g, "gpus"), "gpus can only be set with KIND_GPU or KIND_AUTO");
        }
        // KIND_MODEL stays as declared (reported by GET .../config) and runs on CPU (instances()).
        out.kind = g.kind() == pb::ModelInstanceGroup::KIND_MODEL ? InstanceKind::kModel
                                                                  : InstanceKind::kCpu;
        break;
      case pb::ModelInstanceGroup::KIND_GPU:
        if (gpu_count == 0) {
          v.error(kind_at, "instance_group KIND_GPU: no GPU available (this surge build's '" +
                               (s.backend.empty() ? std::string("?") : s.backend) +
                               "' backend is CPU-only); use KIND_CPU or KIND_AUTO");
          break;
        }
        [[fallthrough]];
      case pb::ModelInstanceGroup::KIND_AUTO:
      default:
        if (gpu_count == 0) {
          out.kind = InstanceKind::kCpu;  // Triton: KIND_AUTO without the GPUs → CPU
          out.gpus.clear();
          break;
        }
        out.kind = InstanceKind::kGpu;
        for (int k = 0; k < static_cast<int>(out.gpus.size()); ++k) {
          if (out.gpus[k] < 0 || out.gpus[k] >= gpu_count) {
            v.error(w.at(gtree, g, "gpus", k), "gpu " + std::to_string(out.gpus[k]) +
                                                   " does not exist (" + std::to_string(gpu_count) +
                                                   " GPUs)");
          }
        }
        if (out.gpus.empty()) {
          for (int k = 0; k < gpu_count; ++k) out.gpus.push_back(k);
        }
        break;
    }
    total_instances = std::min<int64_t>(
        kMaxInstances + 1,
        total_instances + static_cast<int64_t>(out.count) *
                              (out.kind == InstanceKind::kGpu ? static_cast<int64_t>(out.gpus.size())
                                                              : 1));
    c.instance_groups.push_back(std::move(out));
  }
  if (c.instance_groups.empty()) {
    c.instance_groups.push_back({s.name, 1, InstanceKind::kCpu, {}});
    total_instances = 1;
  }
  if (total_instances > kMaxInstances) {
    v.error(
        w.at(&tree, m, "instance_group"),
        (total_instances > kMaxInstances ? "more than " + std::to_string(kMaxInstances)
                                         : std::to_string(total_instances)) +
            " instances: at most " + std::to_string(kMaxInstances));
  }

  if (m.has_version_policy()) {
    const auto& vp = m.version_policy();
    const Tree* vtree = w.nested(&tree, m, "version_policy");
    if (vp.has_all()) {
      c.version_policy.kind = VersionPolicy::Kind::kAll;
    } else if (vp.has_specific()) {
      c.version_policy.kind = VersionPolicy::Kind::kSpecific;
      const Tree* stree = w.nested(vtree, vp, "specific");
      if (vp.specific().versions_size() == 0) {
        v.error(w.at(vtree, vp, "specific"), "version_policy specific: list at least one version");
      }
      for (int i = 0; i < vp.specific().versions_size(); ++i) {
        int64_t ver = vp.specific().versions(i);
        if (ver < 1) {
          v.error(w.at(stree, vp.specific(), "versions", i),
                  "versions must be >= 1, got " + std::to_string(ver));
        }
        c.version_policy.versions.push_back(ver);
      }
    } else if (vp.has_latest()) {
      c.version_policy.num_versions =
          std::max<int>(1, static_cast<int>(std::min<uint32_t>(vp.latest().num_versions(), 1000)));
    }
  }

  if (v.errors().empty() && backend != nullptr) {
    Status st = backend->validate(s);
    if (!st.isOk()) {
      int entry = parameterEntryIndex(m, st.message());
      std::string here = entry >= 0 ? w.at(&tree, m, "parameters", entry)
                                    : w.at(&tree, m, !m.backend().empty() ? "backend" : "platform");
      v.error(here, "backend '" + s.backend + "': " + st.message());
    }
  }
  if (!v.errors().empty()) return invalidArgument(join(v.errors()));
  return c;
}

StatusOr<ModelConfig> loadModelConfigFile(const std::string& path, const std::string& dir_name,
                                          const runtime::BackendRegistry& backends) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return notFound(path + ": cannot read");
  std::stringstream ss;
  ss << in.rdbuf();
  return loadModelConfig(ss.str(), path, dir_name, backends);
}

}  // namespace surge::serving
