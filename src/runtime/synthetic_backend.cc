#include "runtime/synthetic_backend.h"

#include <charconv>
#include <chrono>
#include <cmath>
#include <thread>

#include "common/random.h"
#include "config/suggest.h"

namespace surge::runtime {
namespace {

constexpr std::string_view kKeys[] = {"base_latency_us", "per_item_latency_us", "jitter_us",
                                      "load_latency_us", "seed"};

StatusOr<double> parseMicros(const std::string& key, const std::string& value) {
  double v = 0;
  const char* end = value.data() + value.size();
  auto [p, ec] = std::from_chars(value.data(), end, v);
  if (value.empty() || ec != std::errc() || p != end || !std::isfinite(v) || v < 0) {
    return invalidArgument("parameter '" + key +
                           "': want a non-negative number of microseconds, "
                           "got '" +
                           value + "'");
  }
  return v;
}

void sleepMicros(std::chrono::steady_clock::time_point start, double us) {
  if (us <= 0) return;
  std::this_thread::sleep_until(start + std::chrono::nanoseconds(static_cast<int64_t>(us * 1e3)));
}

class SyntheticInstance final : public ModelInstance {
 public:
  SyntheticInstance(const ModelSpec& spec, SyntheticParams params, uint64_t seed)
      : spec_(spec), params_(params), random_(seed) {}

  StatusOr<std::vector<Tensor>> execute(ExecuteRequest& request) override {
    auto start = std::chrono::steady_clock::now();
    std::vector<Tensor> out = syntheticOutputs(spec_, request);
    double cost = params_.base_latency_us +
                  params_.per_item_latency_us * static_cast<double>(request.batch_size);
    if (params_.jitter_us > 0) cost += random_.uniformDouble() * params_.jitter_us;
    sleepMicros(start, cost);
    return out;
  }

 private:
  const ModelSpec spec_;
  const SyntheticParams params_;
  Random random_;
};

class SyntheticBackend final : public Backend {
 public:
  std::string_view name() const override { return "synthetic"; }

  Status validate(const ModelSpec& spec) const override {
    RETURN_IF_ERROR(parseSyntheticParams(spec).status());
    for (const auto& o : spec.outputs) {
      for (int64_t d : o.backendDims()) {
        if (d < 0) {
          return invalidArgument("output '" + o.name +
                                 "': the synthetic backend needs fixed "
                                 "dims, got " +
                                 shapeToString(o.backendDims()));
        }
      }
    }
    return Status::ok();
  }

  StatusOr<std::unique_ptr<ModelInstance>> createInstance(const ModelSpec& spec,
                                                          const InstanceSpec& instance) override {
    ASSIGN_OR_RETURN(SyntheticParams p, parseSyntheticParams(spec));
    sleepMicros(std::chrono::steady_clock::now(), p.load_latency_us);
    return std::unique_ptr<ModelInstance>(std::make_unique<SyntheticInstance>(
        spec, p, p.seed + static_cast<uint64_t>(instance.index)));
  }
};

// Sum of the elements of rows [r * per_row, (r + 1) * per_row) of t.
double rowSum(const Tensor& t, int64_t first, int64_t n) {
  double s = 0;
  if (t.dtype() == DataType::kFp32) {
    const float* p = t.dataAs<float>() + first;
    for (int64_t i = 0; i < n; ++i) s += static_cast<double>(p[i]);
    return s;
  }
  for (int64_t i = 0; i < n; ++i) s += t.valueAt(first + i);
  return s;
}

}  // namespace

StatusOr<SyntheticParams> parseSyntheticParams(const ModelSpec& spec) {
  SyntheticParams p;
  std::vector<std::string_view> keys(std::begin(kKeys), std::end(kKeys));
  for (const auto& [key, value] : spec.parameters) {
    if (key == "base_latency_us") {
      ASSIGN_OR_RETURN(p.base_latency_us, parseMicros(key, value));
    } else if (key == "per_item_latency_us") {
      ASSIGN_OR_RETURN(p.per_item_latency_us, parseMicros(key, value));
    } else if (key == "jitter_us") {
      ASSIGN_OR_RETURN(p.jitter_us, parseMicros(key, value));
    } else if (key == "load_latency_us") {
      ASSIGN_OR_RETURN(p.load_latency_us, parseMicros(key, value));
    } else if (key == "seed") {
      const char* end = value.data() + value.size();
      auto [ptr, ec] = std::from_chars(value.data(), end, p.seed);
      if (value.empty() || ec != std::errc() || ptr != end) {
        return invalidArgument("parameter 'seed': want an unsigned integer, got '" + value + "'");
      }
    } else {
      return invalidArgument("unknown parameter '" + key + "' for the synthetic backend" +
                             config::didYouMean(key, keys) +
                             " (known: base_latency_us, per_item_latency_us, jitter_us, "
                             "load_latency_us, seed)");
    }
  }
  return p;
}

std::vector<Tensor> syntheticOutputs(const ModelSpec& spec, const ExecuteRequest& request) {
  bool batched = spec.max_batch_size > 0;
  int64_t rows = batched ? request.batch_size : 1;
  std::vector<double> sums(static_cast<size_t>(rows), 0.0);
  for (const Tensor& in : request.inputs) {
    int64_t per_row = batched ? in.rowElements() : in.elementCount();
    for (int64_t r = 0; r < rows; ++r)
      sums[static_cast<size_t>(r)] += rowSum(in, r * per_row, per_row);
  }
  std::vector<Tensor> out;
  out.reserve(spec.outputs.size());
  for (size_t k = 0; k < spec.outputs.size(); ++k) {
    if (k < request.outputs_wanted.size() && !request.outputs_wanted[k]) {
      out.emplace_back();
      continue;
    }
    const TensorSpec& os = spec.outputs[k];
    Shape shape = os.backendDims();
    if (batched) shape.insert(shape.begin(), rows);
    Tensor t(os.dtype, std::move(shape));
    int64_t per_row = batched ? t.rowElements() : t.elementCount();
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t j = 0; j < per_row; ++j) {
        t.setValue(r * per_row + j, sums[static_cast<size_t>(r)] + static_cast<double>(j));
      }
    }
    out.push_back(std::move(t));
  }
  return out;
}

std::unique_ptr<Backend> makeSyntheticBackend() { return std::make_unique<SyntheticBackend>(); }

}  // namespace surge::runtime
