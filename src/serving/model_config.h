// Model configuration: Triton's config.pbtxt (protobuf text format, parsed against
// serving/model_config.proto — Triton's names and field numbers, surge's subset) validated once
// into the typed, immutable ModelConfig the rest of the server uses.
// Errors: syntax errors, unknown fields and bad enum values come from protobuf's TextFormat parser;
// semantic errors (dims, batch sizes, instance kinds, backend parameters...) are checked here.
// Every error is "path:line:column: message" (1-based, from the parser's location tree), all of
// them at once, one per line, so a config is fixed in one round.
// Defaults follow Triton: name = the model's directory; no instance_group = one CPU instance;
// count 0 = 1; preferred_batch_size empty = [max_batch_size]; version_policy = latest 1;
// KIND_AUTO = CPU when the backend has no GPU. KIND_GPU without a GPU is an error (never a silent
// fallback to CPU).
// Thread-safety: pure functions; ModelConfig is an immutable value.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "runtime/backend.h"
#include "runtime/backend_registry.h"

namespace surge::serving {

namespace pb {
class ModelConfig;
}  // namespace pb

enum class TimeoutAction { kReject, kDelay };

struct QueuePolicy {
  TimeoutAction timeout_action = TimeoutAction::kReject;
  Duration default_timeout{0};  // 0 = none
  bool allow_timeout_override = false;
  uint32_t max_queue_size = 0;  // 0 = unbounded
};

struct DynamicBatchingConfig {
  std::vector<int64_t> preferred_batch_sizes;  // ascending, distinct, within [1, max_batch_size]
  // The same sizes in the order config.pbtxt lists them: what GET .../config answers (Triton
  // renders the field as written). Empty when built by hand: preferredBatchSizes() falls back.
  std::vector<int64_t> declared_preferred_batch_sizes;
  Duration max_queue_delay{0};
  QueuePolicy queue_policy;
  bool preserve_ordering = false;  // as configured (moot here: every request has its own answer)
};

// kModel (Triton's KIND_MODEL: the model places itself) is kept as declared so GET .../config
// reports it; surge runs such a group on CPU, like kCpu.
enum class InstanceKind { kAuto, kGpu, kCpu, kModel };

struct InstanceGroupConfig {
  std::string name;
  int count = 1;
  InstanceKind kind = InstanceKind::kAuto;
  std::vector<int> gpus;
};

struct VersionPolicy {
  enum class Kind { kLatest, kAll, kSpecific };
  Kind kind = Kind::kLatest;
  int num_versions = 1;
  std::vector<int64_t> versions;  // kSpecific
};

struct ModelConfig {
  runtime::ModelSpec spec;  // version 0, version_dir empty: filled per served version
  std::optional<DynamicBatchingConfig> dynamic_batching;
  std::vector<InstanceGroupConfig> instance_groups;  // never empty
  VersionPolicy version_policy;
  std::string path;  // the config.pbtxt it came from

  // The instances to create, groups expanded (Triton: `count` per listed GPU, or `count` on CPU).
  std::vector<runtime::InstanceSpec> instances() const;
  // Preferred batch sizes in declared order, with Triton's default ([max_batch_size]); empty
  // without batching. (The batch policy uses dynamic_batching->preferred_batch_sizes, sorted.)
  std::vector<int64_t> preferredBatchSizes() const;
};

// Parses config text into the protobuf message. Errors: InvalidArgument "path:line:col: msg".
Status parseModelConfigText(std::string_view text, const std::string& path, pb::ModelConfig* out);

// Parses and validates. `dir_name` is the model's directory name (its name unless the config
// names it, which must then match). The backend is resolved through `backends` and validates the
// spec (parameters, dims) too.
StatusOr<ModelConfig> loadModelConfig(std::string_view text, const std::string& path,
                                      const std::string& dir_name,
                                      const runtime::BackendRegistry& backends);

// Reads `path` and calls loadModelConfig.
StatusOr<ModelConfig> loadModelConfigFile(const std::string& path, const std::string& dir_name,
                                          const runtime::BackendRegistry& backends);

}  // namespace surge::serving
