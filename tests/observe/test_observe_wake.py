"""Waking a model from zero: a model that scales to zero has a second KEDA trigger on its callers' demand (Istio's
istio_requests_total at the callers' sidecars and gateways, which the cell's Prometheus scrapes through the mesh's
PodMonitor), activated by any request; a model that does not, and every model of a protected environment, keeps
the queue-depth trigger alone and its minimum. The query is run by the real promtool against input series."""

import shutil
import subprocess

import pytest
import yaml

import upstream_truth as truth
from lepton_infra.components.kubernetes import model_deployment
from lepton_infra.components.kubernetes.model_deployment import ModelDeployment
from lepton_infra.kubernetes_schema import manifest
from lepton_infra.spec import SpecError, parse_platform_spec
from lepton_infra.testing import read_stack_config, rejected, run, run_stack
from lepton_infra.upstream_schemas import custom_resource_errors

from stack_support import STACKS

SPEC_KEY = "lepton-platform:platform"
SCALED_OBJECT = "kubernetes:keda.sh/v1alpha1:ScaledObject"
POD_MONITOR = "kubernetes:monitoring.coreos.com/v1:PodMonitor"
PROMETHEUS = "http://kube-prometheus-stack-prometheus.monitoring.svc:9090"


def stack_spec(stack, **model_changes):
    spec = read_stack_config(stack, STACKS)[SPEC_KEY]
    for model in spec["models"]:
        model.update(model_changes)
    return spec


@pytest.fixture(scope="module")
def dev_at_zero():
    return run_stack("dev", STACKS, config_overrides={SPEC_KEY: stack_spec("dev", scale_to_zero=True)})


def model_args(**model_changes):
    model = {"name": "llm", "accelerator": "l4", "artifact": "llm/v1/model.pt", "replicas": {"min_size": 1, "max_size": 3}, **model_changes}
    return {"model": model, "image": "registry.example/serving:1", "model_uri_base": "s3://lake-models"}


def test_a_model_that_scales_to_zero_wakes_on_its_callers_requests(dev_at_zero):
    (scaled,) = dev_at_zero.of_type(SCALED_OBJECT)
    spec = scaled.inputs["spec"]
    assert spec["minReplicaCount"] == 0
    queue, wake = spec["triggers"]
    assert queue["metadata"]["query"] == 'sum(serving_queue_depth{namespace="models",app="classifier"})'
    assert wake["type"] == "prometheus" and wake["metricType"] == "AverageValue"
    assert wake["metadata"] == {
        "serverAddress": PROMETHEUS,
        "query": 'clamp_max(sum(rate(istio_requests_total{reporter="source",destination_service_namespace="models",'
                 'destination_service_name="classifier"}[2m])), 1)',
        # Any request activates (a value above 0 scales 0 -> 1); capped at 1 against a target of 1, it asks for one
        # replica at most: the queue depth scales further.
        "threshold": "1",
        "activationThreshold": "0",
    }
    assert custom_resource_errors(manifest(scaled), truth.crd_schemas()) == []


def test_the_wake_trigger_names_the_models_service_and_namespace(dev_at_zero):
    (service,) = [s for s in dev_at_zero.of_type("kubernetes:core/v1:Service") if s.inputs["metadata"]["name"] == "classifier"]
    (scaled,) = dev_at_zero.of_type(SCALED_OBJECT)
    query = scaled.inputs["spec"]["triggers"][1]["metadata"]["query"]
    # Istio's destination_service_name / _namespace are the Kubernetes Service's name and namespace.
    assert f'destination_service_name="{service.inputs["metadata"]["name"]}"' in query
    assert f'destination_service_namespace="{service.inputs["metadata"]["namespace"]}"' in query


def test_the_callers_requests_are_scraped_in_the_models_cell(dev_at_zero):
    """The callers are outside the models' namespace (gateways, clients) or are other models: the mesh's PodMonitor
    scrapes every other sidecar's Envoy stats, each model's PodMonitor its own pods' (merged with Envoy's)."""
    monitors = {m.inputs["metadata"]["name"]: m.inputs for m in dev_at_zero.of_type(POD_MONITOR)}
    assert set(monitors) == {"envoy-stats", "classifier"}
    assert monitors["envoy-stats"]["spec"]["namespaceSelector"] == {"any": True}


def test_a_model_that_does_not_scale_to_zero_keeps_one_trigger_and_its_minimum():
    plan = run(lambda: ModelDeployment("llm", model_args()))
    spec = plan.one(SCALED_OBJECT).inputs["spec"]
    (trigger,) = spec["triggers"]
    assert "istio_requests_total" not in trigger["metadata"]["query"]
    assert spec["minReplicaCount"] == 1


@pytest.mark.parametrize("stack", ["prod"])
def test_a_protected_stacks_models_cannot_scale_to_zero_and_have_no_wake_trigger(stack, stack_plan):
    with pytest.raises(SpecError) as err:
        parse_platform_spec(stack_spec(stack, scale_to_zero=True))
    assert "protected environment" in dict(err.value.issues)["models[0].scale_to_zero"]
    for scaled in stack_plan(stack).of_type(SCALED_OBJECT):
        assert scaled.inputs["spec"]["minReplicaCount"] >= 1
        assert len(scaled.inputs["spec"]["triggers"]) == 1


def test_a_protected_model_deployment_refuses_scale_to_zero_naming_the_field_and_registers_nothing():
    error, plan = rejected(lambda: ModelDeployment("llm", {**model_args(scale_to_zero=True), "protected": True}))
    assert "protected environment" in dict(error.issues)["model.scale_to_zero"]
    assert plan.resources == []


# ----------------------------------------------------------------------------------------------- the query, run
PROMTOOL = shutil.which("promtool")
CALLS = 'istio_requests_total{{reporter="{reporter}",destination_service_namespace="models",destination_service_name="{model}",response_code="{code}"}}'


def promtool_test(tmp_path, series: list[tuple[str, str]], expr: str, expected: float | None) -> subprocess.CompletedProcess:
    """promtool test rules: ``expr`` (over the wake query, as ``{q}``) at 3m over ``series`` (15 s samples), expecting
    ``expected`` (None: no result, which KEDA's prometheus scaler reads as 0 with its default ignoreNullValues)."""
    query = expr.format(q=model_deployment.demand_query("llm", "models"))
    samples = [] if expected is None else [{"labels": "{}", "value": expected}]
    test = {
        "rule_files": [],
        "evaluation_interval": "15s",
        "tests": [
            {
                "interval": "15s",
                "input_series": [{"series": s, "values": v} for s, v in series],
                "promql_expr_test": [{"expr": query, "eval_time": "3m", "exp_samples": samples}],
            }
        ],
    }
    path = tmp_path / "wake_test.yaml"
    path.write_text(yaml.safe_dump(test))
    return subprocess.run([PROMTOOL, "test", "rules", str(path)], capture_output=True, text=True, timeout=60)


@pytest.mark.skipif(PROMTOOL is None, reason="promtool is installed by .ci/tools")
@pytest.mark.parametrize(
    "series,expr,expected",
    [
        # A caller's first request got its sidecar's 503 (no endpoint): above the activation threshold 0, below the cap.
        ([(CALLS.format(reporter="source", model="llm", code="503"), "0 0 0 0 0 0 0 1+0x6")], "({q}) > bool 0", 1),
        ([(CALLS.format(reporter="source", model="llm", code="503"), "0 0 0 0 0 0 0 1+0x6")], "({q}) < bool 1", 1),
        # Steady traffic, many requests a second: capped at one replica's worth.
        ([(CALLS.format(reporter="source", model="llm", code="200"), "0+50x12")], "{q}", 1),
        # The last call was longer ago than the window: no demand (KEDA's cooldown then scales to zero).
        ([(CALLS.format(reporter="source", model="llm", code="200"), "0 1 1 1 1 1 1 1 1 1 1 1 1")], "{q}", 0),
        # Nobody called: no series at all.
        ([], "{q}", None),
        # Requests to another model, or reported by the model's own sidecars (reporter="destination"): not demand here.
        ([(CALLS.format(reporter="source", model="other", code="200"), "0+5x12"),
          (CALLS.format(reporter="destination", model="llm", code="200"), "0+5x12")], "{q}", None),
    ],
    ids=["first-call-wakes", "first-call-under-cap", "capped", "old-call", "no-calls", "other-models-and-destination"],
)
def test_the_wake_query_run_by_promtool(tmp_path, series, expr, expected):
    result = promtool_test(tmp_path, series, expr, expected)
    assert result.returncode == 0, result.stdout + result.stderr
