"""The committed generated modules (serving/oip/*_pb2*.py) match the vendored .proto, so neither can drift alone:
every message, field (name, number, label, type) and rpc read from the .proto text is in the descriptor, and
nothing else is."""

from __future__ import annotations

import re
from pathlib import Path

from google.protobuf.descriptor import FieldDescriptor

from serving.oip import open_inference_grpc_pb2 as pb
from serving.oip import open_inference_grpc_pb2_grpc as pb_grpc

PROTO = Path(pb.__file__).with_name("open_inference_grpc.proto")
SCALARS = {"bool": "bool", "int32": "int32", "int64": "int64", "uint32": "uint32", "uint64": "uint64",
           "float": "float", "double": "double", "string": "string", "bytes": "bytes"}
TOKENS = re.compile(r"[A-Za-z_][\w.]*|\d+|[{}()<>;=,]")


def _parse(text: str):
    """(messages, rpcs) from the .proto: {full message name: {field: (number, repeated, type)}}, {rpc: (in, out)}."""
    tokens = TOKENS.findall(re.sub(r"//[^\n]*", "", text))
    messages: dict[str, dict[str, tuple[int, bool, str]]] = {}
    rpcs: dict[str, tuple[str, str]] = {}
    scope: list[str | None] = []  # message names, None for other blocks (service, oneof, rpc bodies)
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token == "message":
            scope.append(tokens[i + 1])
            messages[".".join(s for s in scope if s)] = {}
            i += 3
        elif token in ("service", "oneof"):
            scope.append(None)
            i += 3
        elif token == "rpc":  # rpc Name ( In ) returns ( Out ) { }
            rpcs[tokens[i + 1]] = (tokens[i + 3], tokens[i + 7])
            i += 11
        elif token == "}":
            scope.pop()
            i += 1
        elif token in ("syntax", "package"):
            i = tokens.index(";", i) + 1
        else:  # a field: [repeated] type name = number ;  or  map < K , V > name = number ;
            message = ".".join(s for s in scope if s)
            repeated = token == "repeated"
            if repeated:
                i += 1
            if tokens[i] == "map":
                kind, i, repeated = f"map<{tokens[i + 2]},{tokens[i + 4]}>", i + 6, True
            else:
                kind, i = tokens[i], i + 1
            name, number = tokens[i], int(tokens[i + 2])
            messages[message][name] = (number, repeated, kind)
            i += 4
    return messages, rpcs


def _kind(field: FieldDescriptor) -> str:
    if field.message_type is not None and field.message_type.GetOptions().map_entry:
        key, value = field.message_type.fields_by_name["key"], field.message_type.fields_by_name["value"]
        return f"map<{_kind(key)},{_kind(value)}>"
    if field.message_type is not None:
        return field.message_type.name
    return {v: k for k, v in SCALARS.items()}.get(_scalar(field.type), "?")


def _scalar(type_: int) -> str:
    names = {FieldDescriptor.TYPE_BOOL: "bool", FieldDescriptor.TYPE_INT32: "int32",
             FieldDescriptor.TYPE_INT64: "int64", FieldDescriptor.TYPE_UINT32: "uint32",
             FieldDescriptor.TYPE_UINT64: "uint64", FieldDescriptor.TYPE_FLOAT: "float",
             FieldDescriptor.TYPE_DOUBLE: "double", FieldDescriptor.TYPE_STRING: "string",
             FieldDescriptor.TYPE_BYTES: "bytes"}
    return names[type_]


def _described(descriptor, prefix: str = "") -> dict[str, dict[str, tuple[int, bool, str]]]:
    out = {}
    for message in descriptor.message_types_by_name.values() if prefix == "" else descriptor.nested_types:
        if message.GetOptions().map_entry:
            continue
        name = f"{prefix}{message.name}"
        out[name] = {
            f.name: (f.number, f.label == FieldDescriptor.LABEL_REPEATED, _kind(f)) for f in message.fields
        }
        out.update(_described(message, name + "."))
    return out


def test_the_proto_parser_reads_what_it_should():
    """A guard for the guard: the parser finds the service's six rpcs and a nested map field."""
    messages, rpcs = _parse(PROTO.read_text())
    assert len(rpcs) == 6 and rpcs["ModelInfer"] == ("ModelInferRequest", "ModelInferResponse")
    assert messages["ModelInferRequest.InferInputTensor"]["parameters"] == (4, True, "map<string,InferParameter>")
    assert messages["ModelInferRequest"]["raw_input_contents"] == (7, True, "bytes")


def test_generated_messages_match_the_vendored_proto():
    messages, _ = _parse(PROTO.read_text())
    assert _described(pb.DESCRIPTOR) == messages


def test_generated_service_matches_the_vendored_proto():
    _, rpcs = _parse(PROTO.read_text())
    service = pb.DESCRIPTOR.services_by_name["GRPCInferenceService"]
    assert {m.name: (m.input_type.name, m.output_type.name) for m in service.methods} == rpcs
    servicer = pb_grpc.GRPCInferenceServiceServicer
    assert all(callable(getattr(servicer, rpc, None)) for rpc in rpcs)
    assert pb.DESCRIPTOR.package == "inference"
