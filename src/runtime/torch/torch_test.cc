#include <gtest/gtest.h>
#include <torch/script.h>

#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "runtime/backend_registry.h"
#include "runtime/builtin_backends.h"
#include "runtime/torch/demo_model.h"
#include "runtime/torch/torch_backend.h"
#include "serving/model_repository.h"

namespace surge::runtime {
namespace {

namespace fs = std::filesystem;

class TorchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("surge_torch_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    registerBuiltinBackends(registry_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Writes a small demo model and returns its spec, version 1, as the serving layer builds it.
  ModelSpec writeAndLoadSpec(const DemoModelOptions& o) {
    Status s = writeDemoModel(dir_.string(), o);
    EXPECT_TRUE(s.isOk()) << s.toString();
    auto models = serving::loadRepository(dir_.string(), registry_);
    EXPECT_TRUE(models.isOk()) << models.status().toString();
    if (!models.isOk()) return {};
    ModelSpec spec = (*models)[0].config.spec;
    spec.version = 1;
    spec.version_dir = spec.model_dir + "/1";
    return spec;
  }

  std::unique_ptr<ModelInstance> instance(const ModelSpec& spec) {
    Backend* b = registry_.find("pytorch");
    EXPECT_NE(b, nullptr);
    if (b == nullptr) return nullptr;
    auto inst = b->createInstance(spec, InstanceSpec{"mlp_0", 0, DeviceKind::kCpu, -1});
    EXPECT_TRUE(inst.isOk()) << inst.status().toString();
    return inst.isOk() ? std::move(*inst) : nullptr;
  }

  // The MLP recomputed with plain loops in double from the saved parameters.
  std::vector<double> reference(const ModelSpec& spec, const std::vector<float>& x,
                                size_t n_layers) {
    torch::jit::Module m = torch::jit::load(spec.version_dir + "/model.pt");
    std::vector<double> h(x.begin(), x.end());
    for (size_t l = 0; l < n_layers; ++l) {
      at::Tensor w = m.attr("w" + std::to_string(l)).toTensor().contiguous();
      at::Tensor b = m.attr("b" + std::to_string(l)).toTensor().contiguous();
      int64_t in = w.size(0), out = w.size(1);
      const float* wp = w.data_ptr<float>();
      const float* bp = b.data_ptr<float>();
      std::vector<double> next(static_cast<size_t>(out));
      for (int64_t j = 0; j < out; ++j) {
        double acc = bp[j];
        for (int64_t i = 0; i < in; ++i) acc += h[static_cast<size_t>(i)] * wp[i * out + j];
        next[static_cast<size_t>(j)] = (l + 1 < n_layers && acc < 0) ? 0 : acc;
      }
      h = std::move(next);
    }
    return h;
  }

  static ExecuteRequest rowsRequest(const std::vector<std::vector<float>>& rows) {
    ExecuteRequest r;
    r.batch_size = static_cast<int64_t>(rows.size());
    int64_t width = static_cast<int64_t>(rows[0].size());
    Tensor t(DataType::kFp32, {r.batch_size, width});
    for (size_t i = 0; i < rows.size(); ++i) {
      std::memcpy(t.dataAs<float>() + i * rows[i].size(), rows[i].data(),
                  rows[i].size() * sizeof(float));
    }
    r.inputs.push_back(std::move(t));
    r.outputs_wanted = {true};
    return r;
  }

  static std::vector<float> row(int64_t width, int seed) {
    std::vector<float> v(static_cast<size_t>(width));
    for (int64_t i = 0; i < width; ++i) {
      v[static_cast<size_t>(i)] = static_cast<float>(std::sin(0.7 * (i + 1) * (seed + 1)));
    }
    return v;
  }

  fs::path dir_;
  BackendRegistry registry_;
};

DemoModelOptions small() {
  DemoModelOptions o;
  o.name = "mlp";
  o.sizes = {8, 32, 16, 4};
  return o;
}

TEST_F(TorchTest, DemoConfigNamesThePlatformAndShapes) {
  std::string c = demoModelConfig(DemoModelOptions{});
  EXPECT_NE(c.find("platform: \"pytorch_libtorch\""), std::string::npos) << c;
  EXPECT_NE(c.find("max_batch_size: 64"), std::string::npos) << c;
  EXPECT_NE(c.find("dims: [ 512 ]"), std::string::npos) << c;
  EXPECT_NE(c.find("dims: [ 16 ]"), std::string::npos) << c;
  EXPECT_NE(c.find("preferred_batch_size: [ 16, 32, 64 ]"), std::string::npos) << c;
  EXPECT_NE(c.find("max_queue_delay_microseconds: 2000"), std::string::npos) << c;
}

TEST_F(TorchTest, DemoModelMatchesLoopReference) {
  DemoModelOptions o = small();
  ModelSpec spec = writeAndLoadSpec(o);
  ASSERT_EQ(spec.backend, "pytorch");
  auto inst = instance(spec);
  ASSERT_NE(inst, nullptr);
  std::vector<std::vector<float>> rows = {row(8, 0), row(8, 1), row(8, 2)};
  ExecuteRequest r = rowsRequest(rows);
  auto out = inst->execute(r);
  ASSERT_TRUE(out.isOk()) << out.status().toString();
  ASSERT_EQ(out->size(), 1u);
  const Tensor& y = (*out)[0];
  ASSERT_EQ(y.dtype(), DataType::kFp32);
  ASSERT_EQ(y.shape(), (Shape{3, 4}));
  double max_abs = 0;
  for (size_t i = 0; i < rows.size(); ++i) {
    std::vector<double> ref = reference(spec, rows[i], 3);
    for (size_t j = 0; j < 4; ++j) {
      double got = y.dataAs<float>()[i * 4 + j];
      EXPECT_NEAR(got, ref[j], 1e-4) << "row " << i << " col " << j;
      max_abs = std::max(max_abs, std::abs(ref[j]));
    }
  }
  EXPECT_GT(max_abs, 1e-3);  // the reference is not trivially zero
}

TEST_F(TorchTest, SameSeedSameModelOtherSeedDiffers) {
  DemoModelOptions o = small();
  ModelSpec spec = writeAndLoadSpec(o);
  auto a = instance(spec);
  ASSERT_NE(a, nullptr);
  ExecuteRequest r1 = rowsRequest({row(8, 5)});
  auto y1 = a->execute(r1);
  ASSERT_TRUE(y1.isOk());
  ASSERT_TRUE(writeDemoModel(dir_.string(), o).isOk());  // rewrite, same seed
  auto b = instance(spec);
  ASSERT_NE(b, nullptr);
  ExecuteRequest r2 = rowsRequest({row(8, 5)});
  auto y2 = b->execute(r2);
  ASSERT_TRUE(y2.isOk());
  EXPECT_EQ((*y1)[0], (*y2)[0]);
  o.seed = 2;
  ASSERT_TRUE(writeDemoModel(dir_.string(), o).isOk());
  auto c = instance(spec);
  ASSERT_NE(c, nullptr);
  ExecuteRequest r3 = rowsRequest({row(8, 5)});
  auto y3 = c->execute(r3);
  ASSERT_TRUE(y3.isOk());
  EXPECT_FALSE((*y1)[0] == (*y3)[0]);
}

TEST_F(TorchTest, BatchEqualsRowsOneByOne) {
  ModelSpec spec = writeAndLoadSpec(small());
  auto inst = instance(spec);
  ASSERT_NE(inst, nullptr);
  std::vector<std::vector<float>> rows;
  for (int i = 0; i < 5; ++i) rows.push_back(row(8, i));
  ExecuteRequest batch = rowsRequest(rows);
  auto all = inst->execute(batch);
  ASSERT_TRUE(all.isOk()) << all.status().toString();
  for (size_t i = 0; i < rows.size(); ++i) {
    ExecuteRequest one = rowsRequest({rows[i]});
    auto y = inst->execute(one);
    ASSERT_TRUE(y.isOk()) << y.status().toString();
    Tensor expect = (*all)[0].sliceRows(static_cast<int64_t>(i), 1);
    for (int64_t j = 0; j < 4; ++j) {
      EXPECT_NEAR((*y)[0].dataAs<float>()[j], expect.dataAs<float>()[j], 1e-5);
    }
  }
}

TEST_F(TorchTest, WrongInputDatatypeIsAnError) {
  ModelSpec spec = writeAndLoadSpec(small());
  auto inst = instance(spec);
  ASSERT_NE(inst, nullptr);
  ExecuteRequest r;
  r.batch_size = 1;
  r.inputs.emplace_back(DataType::kFp64, Shape{1, 8});
  r.outputs_wanted = {true};
  auto y = inst->execute(r);
  ASSERT_FALSE(y.isOk());
  EXPECT_NE(y.status().message().find("input 'INPUT0': datatype FP64, the config says FP32"),
            std::string::npos)
      << y.status().message();
}

TEST_F(TorchTest, ConfigDatatypeTheModelRejectsFailsTheBatchNotTheProcess) {
  // The config says INT64 but the TorchScript MLP multiplies by float weights: forward() throws.
  ModelSpec spec = writeAndLoadSpec(small());
  spec.inputs[0].dtype = DataType::kInt64;
  auto inst = instance(spec);
  ASSERT_NE(inst, nullptr);
  ExecuteRequest r;
  r.batch_size = 2;
  r.inputs.emplace_back(DataType::kInt64, Shape{2, 8});
  r.outputs_wanted = {true};
  auto y = inst->execute(r);
  ASSERT_FALSE(y.isOk());
  EXPECT_NE(y.status().message().find("forward() failed"), std::string::npos)
      << y.status().message();
}

TEST_F(TorchTest, OutputDatatypeMismatchIsAnError) {
  ModelSpec spec = writeAndLoadSpec(small());
  spec.outputs[0].dtype = DataType::kFp64;
  auto inst = instance(spec);
  ASSERT_NE(inst, nullptr);
  ExecuteRequest r = rowsRequest({row(8, 0)});
  auto y = inst->execute(r);
  ASSERT_FALSE(y.isOk());
  EXPECT_NE(y.status().message().find("output 'OUTPUT0': the model returned Float"),
            std::string::npos)
      << y.status().message();
}

TEST_F(TorchTest, UnsupportedDatatypeFailsValidation) {
  ModelSpec spec = writeAndLoadSpec(small());
  spec.inputs[0].dtype = DataType::kBytes;
  Status s = registry_.find("pytorch")->validate(spec);
  ASSERT_FALSE(s.isOk());
  EXPECT_NE(s.message().find("input 'INPUT0': datatype BYTES is not supported"), std::string::npos)
      << s.message();
}

TEST_F(TorchTest, BadThreadsParameterFailsValidation) {
  ModelSpec spec = writeAndLoadSpec(small());
  spec.parameters["intra_op_threads"] = "0";
  Status s = registry_.find("pytorch")->validate(spec);
  ASSERT_FALSE(s.isOk());
  EXPECT_NE(s.message().find("parameter 'intra_op_threads'"), std::string::npos) << s.message();
  spec.parameters.erase("intra_op_threads");
  spec.parameters["threads"] = "2";
  s = registry_.find("pytorch")->validate(spec);
  ASSERT_FALSE(s.isOk());
  EXPECT_NE(s.message().find("parameter 'threads'"), std::string::npos) << s.message();
}

TEST_F(TorchTest, MissingModelFileIsAClearError) {
  ModelSpec spec = writeAndLoadSpec(small());
  fs::remove(fs::path(spec.version_dir) / "model.pt");
  auto inst = registry_.find("pytorch")->createInstance(spec, InstanceSpec{"mlp_0", 0, DeviceKind::kCpu, -1});
  ASSERT_FALSE(inst.isOk());
  EXPECT_EQ(inst.status().code(), StatusCode::kNotFound);
  EXPECT_NE(inst.status().message().find("no TorchScript file " + spec.version_dir + "/model.pt"),
            std::string::npos)
      << inst.status().message();
}

TEST_F(TorchTest, CorruptModelFileIsAClearError) {
  ModelSpec spec = writeAndLoadSpec(small());
  std::ofstream(fs::path(spec.version_dir) / "model.pt", std::ios::trunc) << "not a zip";
  auto inst = registry_.find("pytorch")->createInstance(spec, InstanceSpec{"mlp_0", 0, DeviceKind::kCpu, -1});
  ASSERT_FALSE(inst.isOk());
  EXPECT_NE(inst.status().message().find("cannot load " + spec.version_dir + "/model.pt"),
            std::string::npos)
      << inst.status().message();
}

TEST_F(TorchTest, GpuInstanceIsRefused) {
  ModelSpec spec = writeAndLoadSpec(small());
  EXPECT_EQ(registry_.find("pytorch")->gpuCount(), 0);
  auto inst =
      registry_.find("pytorch")->createInstance(spec, InstanceSpec{"g", 0, DeviceKind::kGpu, 0});
  ASSERT_FALSE(inst.isOk());
  EXPECT_NE(inst.status().message().find("no GPU support"), std::string::npos);
}

TEST_F(TorchTest, BadDemoOptionsAreRejected) {
  DemoModelOptions o;
  o.sizes = {8};
  EXPECT_FALSE(writeDemoModel(dir_.string(), o).isOk());
  o.sizes = {8, 0};
  EXPECT_FALSE(writeDemoModel(dir_.string(), o).isOk());
}

}  // namespace
}  // namespace surge::runtime
