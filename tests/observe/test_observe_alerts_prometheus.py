"""A real Prometheus server (Debian's `prometheus` package, installed by .ci/tools) scrapes a real serving process
and loads the cell's alert rules: every serving_* metric the rules read has series, the latency SLO's recording
rules record a value for the model, and every rule evaluates without error. Waits poll against deadlines."""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path
from typing import Any, Callable

import httpx
import pytest
import yaml

import tiny_models
from lepton_infra.components.kubernetes import alert_rules
from lepton_infra.spec import ModelSpec
from server_support import Server, clean_env, free_port, launch

MODEL = ModelSpec(name="tiny", accelerator="cpu", artifact="tiny/v1/model.pt")
DEADLINE_SECONDS = 60


def prometheus_binary() -> str:
    found = shutil.which("prometheus")
    if found is None:
        pytest.fail("the prometheus server is not installed: run .ci/tools (Debian's prometheus package)")
    return found


def serving_names_read(groups: list[dict[str, Any]]) -> set[str]:
    return {n for g in groups for r in g["rules"] for n in re.findall(r"\b(serving_[a-z_]+)\{", r["expr"])}


def wait_for(what: str, check: Callable[[], Any], log: Callable[[], str]) -> Any:
    """``check()``'s first truthy answer within DEADLINE_SECONDS, or a failure naming ``what`` with the log."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    pytest.fail(f"{what} within {DEADLINE_SECONDS}s; last answer {check()!r}\n{log()}")


class Prometheus:
    def __init__(self, tmp: Path, target: str):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        groups = alert_rules.rule_groups("test-cell", [MODEL])
        (tmp / "rules.yaml").write_text(alert_rules.rules_file(groups))
        # The labels the model's PodMonitor gives its series in a cell: `namespace` (the operator adds it) and the pods'
        # `app` and `version` (podTargetLabels): the rules select on them.
        config = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": ["rules.yaml"],
            "scrape_configs": [{
                "job_name": "serving",
                "static_configs": [{"targets": [target], "labels": {"namespace": "models", "app": MODEL.name, "version": MODEL.version}}],
            }],
        }
        (tmp / "prometheus.yml").write_text(yaml.safe_dump(config))
        command = [prometheus_binary(), f"--config.file={tmp / 'prometheus.yml'}", f"--storage.tsdb.path={tmp / 'data'}",
                   f"--web.listen-address=127.0.0.1:{self.port}"]
        # serving's tests' process handle: its log for failure messages, SIGTERM then kill on stop.
        self.process = Server(command, clean_env(), self.port, tmp / "prometheus.log")

    def log(self) -> str:
        return self.process.log()[-4000:]

    def api(self, path: str, **params: str) -> Any:
        if self.process.proc.poll() is not None:
            pytest.fail(f"prometheus exited with {self.process.proc.returncode}:\n{self.log()}")
        try:
            answer = httpx.get(self.url + path, params=params, timeout=5.0)
        except httpx.TransportError:
            return None
        return answer.json()["data"] if answer.status_code == 200 else None

    def query(self, promql: str) -> list[dict[str, Any]]:
        return (self.api("/api/v1/query", query=promql) or {}).get("result", [])

    def stop(self) -> None:
        self.process.stop()


@pytest.fixture
def scraped_server(tmp_path):
    model = tiny_models.save_script(tiny_models.Affine(), tmp_path / "affine.pt", tiny_models.AFFINE_METADATA)
    server = launch(tmp_path, str(model), name=MODEL.name)
    prometheus = None
    try:
        server.wait_ready()
        prometheus = Prometheus(tmp_path, server.url.removeprefix("http://"))
        yield server, prometheus
    finally:
        if prometheus:
            prometheus.stop()
        server.stop()


def infer(server, rows: list[list[float]]) -> int:
    body = {"inputs": [{"name": "features", "datatype": "FP32", "shape": [len(rows), 4], "data": [x for r in rows for x in r]}]}
    return httpx.post(f"{server.url}/v2/models/{MODEL.name}/infer", json=body, timeout=10.0).status_code


def rule_health(prometheus: Prometheus) -> list[tuple[str, str, str]] | None:
    """(rule, health, lastError) of every loaded rule once each has been evaluated, else None."""
    data = prometheus.api("/api/v1/rules")
    rules = [r for g in (data or {}).get("groups", []) for r in g["rules"]]
    if not rules or any(r["health"] == "unknown" for r in rules):
        return None
    return [(r["name"], r["health"], r.get("lastError", "")) for r in rules]


def test_prometheus_scrapes_serving_and_every_rule_evaluates(scraped_server):
    server, prometheus = scraped_server
    groups = alert_rules.rule_groups("test-cell", [MODEL])
    wait_for("the serving target up", lambda: prometheus.query('up{job="serving"} == 1'), prometheus.log)
    assert [infer(server, [[1, 2, 3, 4]]) for _ in range(5)] == [200] * 5
    assert infer(server, [[-1, 0, 0, 0]]) == 400  # a bad request: counted, not an error

    names = serving_names_read(groups)
    assert names == {"serving_requests_total", "serving_request_duration_seconds_count",
                     "serving_request_duration_seconds_bucket", "serving_queue_depth"}
    for name in sorted(names):
        wait_for(f"series of {name}", lambda: prometheus.query(f'{name}{{namespace="models",app="{MODEL.name}"}}'), prometheus.log)
    # The bucket the SLO counts answered requests under (le="1.0" as Prometheus 2 keeps what serving writes) holds the
    # 5 answered requests once a scrape after them is in; the bad request is counted by its outcome.
    within = f'serving_request_duration_seconds_bucket{{model="{MODEL.name}",le=~"1(\\\\.0)?"}} == 5'
    (bucket,) = wait_for("the 5 answered requests in the SLO's bucket", lambda: prometheus.query(within), prometheus.log)
    assert bucket["metric"]["le"] == "1.0"
    wait_for("the bad request counted", lambda: prometheus.query(
        f'serving_requests_total{{model="{MODEL.name}",outcome="bad_request"}} == 1'), prometheus.log)

    # The recording rule answers a number for the model: no request took over 1 s.
    ratio = alert_rules.slo_miss_ratio("5m")
    recorded = wait_for(f"{ratio} recorded as a number", lambda: [
        s for s in prometheus.query(f'{ratio}{{model="{MODEL.name}"}}') if s["value"][1] != "NaN"
    ], prometheus.log)
    assert float(recorded[0]["value"][1]) == 0

    health = wait_for("every rule evaluated", lambda: rule_health(prometheus), prometheus.log)
    assert len(health) == sum(len(g["rules"]) for g in groups)
    assert [h for h in health if h[1] != "ok"] == []
