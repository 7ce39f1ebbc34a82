"""Smoke test of the serving benchmark harness: it builds, it talks to the real server, it reports numbers.

Nothing here is timed: the assertions are about shapes, correctness and that a row is produced.
"""

from __future__ import annotations

import importlib
import json
import math
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def bench(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT))
    return importlib.import_module("benchmarks.serving.models")


@pytest.mark.parametrize(
    ("name", "dtype", "row_in", "row_out"), [("encoder", torch.int64, (128,), (128,)), ("mlp", torch.float32, (1024,), (1024,))]
)
def test_reference_models_load_and_have_documented_shapes(bench, tmp_path, name, dtype, row_in, row_out):
    spec = bench.BUILDERS[name](tmp_path)
    model = torch.jit.load(str(spec.path))
    x = spec.example(3)
    assert x.dtype == dtype and tuple(x.shape) == (3, *row_in)
    with torch.inference_mode():
        assert tuple(model(x).shape) == (3, *row_out)
    metadata = json.loads(bench.metadata_path(spec.path).read_text())
    assert metadata["inputs"][0]["shape"] == [-1, *row_in]


@pytest.mark.skipif(not (ROOT / "serving" / "__main__.py").exists(), reason="the serving package has not landed")
def test_quick_run_against_our_server_reports_a_row(tmp_path):
    out = tmp_path / "result.json"
    args = ["--quick", "--models", "encoder", "--servers", "a", "--concurrency", "4"]
    args += ["--duration", "0.5", "--warmup", "0.2", "--json", str(out)]
    subprocess.run([sys.executable, "-m", "benchmarks.serving.run", *args], cwd=ROOT, check=True, timeout=120)
    results = json.loads(out.read_text())
    rows = results["rows"]
    assert [r["server"] for r in rows] == ["a", "a-bin", "a-grpc", "d"]  # JSON, binary HTTP, gRPC, the limit
    for served in rows[:3]:
        assert served["concurrency"] == 4 and served["errors"] == 0
        assert served["throughput"] > 0 and math.isfinite(served["p99_ms"])
    (ratios,) = results["ratios"]
    assert all(ratios[f"throughput_{key}/d"] > 0 for key in ("a", "a-bin", "a-grpc"))


@pytest.mark.parametrize("binary", [False, True])
def test_probe_benchmark_runs_and_every_body_is_answered(binary):
    command = [sys.executable, "-m", "benchmarks.serving.probes", "--bodies", "2", "--mb", "0.5"]
    done = subprocess.run(command + (["--binary"] if binary else []), cwd=ROOT, check=True, timeout=120,
                          capture_output=True, text=True)
    assert "2 answered 200" in done.stdout and ("binary" if binary else "JSON") in done.stdout, done.stdout


@pytest.mark.skipif(not (ROOT / "serving" / "__main__.py").exists(), reason="the serving package has not landed")
def test_overhead_run_compares_the_same_server_with_metrics_and_access_log_on_and_off(tmp_path):
    out = tmp_path / "overhead.json"
    args = ["--quick", "--models", "encoder", "--concurrency", "2", "--repetitions", "2", "--duration", "0.4",
            "--warmup", "0.1", "--json", str(out)]
    done = subprocess.run([sys.executable, "-m", "benchmarks.serving.overhead", *args], cwd=ROOT, check=True,
                          timeout=180, capture_output=True, text=True)
    assert "access lines logged: on" in done.stdout, done.stdout
    result = json.loads(out.read_text())
    assert [(w["variant"], w["repetition"]) for w in result["windows"]] == [("on", 0), ("off", 0), ("off", 1), ("on", 1)]
    (summary,) = result["ratios"]
    assert len(summary["ratios"]) == 2 and summary["min"] <= summary["median"] <= summary["max"]


def test_access_line_run_prices_both_ways_of_writing_a_line():
    done = subprocess.run([sys.executable, "-m", "benchmarks.serving.access_line", "--lines", "200", "--repeat", "1"],
                          cwd=ROOT, check=True, timeout=60, capture_output=True, text=True)
    prices = {line.split()[0]: float(line.split()[1]) for line in done.stdout.splitlines() if "µs per access line" in line}
    assert set(prices) == {"logger.info", "logs.info_line"} and all(p > 0 for p in prices.values()), done.stdout
    assert "info_line / logger.info = " in done.stdout
    assert done.stderr == "", done.stderr  # the lines went to /dev/null, not to the terminal


@pytest.mark.parametrize("binary", [False, True])
def test_on_path_run_prices_the_features_per_request_in_process(binary):
    command = [sys.executable, "-m", "benchmarks.serving.on_path", "--requests", "40", "--repetitions", "2"]
    done = subprocess.run(command + (["--binary"] if binary else []), cwd=ROOT, check=True, timeout=120,
                          capture_output=True, text=True)
    match = re.search(r"on ([\d.]+) µs \(min [\d.]+\), off ([\d.]+) µs", done.stdout)
    assert match and float(match[1]) > 0 and float(match[2]) > 0, done.stdout
    assert done.stdout.startswith("binary" if binary else "JSON"), done.stdout
