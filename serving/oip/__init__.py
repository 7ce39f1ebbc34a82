"""The Open Inference Protocol's gRPC service (KServe V2 / Triton's `inference.GRPCInferenceService`).

open_inference_grpc.proto is vendored unchanged (SOURCE, LICENSE). The *_pb2* modules beside it are generated,
committed, and checked against the .proto by tests/serving/test_serving_grpc_proto.py. Regenerate them, from the
repository root, with grpcio-tools 1.71.0 (its protoc 29.0 matches the locked protobuf 5.29; a dev-time tool, not a
dependency: use a throwaway venv):

    python -m venv /tmp/grpctools && /tmp/grpctools/bin/pip install grpcio-tools==1.71.0 protobuf==5.29.6
    /tmp/grpctools/bin/python -m grpc_tools.protoc -I. --python_out=. --pyi_out=. --grpc_python_out=. \\
        serving/oip/open_inference_grpc.proto
"""
