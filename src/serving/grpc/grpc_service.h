// The Open Inference Protocol's gRPC service (inference.GRPCInferenceService, Triton's
// grpc_service.proto field for field): the messages and stubs protoc generates from
// grpc_service.proto at build time (target surge_grpc_proto). One include for the server, the
// codec, `surge load --protocol grpc` and the tests.
#pragma once

#include "serving/grpc/grpc_service.grpc.pb.h"  // IWYU pragma: export
#include "serving/grpc/grpc_service.pb.h"       // IWYU pragma: export
