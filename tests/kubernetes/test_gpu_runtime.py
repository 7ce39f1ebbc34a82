import pulumi
import pytest

from lepton_infra.components.kubernetes.gpu_runtime import CHART_REPO, NvidiaGpuRuntime
from lepton_infra.conventions import GPU_TAINT
from lepton_infra.testing import run

from _support import custom_resources_after_strict_schema_check, provider_of, rejected, run_with_provider, uses_provider

RELEASE = "kubernetes:helm.sh/v3:Release"


def runtime(driver_preinstalled: bool = True, version: str = "v25.10.1"):
    args = {"driver_preinstalled": driver_preinstalled, "spec": {"gpu_operator_version": version}}
    return run(lambda: NvidiaGpuRuntime("gpu", args))


def test_nodes_that_ship_the_driver_keep_their_own_driver_and_toolkit():
    values = runtime(driver_preinstalled=True).one(RELEASE).inputs["values"]
    assert values["driver"]["enabled"] is False
    assert values["toolkit"]["enabled"] is False


def test_existing_clusters_get_driver_and_toolkit_from_the_operator():
    values = runtime(driver_preinstalled=False).one(RELEASE).inputs["values"]
    assert values["driver"]["enabled"] is True
    assert values["toolkit"]["enabled"] is True


@pytest.mark.parametrize("driver_preinstalled", [True, False])
def test_device_plugin_feature_discovery_and_dcgm_exporter_run_everywhere(driver_preinstalled):
    values = runtime(driver_preinstalled).one(RELEASE).inputs["values"]
    assert values["devicePlugin"]["enabled"] is True
    assert values["gfd"]["enabled"] is True
    assert values["dcgmExporter"]["enabled"] is True
    assert values["nfd"]["enabled"] is True


def test_operands_tolerate_the_contract_gpu_taint():
    values = runtime().one(RELEASE).inputs["values"]
    assert values["daemonsets"]["tolerations"] == [GPU_TAINT.toleration()]
    assert values["node-feature-discovery"]["worker"]["tolerations"] == [GPU_TAINT.toleration()]


def test_chart_is_pinned_from_nvidias_repository_and_installed_atomically():
    release = runtime(version="v25.3.4").one(RELEASE)
    assert release.inputs["chart"] == "gpu-operator"
    assert release.inputs["version"] == "v25.3.4"
    assert release.inputs["repositoryOpts"]["repo"] == CHART_REPO == "https://helm.ngc.nvidia.com/nvidia"
    assert release.inputs["namespace"] == "gpu-operator"
    assert release.inputs["atomic"] is True
    assert release.inputs["timeout"] >= 600


def test_namespace_enforces_the_privileged_pod_security_level():
    ns = runtime().one("kubernetes:core/v1:Namespace")
    assert ns.inputs["metadata"]["name"] == "gpu-operator"
    assert ns.inputs["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "privileged"


def test_release_installs_into_the_namespace_after_it_exists():
    plan = runtime()
    assert plan.one("kubernetes:core/v1:Namespace").urn in plan.one(RELEASE).dependencies


def test_every_kubernetes_object_passes_the_schema():
    assert custom_resources_after_strict_schema_check(runtime(driver_preinstalled=False)) == []


def test_children_use_the_provider_given_to_the_component():
    plan = run_with_provider(lambda opts: NvidiaGpuRuntime("gpu", {"driver_preinstalled": True}, opts))
    component = plan.one("lepton:kubernetes:NvidiaGpuRuntime")
    kids = plan.children(component)
    assert {k.type for k in kids} == {"kubernetes:core/v1:Namespace", RELEASE}
    assert all(uses_provider(k, provider_of(plan)) for k in kids)


def test_outputs_name_the_namespace_and_release():
    def program():
        gpu = NvidiaGpuRuntime("gpu", {"driver_preinstalled": True})
        pulumi.export("namespace", gpu.namespace)
        pulumi.export("release", gpu.release_name)
        pulumi.export("status", gpu.release_status)

    outputs = run(program).stack_outputs
    assert (outputs["namespace"], outputs["release"], outputs["status"]) == ("gpu-operator", "gpu-operator", "deployed")


def test_a_missing_driver_answer_is_rejected_naming_the_field_with_nothing_registered():
    error, plan = rejected(lambda: NvidiaGpuRuntime("gpu", {"cloud": "aws"}))
    assert sorted(path for path, _ in error.issues) == ["cloud", "driver_preinstalled"]
    assert plan.resources == []


def test_a_cloud_that_runs_its_own_device_plugin_gets_no_second_one():
    plan = run(lambda: NvidiaGpuRuntime("gpu", {"driver_preinstalled": True, "device_plugin_preinstalled": True}))
    values = plan.one(RELEASE).inputs["values"]
    assert values["devicePlugin"]["enabled"] is False
    assert values["gfd"]["enabled"] is True and values["dcgmExporter"]["enabled"] is True
