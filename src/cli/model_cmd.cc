// `surge model`: model utilities.
//   surge model demo DIR [--name mlp] [--sizes 512,1024,1024,16] [--seed 1]
//       writes DIR/<name>/config.pbtxt and DIR/<name>/1/model.pt, a TorchScript MLP built with
//       the libtorch C++ API (runtime/torch/demo_model.h) — a ready repository for `surge serve`.
//   surge model bench DIR [--name mlp] [--batches 1,64] [--iterations 200]
//       loads version 1 of DIR/<name> through its backend (one instance, as `surge serve` would)
//       and prints the mean execute() latency per batch and per item for each batch size.
// Wiring only. Exit 0 ok, 1 runtime failure, 2 usage error or a build without libtorch (demo).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "runtime/builtin_backends.h"
#include "serving/model_repository.h"
#ifdef SURGE_HAVE_TORCH
#include "runtime/torch/demo_model.h"
#endif

namespace surge::cli {
namespace {

void usage(FILE* out) {
  std::fprintf(out,
               "Usage: surge model demo DIR [--name mlp] [--sizes 512,1024,1024,16] [--seed 1]\n"
               "       surge model bench DIR [--name mlp] [--batches 1,64] [--iterations 200]\n\n"
               "demo:  writes a ready model repository DIR/<name>/{config.pbtxt,1/model.pt}: a\n"
               "       TorchScript MLP (platform pytorch_libtorch, INPUT0/OUTPUT0 FP32, dynamic\n"
               "       batching up to 64) built without Python.\n"
               "bench: mean execute() latency of version 1 of DIR/<name>, one instance, per batch\n"
               "       size (inputs filled with a fixed pattern).\n");
}

bool parseInts(const std::string& s, std::vector<int64_t>* out) {
  out->clear();
  size_t pos = 0;
  while (pos <= s.size()) {
    size_t comma = s.find(',', pos);
    std::string part = s.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    char* end = nullptr;
    long long v = std::strtoll(part.c_str(), &end, 10);
    if (part.empty() || *end != '\0' || v <= 0) return false;
    out->push_back(v);
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  return !out->empty();
}

int runBench(const std::string& dir, const std::string& name, const std::vector<int64_t>& batches,
             int iterations) {
  runtime::BackendRegistry backends;
  runtime::registerBuiltinBackends(backends);
  auto models = serving::loadRepository(dir, backends);
  if (!models.isOk()) {
    std::fprintf(stderr, "surge model bench: %s\n", models.status().message().c_str());
    return 2;
  }
  const serving::RepositoryModel* model = nullptr;
  for (const auto& m : *models) {
    if (m.config.spec.name == name) model = &m;
  }
  if (model == nullptr) {
    std::fprintf(stderr, "surge model bench: no model '%s' in %s\n", name.c_str(), dir.c_str());
    return 2;
  }
  runtime::ModelSpec spec = model->config.spec;
  spec.version = model->versions.back();
  spec.version_dir = spec.model_dir + "/" + std::to_string(spec.version);
  runtime::Backend* backend = backends.find(spec.backend);
  auto instance = backend->createInstance(
      spec, runtime::InstanceSpec{name + "_0", 0, runtime::DeviceKind::kCpu, -1});
  if (!instance.isOk()) {
    std::fprintf(stderr, "surge model bench: %s\n", instance.status().message().c_str());
    return 1;
  }
  std::printf("%-8s %14s %14s\n", "batch", "us/batch", "us/item");
  for (int64_t b : batches) {
    if (spec.max_batch_size > 0 && b > spec.max_batch_size) continue;
    auto makeRequest = [&] {
      runtime::ExecuteRequest r;
      r.batch_size = spec.max_batch_size > 0 ? b : 1;
      for (const auto& in : spec.inputs) {
        runtime::Shape shape;
        if (spec.max_batch_size > 0) shape.push_back(r.batch_size);
        for (int64_t d : in.backendDims()) shape.push_back(d < 0 ? 1 : d);
        runtime::Tensor t(in.dtype, shape);
        for (int64_t i = 0; i < t.elementCount(); ++i) t.setValue(i, (i % 17) * 0.0625 - 0.5);
        r.inputs.push_back(std::move(t));
      }
      r.outputs_wanted.assign(spec.outputs.size(), true);
      return r;
    };
    for (int i = 0; i < 3; ++i) {  // warm-up (TorchScript's profiling executor specializes)
      auto r = makeRequest();
      auto out = (*instance)->execute(r);
      if (!out.isOk()) {
        std::fprintf(stderr, "surge model bench: %s\n", out.status().message().c_str());
        return 1;
      }
    }
    std::chrono::nanoseconds total{0};
    for (int i = 0; i < iterations; ++i) {
      auto r = makeRequest();
      auto t0 = std::chrono::steady_clock::now();
      auto out = (*instance)->execute(r);
      total += std::chrono::steady_clock::now() - t0;
      if (!out.isOk()) {
        std::fprintf(stderr, "surge model bench: %s\n", out.status().message().c_str());
        return 1;
      }
    }
    double us = static_cast<double>(total.count()) / 1e3 / iterations;
    std::printf("%-8lld %14.1f %14.2f\n", static_cast<long long>(b), us,
                us / static_cast<double>(b));
  }
  return 0;
}

}  // namespace

int runModel(const std::vector<std::string>& args) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    usage(args.empty() ? stderr : stdout);
    return args.empty() ? 2 : 0;
  }
  const std::string& sub = args[0];
  if (sub != "demo" && sub != "bench") {
    std::fprintf(stderr, "surge model: unknown subcommand '%s'\n\n", sub.c_str());
    usage(stderr);
    return 2;
  }
  std::string dir, name = "mlp";
  std::vector<int64_t> sizes = {512, 1024, 1024, 16}, batches = {1, 64};
  uint64_t seed = 1;
  int iterations = 200;
  for (size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    std::string v;
    auto value = [&]() {
      if (i + 1 >= args.size()) {
        std::fprintf(stderr, "surge model: %s needs a value\n", a.c_str());
        return false;
      }
      v = args[++i];
      return true;
    };
    if (a == "--name") {
      if (!value()) return 2;
      name = v;
    } else if (a == "--sizes" || a == "--batches") {
      if (!value()) return 2;
      if (!parseInts(v, a == "--sizes" ? &sizes : &batches)) {
        std::fprintf(stderr, "surge model: %s wants positive integers like 1,64\n", a.c_str());
        return 2;
      }
    } else if (a == "--seed" || a == "--iterations") {
      if (!value()) return 2;
      char* end = nullptr;
      long long n = std::strtoll(v.c_str(), &end, 10);
      if (v.empty() || *end != '\0' || n < 1 || (a == "--iterations" && n > 1000000)) {
        std::fprintf(stderr, "surge model: %s wants a positive integer\n", a.c_str());
        return 2;
      }
      if (a == "--seed") {
        seed = static_cast<uint64_t>(n);
      } else {
        iterations = static_cast<int>(n);
      }
    } else if (!a.empty() && a[0] == '-') {
      std::fprintf(stderr, "surge model: unknown option '%s'\n\n", a.c_str());
      usage(stderr);
      return 2;
    } else if (dir.empty()) {
      dir = a;
    } else {
      std::fprintf(stderr, "surge model: unexpected argument '%s'\n", a.c_str());
      return 2;
    }
  }
  if (dir.empty()) {
    std::fprintf(stderr, "surge model %s: DIR is required\n\n", sub.c_str());
    usage(stderr);
    return 2;
  }
  if (sub == "bench") return runBench(dir, name, batches, iterations);
#ifdef SURGE_HAVE_TORCH
  runtime::DemoModelOptions options;
  options.name = name;
  options.sizes = sizes;
  options.seed = seed;
  Status s = runtime::writeDemoModel(dir, options);
  if (!s.isOk()) {
    std::fprintf(stderr, "surge model demo: %s\n", s.message().c_str());
    return s.code() == StatusCode::kInvalidArgument ? 2 : 1;
  }
  std::printf("wrote %s/%s/config.pbtxt and %s/%s/1/model.pt\n", dir.c_str(), name.c_str(),
              dir.c_str(), name.c_str());
  return 0;
#else
  (void)seed;
  std::fprintf(stderr, "surge model demo: this surge was built without libtorch\n");
  return 2;
#endif
}

}  // namespace surge::cli
