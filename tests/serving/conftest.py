"""Fixtures: real `python -m serving` processes on 127.0.0.1 and tiny models written to tmp dirs."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # `import serving` from the checkout, as the image does
    sys.path.insert(0, str(ROOT))

import tiny_models as models  # noqa: E402
from server_support import Server, launch  # noqa: E402


@pytest.fixture
def start_server(tmp_path):
    """Start servers for one test; each is stopped (SIGTERM, then kill) at the end."""
    servers: list[Server] = []

    def start(model_uri: str, *flags: str, env: dict[str, str] | None = None, name: str = "m") -> Server:
        server = launch(tmp_path, model_uri, *flags, env=env, name=name)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture(scope="session")
def affine_path(tmp_path_factory) -> Path:
    return models.save_script(models.Affine(), tmp_path_factory.mktemp("affine") / "affine.pt", models.AFFINE_METADATA)


@pytest.fixture(scope="session")
def affine_server(tmp_path_factory, affine_path):
    """The shared server: Affine with metadata, a generous batching window, a small body limit."""
    server = launch(tmp_path_factory.mktemp("affine-server"), str(affine_path), "--max-batch-size", "16",
                    "--max-queue-delay-ms", "20", "--max-body-bytes", "65536")
    try:
        yield server.wait_ready()
    finally:
        server.stop()


@pytest.fixture(scope="session")
def square_server(tmp_path_factory):
    """Square without a metadata file: every datatype, default input and output names."""
    tmp = tmp_path_factory.mktemp("square")
    server = launch(tmp, str(models.save_script(models.Square(), tmp / "square.pt")))
    try:
        yield server.wait_ready()
    finally:
        server.stop()
