#include "loadgen/grpc_driver.h"

#include <gtest/gtest.h>

#include <cstring>

#include "loadgen/infer_body.h"
#include "serving/grpc/grpc_service.h"

namespace surge::loadgen {
namespace {

std::string le32(uint32_t n) {
  char b[4];
  std::memcpy(b, &n, 4);
  return std::string(b, 4);
}

constexpr const char* kBody =
    R"({"id":"r","parameters":{"timeout":500},"inputs":[)"
    R"({"name":"x","datatype":"FP32","shape":[1,2],"data":[[1.5,-2]]},)"
    R"({"name":"s","datatype":"BYTES","shape":[2],"data":["ab",""]},)"
    R"({"name":"b","datatype":"BOOL","shape":[2],"data":[true,false]},)"
    R"({"name":"h","datatype":"FP16","shape":[1],"data":[1.0]},)"
    R"({"name":"u","datatype":"UINT16","shape":[1],"data":[513]}],)"
    R"("outputs":[{"name":"y"}]})";

TEST(GrpcLoad, RawRequestFromJson) {
  auto r = rawRequestFromJson(kBody);
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ(r->id, "r");
  EXPECT_EQ(r->timeout_us, 500);
  ASSERT_EQ(r->inputs.size(), 5u);
  float f[2] = {1.5f, -2.f};
  EXPECT_EQ(r->inputs[0].bytes, std::string(reinterpret_cast<char*>(f), 8));
  EXPECT_EQ(r->inputs[1].bytes, le32(2) + "ab" + le32(0));
  EXPECT_EQ(r->inputs[2].bytes, std::string("\1\0", 2));
  EXPECT_EQ(r->inputs[3].bytes, std::string("\0\x3c", 2));  // binary16 1.0 = 0x3c00
  EXPECT_EQ(r->inputs[4].bytes, std::string("\1\2", 2));
  EXPECT_EQ(r->outputs, std::vector<std::string>{"y"});
  EXPECT_FALSE(rawRequestFromJson("{}").isOk());
  EXPECT_FALSE(
      rawRequestFromJson(R"({"inputs":[{"name":"x","datatype":"FP32","shape":[1],"data":["a"]}]})")
          .isOk());
  EXPECT_FALSE(
      rawRequestFromJson(R"({"inputs":[{"name":"x","datatype":"NOPE","shape":[1],"data":[1]}]})")
          .isOk());
}

TEST(GrpcLoad, BinaryBodyCarriesTheSameBytes) {
  auto b = binaryInferBody(kBody);
  ASSERT_TRUE(b.isOk()) << b.status().message();
  std::string head = b->body.substr(0, b->json_length);
  EXPECT_NE(head.find("\"binary_data_output\":true"), std::string::npos) << head;
  EXPECT_NE(head.find("\"binary_data_size\":8"), std::string::npos) << head;
  EXPECT_EQ(b->body.size() - b->json_length, 8u + 10u + 2u + 2u + 2u);
}

TEST(GrpcLoad, ModelInferRequestFromJson) {
  auto s = grpcInferRequestFromJson(kBody, "m", "2");
  ASSERT_TRUE(s.isOk()) << s.status().message();
  inference::ModelInferRequest req;
  ASSERT_TRUE(req.ParseFromString(*s));
  EXPECT_EQ(req.model_name(), "m");
  EXPECT_EQ(req.model_version(), "2");
  EXPECT_EQ(req.id(), "r");
  EXPECT_EQ(req.parameters().at("timeout").int64_param(), 500);
  ASSERT_EQ(req.inputs_size(), 5);
  ASSERT_EQ(req.raw_input_contents_size(), 5);
  EXPECT_EQ(req.inputs(0).shape_size(), 2);
  EXPECT_EQ(req.raw_input_contents(1), le32(2) + "ab" + le32(0));
  ASSERT_EQ(req.outputs_size(), 1);
}

TEST(GrpcLoad, Targets) {
  EXPECT_EQ(*parseGrpcTarget("127.0.0.1:8001"), "127.0.0.1:8001");
  EXPECT_EQ(*parseGrpcTarget("grpc://h:1"), "h:1");
  EXPECT_EQ(*parseGrpcTarget("[::1]:9"), "[::1]:9");
  EXPECT_FALSE(parseGrpcTarget("http://h:1").isOk());
  EXPECT_FALSE(parseGrpcTarget("h").isOk());
  EXPECT_FALSE(parseGrpcTarget("h:x").isOk());
  EXPECT_FALSE(parseGrpcTarget("h:1/p").isOk());
}

TEST(GrpcLoad, UnreachableServerIsUnavailable) {
  GrpcLoadDriver d("127.0.0.1:1", std::chrono::seconds(2), 1);
  Status s = d.init();
  EXPECT_FALSE(s.isOk());
  EXPECT_NE(s.message().find("cannot reach 127.0.0.1:1"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace surge::loadgen
