"""The alert rules under the real tool: `promtool check rules` on the groups alert_rules.rule_groups renders, and
`promtool test rules` on unit tests with input series, in which every alert (each severity of the burn-rate alert)
fires with its labels and annotations in one case and stays quiet in another. promtool comes from Debian's
`prometheus` package, installed by .ci/tools: without it these tests fail, they do not skip."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from lepton_infra.components.kubernetes import alert_rules
from lepton_infra.spec import ModelSpec

CELL = "test-cell"
MODELS = [
    # The defaults: 99% of answered requests within 1 s; a canary version, whose Deployment is the model's too.
    ModelSpec(name="llm", accelerator="h100", artifact="llm/v1/model.pt", canary={"version": "v2", "artifact": "llm/v2/model.pt"}),
    ModelSpec(name="small", accelerator="h100", artifact="small/v1/model.pt", latency={"threshold_seconds": 0.25, "objective": 0.999}),
]
LLM = {"severity": "critical", "cell": CELL, "model": "llm"}
BURN_RUNBOOK = (
    "Compare serving_queue_duration_seconds and serving_compute_duration_seconds: waiting means too few replicas "
    "(max_size reached, GPUs pending), computing means a slower model or batch; check a canary."
)


def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        pytest.fail("promtool is not installed: run .ci/tools (it installs Debian's prometheus package, which ships it)")
    return found


def series(name: str, labels: dict[str, str], values: str) -> dict[str, str]:
    text = ",".join(f'{k}="{v}"' for k, v in labels.items())
    return {"series": f"{name}{{{text}}}", "values": values}


def expect(alertname: str, at: str, *alerts: tuple[dict[str, str], dict[str, str]]) -> dict:
    return {"eval_time": at, "alertname": alertname,
            "exp_alerts": [{"exp_labels": labels, "exp_annotations": annotations} for labels, annotations in alerts]}


def burn(severity: str, model: str, value: str, threshold: str, objective: str) -> tuple[dict, dict]:
    where = f"model {model} in cell {CELL}"
    return (
        {"severity": severity, "cell": CELL, "model": model},
        {
            "summary": f"{where} is burning its latency error budget {'fast' if severity == 'critical' else 'steadily'}",
            "description": f"{where}: {value} of answered requests took over {threshold}; the objective is {objective}% "
                           f"of answered requests within {threshold}.",
            "runbook": BURN_RUNBOOK,
        },
    )


def latency(model: str, le: str, answered: str, within: str) -> list[dict[str, str]]:
    labels = {"namespace": "models", "model": model, "pod": f"{model}-v1-a"}
    return [
        series("serving_request_duration_seconds_count", labels, answered),
        series("serving_request_duration_seconds_bucket", {**labels, "le": le}, within),
    ]


KSM = {"namespace": "models", "job": "kube-state-metrics"}
NOT_READY = ({**LLM, "namespace": "models", "deployment": "llm-v2"}, {
    "summary": f"model llm in cell {CELL} has unavailable replicas",
    "description": f"model llm in cell {CELL}: Deployment llm-v2 has had 1 fewer available replicas than desired for 30m.",
    "runbook": "kubectl -n models describe deployment llm-v2; look for pods Pending (GPU capacity), CrashLoopBackOff "
               "or failing the startup probe (the model's artifact or its lake access).",
})
REQUESTS = {"namespace": "models", "model": "llm", "pod": "llm-v1-a"}
ERRORS = (LLM, {
    "summary": f"model llm in cell {CELL} fails requests",
    "description": f"model llm in cell {CELL}: 10% of requests failed in the server over 5 minutes (threshold 5%).",
    "runbook": "kubectl -n models logs -l app=llm -c server: the server logs each failed request with its error.",
})
QUEUE = {"namespace": "models", "app": "llm", "version": "v1", "pod": "llm-v1-a", "container": "istio-proxy"}
SATURATED = ({**LLM, "severity": "warning", "namespace": "models", "pod": "llm-v1-a", "version": "v1"}, {
    "summary": f"model llm in cell {CELL} has a server near its queue capacity",
    "description": f"model llm in cell {CELL}: pod llm-v1-a holds 87.89% of the 1024 requests it queues before refusing more.",
    "runbook": "kubectl -n models get scaledobject,hpa,pods -l app=llm: at replicas.max_size, raise it; with pods "
               "Pending, the GPU pool is full (GpuPodsPending).",
})
GPU_POD = {"namespace": "models", "pod": "llm-v1-a", "uid": "u1"}
GPU_REQUEST = {**GPU_POD, "container": "server", "node": "", "resource": "nvidia_com_gpu", "unit": "integer"}
PENDING = ({"severity": "warning", "cell": CELL, "namespace": "models", "pod": "llm-v1-a"}, {
    "summary": f"a GPU pod has been pending in cell {CELL} for 15m",
    "description": f"Pod models/llm-v1-a requests nvidia.com/gpu and has been Pending in cell {CELL} for 15m: no node can take it.",
    "runbook": "kubectl describe pod; the cluster autoscaler's events say why no node was added: the GPU pool at its "
               "max_size, the cloud's GPU quota, or no capacity of that type in the region.",
})
GPU = {"gpu": "0", "UUID": "GPU-5fd4", "device": "nvidia0", "modelName": "NVIDIA H100 80GB HBM3", "Hostname": "node-1"}
XID = ({"severity": "warning", "cell": CELL, "gpu": "0", "UUID": "GPU-5fd4", "modelName": "NVIDIA H100 80GB HBM3", "Hostname": "node-1"}, {
    "summary": f"a GPU in cell {CELL} reported an XID error",
    "description": f"GPU 0 (GPU-5fd4) on node-1 in cell {CELL} last reported XID 79.",
    "runbook": "Look the XID up in NVIDIA's XID catalog (docs.nvidia.com/deploy/xid-errors): 13, 31 and 43 are "
               "application faults; 48, 63, 64, 74, 79, 92, 94, 95 call for draining the node and resetting the GPU.",
})

# name -> one promtool test group (interval 1m).
CASES: dict[str, dict] = {
    "not-ready-fires": {
        # The canary's Deployment has 1 of 2 replicas for 40 minutes: pending before 30m, firing after.
        "input_series": [
            series("kube_deployment_spec_replicas", {**KSM, "deployment": "llm-v2"}, "2x40"),
            series("kube_deployment_status_replicas_available", {**KSM, "deployment": "llm-v2"}, "1x40"),
        ],
        "alert_rule_test": [expect("ModelNotReady", "25m"), expect("ModelNotReady", "35m", NOT_READY)],
    },
    "not-ready-quiet": {
        # All replicas available; a model scaled to zero; another namespace's and an unknown model's Deployments.
        "input_series": [
            series("kube_deployment_spec_replicas", {**KSM, "deployment": "llm-v1"}, "2x40"),
            series("kube_deployment_status_replicas_available", {**KSM, "deployment": "llm-v1"}, "2x40"),
            series("kube_deployment_spec_replicas", {**KSM, "deployment": "small-v1"}, "0x40"),
            series("kube_deployment_status_replicas_available", {**KSM, "deployment": "small-v1"}, "0x40"),
            series("kube_deployment_spec_replicas", {**KSM, "deployment": "other-v1"}, "2x40"),
            series("kube_deployment_status_replicas_available", {**KSM, "deployment": "other-v1"}, "0x40"),
            series("kube_deployment_spec_replicas", {**KSM, "namespace": "default", "deployment": "llm-v1"}, "2x40"),
            series("kube_deployment_status_replicas_available", {**KSM, "namespace": "default", "deployment": "llm-v1"}, "0x40"),
        ],
        "alert_rule_test": [expect("ModelNotReady", "35m")],
    },
    "error-ratio-fires": {
        "input_series": [
            series("serving_requests_total", {**REQUESTS, "outcome": "ok"}, "0+90x20"),
            series("serving_requests_total", {**REQUESTS, "outcome": "error"}, "0+10x20"),
        ],
        "alert_rule_test": [expect("ModelErrorRatio", "3m"), expect("ModelErrorRatio", "15m", ERRORS)],
    },
    "error-ratio-quiet": {
        # 1% server errors; the callers' own mistakes (bad_request) and requests for unknown models do not count.
        "input_series": [
            series("serving_requests_total", {**REQUESTS, "outcome": "ok"}, "0+49x20"),
            series("serving_requests_total", {**REQUESTS, "outcome": "bad_request"}, "0+50x20"),
            series("serving_requests_total", {**REQUESTS, "outcome": "error"}, "0+1x20"),
            series("serving_requests_total", {**REQUESTS, "model": "", "outcome": "error"}, "0+100x20"),
        ],
        "alert_rule_test": [expect("ModelErrorRatio", "15m")],
    },
    "burn-pages": {
        # Half the requests over 1 s for 75 minutes: both page windows (1h/5m at 14.4x, and the ticket's too). The
        # bucket as Prometheus 3 stores it (le="1"); the other cases use le="1.0", as Prometheus 2 keeps it.
        "input_series": latency("llm", "1", "0+100x80", "0+50x80"),
        "alert_rule_test": [expect(
            "ModelLatencySLOBurn", "75m", burn("critical", "llm", "50%", "1s", "99"), burn("warning", "llm", "50%", "1s", "99"),
        )],
    },
    "burn-tickets": {
        # 2% over 1 s for 7 hours: twice the budget, under every page's rate: the 3d/6h ticket only.
        "input_series": latency("llm", "1.0", "0+100x420", "0+98x420"),
        "alert_rule_test": [expect("ModelLatencySLOBurn", "7h", burn("warning", "llm", "2%", "1s", "99"))],
    },
    "burn-quiet": {
        # 0.5% over 1 s for 7 hours: within llm's 1% budget.
        "input_series": latency("llm", "1.0", "0+200x420", "0+199x420"),
        "alert_rule_test": [expect("ModelLatencySLOBurn", "7h")],
    },
    "burn-per-model-objective": {
        # The same 0.5% burns small's 0.1% budget (3d/6h and 1d/2h: a ticket) counted at its own bound, 0.25 s:
        # every request is within 1 s.
        "input_series": [
            *latency("small", "0.25", "0+1000x420", "0+995x420"),
            series("serving_request_duration_seconds_bucket", {"namespace": "models", "model": "small", "pod": "small-v1-a", "le": "1.0"}, "0+1000x420"),
        ],
        "alert_rule_test": [expect("ModelLatencySLOBurn", "7h", burn("warning", "small", "0.5%", "0.25s", "99.9"))],
    },
    "queue-saturated-fires": {
        "input_series": [series("serving_queue_depth", QUEUE, "900x20")],
        "alert_rule_test": [expect("ModelQueueSaturated", "5m"), expect("ModelQueueSaturated", "15m", SATURATED)],
    },
    "queue-saturated-quiet": {
        # Half full; another model's server full.
        "input_series": [
            series("serving_queue_depth", QUEUE, "512x20"),
            series("serving_queue_depth", {**QUEUE, "app": "other", "pod": "other-v1-a"}, "1024x20"),
        ],
        "alert_rule_test": [expect("ModelQueueSaturated", "15m")],
    },
    "gpu-pods-pending-fires": {
        "input_series": [
            series("kube_pod_status_phase", {**GPU_POD, "phase": "Pending"}, "1x30"),
            series("kube_pod_status_phase", {**GPU_POD, "phase": "Running"}, "0x30"),
            series("kube_pod_container_resource_requests", GPU_REQUEST, "1x30"),
            series("kube_pod_container_resource_requests", {**GPU_REQUEST, "resource": "cpu", "unit": "core"}, "2x30"),
        ],
        "alert_rule_test": [expect("GpuPodsPending", "10m"), expect("GpuPodsPending", "20m", PENDING)],
    },
    "gpu-pods-pending-quiet": {
        # A CPU pod pending for 30 minutes, a GPU pod running, a GPU pod pending for only 10 minutes so far.
        "input_series": [
            series("kube_pod_status_phase", {**GPU_POD, "pod": "cpu-a", "phase": "Pending"}, "1x30"),
            series("kube_pod_container_resource_requests", {**GPU_REQUEST, "pod": "cpu-a", "resource": "cpu", "unit": "core"}, "2x30"),
            series("kube_pod_status_phase", {**GPU_POD, "pod": "gpu-running", "phase": "Pending"}, "0x30"),
            series("kube_pod_status_phase", {**GPU_POD, "pod": "gpu-running", "phase": "Running"}, "1x30"),
            series("kube_pod_container_resource_requests", {**GPU_REQUEST, "pod": "gpu-running"}, "1x30"),
            series("kube_pod_status_phase", {**GPU_POD, "pod": "gpu-new", "phase": "Pending"}, "0x10 1x20"),
            series("kube_pod_container_resource_requests", {**GPU_REQUEST, "pod": "gpu-new"}, "1x30"),
        ],
        "alert_rule_test": [expect("GpuPodsPending", "20m")],
    },
    "xid-fires": {
        "input_series": [series("DCGM_FI_DEV_XID_ERRORS", GPU, "0 0 79x10")],
        "alert_rule_test": [expect("GpuXidErrors", "1m"), expect("GpuXidErrors", "5m", XID)],
    },
    "xid-quiet": {
        "input_series": [series("DCGM_FI_DEV_XID_ERRORS", GPU, "0x10"), series("DCGM_FI_DEV_XID_ERRORS", {**GPU, "gpu": "1"}, "0x10")],
        "alert_rule_test": [expect("GpuXidErrors", "5m")],
    },
}


@pytest.fixture(scope="module")
def rule_path(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("rules") / "rules.yaml"
    path.write_text(alert_rules.rules_file(alert_rules.rule_groups(CELL, MODELS)))
    return path


def run_tests(rule_path: Path, name: str, group: dict) -> subprocess.CompletedProcess:
    test_file = rule_path.parent / f"{name}.test.yaml"
    test_file.write_text(yaml.safe_dump({
        "rule_files": [rule_path.name],
        "evaluation_interval": "1m",
        "tests": [{"interval": "1m", **group}],
    }, sort_keys=False, width=1000))
    return subprocess.run([promtool(), "test", "rules", str(test_file)], capture_output=True, text=True, timeout=120)


def all_alerts() -> set[tuple[str, str]]:
    return {(r["alert"], r["labels"]["severity"]) for g in alert_rules.rule_groups(CELL, MODELS) for r in g["rules"] if "alert" in r}


def test_promtool_checks_the_rendered_rules(rule_path):
    result = subprocess.run([promtool(), "check", "rules", str(rule_path)], capture_output=True, text=True, timeout=60)
    rules = sum(len(g["rules"]) for g in alert_rules.rule_groups(CELL, MODELS))
    assert result.returncode == 0 and f"SUCCESS: {rules} rules found" in result.stdout, result.stdout + result.stderr


@pytest.mark.parametrize("name", sorted(CASES))
def test_promtool_unit_test(name, rule_path):
    result = run_tests(rule_path, name, CASES[name])
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_and_severity_has_a_case_where_it_fires_and_one_where_it_stays_quiet():
    fires, quiet = set(), set()
    for group in CASES.values():
        for check in group["alert_rule_test"]:
            if check["exp_alerts"]:
                fires |= {(check["alertname"], a["exp_labels"]["severity"]) for a in check["exp_alerts"]}
            else:
                quiet |= {(name, severity) for name, severity in all_alerts() if name == check["alertname"]}
    assert fires == all_alerts()
    assert quiet == all_alerts()


def test_a_wrong_expectation_fails_under_promtool(rule_path):
    """The harness can fail: the firing case, expecting another annotation or nothing at all, is refused."""
    labels, annotations = NOT_READY
    wrong = {**CASES["not-ready-fires"], "alert_rule_test": [expect("ModelNotReady", "35m", (labels, {**annotations, "summary": "x"}))]}
    result = run_tests(rule_path, "wrong-annotation", wrong)
    assert result.returncode != 0 and "FAILED" in result.stdout + result.stderr
    silent = {**CASES["not-ready-fires"], "alert_rule_test": [expect("ModelNotReady", "35m")]}
    assert run_tests(rule_path, "wrong-silence", silent).returncode != 0
