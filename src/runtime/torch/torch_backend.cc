#include "runtime/torch/torch_backend.h"

#include <dlfcn.h>
#include <torch/script.h>

#include <ATen/Parallel.h>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <optional>

#include "common/logging.h"

namespace surge::runtime {
namespace {

constexpr const char* kDefaultFilename = "model.pt";
constexpr int kMaxThreads = 256;

std::optional<at::ScalarType> toTorch(DataType t) {
  switch (t) {
    case DataType::kBool: return at::kBool;
    case DataType::kUint8: return at::kByte;
    case DataType::kInt8: return at::kChar;
    case DataType::kInt16: return at::kShort;
    case DataType::kInt32: return at::kInt;
    case DataType::kInt64: return at::kLong;
    case DataType::kFp16: return at::kHalf;
    case DataType::kFp32: return at::kFloat;
    case DataType::kFp64: return at::kDouble;
    default: return std::nullopt;  // unsigned 16/32/64 bits and BYTES: no libtorch 1.13 type
  }
}

struct TorchParams {
  int intra_op_threads = 1;
};

StatusOr<TorchParams> parseParams(const ModelSpec& spec) {
  TorchParams p;
  for (const auto& [key, value] : spec.parameters) {
    if (key == "intra_op_threads") {
      int v = 0;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
      if (value.empty() || ec != std::errc() || end != value.data() + value.size() || v < 1 ||
          v > kMaxThreads) {
        return invalidArgument("parameter 'intra_op_threads': want an integer in [1, " +
                               std::to_string(kMaxThreads) + "], got '" + value + "'");
      }
      p.intra_op_threads = v;
    } else {
      return invalidArgument("parameter '" + key +
                             "': unknown to the pytorch backend (known: intra_op_threads)");
    }
  }
  return p;
}

std::string modelPath(const ModelSpec& spec) {
  const std::string& file =
      spec.default_model_filename.empty() ? kDefaultFilename : spec.default_model_filename;
  return (std::filesystem::path(spec.version_dir) / file).string();
}

// OpenBLAS (libopenblas0-pthread) keeps one process-global thread count, default = cores, that
// libtorch 1.13 does not set. Found at run time so that surge does not link OpenBLAS itself.
void setBlasThreads(int n) {
  using SetFn = void (*)(int);
  static SetFn fn = reinterpret_cast<SetFn>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
  if (fn != nullptr) fn(n);
}

// Called on an instance's thread before every batch: at::set_num_threads sets the OpenMP
// per-thread ICV (so each instance thread keeps its own count) and libtorch's global default.
void applyThreads(int n) {
  if (at::get_num_threads() != n) at::set_num_threads(n);
}

std::string typeName(at::ScalarType t) { return c10::toString(t); }

class TorchInstance final : public ModelInstance {
 public:
  TorchInstance(const ModelSpec& spec, TorchParams params, torch::jit::Module module)
      : spec_(spec), params_(params), module_(std::move(module)) {}

  StatusOr<std::vector<Tensor>> execute(ExecuteRequest& request) override {
    if (request.inputs.size() != spec_.inputs.size()) {
      return invalidArgument("pytorch backend: got " + std::to_string(request.inputs.size()) +
                             " inputs, the config has " + std::to_string(spec_.inputs.size()));
    }
    applyThreads(params_.intra_op_threads);
    try {
      c10::InferenceMode guard;
      std::vector<torch::jit::IValue> args;
      args.reserve(request.inputs.size());
      for (size_t i = 0; i < request.inputs.size(); ++i) {
        Tensor& in = request.inputs[i];
        const TensorSpec& ts = spec_.inputs[i];
        if (in.dtype() != ts.dtype) {
          return invalidArgument("input '" + ts.name + "': datatype " +
                                 std::string(dataTypeName(in.dtype())) + ", the config says " +
                                 std::string(dataTypeName(ts.dtype)));
        }
        auto st = toTorch(in.dtype());
        if (!st) {
          return invalidArgument("input '" + ts.name + "': datatype " +
                                 std::string(dataTypeName(in.dtype())) +
                                 " is not supported by the pytorch backend");
        }
        // No copy: the tensor views request.inputs[i], which outlives forward().
        args.emplace_back(torch::from_blob(in.data(), in.shape(), torch::TensorOptions(*st)));
      }
      torch::jit::IValue result = module_.forward(std::move(args));
      return convertOutputs(result, request);
    } catch (const std::exception& e) {
      // c10::Error's what() carries a C++ backtrace after the first line: keep the message.
      std::string what = e.what();
      if (auto nl = what.find("\nException raised from"); nl != std::string::npos) {
        what.resize(nl);
      }
      return internalError("model '" + spec_.name + "' forward() failed: " + what);
    }
  }

 private:
  StatusOr<std::vector<Tensor>> convertOutputs(const torch::jit::IValue& result,
                                               const ExecuteRequest& request) const {
    const size_t n = spec_.outputs.size();
    std::vector<at::Tensor> tensors(n);
    if (result.isTensor()) {
      if (n != 1) {
        return internalError("model '" + spec_.name + "' returned one tensor, the config has " +
                             std::to_string(n) + " outputs");
      }
      tensors[0] = result.toTensor();
    } else if (result.isTuple() || result.isList()) {
      std::vector<torch::jit::IValue> items;
      if (result.isTuple()) {
        const auto& elems = result.toTupleRef().elements();
        items.assign(elems.begin(), elems.end());
      } else {
        auto list = result.toListRef();
        items.assign(list.begin(), list.end());
      }
      if (items.size() < n) {
        return internalError("model '" + spec_.name + "' returned " +
                             std::to_string(items.size()) + " values, the config has " +
                             std::to_string(n) + " outputs");
      }
      for (size_t i = 0; i < n; ++i) {
        if (!items[i].isTensor()) {
          return internalError("model '" + spec_.name + "': value " + std::to_string(i) +
                               " of the result is not a tensor");
        }
        tensors[i] = items[i].toTensor();
      }
    } else if (result.isGenericDict()) {
      auto dict = result.toGenericDict();
      for (size_t i = 0; i < n; ++i) {
        const std::string& name = spec_.outputs[i].name;
        auto it = dict.find(torch::jit::IValue(name));
        if (it == dict.end() || !it->value().isTensor()) {
          if (request.outputs_wanted[i]) {
            return internalError("model '" + spec_.name + "': no tensor named '" + name +
                                 "' in the returned dict");
          }
          continue;
        }
        tensors[i] = it->value().toTensor();
      }
    } else {
      return internalError("model '" + spec_.name + "' returned a " + result.tagKind() +
                           ", want a tensor, a tuple/list of tensors or a Dict[str, Tensor]");
    }

    std::vector<Tensor> out(n);
    for (size_t i = 0; i < n; ++i) {
      if (i < request.outputs_wanted.size() && !request.outputs_wanted[i]) continue;
      ASSIGN_OR_RETURN(out[i], toSurge(spec_.outputs[i], tensors[i], request.batch_size));
    }
    return out;
  }

  StatusOr<Tensor> toSurge(const TensorSpec& ts, const at::Tensor& t, int64_t batch) const {
    auto want = toTorch(ts.dtype);
    if (!want || t.scalar_type() != *want) {
      return internalError("output '" + ts.name + "': the model returned " +
                           typeName(t.scalar_type()) + ", the config says " +
                           std::string(dataTypeName(ts.dtype)));
    }
    const Shape& dims = ts.backendDims();
    Shape expect;
    if (spec_.max_batch_size > 0) expect.push_back(batch);
    expect.insert(expect.end(), dims.begin(), dims.end());
    auto sizes = t.sizes();
    bool ok = sizes.size() == expect.size();
    for (size_t d = 0; ok && d < expect.size(); ++d) {
      ok = expect[d] < 0 || sizes[d] == expect[d];
    }
    Shape got(sizes.begin(), sizes.end());
    if (!ok) {
      return internalError("output '" + ts.name + "': the model returned shape " +
                           shapeToString(got) + ", want " + shapeToString(expect));
    }
    at::Tensor c = t.device().is_cpu() ? t.contiguous() : t.to(at::kCPU).contiguous();
    Tensor out(ts.dtype, std::move(got));
    if (out.byteSize() > 0) std::memcpy(out.data(), c.data_ptr(), out.byteSize());
    return out;
  }

  const ModelSpec spec_;
  const TorchParams params_;
  torch::jit::Module module_;
};

class TorchBackend final : public Backend {
 public:
  std::string_view name() const override { return "pytorch"; }

  Status validate(const ModelSpec& spec) const override {
    RETURN_IF_ERROR(parseParams(spec).status());
    auto check = [](const char* what, const TensorSpec& t) -> Status {
      if (!toTorch(t.dtype)) {
        return invalidArgument(std::string(what) + " '" + t.name + "': datatype " +
                               std::string(dataTypeName(t.dtype)) +
                               " is not supported by the pytorch backend");
      }
      return Status::ok();
    };
    for (const auto& t : spec.inputs) RETURN_IF_ERROR(check("input", t));
    for (const auto& t : spec.outputs) RETURN_IF_ERROR(check("output", t));
    if (!spec.version_dir.empty()) {
      std::string path = modelPath(spec);
      std::error_code ec;
      if (!std::filesystem::is_regular_file(path, ec)) {
        return notFound("model '" + spec.name + "': no TorchScript file " + path +
                        " (default_model_filename: '" +
                        (spec.default_model_filename.empty() ? kDefaultFilename
                                                             : spec.default_model_filename) +
                        "')");
      }
    }
    return Status::ok();
  }

  StatusOr<std::unique_ptr<ModelInstance>> createInstance(const ModelSpec& spec,
                                                          const InstanceSpec& instance) override {
    if (instance.device != DeviceKind::kCpu) {
      return failedPrecondition("model '" + spec.name + "' instance " + instance.name +
                                ": this libtorch build has no GPU support");
    }
    ASSIGN_OR_RETURN(TorchParams params, parseParams(spec));
    RETURN_IF_ERROR(validate(spec));
    configureProcessThreads(params.intra_op_threads);
    applyThreads(params.intra_op_threads);
    std::string path = modelPath(spec);
    try {
      torch::jit::Module module = torch::jit::load(path, torch::kCPU);
      module.eval();
      SURGE_LOG(kInfo, "torch",
                "loaded " + path + " for instance " + instance.name + " (" +
                    std::to_string(params.intra_op_threads) + " intra-op threads)");
      return std::unique_ptr<ModelInstance>(
          std::make_unique<TorchInstance>(spec, params, std::move(module)));
    } catch (const std::exception& e) {
      std::string what = e.what();
      if (auto nl = what.find("\nException raised from"); nl != std::string::npos) {
        what.resize(nl);
      }
      return invalidArgument("model '" + spec.name + "': cannot load " + path + ": " + what);
    }
  }

 private:
  // Process-global settings, done once: the inter-op pool (unused by plain forward() calls, but
  // sized before anything starts it, as libtorch only allows before first use) and OpenBLAS's
  // own thread count — the largest intra_op_threads asked for so far.
  void configureProcessThreads(int intra) {
    std::lock_guard lock(mu_);
    if (!interop_set_) {
      interop_set_ = true;
      try {
        at::set_num_interop_threads(1);
      } catch (const std::exception&) {
        // Already started by someone else: keep its size.
      }
    }
    if (intra > blas_threads_) {
      blas_threads_ = intra;
      setBlasThreads(intra);
    }
  }

  std::mutex mu_;
  bool interop_set_ = false;
  int blas_threads_ = 0;
};

}  // namespace

std::unique_ptr<Backend> makeTorchBackend() { return std::make_unique<TorchBackend>(); }

}  // namespace surge::runtime
