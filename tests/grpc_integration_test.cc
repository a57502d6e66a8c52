// The gRPC endpoint end to end: a real `surge serve` on 127.0.0.1 (HTTP and gRPC on ephemeral
// ports) and clients that are not surge's server code — grpc++ stubs generated from the same
// grpc_service.proto, a generic stub sending raw bytes, and Debian's python3-grpcio with stubs
// generated at test time. Every answer is compared with the HTTP answer to the same question.
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>
#include <thread>

#include "serving/grpc/grpc_service.h"
#include "support/fixtures.h"
#include "support/http_client.h"
#include "support/wait.h"

namespace surge::testing {
namespace {

using namespace std::chrono_literals;
using inference::GRPCInferenceService;
using inference::ModelInferRequest;
using inference::ModelInferResponse;
using nlohmann::json;

std::string le32(uint32_t n) {
  char b[4] = {static_cast<char>(n & 0xff), static_cast<char>((n >> 8) & 0xff),
               static_cast<char>((n >> 16) & 0xff), static_cast<char>((n >> 24) & 0xff)};
  return std::string(b, 4);
}

template <class T>
std::string rawOf(const std::vector<T>& v) {
  std::string out(v.size() * sizeof(T), '\0');
  if (!v.empty()) std::memcpy(out.data(), v.data(), out.size());
  return out;
}

// A model without batching: INT32 a [3], BYTES s [2] → FP64 f [2], BYTES t [1], BOOL b [1].
constexpr const char* kMultiConfig =
    "backend: \"synthetic\"\nmax_batch_size: 0\n"
    "input [ { name: \"a\" data_type: TYPE_INT32 dims: [ 3 ] },\n"
    "        { name: \"s\" data_type: TYPE_STRING dims: [ 2 ] } ]\n"
    "output [ { name: \"f\" data_type: TYPE_FP64 dims: [ 2 ] },\n"
    "         { name: \"t\" data_type: TYPE_STRING dims: [ 1 ] },\n"
    "         { name: \"b\" data_type: TYPE_BOOL dims: [ 1 ] } ]\n";

class GrpcIntegration : public ::testing::Test {
 protected:
  void SetUp() override {
    writeModel(dir_ / "repo", "m",
               syntheticConfig(8, "dynamic_batching { max_queue_delay_microseconds: 1000 }\n"));
    writeModel(dir_ / "repo", "multi", kMultiConfig);
    writeModel(dir_ / "repo", "slow",
               syntheticConfig(0,
                               "parameters { key: \"base_latency_us\" value { string_value: "
                               "\"300000\" } }\n"));
  }

  void start(std::vector<std::string> extra = {}) {
    extra.insert(extra.end(), {"--workers", "2"});
    ASSERT_TRUE(startServe(server_, dir_ / "repo", dir_.file("serve.log"), extra, 15s));
    http_ = server_.port();
    auto line = server_.process().waitForLine("gRPC listening on", 5s);
    ASSERT_TRUE(line.has_value()) << server_.log();
    grpc_port_ = portFromLine(*line, "listening on");
    ASSERT_GT(grpc_port_, 0) << *line;
    channel_ = grpc::CreateChannel("127.0.0.1:" + std::to_string(grpc_port_),
                                   grpc::InsecureChannelCredentials());
    stub_ = GRPCInferenceService::NewStub(channel_);
  }

  std::unique_ptr<grpc::ClientContext> ctx(std::chrono::milliseconds timeout = 10s) {
    auto c = std::make_unique<grpc::ClientContext>();
    c->set_deadline(std::chrono::system_clock::now() + timeout);
    return c;
  }

  json httpJson(const std::string& method, const std::string& target, const std::string& body = "",
                int want = 200) {
    auto r = httpRequest(http_, method, target, {{"Content-Type", "application/json"}}, body);
    EXPECT_EQ(r.status, want) << target << ": " << r.body;
    return json::parse(r.body, nullptr, false);
  }

  // "m": x [rows, 4] FP32.
  ModelInferRequest mRequest(const std::vector<float>& x, bool raw, const std::string& id = "") {
    ModelInferRequest r;
    r.set_model_name("m");
    r.set_id(id);
    auto* in = r.add_inputs();
    in->set_name("x");
    in->set_datatype("FP32");
    in->add_shape(static_cast<int64_t>(x.size() / 4));
    in->add_shape(4);
    if (raw) {
      r.add_raw_input_contents(rawOf(x));
    } else {
      for (float f : x) in->mutable_contents()->add_fp32_contents(f);
    }
    return r;
  }

  // Python stubs of grpc_service.proto generated into `out` by protoc's Python plugin (paths fixed
  // at configure time).
  ::testing::AssertionResult pythonStubs(const std::string& out, const std::string& log) {
    const std::string src = SURGE_TEST_SOURCE_DIR;
    std::filesystem::create_directories(out);
    int rc = runToExit(
        {SURGE_TEST_PROTOC, "-I" + src + "/src", "--python_out=" + out, "--grpc_python_out=" + out,
         std::string("--plugin=protoc-gen-grpc_python=") + SURGE_TEST_GRPC_PYTHON_PLUGIN,
         src + "/src/serving/grpc/grpc_service.proto", src + "/src/serving/model_config.proto"},
        dir_.file(log), 60s);
    if (rc == 0) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << readFile(dir_.file(log));
  }

  ScratchDir dir_{"grpc"};
  ServerProcess server_;
  int http_ = 0;
  int grpc_port_ = 0;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<GRPCInferenceService::Stub> stub_;
};

TEST_F(GrpcIntegration, HealthMetadataAndRepositoryMatchHttp) {
  start();
  inference::ServerLiveResponse live;
  ASSERT_TRUE(stub_->ServerLive(ctx().get(), {}, &live).ok());
  EXPECT_TRUE(live.live());
  inference::ServerReadyResponse ready;
  ASSERT_TRUE(stub_->ServerReady(ctx().get(), {}, &ready).ok());
  EXPECT_TRUE(ready.ready());

  inference::ModelReadyRequest mr;
  mr.set_name("m");
  inference::ModelReadyResponse mready;
  ASSERT_TRUE(stub_->ModelReady(ctx().get(), mr, &mready).ok());
  EXPECT_TRUE(mready.ready());
  mr.set_name("nope");
  grpc::Status st = stub_->ModelReady(ctx().get(), mr, &mready);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_NE(st.error_message().find("nope"), std::string::npos) << st.error_message();

  inference::ServerMetadataResponse sm;
  ASSERT_TRUE(stub_->ServerMetadata(ctx().get(), {}, &sm).ok());
  json v2 = httpJson("GET", "/v2");
  EXPECT_EQ(sm.name(), v2["name"]);
  EXPECT_EQ(sm.version(), v2["version"]);
  EXPECT_EQ(std::vector<std::string>(sm.extensions().begin(), sm.extensions().end()),
            v2["extensions"].get<std::vector<std::string>>());

  for (const std::string name : {"m", "multi"}) {
    inference::ModelMetadataRequest q;
    q.set_name(name);
    inference::ModelMetadataResponse md;
    ASSERT_TRUE(stub_->ModelMetadata(ctx().get(), q, &md).ok());
    json h = httpJson("GET", "/v2/models/" + name);
    EXPECT_EQ(md.name(), h["name"]);
    EXPECT_EQ(md.platform(), h["platform"]);
    EXPECT_EQ(std::vector<std::string>(md.versions().begin(), md.versions().end()),
              h["versions"].get<std::vector<std::string>>());
    ASSERT_EQ(static_cast<size_t>(md.inputs_size()), h["inputs"].size());
    for (int i = 0; i < md.inputs_size(); ++i) {
      EXPECT_EQ(md.inputs(i).name(), h["inputs"][i]["name"]);
      EXPECT_EQ(md.inputs(i).datatype(), h["inputs"][i]["datatype"]);
      EXPECT_EQ(std::vector<int64_t>(md.inputs(i).shape().begin(), md.inputs(i).shape().end()),
                h["inputs"][i]["shape"].get<std::vector<int64_t>>());
    }
    ASSERT_EQ(static_cast<size_t>(md.outputs_size()), h["outputs"].size());
    for (int i = 0; i < md.outputs_size(); ++i) {
      EXPECT_EQ(md.outputs(i).name(), h["outputs"][i]["name"]);
      EXPECT_EQ(md.outputs(i).datatype(), h["outputs"][i]["datatype"]);
    }
  }

  inference::ModelConfigRequest cq;
  cq.set_name("m");
  inference::ModelConfigResponse cfg;
  ASSERT_TRUE(stub_->ModelConfig(ctx().get(), cq, &cfg).ok());
  EXPECT_EQ(cfg.config().name(), "m");
  EXPECT_EQ(cfg.config().backend(), "synthetic");
  EXPECT_EQ(cfg.config().max_batch_size(), 8);
  ASSERT_EQ(cfg.config().input_size(), 1);
  EXPECT_EQ(cfg.config().input(0).dims(0), 4);
  EXPECT_EQ(cfg.config().dynamic_batching().max_queue_delay_microseconds(), 1000u);

  inference::RepositoryIndexRequest iq;
  inference::RepositoryIndexResponse idx;
  ASSERT_TRUE(stub_->RepositoryIndex(ctx().get(), iq, &idx).ok());
  json hidx = httpJson("POST", "/v2/repository/index");
  ASSERT_EQ(static_cast<size_t>(idx.models_size()), hidx.size());
  for (int i = 0; i < idx.models_size(); ++i) {
    EXPECT_EQ(idx.models(i).name(), hidx[i]["name"]);
    EXPECT_EQ(idx.models(i).version(), hidx[i]["version"]);
    EXPECT_EQ(idx.models(i).state(), hidx[i]["state"]);
  }

  // Model control is off by default (none mode): load and unload are refused as over HTTP.
  inference::RepositoryModelLoadRequest lq;
  lq.set_model_name("m");
  inference::RepositoryModelLoadResponse lr;
  st = stub_->RepositoryModelLoad(ctx().get(), lq, &lr);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_NE(st.error_message().find("not allowed"), std::string::npos) << st.error_message();
  inference::SystemSharedMemoryStatusResponse shm;
  st = stub_->SystemSharedMemoryStatus(ctx().get(), {}, &shm);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNIMPLEMENTED);
  EXPECT_NE(st.error_message().find("shared-memory"), std::string::npos);
}

TEST_F(GrpcIntegration, InferRawAndTypedAreBitIdenticalToHttp) {
  start();
  std::vector<float> x = {0.1f, 1e-7f, -3.25f, 123456.789f, 2.5f, -0.0f, 7.0f, 1.0f / 3.0f};
  json h = httpJson(
      "POST", "/v2/models/m/infer",
      json{{"id", "q"},
           {"inputs", {{{"name", "x"}, {"datatype", "FP32"}, {"shape", {2, 4}}, {"data", x}}}}}
          .dump());
  std::vector<float> want;
  for (const auto& v : h["outputs"][0]["data"]) want.push_back(v.get<float>());
  for (bool raw : {true, false}) {
    ModelInferResponse resp;
    grpc::Status st = stub_->ModelInfer(ctx().get(), mRequest(x, raw, "q"), &resp);
    ASSERT_TRUE(st.ok()) << st.error_message();
    EXPECT_EQ(resp.model_name(), "m");
    EXPECT_EQ(resp.model_version(), h["model_version"]);
    EXPECT_EQ(resp.id(), "q");
    ASSERT_EQ(resp.outputs_size(), 1);
    EXPECT_EQ(resp.outputs(0).name(), "y");
    EXPECT_EQ(resp.outputs(0).datatype(), "FP32");
    EXPECT_EQ(std::vector<int64_t>(resp.outputs(0).shape().begin(), resp.outputs(0).shape().end()),
              h["outputs"][0]["shape"].get<std::vector<int64_t>>());
    ASSERT_EQ(resp.raw_output_contents_size(), 1);
    EXPECT_EQ(resp.raw_output_contents(0), rawOf(want)) << "raw=" << raw;
  }

  // Every datatype path of the other model: INT32 and BYTES in, FP64, BYTES and BOOL out.
  json hm = httpJson("POST", "/v2/models/multi/infer",
                     R"({"inputs":[{"name":"a","datatype":"INT32","shape":[3],"data":[1,-2,40]},)"
                     R"({"name":"s","datatype":"BYTES","shape":[2],"data":["abc","de"]}]})");
  ModelInferRequest r;
  r.set_model_name("multi");
  auto* a = r.add_inputs();
  a->set_name("a");
  a->set_datatype("INT32");
  a->add_shape(3);
  auto* s = r.add_inputs();
  s->set_name("s");
  s->set_datatype("BYTES");
  s->add_shape(2);
  ModelInferRequest typed = r;
  for (int v : {1, -2, 40}) typed.mutable_inputs(0)->mutable_contents()->add_int_contents(v);
  typed.mutable_inputs(1)->mutable_contents()->add_bytes_contents("abc");
  typed.mutable_inputs(1)->mutable_contents()->add_bytes_contents("de");
  r.add_raw_input_contents(rawOf(std::vector<int32_t>{1, -2, 40}));
  r.add_raw_input_contents(le32(3) + "abc" + le32(2) + "de");
  std::vector<double> f;
  for (const auto& v : hm["outputs"][0]["data"]) f.push_back(v.get<double>());
  std::string t = hm["outputs"][1]["data"][0].get<std::string>();
  bool b = hm["outputs"][2]["data"][0].get<bool>();
  for (const ModelInferRequest* q : {&r, &typed}) {
    ModelInferResponse resp;
    grpc::Status st = stub_->ModelInfer(ctx().get(), *q, &resp);
    ASSERT_TRUE(st.ok()) << st.error_message();
    ASSERT_EQ(resp.raw_output_contents_size(), 3);
    EXPECT_EQ(resp.raw_output_contents(0), rawOf(f));
    EXPECT_EQ(resp.raw_output_contents(1), le32(static_cast<uint32_t>(t.size())) + t);
    EXPECT_EQ(resp.raw_output_contents(2), std::string(1, b ? '\1' : '\0'));
    EXPECT_EQ(resp.outputs(1).datatype(), "BYTES");
  }

  // Requested outputs only, in the order asked.
  ModelInferRequest two = r;
  two.add_outputs()->set_name("b");
  two.add_outputs()->set_name("f");
  ModelInferResponse resp;
  ASSERT_TRUE(stub_->ModelInfer(ctx().get(), two, &resp).ok());
  ASSERT_EQ(resp.outputs_size(), 2);
  EXPECT_EQ(resp.outputs(0).name(), "b");
  EXPECT_EQ(resp.outputs(1).name(), "f");

  // Statistics: the same numbers over both protocols.
  inference::ModelStatisticsRequest sq;
  sq.set_name("multi");
  inference::ModelStatisticsResponse stats;
  ASSERT_TRUE(stub_->ModelStatistics(ctx().get(), sq, &stats).ok());
  json hs = httpJson("GET", "/v2/models/multi/stats");
  ASSERT_EQ(stats.model_stats_size(), 1);
  const auto& ms = stats.model_stats(0);
  EXPECT_EQ(ms.inference_stats().success().count(),
            hs["model_stats"][0]["inference_stats"]["success"]["count"].get<uint64_t>());
  EXPECT_EQ(ms.inference_stats().success().count(), 4u);  // HTTP 1 + gRPC 3
  EXPECT_EQ(ms.inference_stats().success().ns(),
            hs["model_stats"][0]["inference_stats"]["success"]["ns"].get<uint64_t>());
  EXPECT_EQ(ms.execution_count(), hs["model_stats"][0]["execution_count"].get<uint64_t>());
  const json& his = hs["model_stats"][0]["inference_stats"];
  EXPECT_EQ(ms.inference_stats().compute_infer().ns(), his["compute_infer"]["ns"].get<uint64_t>());
  EXPECT_EQ(ms.inference_stats().cache_miss().count(), his["cache_miss"]["count"].get<uint64_t>());
  ASSERT_EQ(static_cast<size_t>(ms.batch_stats_size()), hs["model_stats"][0]["batch_stats"].size());
  for (int i = 0; i < ms.batch_stats_size(); ++i) {
    EXPECT_EQ(ms.batch_stats(i).batch_size(),
              hs["model_stats"][0]["batch_stats"][i]["batch_size"].get<uint64_t>());
    EXPECT_EQ(ms.batch_stats(i).compute_infer().count(),
              hs["model_stats"][0]["batch_stats"][i]["compute_infer"]["count"].get<uint64_t>());
  }
  sq.set_name("");
  ASSERT_TRUE(stub_->ModelStatistics(ctx().get(), sq, &stats).ok());
  EXPECT_EQ(stats.model_stats_size(), 3);
}

TEST_F(GrpcIntegration, ExplicitModelControlUnloadsAndLoads) {
  start({"--model-control-mode", "explicit", "--load-model", "m"});
  inference::ModelReadyRequest mr;
  mr.set_name("m");
  inference::ModelReadyResponse ready;
  ASSERT_TRUE(stub_->ModelReady(ctx().get(), mr, &ready).ok());
  EXPECT_TRUE(ready.ready());
  inference::RepositoryModelUnloadRequest uq;
  uq.set_model_name("m");
  inference::RepositoryModelUnloadResponse ur;
  grpc::Status st = stub_->RepositoryModelUnload(ctx(30s).get(), uq, &ur);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(stub_->ModelReady(ctx().get(), mr, &ready).error_code(), grpc::StatusCode::NOT_FOUND);
  inference::RepositoryIndexResponse idx;
  ASSERT_TRUE(stub_->RepositoryIndex(ctx().get(), {}, &idx).ok());
  json hidx = httpJson("POST", "/v2/repository/index");
  ASSERT_EQ(static_cast<size_t>(idx.models_size()), hidx.size());
  for (int i = 0; i < idx.models_size(); ++i) {
    EXPECT_EQ(idx.models(i).name(), hidx[i]["name"]);
    EXPECT_EQ(idx.models(i).state(), hidx[i].value("state", ""));
  }
  inference::RepositoryModelLoadRequest lq;
  lq.set_model_name("m");
  inference::RepositoryModelLoadResponse lr;
  st = stub_->RepositoryModelLoad(ctx(30s).get(), lq, &lr);
  ASSERT_TRUE(st.ok()) << st.error_message();
  ASSERT_TRUE(stub_->ModelReady(ctx().get(), mr, &ready).ok());
  EXPECT_TRUE(ready.ready());
  (*lq.mutable_parameters())["file:1/model.pt"].set_bytes_param("x");
  st = stub_->RepositoryModelLoad(ctx().get(), lq, &lr);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  lq.clear_parameters();
  lq.set_model_name("not-in-repo");
  st = stub_->RepositoryModelLoad(ctx(30s).get(), lq, &lr);
  EXPECT_FALSE(st.ok());
  EXPECT_FALSE(st.error_message().empty());
  // Names that could reach outside the repository, and a repository name (Triton: UNSUPPORTED).
  lq.set_model_name("../../../../proc");
  st = stub_->RepositoryModelLoad(ctx().get(), lq, &lr);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << st.error_message();
  lq.set_model_name("m");
  lq.set_repository_name("other");
  st = stub_->RepositoryModelLoad(ctx().get(), lq, &lr);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNIMPLEMENTED) << st.error_message();
  EXPECT_NE(st.error_message().find("repository_name"), std::string::npos) << st.error_message();
  uq.set_repository_name("other");
  st = stub_->RepositoryModelUnload(ctx().get(), uq, &ur);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNIMPLEMENTED) << st.error_message();
  EXPECT_TRUE(stub_->ModelReady(ctx().get(), mr, &ready).ok());  // still served
}

TEST_F(GrpcIntegration, BadRequestsGetClearStatusesAndTheServerKeepsServing) {
  start({"--max-request-size", "1MiB"});
  auto expectCode = [&](const ModelInferRequest& q, grpc::StatusCode code,
                        const std::string& text) {
    ModelInferResponse resp;
    grpc::Status st = stub_->ModelInfer(ctx().get(), q, &resp);
    EXPECT_EQ(st.error_code(), code) << st.error_message();
    EXPECT_NE(st.error_message().find(text), std::string::npos) << st.error_message();
  };
  std::vector<float> x(8, 1.0f);
  ModelInferRequest q = mRequest(x, true);
  q.set_model_name("nope");
  expectCode(q, grpc::StatusCode::NOT_FOUND, "nope");
  q = mRequest(x, true);
  q.set_model_version("7");
  expectCode(q, grpc::StatusCode::NOT_FOUND, "7");
  q = mRequest(x, true);
  q.mutable_inputs(0)->set_shape(1, 5);
  expectCode(q, grpc::StatusCode::INVALID_ARGUMENT, "does not match the model's [-1, 4]");
  q = mRequest(x, true);
  q.mutable_raw_input_contents(0)->append("xx");
  expectCode(q, grpc::StatusCode::INVALID_ARGUMENT, "needs 32 bytes of raw_input_contents, got 34");
  q = mRequest(x, false);
  q.mutable_inputs(0)->mutable_contents()->add_fp32_contents(1);
  expectCode(q, grpc::StatusCode::INVALID_ARGUMENT, "needs 8 elements");
  q = mRequest(x, false);
  q.add_raw_input_contents(rawOf(x));
  expectCode(q, grpc::StatusCode::INVALID_ARGUMENT, "raw_input_contents");
  q = mRequest(x, true);
  q.mutable_inputs(0)->set_datatype("INT8");
  expectCode(q, grpc::StatusCode::INVALID_ARGUMENT, "datatype INT8");
  q = mRequest(x, true);
  q.mutable_inputs(0)->set_shape(0, 9);  // batch over max_batch_size 8
  expectCode(q, grpc::StatusCode::INVALID_ARGUMENT, "max_batch_size 8");

  // Over --max-request-size: gRPC itself refuses the message.
  std::vector<float> big(2 * 1024 * 1024 / 4, 0.5f);
  q = mRequest(std::vector<float>(big.begin(), big.begin() + 8), true);
  q.set_raw_input_contents(0, rawOf(big));
  {
    ModelInferResponse resp;
    grpc::Status st = stub_->ModelInfer(ctx().get(), q, &resp);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << st.error_message();
  }

  // Bytes that are not a ModelInferRequest, through a generic stub.
  grpc::GenericStub generic(channel_);
  for (std::string garbage : {std::string("\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 11),
                              std::string("\x2a\x05\x0a\x01", 4)}) {
    grpc::Slice slice(garbage);
    grpc::ByteBuffer in(&slice, 1), out;
    grpc::ClientContext c;
    c.set_deadline(std::chrono::system_clock::now() + 5s);
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
    grpc::Status st;
    generic.UnaryCall(&c, "/inference.GRPCInferenceService/ModelInfer", grpc::StubOptions(), &in,
                      &out, [&](grpc::Status s) {
                        std::lock_guard<std::mutex> lock(mu);
                        st = s;
                        done = true;
                        cv.notify_all();
                      });
    std::unique_lock<std::mutex> lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, 10s, [&] { return done; }));
    EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << st.error_message();
    EXPECT_NE(st.error_message().find("not a valid inference.ModelInferRequest"), std::string::npos)
        << st.error_message();
  }

  // Still serving, on the same channel.
  ModelInferResponse resp;
  grpc::Status st = stub_->ModelInfer(ctx().get(), mRequest(x, true), &resp);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(resp.raw_output_contents_size(), 1);
  EXPECT_TRUE(server_.running());
  EXPECT_EQ(httpRequest(http_, "GET", "/v2/health/ready").status, 200);
}

TEST_F(GrpcIntegration, StreamAnswersEveryRequestInOrderOfCompletion) {
  start();
  grpc::ClientContext c;
  c.set_deadline(std::chrono::system_clock::now() + 20s);
  auto stream = stub_->ModelStreamInfer(&c);
  // The slow model first (300 ms), then fast and failing requests: those come back first.
  ModelInferRequest slow;
  slow.set_model_name("slow");
  slow.set_id("slow");
  auto* in = slow.add_inputs();
  in->set_name("x");
  in->set_datatype("FP32");
  in->add_shape(4);
  slow.add_raw_input_contents(rawOf(std::vector<float>{1, 2, 3, 4}));
  ASSERT_TRUE(stream->Write(slow));
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(stream->Write(mRequest(std::vector<float>(4, static_cast<float>(i)), i % 2 == 0,
                                       "fast" + std::to_string(i))));
  }
  ModelInferRequest bad = mRequest(std::vector<float>(4, 1), true, "bad");
  bad.mutable_inputs(0)->set_shape(1, 3);
  ASSERT_TRUE(stream->Write(bad));
  ModelInferRequest unknown = mRequest(std::vector<float>(4, 1), true, "unknown");
  unknown.set_model_name("nope");
  ASSERT_TRUE(stream->Write(unknown));
  stream->WritesDone();
  std::vector<std::string> order;
  inference::ModelStreamInferResponse r;
  while (stream->Read(&r)) {
    const std::string& id = r.infer_response().id();
    order.push_back(id);
    if (id == "bad" || id == "unknown") {
      EXPECT_FALSE(r.error_message().empty()) << id;
    } else {
      EXPECT_TRUE(r.error_message().empty()) << id << ": " << r.error_message();
      ASSERT_EQ(r.infer_response().raw_output_contents_size(), 1) << id;
    }
    if (id == "fast3") {
      // x = [3,3,3,3] → y = [12, 13].
      EXPECT_EQ(r.infer_response().raw_output_contents(0), rawOf(std::vector<float>{12, 13}));
    }
    if (id == "bad") {
      EXPECT_NE(r.error_message().find("does not match"), std::string::npos) << r.error_message();
    }
  }
  grpc::Status st = stream->Finish();
  EXPECT_TRUE(st.ok()) << st.error_message();
  ASSERT_EQ(order.size(), 8u);
  EXPECT_EQ(order.back(), "slow");
}

TEST_F(GrpcIntegration, SigtermFinishesCallsInFlightAndTurnsReadinessOff) {
  start({"--shutdown-delay", "1s"});
  ModelInferRequest slow;
  slow.set_model_name("slow");
  auto* in = slow.add_inputs();
  in->set_name("x");
  in->set_datatype("FP32");
  in->add_shape(4);
  slow.add_raw_input_contents(rawOf(std::vector<float>{1, 2, 3, 4}));
  ModelInferResponse resp;
  grpc::Status st;
  std::thread t([&] { st = stub_->ModelInfer(ctx().get(), slow, &resp); });
  std::this_thread::sleep_for(100ms);
  server_.signal(SIGTERM);
  std::this_thread::sleep_for(200ms);
  inference::ServerReadyResponse ready;
  ASSERT_TRUE(stub_->ServerReady(ctx().get(), {}, &ready).ok());
  EXPECT_FALSE(ready.ready());
  t.join();
  EXPECT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(resp.raw_output_contents_size(), 1);
  auto code = server_.wait(15s);
  ASSERT_TRUE(code.has_value()) << server_.log();
  EXPECT_EQ(*code, 0) << server_.log();
}

TEST_F(GrpcIntegration, GrpcListenOffAndPortInUse) {
  ServerProcess off;
  ASSERT_TRUE(startServe(off, dir_ / "repo", dir_.file("off.log"), {"--grpc-listen", "off"}, 15s));
  EXPECT_FALSE(off.process().waitForLine("gRPC listening on", 500ms).has_value());
  start();
  // Another server on the same gRPC port: refused (gRPC's default port sharing is off), exit 2.
  int rc =
      runToExit({surgeBinary(), "serve", "--model-repository", (dir_ / "repo").string(), "--listen",
                 "127.0.0.1:0", "--grpc-listen", "127.0.0.1:" + std::to_string(grpc_port_)},
                dir_.file("second.log"), 15s);
  EXPECT_EQ(rc, 2) << readFile(dir_.file("second.log"));
  EXPECT_NE(readFile(dir_.file("second.log")).find("gRPC listener"), std::string::npos);
  rc = runToExit({surgeBinary(), "serve", "--model-repository", (dir_ / "repo").string(),
                  "--grpc-listen", "nohost"},
                 dir_.file("bad.log"), 15s);
  EXPECT_EQ(rc, 2);
}

// A client that is not surge's code: Debian's python3-grpcio, stubs generated at test time from
// grpc_service.proto by protoc's Python plugin.
TEST_F(GrpcIntegration, PythonGrpcioClient) {
  // Paths fixed at configure time (CMake); scripts/install-deps installs all three.
  const std::string protoc = SURGE_TEST_PROTOC;
  const std::string plugin = SURGE_TEST_GRPC_PYTHON_PLUGIN;
  const std::string src = SURGE_TEST_SOURCE_DIR;
  ASSERT_FALSE(protoc.empty()) << "protoc not found at configure time (scripts/install-deps)";
  ASSERT_FALSE(plugin.empty())
      << "grpc_python_plugin not found at configure time (protobuf-compiler-grpc)";
  ASSERT_EQ(runToExit({"/usr/bin/python3", "-c", "import grpc, google.protobuf"},
                      dir_.file("probe.log"), 30s),
            0)
      << "Debian's python3-grpcio / python3-protobuf are missing (scripts/install-deps): "
      << readFile(dir_.file("probe.log"));
  std::string out = dir_.file("py");
  ASSERT_TRUE(pythonStubs(out, "protoc.log"));
  int rc = 0;
  start();
  json h =
      httpJson("POST", "/v2/models/m/infer",
               R"({"inputs":[{"name":"x","datatype":"FP32","shape":[1,4],"data":[1.5,2,3,4]}]})");
  std::string stdout_text;
  rc = runToExit({"/usr/bin/python3", std::string(src) + "/tests/grpc_python_client.py", out,
                  "127.0.0.1:" + std::to_string(grpc_port_)},
                 dir_.file("python.log"), 60s, &stdout_text);
  ASSERT_EQ(rc, 0) << readFile(dir_.file("python.log")) << stdout_text;
  json py = json::parse(stdout_text, nullptr, false);
  ASSERT_FALSE(py.is_discarded()) << stdout_text;
  EXPECT_EQ(py["live"], true);
  EXPECT_EQ(py["metadata"]["name"], "m");
  EXPECT_EQ(py["metadata"]["inputs"][0]["shape"], json({-1, 4}));
  EXPECT_EQ(py["y"], h["outputs"][0]["data"]);
  EXPECT_EQ(py["shape"], h["outputs"][0]["shape"]);
  EXPECT_EQ(py["unknown_model_code"], "NOT_FOUND");
}

// The gateway in front of two replicas' gRPC endpoints (upstream_protocol: h2): grpc++ on one
// channel (one HTTP/2 connection) has its calls spread over both replicas; unary, streaming and
// error statuses pass through; Python's grpcio (not surge's code) works through it too.
TEST_F(GrpcIntegration, ThroughTheGatewayCallsOfOneChannelSpreadOverReplicas) {
  start();
  ServerProcess second;
  ASSERT_TRUE(startServe(second, dir_ / "repo", dir_.file("serve2.log"), {"--workers", "1"}, 15s));
  auto line2 = second.process().waitForLine("gRPC listening on", 5s);
  ASSERT_TRUE(line2.has_value()) << second.log();
  int grpc2 = portFromLine(*line2, "listening on");
  ServerProcess gw;
  std::string yaml = std::string(kLocalGateway) +
                     "upstream_protocol: h2\nalgorithm: round_robin\n"
                     "health_check: {path: /inference.GRPCInferenceService/ServerReady, grpc: "
                     "true, interval: 200ms}\n" +
                     backendsYaml({grpc_port_, grpc2});
  ASSERT_TRUE(startGateway(gw, dir_, yaml));
  int admin = gw.portAfter("admin");
  // The replicas pass the gRPC readiness probe (ServerReady over HTTP/2).
  auto probes = [&](const std::string& result) {
    std::string page = httpRequest(admin, "GET", "/metrics").body;
    std::string key = "surge_gateway_health_checks_total{result=\"" + result + "\"} ";
    size_t at = page.find(key);
    return at == std::string::npos ? 0.0 : std::atof(page.c_str() + at + key.size());
  };
  ASSERT_TRUE(waitUntil([&] { return probes("pass") >= 4; }, 10s))
      << httpRequest(admin, "GET", "/metrics").body;
  EXPECT_EQ(probes("bad_status") + probes("bad_response") + probes("io_error"), 0);
  EXPECT_EQ(httpRequest(admin, "GET", "/backends").body.find("\"healthy\":false"),
            std::string::npos);
  auto ch = grpc::CreateChannel("127.0.0.1:" + std::to_string(gw.port()),
                                grpc::InsecureChannelCredentials());
  auto stub = GRPCInferenceService::NewStub(ch);
  for (int i = 0; i < 40; ++i) {
    ModelInferResponse resp;
    auto c = ctx();
    grpc::Status st =
        stub->ModelInfer(c.get(), mRequest({3, 3, 3, 3}, true, "g" + std::to_string(i)), &resp);
    ASSERT_TRUE(st.ok()) << st.error_message() << gw.log();
    EXPECT_EQ(resp.id(), "g" + std::to_string(i));
    ASSERT_EQ(resp.raw_output_contents_size(), 1);
    EXPECT_EQ(resp.raw_output_contents(0), rawOf(std::vector<float>{12, 13}));
  }
  // An error status from a replica passes through (trailers).
  {
    ModelInferResponse resp;
    auto c = ctx();
    ModelInferRequest unknown = mRequest({1, 1, 1, 1}, true);
    unknown.set_model_name("nope");
    grpc::Status st = stub->ModelInfer(c.get(), unknown, &resp);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND) << st.error_message();
  }
  // A bidirectional stream through the gateway.
  {
    grpc::ClientContext c;
    c.set_deadline(std::chrono::system_clock::now() + 20s);
    auto stream = stub->ModelStreamInfer(&c);
    for (int i = 0; i < 5; ++i) {
      ASSERT_TRUE(stream->Write(mRequest({1, 2, 3, 4}, true, "s" + std::to_string(i))));
    }
    stream->WritesDone();
    int n = 0;
    inference::ModelStreamInferResponse r;
    while (stream->Read(&r)) {
      EXPECT_TRUE(r.error_message().empty()) << r.error_message();
      ++n;
    }
    EXPECT_TRUE(stream->Finish().ok());
    EXPECT_EQ(n, 5);
  }
  // The calls of the one channel went to both replicas, evenly (round robin per call).
  std::string m = httpRequest(admin, "GET", "/metrics").body;
  auto count = [&](int port) {
    std::string key = "surge_gateway_requests_total{backend=\"127.0.0.1:" + std::to_string(port) +
                      "\",code=\"2xx\"}";
    size_t at = m.find(key);
    return at == std::string::npos ? 0.0 : std::atof(m.c_str() + at + key.size() + 1);
  };
  double a = count(grpc_port_), b = count(grpc2);
  EXPECT_GE(a, 18) << m;
  EXPECT_GE(b, 18) << m;
  // A client that is not surge's code through the gateway: Python's grpcio.
  const std::string src = SURGE_TEST_SOURCE_DIR;
  std::string out = dir_.file("pygw");
  ASSERT_TRUE(pythonStubs(out, "protoc-gw.log"));
  int rc = 0;
  std::string stdout_text;
  rc = runToExit({"/usr/bin/python3", std::string(src) + "/tests/grpc_python_client.py", out,
                  "127.0.0.1:" + std::to_string(gw.port())},
                 dir_.file("python-gw.log"), 60s, &stdout_text);
  ASSERT_EQ(rc, 0) << readFile(dir_.file("python-gw.log")) << stdout_text << gw.log();
  json py = json::parse(stdout_text, nullptr, false);
  ASSERT_FALSE(py.is_discarded()) << stdout_text;
  EXPECT_EQ(py["live"], true);
  EXPECT_EQ(py["metadata"]["name"], "m");
  EXPECT_EQ(py["unknown_model_code"], "NOT_FOUND");
  gw.stop();
  second.stop();
}

}  // namespace
}  // namespace surge::testing
