"""The existing-cluster cell built by the composition offline: no cloud resource, a SeaweedFS lake whose keys stay
secret, model pods that get the lake's endpoint and keys, CPU models off the GPU nodes, GPU models on them."""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path

import pytest
import yaml

from lepton_infra.cell_contract import SECRET_FILES_DIR
from lepton_infra.components.existing.cell import credentials_file
from lepton_infra.composition.cell import Cell
from lepton_infra.conventions import GPU_RESOURCE
from lepton_infra.kubernetes_schema import kubernetes_objects, schema_errors
from lepton_infra.spec import SpecError
from lepton_infra.testing import OfflinePlan, run

from existing_support import build, container, env_of, platform, pod_spec

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "upstream"))
import upstream_truth as truth  # noqa: E402

CLOUD_PROVIDERS = ("aws", "azure-native", "gcp")
RELEASE = "kubernetes:helm.sh/v3:Release"
KUBECONFIG = "apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n"


@pytest.fixture(scope="module")
def plan() -> OfflinePlan:
    return build(platform())


def _cloud_types(plan: OfflinePlan) -> list[str]:
    return sorted(
        r.type for r in plan.resources
        if r.type.split(":", 1)[0] in CLOUD_PROVIDERS or r.type.removeprefix("pulumi:providers:") in CLOUD_PROVIDERS
    )


def test_the_cell_registers_no_cloud_resource(plan):
    assert _cloud_types(plan) == []
    assert {r.type.split(":", 1)[0] for r in plan.resources} <= {"lepton", "kubernetes", "random", "docker-build", "pulumi"}


def test_the_local_stack_registers_no_cloud_resource(stack_plan):
    local = stack_plan("local")
    assert _cloud_types(local) == []
    assert local.one("lepton:existing:InClusterLake")


def test_without_a_kubeconfig_in_config_the_provider_uses_the_ambient_one(plan):
    provider = plan.one("pulumi:providers:kubernetes")
    assert "kubeconfig" not in provider.inputs and "context" not in provider.inputs


def test_a_kubeconfig_from_secret_config_and_a_named_context_reach_the_provider_as_secret():
    plan = build(platform(cluster={"context": "kind-lepton"}), config={"lepton-platform:kubeconfig": KUBECONFIG})
    provider = plan.one("pulumi:providers:kubernetes")
    assert provider.inputs["kubeconfig"] == KUBECONFIG and provider.inputs["context"] == "kind-lepton"
    assert provider.is_secret("kubeconfig")


def test_every_in_cluster_object_goes_through_the_cells_provider(plan):
    provider = plan.one("pulumi:providers:kubernetes")
    k8s = [r for r in plan.resources if r.custom and r.type.startswith("kubernetes:")]
    assert k8s and {r.provider.rsplit("::", 1)[0] for r in k8s} == {provider.urn}


def test_the_seaweedfs_release_is_pinned_and_its_values_pass_the_vendored_chart(plan):
    (release,) = [r for r in plan.of_type(RELEASE) if r.inputs["chart"] == "seaweedfs"]
    assert release.inputs["repositoryOpts"]["repo"] == "https://seaweedfs.github.io/seaweedfs/helm"
    assert release.inputs["version"] == truth.SEAWEEDFS
    assert truth.chart_of(release.inputs).errors(release.inputs["values"]) == []
    s3 = release.inputs["values"]["s3"]
    assert s3["enabled"] is True and s3["enableAuth"] is True
    assert [b["name"] for b in s3["createBuckets"]] == ["raw", "curated", "features", "models"]
    assert not any(b["anonymousRead"] for b in s3["createBuckets"])



def test_no_seaweedfs_pod_mounts_a_host_path_which_the_lake_namespaces_baseline_standard_refuses(plan):
    (release,) = [r for r in plan.of_type(RELEASE) if r.inputs["chart"] == "seaweedfs"]
    (namespace,) = [n for n in plan.of_type("kubernetes:core/v1:Namespace") if n.inputs["metadata"]["name"] == "lake"]
    assert namespace.inputs["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "baseline"
    defaults = truth.chart_of(release.inputs)
    chart = yaml.safe_load(defaults.values_yaml.read_text())
    values = release.inputs["values"]
    # Every directory the chart defaults to a hostPath is overridden (the volume servers' through dataDirs).
    for component in ("master", "filer", "s3"):
        for directory in ("data", "logs"):
            if (chart[component].get(directory) or {}).get("type") == "hostPath":
                assert values[component][directory]["type"] in ("persistentVolumeClaim", "emptyDir"), (component, directory)
    assert [d["type"] for d in values["volume"]["dataDirs"]] == ["persistentVolumeClaim"]


def test_the_lake_release_is_protected_and_kept_on_delete_exactly_in_protected_environments(plan):
    def lake_release(p):
        (release,) = [r for r in p.of_type(RELEASE) if r.inputs["chart"] == "seaweedfs"]
        return release

    assert (lake_release(plan).protect, lake_release(plan).retain_on_delete) == (False, False)
    protected = build(platform().model_copy(update={"protected": True}))
    assert (lake_release(protected).protect, lake_release(protected).retain_on_delete) == (True, True)


def test_a_misspelt_seaweedfs_value_is_refused_by_the_vendored_chart(plan):
    (release,) = [r for r in plan.of_type(RELEASE) if r.inputs["chart"] == "seaweedfs"]
    values = json.loads(json.dumps(release.inputs["values"]))
    values["s3"]["enableAuht"] = True
    assert any("s3.enableAuht" in e for e in truth.chart_of(release.inputs).errors(values))


def lake_identities(plan) -> dict[str, dict]:
    """The SeaweedFS gateway's identities file, from the lake namespace's Secret, by identity name."""
    lake_secret = next(s for s in plan.of_type("kubernetes:core/v1:Secret") if s.inputs["metadata"]["namespace"] == "lake")
    return {i["name"]: i for i in json.loads(lake_secret.inputs["stringData"]["seaweedfs_s3_config"])["identities"]}


def test_the_lake_keys_are_generated_and_kept_secret_never_in_release_values_nor_printed(plan):
    keys = [r.outputs["result"] for r in plan.of_type("random:index/randomPassword:RandomPassword")]
    zones = platform().cells[0].data_lake.zones
    assert len(set(keys)) == 2 * (1 + len(zones)) and all(keys)  # admin, and a reader per zone
    secrets = plan.of_type("kubernetes:core/v1:Secret")
    assert len(secrets) == 2  # the gateway's identities file in the lake namespace, the model's own in models
    assert all(secret.is_secret("stringData") for secret in secrets)
    written = [v for i in lake_identities(plan).values() for c in i["credentials"] for v in (c["accessKey"], c["secretKey"])]
    assert sorted(written) == sorted(keys)
    (release,) = [r for r in plan.of_type(RELEASE) if r.inputs["chart"] == "seaweedfs"]
    printed = json.dumps(plan.summary()) + json.dumps(release.inputs["values"])
    assert not any(key in printed for key in keys)


def test_the_model_pod_gets_the_s3_endpoint_and_the_models_readers_keys_as_a_file_from_its_own_secret(plan):
    server = container(plan)
    env = env_of(server)
    assert env["AWS_ENDPOINT_URL_S3"] == "http://seaweedfs-s3.lake.svc.cluster.local:8333"
    assert env["MODEL_URI"] == "s3://models/classifier/v1/model.pt"
    model_secret = next(s for s in plan.of_type("kubernetes:core/v1:Secret") if s.inputs["metadata"]["namespace"] == "models")
    assert not any("valueFrom" in e for e in server["env"]), "no secret in the environment"
    # The file botocore reads (AWS_SHARED_CREDENTIALS_FILE), from the Secret's volume, mounted read-only.
    assert env["AWS_SHARED_CREDENTIALS_FILE"] == f"{SECRET_FILES_DIR}/aws-credentials"
    (mount,) = [m for m in server["volumeMounts"] if m["mountPath"] == SECRET_FILES_DIR]
    assert mount["readOnly"] is True
    (volume,) = [v for v in pod_spec(plan)["volumes"] if v["name"] == mount["name"]]
    assert volume["secret"] == {"secretName": model_secret.inputs["metadata"]["name"], "defaultMode": 0o440}
    reader = lake_identities(plan)["models-reader"]
    assert reader["actions"] == ["Read:models", "List:models"]  # the models bucket only, read only
    [credentials] = reader["credentials"]
    assert model_secret.inputs["stringData"] == {"aws-credentials": credentials_file(credentials["accessKey"], credentials["secretKey"])}
    (deployment,) = plan.of_type("kubernetes:apps/v1:Deployment")
    assert not any(key in json.dumps(deployment.inputs) for key in credentials.values()), "no key in the Deployment's spec"


def test_a_cpu_model_requests_no_gpu_and_selects_no_gpu_node(plan):
    spec, server = pod_spec(plan), container(plan)
    assert GPU_RESOURCE not in server["resources"]["requests"] and GPU_RESOURCE not in server["resources"]["limits"]
    assert "nodeSelector" not in spec and "tolerations" not in spec
    assert env_of(server)["DEVICE"] == "cpu"


def test_a_gpu_model_on_an_existing_cluster_keeps_the_gpu_contract_and_the_operator_installs_the_driver():
    plan = build(platform(
        models=[{"name": "llm", "accelerator": "l4", "artifact": "llm/v1/model.pt"}],
        gpu_pools=[{"name": "l4", "accelerator": "l4"}],
        registry={"build_variant": "cuda"},
    ))
    spec, server = pod_spec(plan), container(plan)
    assert server["resources"]["limits"][GPU_RESOURCE] == "1"
    assert spec["nodeSelector"] == {"lepton.ai/accelerator": "l4"}
    (operator,) = [r for r in plan.of_type(RELEASE) if r.inputs["chart"] == "gpu-operator"]
    assert operator.inputs["values"]["driver"]["enabled"] is True and operator.inputs["values"]["toolkit"]["enabled"] is True
    # GPU pools only schedule: nothing creates nodes on an existing cluster.
    assert _cloud_types(plan) == []


def test_the_image_goes_to_the_local_registry_without_credentials_by_default(plan):
    image = plan.one("docker-build:index:Image")
    assert image.inputs["tags"][0].startswith("localhost:5001/serving:0.1.0-")
    assert not image.inputs.get("registries")
    assert image.inputs["buildArgs"] == {"VARIANT": "cpu"}
    assert container(plan)["image"].startswith("localhost:5001/serving@sha256:")


def test_registry_credentials_from_secret_config_log_the_push_in_as_secret():
    creds = {"username": "ci", "password": "s3cret-token"}
    plan = build(platform(registry={"url": "registry.dc1.example.com/ml", "build_variant": "cpu"}),
                 config={"lepton-platform:registryCredentials": json.dumps(creds)})
    image = plan.one("docker-build:index:Image")
    (login,) = image.inputs["registries"]
    assert login == {"address": "registry.dc1.example.com", "username": "ci", "password": "s3cret-token"}
    assert image.is_secret("registries", 0, "password")
    assert image.inputs["tags"][0].startswith("registry.dc1.example.com/ml/serving:")
    assert "s3cret-token" not in json.dumps(plan.summary())


def test_an_external_lake_installs_nothing_and_passes_its_endpoint_and_config_keys():
    keys = {"access_key_id": "AKEXAMPLE", "secret_access_key": "external-secret"}
    plan = build(
        platform(data_lake={"store": {"kind": "external", "endpoint": "https://s3.dc1.example.com", "bucket_prefix": "ml-"}}),
        config={"lepton-platform:lakeCredentials": json.dumps(keys)},
    )
    assert not [r for r in plan.of_type(RELEASE) if r.inputs["chart"] == "seaweedfs"]
    assert not plan.of_type("random:index/randomPassword:RandomPassword")
    env = env_of(container(plan))
    assert env["AWS_ENDPOINT_URL_S3"] == "https://s3.dc1.example.com"
    assert env["MODEL_URI"] == "s3://ml-models/classifier/v1/model.pt"
    (secret,) = plan.of_type("kubernetes:core/v1:Secret")
    assert secret.inputs["stringData"] == {"aws-credentials": credentials_file("AKEXAMPLE", "external-secret")}
    assert secret.is_secret("stringData") and "external-secret" not in json.dumps(plan.summary())


def test_an_external_lake_without_its_keys_in_config_is_a_spec_error_before_anything_registers():
    spec = platform(data_lake={"store": {"kind": "external", "endpoint": "https://s3.dc1.example.com"}})
    caught: list[SpecError] = []
    plan = OfflinePlan()

    def program():
        try:
            Cell("dev-dc1", spec)
        except SpecError as exc:
            caught.append(exc)

    run(program, plan=plan)
    assert caught and caught[0].issues[0][0] == "lepton-platform:lakeCredentials"
    assert [r.type for r in plan.resources if r.custom] == [], "nothing but the cell component may be registered"


def test_every_kubernetes_object_of_the_local_stack_passes_the_kubernetes_schema_strictly(stack_plan):
    local = stack_plan("local")
    objects = kubernetes_objects(local)
    errors, custom = schema_errors(objects, "1.35")
    assert errors == []
    kinds = {r.inputs["kind"] for r in objects}
    assert {"Secret", "Deployment", "Namespace"} <= kinds
    # Istio's, and the models' ScaledObject and PodMonitor: tests/upstream checks each against its vendored CRD.
    assert {r.inputs["apiVersion"].split("/")[0] for r in custom} <= {
        "security.istio.io", "networking.istio.io", "keda.sh", "monitoring.coreos.com"
    }


def test_models_pull_from_a_private_registry_with_a_secret_dockerconfig():
    creds = {"username": "ci", "password": "s3cret-token"}
    plan = build(platform(registry={"url": "registry.dc1.example.com/ml", "build_variant": "cpu"}),
                 config={"lepton-platform:registryCredentials": json.dumps(creds)})
    (secret,) = [s for s in plan.of_type("kubernetes:core/v1:Secret") if s.inputs["metadata"]["name"] == "registry-pull"]
    assert secret.inputs["type"] == "kubernetes.io/dockerconfigjson" and secret.inputs["metadata"]["namespace"] == "models"
    auths = json.loads(secret.inputs["stringData"][".dockerconfigjson"])["auths"]
    assert auths["registry.dc1.example.com"]["username"] == "ci"
    assert base64.b64decode(auths["registry.dc1.example.com"]["auth"]).decode() == "ci:s3cret-token"
    assert secret.is_secret("stringData") and "s3cret-token" not in json.dumps(plan.summary())
    (deployment,) = plan.of_type("kubernetes:apps/v1:Deployment")
    assert deployment.inputs["spec"]["template"]["spec"]["imagePullSecrets"] == [{"name": "registry-pull"}]
    assert secret.urn in plan.one("lepton:kubernetes:ModelDeployment").dependencies
    errors, _ = schema_errors(kubernetes_objects(plan), "1.35")
    assert errors == []


def test_without_registry_credentials_no_pull_secret_is_made_or_referenced(plan):
    assert not [s for s in plan.of_type("kubernetes:core/v1:Secret") if s.inputs["metadata"]["name"] == "registry-pull"]
    (deployment,) = plan.of_type("kubernetes:apps/v1:Deployment")
    assert "imagePullSecrets" not in deployment.inputs["spec"]["template"]["spec"]
