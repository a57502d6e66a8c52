#!/usr/bin/python3
"""A gRPC client that is not surge's code, for tests/grpc_integration_test.cc: Debian's
python3-grpcio with stubs generated at test time from src/serving/grpc/grpc_service.proto.
Usage: grpc_python_client.py STUB_DIR HOST:PORT — prints one JSON object on stdout."""
import json
import struct
import sys

sys.path.insert(0, sys.argv[1])
import grpc  # noqa: E402
from serving.grpc import grpc_service_pb2 as pb  # noqa: E402
from serving.grpc import grpc_service_pb2_grpc as pb_grpc  # noqa: E402

with grpc.insecure_channel(sys.argv[2]) as channel:
    stub = pb_grpc.GRPCInferenceServiceStub(channel)
    live = stub.ServerLive(pb.ServerLiveRequest(), timeout=10).live
    md = stub.ModelMetadata(pb.ModelMetadataRequest(name="m"), timeout=10)
    req = pb.ModelInferRequest(model_name="m", id="py")
    x = req.inputs.add(name="x", datatype="FP32", shape=[1, 4])
    req.raw_input_contents.append(struct.pack("<4f", 1.5, 2, 3, 4))
    resp = stub.ModelInfer(req, timeout=10)
    out = resp.outputs[0]
    raw = resp.raw_output_contents[0]
    y = list(struct.unpack("<%df" % (len(raw) // 4), raw))
    try:
        stub.ModelInfer(pb.ModelInferRequest(model_name="nope"), timeout=10)
        code = "OK"
    except grpc.RpcError as e:
        code = e.code().name
    print(json.dumps({
        "live": live,
        "metadata": {"name": md.name,
                     "inputs": [{"name": t.name, "datatype": t.datatype, "shape": list(t.shape)}
                                for t in md.inputs]},
        "id": resp.id,
        "y": y,
        "shape": list(out.shape),
        "unknown_model_code": code,
    }))
