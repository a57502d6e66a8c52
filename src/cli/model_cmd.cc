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
#include "cli/flags.h"
#include "runtime/builtin_backends.h"
#include "serving/model_repository.h"
#ifdef SURGE_HAVE_TORCH
#include "runtime/torch/demo_model.h"
#endif

namespace surge::cli {
namespace {

const CommandSpec& modelSpec() {
  static const CommandSpec spec{
      .path = "model",
      .synopsis = {"demo DIR [--name mlp] [--sizes 512,1024,1024,16] [--seed 1]",
                   "bench DIR [--name mlp] [--batches 1,64] [--iterations 200]"},
      .description = "Model utilities. Run 'surge model <command> --help' for its options.\n",
      .subcommands =
          {
              {"demo",
               "writes a ready model repository DIR/<name>/{config.pbtxt,1/model.pt}: a "
               "TorchScript MLP (platform pytorch_libtorch, INPUT0/OUTPUT0 FP32, dynamic batching "
               "up to 64) built without Python"},
              {"bench",
               "mean execute() latency of version 1 of DIR/<name>, one instance, per batch size "
               "(inputs filled with a fixed pattern)"},
          },
  };
  return spec;
}

const CommandSpec& demoSpec() {
  static const CommandSpec spec{
      .path = "model demo",
      .synopsis = {"DIR [--name mlp] [--sizes 512,1024,1024,16] [--seed 1]"},
      .description =
          "Writes a ready model repository DIR/<name>/{config.pbtxt,1/model.pt}: a TorchScript\n"
          "MLP (platform pytorch_libtorch, INPUT0/OUTPUT0 FP32, dynamic batching up to 64) built\n"
          "with the libtorch C++ API, without Python.\n",
      .flags =
          {
              {.name = "--name",
               .value_name = "NAME",
               .help = "model name",
               .default_value = "mlp"},
              {.name = "--sizes",
               .value_name = "N,N,...",
               .help = "layer widths, input first, output last",
               .default_value = "512,1024,1024,16"},
              {.name = "--seed",
               .value_name = "N",
               .help = "random seed of the weights",
               .type = FlagType::kInt,
               .default_value = "1",
               .min = 1},
          },
      .positional = "DIR",
      .max_positionals = 1,
  };
  return spec;
}

const CommandSpec& benchSpec() {
  static const CommandSpec spec{
      .path = "model bench",
      .synopsis = {"DIR [--name mlp] [--batches 1,64] [--iterations 200]"},
      .description =
          "Loads version 1 of DIR/<name> through its backend (one instance, as `surge serve`\n"
          "would) and prints the mean execute() latency per batch and per item for each batch\n"
          "size (inputs filled with a fixed pattern).\n",
      .flags =
          {
              {.name = "--name",
               .value_name = "NAME",
               .help = "model name",
               .default_value = "mlp"},
              {.name = "--batches",
               .value_name = "N,N,...",
               .help = "batch sizes to measure",
               .default_value = "1,64"},
              {.name = "--iterations",
               .value_name = "N",
               .help = "timed executions per batch size",
               .type = FlagType::kInt,
               .default_value = "200",
               .min = 1,
               .max = 1000000},
          },
      .positional = "DIR",
      .max_positionals = 1,
  };
  return spec;
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

int runModel(const std::vector<std::string>& argv) {
  if (argv.empty()) {
    return usageError(modelSpec(), "missing subcommand (demo or bench)");
  }
  const std::string sub = argv[0];
  if (sub != "demo" && sub != "bench") {
    int exit_code = 0;
    // --help, or the error naming argv[0]; what parses (`surge model --`, `--help=false`) still
    // names no subcommand.
    if (!parseOrExit(modelSpec(), argv, &exit_code)) return exit_code;
    return usageError(modelSpec(), "missing subcommand (demo or bench)");
  }
  const CommandSpec& spec = sub == "demo" ? demoSpec() : benchSpec();
  int exit_code = 0;
  auto args = parseOrExit(spec, std::vector<std::string>(argv.begin() + 1, argv.end()), &exit_code);
  if (!args) return exit_code;
  if (args->positionals().empty()) return usageError(spec, "DIR is required");
  const std::string& dir = args->positionals().front();
  const std::string name = args->str("--name");
  const std::string list_flag = sub == "demo" ? "--sizes" : "--batches";
  std::vector<int64_t> list;
  if (!parseInts(args->str(list_flag), &list)) {
    return usageError(spec, list_flag + " wants positive integers like 1,64, found '" +
                                args->str(list_flag) + "'");
  }
  if (sub == "bench") {
    return runBench(dir, name, list, static_cast<int>(args->integer("--iterations")));
  }
#ifdef SURGE_HAVE_TORCH
  runtime::DemoModelOptions options;
  options.name = name;
  options.sizes = list;
  options.seed = static_cast<uint64_t>(args->integer("--seed"));
  Status s = runtime::writeDemoModel(dir, options);
  if (!s.isOk()) {
    std::fprintf(stderr, "surge model demo: %s\n", s.message().c_str());
    return s.code() == StatusCode::kInvalidArgument ? 2 : 1;
  }
  std::printf("wrote %s/%s/config.pbtxt and %s/%s/1/model.pt\n", dir.c_str(), name.c_str(),
              dir.c_str(), name.c_str());
  return 0;
#else
  std::fprintf(stderr, "surge model demo: this surge was built without libtorch\n");
  return 2;
#endif
}

}  // namespace surge::cli
