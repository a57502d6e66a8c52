#include "runtime/torch/demo_model.h"

#include <torch/script.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/random.h"

namespace surge::runtime {

std::string demoModelConfig(const DemoModelOptions& options) {
  std::ostringstream preferred;
  bool first = true;
  for (int p : {16, 32, 64}) {
    if (p > options.max_batch_size) continue;
    preferred << (first ? "" : ", ") << p;
    first = false;
  }
  std::ostringstream c;
  c << "# Written by `surge model demo`: a " << options.sizes.size() - 1
    << "-layer TorchScript MLP (" << options.sizes.front();
  for (size_t i = 1; i < options.sizes.size(); ++i) c << "->" << options.sizes[i];
  c << ").\n"
    << "name: \"" << options.name << "\"\n"
    << "platform: \"pytorch_libtorch\"\n"
    << "max_batch_size: " << options.max_batch_size << "\n"
    << "input [ { name: \"INPUT0\" data_type: TYPE_FP32 dims: [ " << options.sizes.front()
    << " ] } ]\n"
    << "output [ { name: \"OUTPUT0\" data_type: TYPE_FP32 dims: [ " << options.sizes.back()
    << " ] } ]\n"
    << "dynamic_batching {\n";
  if (!first) c << "  preferred_batch_size: [ " << preferred.str() << " ]\n";
  c << "  max_queue_delay_microseconds: 2000\n"
    << "}\n"
    << "instance_group [ { count: 1 kind: KIND_CPU } ]\n"
    << "parameters { key: \"intra_op_threads\" value: { string_value: \"1\" } }\n";
  return c.str();
}

Status writeDemoModel(const std::string& dir, const DemoModelOptions& options) {
  if (options.sizes.size() < 2) return invalidArgument("sizes: want at least 2 layer sizes");
  for (int64_t s : options.sizes) {
    if (s <= 0) return invalidArgument("sizes: every size must be positive");
  }
  if (options.name.empty() || options.name.find('/') != std::string::npos) {
    return invalidArgument("name: want a non-empty name without '/'");
  }
  if (options.max_batch_size < 1) return invalidArgument("max_batch_size: want >= 1");
  namespace fs = std::filesystem;
  fs::path model_dir = fs::path(dir) / options.name;
  std::error_code ec;
  fs::create_directories(model_dir / "1", ec);
  if (ec) return unavailable("cannot create " + (model_dir / "1").string() + ": " + ec.message());

  Random random(options.seed);
  std::ostringstream src;
  src << "def forward(self, x):\n";
  try {
    torch::jit::Module module("__torch__.surge.DemoMlp");
    for (size_t l = 0; l + 1 < options.sizes.size(); ++l) {
      int64_t in = options.sizes[l], out = options.sizes[l + 1];
      float scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(in)));
      torch::Tensor w = torch::empty({in, out}, torch::kFloat32);
      torch::Tensor b = torch::empty({out}, torch::kFloat32);
      float* wp = w.data_ptr<float>();
      for (int64_t i = 0; i < in * out; ++i) {
        wp[i] = scale * static_cast<float>(2 * random.uniformDouble() - 1);
      }
      float* bp = b.data_ptr<float>();
      for (int64_t i = 0; i < out; ++i) {
        bp[i] = scale * static_cast<float>(2 * random.uniformDouble() - 1);
      }
      std::string ws = "w" + std::to_string(l), bs = "b" + std::to_string(l);
      module.register_parameter(ws, w, /*is_buffer=*/false);
      module.register_parameter(bs, b, /*is_buffer=*/false);
      src << "    x = torch.addmm(self." << bs << ", x, self." << ws << ")\n";
      if (l + 2 < options.sizes.size()) src << "    x = torch.relu(x)\n";
    }
    src << "    return x\n";
    module.define(src.str());
    module.eval();
    module.save((model_dir / "1" / "model.pt").string());
  } catch (const std::exception& e) {
    return internalError("building the demo model: " + std::string(e.what()));
  }

  std::ofstream config(model_dir / "config.pbtxt", std::ios::trunc);
  config << demoModelConfig(options);
  config.close();
  if (!config) return unavailable("cannot write " + (model_dir / "config.pbtxt").string());
  return Status::ok();
}

}  // namespace surge::runtime
