// Backend and ModelInstance: the interface every inference backend implements (synthetic here,
// libtorch in runtime/torch/). Triton's split, reduced to what surge needs:
//   - Backend: one object per backend kind ("synthetic", "pytorch"), stateless about models. It
//     checks a model's specification before anything loads (validate) and creates instances.
//   - ModelInstance: one loaded copy of one model version (Triton's instance_group entry × count),
//     executing one batch at a time. The serving layer runs each instance on its own thread and
//     hands it batches of stacked input tensors; instances of the same model run in parallel.
// Shapes: with max_batch_size > 0 every input arrives as [batch] + dims (after the config's
// reshape, if any) and every output must come back as [batch] + dims, row i of each output
// belonging to row i of the inputs (the serving layer slices rows back to each request). With
// max_batch_size == 0 tensors carry exactly the config dims and batch_size is 1.
// The prediction cache (serving/prediction_cache.h) sits in front of the batcher, so a backend
// never sees a cached request.
// Thread-safety: Backend methods may be called from any thread concurrently. A ModelInstance is
// used by one thread at a time (its own), created on that thread.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "runtime/tensor.h"

namespace surge::runtime {

// One input or output of a model, as configured (Triton's ModelInput/ModelOutput).
struct TensorSpec {
  std::string name;
  DataType dtype = DataType::kInvalid;
  Shape dims;     // without the batch dimension; -1 = any size
  Shape reshape;  // what the backend sees instead of dims (has_reshape), without the batch dim
  bool has_reshape = false;

  // The per-row shape the backend sees.
  const Shape& backendDims() const { return has_reshape ? reshape : dims; }
};

// Everything a backend needs to know about one model version. Built and validated by the serving
// layer from config.pbtxt; immutable afterwards.
struct ModelSpec {
  std::string name;
  int64_t version = 0;      // 0 while only the config is known (validation before loading)
  std::string model_dir;    // REPO/<model>
  std::string version_dir;  // REPO/<model>/<version> (empty before a version is chosen)
  std::string backend;      // resolved backend name ("synthetic", "pytorch")
  std::string platform;     // as configured ("pytorch_libtorch"), may be empty
  std::string default_model_filename;  // as configured (e.g. "model.pt"), may be empty
  int max_batch_size = 0;              // 0 = the model does not batch
  std::vector<TensorSpec> inputs;
  std::vector<TensorSpec> outputs;
  std::map<std::string, std::string> parameters;  // config.pbtxt parameters (string_value)

  // Index of the input/output named `name`, or -1.
  int inputIndex(std::string_view name) const;
  int outputIndex(std::string_view name) const;
};

enum class DeviceKind { kCpu, kGpu };

// Which instance to create: the serving layer expands instance_group entries into these.
struct InstanceSpec {
  std::string name;  // "<group name>_<n>" (Triton's naming), for logs
  int index = 0;     // 0-based across all groups of the model version
  DeviceKind device = DeviceKind::kCpu;
  int gpu = -1;  // device ordinal when device == kGpu
};

// One batch to execute.
struct ExecuteRequest {
  int64_t batch_size = 1;      // rows in every input (1 when max_batch_size == 0)
  std::vector<Tensor> inputs;  // one per ModelSpec::inputs, same order, backend shapes
  // One flag per ModelSpec::outputs: an output nobody asked for may be skipped (left as a
  // default-constructed Tensor). At least one flag is set.
  std::vector<bool> outputs_wanted;
};

class ModelInstance {
 public:
  virtual ~ModelInstance() = default;

  // Runs one batch and returns one tensor per ModelSpec::outputs (config order): [batch] + dims
  // with the configured datatype (backend shapes, i.e. reshape when configured), or a
  // default-constructed Tensor for an unwanted output. `request.inputs` may be moved from.
  // An error fails every request of the batch (500 to clients).
  virtual StatusOr<std::vector<Tensor>> execute(ExecuteRequest& request) = 0;
};

class Backend {
 public:
  virtual ~Backend() = default;

  // The registry name ("synthetic").
  virtual std::string_view name() const = 0;

  // Checks that this backend can run `spec` (datatypes, dims, parameters, files present) before
  // anything is loaded. Errors are configuration errors, reported at startup; the message names
  // the offending field or parameter.
  virtual Status validate(const ModelSpec& spec) const = 0;

  // GPUs this backend can place instances on; 0 on CPU-only builds (KIND_GPU is then a startup
  // error, KIND_AUTO means CPU).
  virtual int gpuCount() const { return 0; }

  // Loads one instance of a validated spec (weights, threads). May take long (seconds); called
  // on the thread that will then run execute().
  virtual StatusOr<std::unique_ptr<ModelInstance>> createInstance(const ModelSpec& spec,
                                                                  const InstanceSpec& instance) = 0;
};

}  // namespace surge::runtime
