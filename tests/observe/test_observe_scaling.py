"""Scale to zero: refused in protected environments naming the field, allowed elsewhere when the model asks; the
per-replica queue target; monitoring is on by default and a cell serving models cannot turn it off."""

import pytest

from lepton_infra.components.kubernetes.model_deployment import ModelDeployment
from lepton_infra.spec import ModelSpec, MonitoringSpec, SpecError, parse_platform_spec
from lepton_infra.testing import read_stack_config, rejected, run, run_stack

from stack_support import STACKS

SPEC_KEY = "lepton-platform:platform"
SCALED_OBJECT = "kubernetes:keda.sh/v1alpha1:ScaledObject"
RELEASE = "kubernetes:helm.sh/v3:Release"


def stack_spec(stack, model_changes=None, cell_changes=None):
    spec = read_stack_config(stack, STACKS)[SPEC_KEY]
    for model in spec["models"]:
        model.update(model_changes or {})
    for cell in spec["cells"]:
        cell.update(cell_changes or {})
    return spec


def model(**overrides):
    return {"name": "llm", "accelerator": "l4", "artifact": "llm/v1/model.pt", "replicas": {"min_size": 2, "max_size": 6}, **overrides}


def deployment_args(**overrides):
    return {"model": model(), "image": "registry.example/serving:1", "model_uri_base": "s3://lake-models", **overrides}


def scaled_object_spec(plan):
    return plan.one(SCALED_OBJECT).inputs["spec"]


def test_prod_refuses_scale_to_zero_naming_the_models_field():
    with pytest.raises(SpecError) as err:
        parse_platform_spec(stack_spec("prod", {"scale_to_zero": True}))
    issues = dict(err.value.issues)
    assert "protected environment" in issues["models[0].scale_to_zero"]


def test_a_protected_model_deployment_refuses_scale_to_zero_and_registers_nothing():
    error, plan = rejected(lambda: ModelDeployment("llm", deployment_args(model=model(scale_to_zero=True), protected=True)))
    assert "protected environment" in dict(error.issues)["model.scale_to_zero"]
    assert plan.resources == []


def test_dev_scales_a_model_to_zero_when_its_spec_asks():
    plan = run_stack("dev", STACKS, config_overrides={SPEC_KEY: stack_spec("dev", {"scale_to_zero": True})})
    spec = scaled_object_spec(plan)
    assert (spec["minReplicaCount"], spec["maxReplicaCount"]) == (0, 2)


def test_dev_keeps_the_models_minimum_when_its_spec_does_not_ask(stack_plan):
    spec = scaled_object_spec(stack_plan("dev"))
    assert spec["minReplicaCount"] == 1
    assert ModelSpec(**model()).scale_to_zero is False


@pytest.mark.parametrize("protected", [False, True], ids=["unprotected", "protected"])
def test_a_model_deployment_without_scale_to_zero_keeps_its_minimum_either_way(protected):
    assert scaled_object_spec(run(lambda: ModelDeployment("llm", deployment_args(protected=protected))))["minReplicaCount"] == 2


def test_unprotected_model_deployment_may_scale_to_zero():
    assert scaled_object_spec(run(lambda: ModelDeployment("llm", deployment_args(model=model(scale_to_zero=True)))))["minReplicaCount"] == 0


@pytest.mark.parametrize("target,threshold", [(None, "32"), (5, "5")], ids=["default-max-batch", "spec"])
def test_the_per_replica_target_is_the_specs_or_a_full_batch(target, threshold):
    plan = run(lambda: ModelDeployment("llm", deployment_args(model=model(target_queue_depth=target))))
    assert scaled_object_spec(plan)["triggers"][0]["metadata"]["threshold"] == threshold


def test_monitoring_defaults_on_with_the_pinned_charts_and_a_retention():
    spec = MonitoringSpec()
    assert (spec.enabled, spec.chart_version, spec.keda_version, spec.retention) == (True, "88.5.3", "2.20.2", "15d")


@pytest.mark.parametrize("retention", ["15 days", "15", "d"])
def test_a_retention_prometheus_cannot_read_is_refused(retention):
    with pytest.raises(SpecError) as err:
        MonitoringSpec(retention=retention)
    assert "retention" in dict(err.value.issues)


def test_a_cell_that_serves_models_cannot_turn_monitoring_off():
    with pytest.raises(SpecError) as err:
        parse_platform_spec(stack_spec("dev", cell_changes={"monitoring": {"enabled": False}}))
    assert "monitoring enabled" in dict(err.value.issues)["cells[0].monitoring.enabled"]


def test_a_cell_without_models_may_turn_monitoring_off_and_installs_neither_chart():
    spec = stack_spec("dev", cell_changes={"monitoring": {"enabled": False}})
    spec["models"] = []
    plan = run_stack("dev", STACKS, config_overrides={SPEC_KEY: spec})
    assert {r.inputs["chart"] for r in plan.of_type(RELEASE)} & {"kube-prometheus-stack", "keda"} == set()


def test_the_retention_in_the_spec_reaches_prometheus():
    plan = run_stack("dev", STACKS, config_overrides={SPEC_KEY: stack_spec("dev", cell_changes={"monitoring": {"retention": "30d"}})})
    (release,) = [r for r in plan.of_type(RELEASE) if r.inputs["chart"] == "kube-prometheus-stack"]
    assert release.inputs["values"]["prometheus"]["prometheusSpec"]["retention"] == "30d"
