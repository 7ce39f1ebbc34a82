"""Issue 11's core check: every metric name in every dashboard query (panel targets and the variables' queries), and
in every PrometheusRule the stacks' plans hold, is one that something in the platform exports:

- the serving process: a real `python -m serving` on a tiny model (tests/serving's helpers), its /metrics read after
  it answered a request;
- the DCGM exporter the GPU operator runs: its default counters file at the pinned image tag (tests/upstream);
- Istio's proxies: the "Istio Standard Metrics" page (tests/upstream), a DISTRIBUTION being a Prometheus histogram;
- kube-state-metrics: its metric docs for nodes, pods and deployments at the chart's app version (tests/upstream);
- a recording rule's own name, once some rule records it.

Names are taken from the queries with a real PromQL parser (promql-parser, the Python binding of the Rust
promql-parser crate), after Grafana's own interval variables are replaced by a duration, as Grafana does before it
sends a query. Prometheus's own parser (promtool, .ci/tools) must accept every dashboard query too, and Debian's
Prometheus server, scraping the real serving process, must return data for every serving panel and variable query."""

from __future__ import annotations

import csv
import re
import shutil
import subprocess
import sys
import time
from functools import cache
from pathlib import Path

import httpx
import numpy as np
import promql_parser
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families
from pulumi_kubernetes.apiextensions import CustomResource

import upstream_truth as truth
from lepton_infra.components.kubernetes import dashboards
from lepton_infra.testing import run
from test_observe_stacks import STACK_NAMES

SERVING_TESTS = Path(__file__).resolve().parents[1] / "serving"
if str(SERVING_TESTS) not in sys.path:
    sys.path.insert(0, str(SERVING_TESTS))

import tiny_models  # noqa: E402  (tests/serving: the tiny TorchScript models)
from server_support import free_port, launch  # noqa: E402  (tests/serving: a real `python -m serving` process)

PROMETHEUS_RULE = "kubernetes:monitoring.coreos.com/v1:PrometheusRule"
# Grafana's built-in interval variables ("Global variables" in Grafana's docs): replaced by a duration before parsing.
GRAFANA_INTERVALS = ("$__rate_interval", "$__interval", "$__range")
HISTOGRAM_SERIES = ("_bucket", "_sum", "_count")


# ------------------------------------------------------------------------------------------- extracting names
def promql(expr: str) -> str:
    """A Grafana query as Prometheus receives it: interval variables become durations (label values like "$cell" are
    strings to PromQL, substituted by Grafana, and parse as they are)."""
    for variable in GRAFANA_INTERVALS:
        expr = expr.replace(variable, "5m")
    return expr


def metric_names(expr: str) -> set[str]:
    """Every metric name a PromQL expression selects (by name or by an exact __name__ matcher); a ValueError when it
    does not parse or selects names by a pattern, which no name list can confirm."""
    names: set[str] = set()
    problems: list[str] = []

    def visit(node):
        if isinstance(node, promql_parser.VectorSelector):
            if node.name:
                names.add(node.name)
            for matcher in node.matchers.matchers:
                if matcher.name == "__name__":
                    if matcher.op == promql_parser.MatchOp.Equal:
                        names.add(matcher.value)
                    else:
                        problems.append(f"__name__ {matcher.op} {matcher.value!r}")

    promql_parser.walk(promql_parser.parse(expr), visit)
    if problems:
        raise ValueError(f"{expr}: selects metric names by pattern ({'; '.join(problems)})")
    return names


def variable_selector(query: str) -> str | None:
    """The series selector of a Grafana Prometheus variable query ``label_values(<selector>, <label>)``; None for
    ``label_values(<label>)``, which names no metric."""
    inner = query.strip().removeprefix("label_values(").removesuffix(")")
    selector, _, _label = inner.rpartition(",")
    return selector.strip() or None


def dashboard_queries(board: dict) -> list[tuple[str, str]]:
    """(where, PromQL) for every panel target and every query variable of a dashboard."""
    found = []
    for panel in board["panels"]:
        for inner in [panel, *panel.get("panels", [])]:
            found += [(f"{board['uid']} / {inner['title']} / {t['refId']}", promql(t["expr"])) for t in inner.get("targets", [])]
    for variable in board["templating"]["list"]:
        if variable["type"] == "query":
            query = variable["query"]["query"] if isinstance(variable["query"], dict) else variable["query"]
            assert query.startswith("label_values("), f"{board['uid']} ${variable['name']}: {query}"
            selector = variable_selector(query)
            if selector:
                found.append((f"{board['uid']} / ${variable['name']}", promql(selector)))
    return found


def rule_queries(plan) -> tuple[list[tuple[str, str]], set[str]]:
    """(where, PromQL) of every rule of every PrometheusRule in a plan, and the names its recording rules record."""
    queries, recorded = [], set()
    for rule_object in plan.of_type(PROMETHEUS_RULE):
        for group in rule_object.inputs["spec"]["groups"]:
            for rule in group["rules"]:
                name = rule.get("alert") or rule.get("record")
                queries.append((f"{rule_object.name} / {group['name']} / {name}", rule["expr"]))
                if "record" in rule:
                    recorded.add(rule["record"])
    return queries, recorded


# ---------------------------------------------------------------------------------------- what is exported
def with_histogram_series(name: str) -> set[str]:
    return {name + suffix for suffix in HISTOGRAM_SERIES}


@cache
def dcgm_names() -> frozenset[str]:
    """The DCGM exporter's default counters: `field, type, help` rows; `#` lines are comments (the file's header);
    `label` rows become labels on the other series, not series."""
    rows = [row for row in csv.reader(truth.DCGM_COUNTERS.read_text().splitlines()) if row and not row[0].lstrip().startswith("#")]
    return frozenset(row[0].strip() for row in rows if row[1].strip() != "label")


@cache
def istio_names() -> frozenset[str]:
    """The metrics of the page's "Metrics" section: "(`istio_...`): This is a `COUNTER`|`DISTRIBUTION`"."""
    section = truth.ISTIO_STANDARD_METRICS.read_text().split("## Metrics", 1)[1].split("\n## ", 1)[0]
    names: set[str] = set()
    for name, kind in re.findall(r"\(`(istio_\w+)`\): This is a `(COUNTER|DISTRIBUTION)`", section):
        names |= {name} if kind == "COUNTER" else with_histogram_series(name)
    return frozenset(names)


@cache
def kube_state_metrics_names() -> frozenset[str]:
    """The first column of the docs' metric tables: `| kube_... | Gauge |`."""
    names: set[str] = set()
    for doc in truth.KUBE_STATE_METRICS_DOCS:
        names |= set(re.findall(r"^\|\s*(kube_\w+)\s*\|", doc.read_text(), flags=re.MULTILINE))
    return frozenset(names)


@pytest.fixture(scope="module")
def serving(tmp_path_factory):
    """A real serving process on a tiny model that has answered one request and refused one (unknown model)."""
    tmp = tmp_path_factory.mktemp("serving-metrics")
    model = tiny_models.save_script(tiny_models.Affine(), tmp / "affine.pt", tiny_models.AFFINE_METADATA)
    server = launch(tmp, str(model), "--max-batch-size", "4", "--max-queue-delay-ms", "5")
    try:
        server.wait_ready()
        rows = np.ones((2, 4), dtype=np.float32)
        body = {"inputs": [{"name": "features", "datatype": "FP32", "shape": [2, 4], "data": rows.reshape(-1).tolist()}]}
        assert httpx.post(server.url + "/v2/models/m/infer", json=body).status_code == 200
        assert httpx.post(server.url + "/v2/models/other/infer", json=body).status_code == 404
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def serving_names(serving) -> frozenset[str]:
    """Every sample name the serving process exposes on /metrics."""
    text = httpx.get(serving.url + "/metrics").text
    return frozenset(sample.name for family in text_string_to_metric_families(text) for sample in family.samples)


@pytest.fixture(scope="module")
def exported(serving_names) -> frozenset[str]:
    return serving_names | dcgm_names() | istio_names() | kube_state_metrics_names()


def unknown_names(queries: list[tuple[str, str]], known: frozenset[str] | set[str]) -> list[str]:
    return [f"{where}: {name}" for where, expr in queries for name in sorted(metric_names(expr) - known)]


# --------------------------------------------------------------------------------------------------- the lists
def test_the_exporters_lists_hold_what_the_dashboards_rely_on():
    assert {"DCGM_FI_DEV_GPU_UTIL", "DCGM_FI_DEV_FB_USED", "DCGM_FI_DEV_FB_FREE", "DCGM_FI_DEV_POWER_USAGE", "DCGM_FI_DEV_XID_ERRORS"} <= dcgm_names()
    assert "DCGM_FI_DRIVER_VERSION" not in dcgm_names()  # a label, not a series
    assert "DCGM_FI_DEV_ECC_SBE_VOL_TOTAL" not in dcgm_names()  # commented out: not exported by default
    assert {"istio_requests_total", "istio_request_duration_milliseconds_bucket", "istio_tcp_received_bytes_total"} <= istio_names()
    assert "istio_request_duration_milliseconds" not in istio_names()  # a histogram has no series of its bare name
    assert {"kube_node_labels", "kube_pod_status_phase", "kube_deployment_status_replicas_available"} <= kube_state_metrics_names()


def test_the_real_serving_process_exports_the_serving_metrics(serving_names):
    for name in ("serving_requests_total", "serving_queue_depth", "serving_batch_size_sum", "serving_batch_size_count",
                 "serving_request_duration_seconds_bucket", "serving_queue_duration_seconds_bucket",
                 "serving_compute_duration_seconds_bucket"):
        assert name in serving_names, name
    assert "serving_requests" not in serving_names  # a counter's samples end in _total


# ---------------------------------------------------------------------------------------------- the extraction
@pytest.mark.parametrize(
    "expr,names",
    [
        ('sum by (app) (rate(serving_requests_total{app=~"$model"}[5m]))', {"serving_requests_total"}),
        ("histogram_quantile(0.99, sum by (le) (rate(a_bucket[5m]))) / on (x) group_left (y) b", {"a_bucket", "b"}),
        ('{__name__="c", job="j"} + max_over_time(d[1h:5m]) > 0', {"c", "d"}),
        ("count(e offset 1h) unless f @ 100", {"e", "f"}),
    ],
)
def test_names_come_from_the_parsed_query(expr, names):
    assert metric_names(expr) == names


def test_a_query_that_does_not_parse_or_picks_names_by_pattern_fails():
    with pytest.raises(ValueError):
        metric_names("sum(rate(x[$__rate_interval]))")  # Grafana's variable, unreplaced
    with pytest.raises(ValueError, match="by pattern"):
        metric_names('{__name__=~"serving_.*"}')
    assert metric_names(promql("sum(rate(x[$__rate_interval]))")) == {"x"}


def test_a_variable_query_names_its_selectors_metric():
    assert variable_selector('label_values(serving_requests_total{cell=~"$cell"}, app)') == 'serving_requests_total{cell=~"$cell"}'
    assert variable_selector("label_values(cell)") is None


# ------------------------------------------------------------------------------------------------ the checks
@pytest.mark.parametrize("name", dashboards.NAMES)
def test_every_dashboard_query_uses_only_metrics_the_platform_exports(name, exported):
    queries = dashboard_queries(dashboards.dashboard(name))
    assert len(queries) >= 5
    assert unknown_names(queries, exported) == []


def test_a_misspelt_metric_in_a_dashboard_is_named(exported):
    board = dashboards.dashboard("serving")
    queries = dashboard_queries(board) + [("x / y / A", "rate(serving_request_total[5m])")]
    assert unknown_names(queries, exported) == ["x / y / A: serving_request_total"]


@pytest.mark.parametrize("stack", STACK_NAMES)
def test_every_prometheus_rule_in_the_plan_uses_only_metrics_the_platform_exports(stack, stack_plan, exported):
    """Whatever PrometheusRules the platform emits (found by type, so rules added later are covered)."""
    queries, recorded = rule_queries(stack_plan(stack))
    assert unknown_names(queries, exported | recorded) == []


def rules_plan(*rules: dict):
    return run(lambda: CustomResource(
        "rules", api_version="monitoring.coreos.com/v1", kind="PrometheusRule",
        metadata={"name": "r", "namespace": "monitoring"}, spec={"groups": [{"name": "g", "rules": list(rules)}]},
    ))


def test_a_rules_unknown_metric_is_named_and_a_recorded_one_is_known(exported):
    plan = rules_plan(
        {"record": "model:serving_requests:rate5m", "expr": "sum by (app) (rate(serving_requests_total[5m]))"},
        {"alert": "Ok", "expr": "model:serving_requests:rate5m > 0"},
        {"alert": "Bad", "expr": "DCGM_FI_DEV_XID_ERROR > 0"},
    )
    queries, recorded = rule_queries(plan)
    assert recorded == {"model:serving_requests:rate5m"}
    assert unknown_names(queries, exported | recorded) == ["rules / g / Bad: DCGM_FI_DEV_XID_ERROR"]


# ------------------------------------------------------------------------------------ Prometheus's own parser
def promtool_check(queries: list[tuple[str, str]], tmp_path: Path) -> subprocess.CompletedProcess:
    """`promtool check rules` on the queries as recording rules: Prometheus's parser reads each expression."""
    promtool = shutil.which("promtool")
    assert promtool, "promtool is missing: .ci/tools installs it (Debian's prometheus package)"
    rules = [{"record": f"lepton:dashboard_query_{i}", "expr": expr} for i, (_, expr) in enumerate(queries)]
    path = tmp_path / "queries.yaml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}))
    return subprocess.run([promtool, "check", "rules", str(path)], capture_output=True, text=True)


def test_prometheus_itself_parses_every_dashboard_query(tmp_path):
    queries = [q for name in dashboards.NAMES for q in dashboard_queries(dashboards.dashboard(name))]
    result = promtool_check(queries, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(queries)} rules found" in result.stdout


def test_promtool_refuses_a_query_that_does_not_parse(tmp_path):
    result = promtool_check([("x", "sum by (app) (rate(serving_requests_total[5m])")], tmp_path)
    assert result.returncode != 0


# -------------------------------------------------------------------- a real Prometheus scraping a real server
# What the model's PodMonitor puts on every series of its pods (model_deployment.py: podTargetLabels app and version,
# the track relabeling); a static target here stands in for the pod.
POD_LABELS = {"app": "m", "version": "7", "track": "stable"}
GRAFANA_VARIABLES = {"$model": ".*", "$cell": ".*", "$cloud": ".*", "$service": ".*", "$pool": ".*"}


@pytest.fixture(scope="module")
def prometheus(serving, tmp_path_factory):
    """Debian's Prometheus server (the package that ships promtool, .ci/tools) scraping the serving process every
    second; yields its base URL once it holds three scrapes."""
    binary = shutil.which("prometheus")
    assert binary, "prometheus is missing: .ci/tools installs it (Debian's prometheus package)"
    tmp = tmp_path_factory.mktemp("prometheus")
    target = serving.url.removeprefix("http://")
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "scrape_configs": [{"job_name": "serving", "static_configs": [{"targets": [target], "labels": POD_LABELS}]}],
    }
    (tmp / "prometheus.yml").write_text(yaml.safe_dump(config))
    url = f"http://127.0.0.1:{free_port()}"
    log = open(tmp / "prometheus.log", "wb")
    proc = subprocess.Popen(
        [binary, f"--config.file={tmp / 'prometheus.yml'}", f"--storage.tsdb.path={tmp / 'data'}",
         f"--web.listen-address={url.removeprefix('http://')}"],
        stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert proc.poll() is None, (tmp / "prometheus.log").read_text()
            try:
                # 503 until the TSDB has started (/-/ready), then three scrapes of the server.
                ready = httpx.get(url + "/-/ready", timeout=2).status_code == 200
                if ready and query(url, 'count_over_time(up{job="serving"}[1m]) >= 3'):
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.5)
        else:
            raise AssertionError("Prometheus did not scrape the server three times in 60 s:\n" + (tmp / "prometheus.log").read_text())
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def query(url: str, expr: str) -> list:
    """The result of an instant query; an AssertionError carrying Prometheus's error when it refuses the query."""
    answer = httpx.get(url + "/api/v1/query", params={"query": expr}, timeout=10).json()
    assert answer["status"] == "success", f"{expr}: {answer.get('error')}"
    return answer["data"]["result"]


def as_grafana_sends(expr: str) -> str:
    for variable, value in GRAFANA_VARIABLES.items():
        expr = expr.replace(variable, value)
    return expr


def test_every_serving_panel_and_variable_shows_data_from_a_real_prometheus_scraping_a_real_server(prometheus):
    queries = dashboard_queries(dashboards.dashboard("serving"))
    empty = [where for where, expr in queries if not query(prometheus, as_grafana_sends(expr))]
    assert empty == []


def test_the_other_dashboards_queries_run_on_prometheus_though_nothing_here_exports_their_metrics(prometheus):
    for name in ("gpus", "mesh"):
        for _, expr in dashboard_queries(dashboards.dashboard(name)):
            query(prometheus, as_grafana_sends(expr))


def test_a_query_on_a_misspelt_serving_metric_shows_nothing(prometheus):
    assert query(prometheus, 'sum by (app) (rate(serving_request_total{app=~".*"}[5m]))') == []
