"""The dev and prod stacks, run offline end to end: what `pulumi up --stack <env>` would stand up on AWS."""

import re

import pytest

from lepton_infra.kubernetes_schema import kubernetes_objects, schema_errors
from lepton_infra.testing import OfflinePlan, read_stack_config, run, run_stack
from lepton_infra.composition import Cell
from lepton_infra.spec import SpecError, parse_platform_spec

from stack_support import STACKS

STACK_NAMES = ["dev", "staging", "prod"]
SPEC_KEY = "lepton-platform:platform"


def spec_of(stack):
    return parse_platform_spec(read_stack_config(stack, STACKS)[SPEC_KEY])


def cells_of(*clouds: str) -> list[tuple[str, str]]:
    """(stack, cell) for every cell of every stack on ``clouds`` (all clouds when none is named)."""
    return [
        (stack, cell.name) for stack in STACK_NAMES for cell in spec_of(stack).cells if not clouds or cell.cloud in clouds
    ]


AWS_CELLS = cells_of("aws")
ALL_CELLS = cells_of()


def cell_plan(stack_plan, stack: str, cell: str):
    """The part of a stack's plan one cell stands up."""
    plan = stack_plan(stack)
    return plan.within(plan.one("lepton:platform:Cell", f"{spec_of(stack).environment}-{cell}"))


def cell_spec(stack: str, cell: str):
    return next(c for c in spec_of(stack).cells if c.name == cell)


def by_bucket(plan, type_):
    return {r.inputs["bucket"]: r for r in plan.of_type(type_)}


def test_every_stack_has_its_cells_and_prod_spans_three_clouds():
    assert {c.cloud for c in spec_of("prod").cells} == {"aws", "azure", "gcp"}
    assert {c.cloud for c in spec_of("staging").cells} == {"aws", "gcp"}


@pytest.mark.parametrize("stack", STACK_NAMES)
def test_the_platform_holds_one_cell_per_cell_of_the_spec(stack, stack_plan):
    plan = stack_plan(stack)
    platform = plan.one("lepton:platform:Platform", spec_of(stack).environment)
    cells = plan.of_type("lepton:platform:Cell")
    assert sorted(c.name for c in cells) == sorted(f"{spec_of(stack).environment}-{c.name}" for c in spec_of(stack).cells)
    assert all(c.parent == platform.urn for c in cells)


def test_prod_registers_an_eks_an_aks_and_a_gke_cluster(stack_plan):
    plan = stack_plan("prod")
    for cluster_type in ("aws:eks/cluster:Cluster", "azure-native:containerservice:ManagedCluster", "gcp:container/cluster:Cluster"):
        assert len(plan.of_type(cluster_type)) == 1, cluster_type


@pytest.mark.parametrize("stack,cell", AWS_CELLS)
def test_an_aws_cell_registers_an_eks_cluster_with_api_authentication(stack, cell, stack_plan):
    cluster = cell_plan(stack_plan, stack, cell).one("aws:eks/cluster:Cluster")
    assert cluster.inputs["accessConfig"]["authenticationMode"] == "API"


@pytest.mark.parametrize("stack,cell", AWS_CELLS)
def test_gpu_node_groups_run_the_nvidia_ami_with_the_contract_taint_and_labels(stack, cell, stack_plan):
    pools = {p.name: p for p in cell_spec(stack, cell).gpu_pools}
    plan = cell_plan(stack_plan, stack, cell)
    gpu_groups = [g for g in plan.of_type("aws:eks/nodeGroup:NodeGroup") if g.inputs.get("amiType") == "AL2023_x86_64_NVIDIA"]
    assert len(gpu_groups) == len(pools)
    for group in gpu_groups:
        assert {"key": "nvidia.com/gpu", "value": "present", "effect": "NO_SCHEDULE"} in group.inputs["taints"]
        assert group.inputs["labels"]["lepton.ai/accelerator"] in {p.accelerator for p in pools.values()}
        assert group.inputs["labels"]["nvidia.com/gpu.present"] == "true"


def aws_gpu_group(stack_plan, stack):
    plan = cell_plan(stack_plan, stack, "aws-use1")
    return next(g for g in plan.of_type("aws:eks/nodeGroup:NodeGroup") if g.inputs.get("amiType") == "AL2023_x86_64_NVIDIA")


def test_dev_pool_is_spot_l4_scaling_from_zero(stack_plan):
    group = aws_gpu_group(stack_plan, "dev")
    assert group.inputs["capacityType"] == "SPOT"
    assert group.inputs["instanceTypes"] == ["g6.xlarge"]
    assert group.inputs["scalingConfig"]["minSize"] == 0


def test_prod_pool_is_on_demand_h100_x8(stack_plan):
    group = aws_gpu_group(stack_plan, "prod")
    assert group.inputs["capacityType"] == "ON_DEMAND"
    assert group.inputs["instanceTypes"] == ["p5.48xlarge"]


@pytest.mark.parametrize("stack,cell", AWS_CELLS)
def test_the_cluster_autoscaler_is_installed_for_the_cells_cluster_and_models_wait_for_it(stack, cell, stack_plan):
    plan = cell_plan(stack_plan, stack, cell)
    [release] = [r for r in plan.of_type("kubernetes:helm.sh/v3:Release") if r.inputs["chart"] == "cluster-autoscaler"]
    assert release.inputs["namespace"] == "kube-system"
    assert release.inputs["values"]["autoDiscovery"]["clusterName"] == plan.one("aws:eks/cluster:Cluster").outputs["name"]
    assert release.inputs["values"]["image"]["tag"].startswith(f"v{cell_spec(stack, cell).cluster.kubernetes_version}.")
    # Pools scale from min_size (0 in dev): a model's pods get GPU nodes only once the autoscaler runs.
    deployments = plan.of_type("lepton:kubernetes:ModelDeployment")
    assert deployments and all(release.urn in d.dependencies for d in deployments)


@pytest.mark.parametrize("stack,cell", AWS_CELLS)
def test_every_zone_bucket_is_kms_encrypted_with_a_customer_key_versioned_and_private(stack, cell, stack_plan):
    plan = cell_plan(stack_plan, stack, cell)
    zones = cell_spec(stack, cell).data_lake.zones
    key_arns = {k.outputs["arn"] for k in plan.of_type("aws:kms/key:Key")}
    encryption = by_bucket(plan, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")
    versioning = by_bucket(plan, "aws:s3/bucketVersioning:BucketVersioning")
    public_blocks = by_bucket(plan, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
    zone_buckets = [
        b.outputs["bucket"]
        for b in plan.of_type("aws:s3/bucket:Bucket")
        if b.provider == plan.of_type("aws:s3/bucket:Bucket")[0].provider and any(z in b.outputs["bucket"] for z in zones)
    ]
    for zone in zones:
        assert any(zone in b for b in zone_buckets), f"no bucket for zone {zone}"
    for bucket in zone_buckets:
        rule = encryption[bucket].inputs["rules"][0]
        assert rule["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "aws:kms"
        assert rule["applyServerSideEncryptionByDefault"]["kmsMasterKeyId"] in key_arns
        assert rule["bucketKeyEnabled"] is True
        assert versioning[bucket].inputs["versioningConfiguration"]["status"] == "Enabled"
        block = public_blocks[bucket].inputs
        assert all(block[k] is True for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"))


DATA_TYPES = (
    "aws:s3/bucket:Bucket", "aws:kms/key:Key", "aws:cloudwatch/logGroup:LogGroup", "aws:ecr/repository:Repository",
    "azure-native:storage:StorageAccount", "azure-native:keyvault:Vault", "azure-native:keyvault:Key",
    "azure-native:containerregistry:Registry", "azure-native:resources:ResourceGroup",
    "gcp:storage/bucket:Bucket", "gcp:kms/cryptoKey:CryptoKey", "gcp:kms/keyRing:KeyRing",
    "gcp:bigquery/dataset:Dataset", "gcp:artifactregistry/repository:Repository",
)


def test_prod_protects_every_data_resource_on_every_cloud(stack_plan):
    plan = stack_plan("prod")
    data = [r for t in DATA_TYPES for r in plan.of_type(t)]
    assert {r.type.split(":")[0] for r in data} == {"aws", "azure-native", "gcp"}
    assert all(r.protect and r.retain_on_delete for r in data), [r.name for r in data if not r.protect]


@pytest.mark.parametrize("stack", ["dev", "staging"])
def test_unprotected_stacks_protect_no_data(stack, stack_plan):
    plan = stack_plan(stack)
    assert not any(r.protect for t in DATA_TYPES for r in plan.of_type(t))


def test_prod_replicates_every_aws_zone_to_the_backup_region(stack_plan):
    plan = stack_plan("prod")
    zones = cell_spec("prod", "aws-use1").data_lake.zones
    assert len(plan.of_type("aws:s3/bucketReplicationConfig:BucketReplicationConfig")) == len(zones)


def test_prods_azure_lake_is_geo_redundant(stack_plan):
    (account,) = stack_plan("prod").of_type("azure-native:storage:StorageAccount")
    assert account.inputs["sku"]["name"] == "Standard_GZRS"


def test_prod_cluster_endpoints_are_private_on_every_cloud_and_dev_is_public(stack_plan):
    prod = stack_plan("prod")
    eks = prod.one("aws:eks/cluster:Cluster").inputs["vpcConfig"]
    assert eks["endpointPublicAccess"] is False and eks["endpointPrivateAccess"] is True
    aks = prod.one("azure-native:containerservice:ManagedCluster").inputs["apiServerAccessProfile"]
    assert aks["enablePrivateCluster"] is True
    gke = prod.one("gcp:container/cluster:Cluster").inputs["privateClusterConfig"]
    assert gke["enablePrivateEndpoint"] is True and gke["enablePrivateNodes"] is True
    assert stack_plan("dev").one("aws:eks/cluster:Cluster").inputs["vpcConfig"]["endpointPublicAccess"] is True


@pytest.mark.parametrize("stack,cell", AWS_CELLS)
def test_each_model_reads_the_lake_through_an_irsa_role(stack, cell, stack_plan):
    plan = cell_plan(stack_plan, stack, cell)
    accounts = {sa.inputs["metadata"]["name"]: sa for sa in plan.of_type("kubernetes:core/v1:ServiceAccount")}
    roles = {r.outputs["arn"]: r for r in stack_plan(stack).of_type("aws:iam/role:Role")}
    for model in spec_of(stack).models_for(cell_spec(stack, cell)):
        role_arn = accounts[model.name].inputs["metadata"]["annotations"]["eks.amazonaws.com/role-arn"]
        trust = roles[role_arn].inputs["assumeRolePolicy"]
        assert "sts:AssumeRoleWithWebIdentity" in trust
        assert f"system:serviceaccount:models:{model.name}" in trust


@pytest.mark.parametrize("stack,cell", ALL_CELLS)
def test_istio_base_and_istiod_are_helm_releases_and_mtls_is_strict(stack, cell, stack_plan):
    plan = cell_plan(stack_plan, stack, cell)
    charts = {r.inputs["chart"] for r in plan.of_type("kubernetes:helm.sh/v3:Release")}
    assert {"base", "istiod", "gpu-operator"} <= charts
    peer = plan.one("kubernetes:security.istio.io/v1:PeerAuthentication")
    assert peer.inputs["metadata"]["namespace"] == "istio-system"
    assert peer.inputs["spec"]["mtls"]["mode"] == "STRICT"


@pytest.mark.parametrize("stack,cell", ALL_CELLS)
def test_model_deployments_request_gpus_tolerate_the_taint_and_select_the_accelerator(stack, cell, stack_plan):
    plan = cell_plan(stack_plan, stack, cell)
    models = {m.name: m for m in spec_of(stack).models}
    deployments = plan.of_type("kubernetes:apps/v1:Deployment")
    assert deployments
    for deployment in deployments:
        model = models[deployment.inputs["metadata"]["labels"]["app"]]
        pod = deployment.inputs["spec"]["template"]["spec"]
        assert pod["nodeSelector"]["lepton.ai/accelerator"] == model.accelerator
        assert {"key": "nvidia.com/gpu", "operator": "Equal", "value": "present", "effect": "NoSchedule"} in pod["tolerations"]
        assert pod["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] in (model.gpus, str(model.gpus))


@pytest.mark.parametrize("stack,cell", AWS_CELLS)
def test_the_serving_image_is_built_and_pushed_to_the_cells_ecr_repository(stack, cell, stack_plan):
    plan = cell_plan(stack_plan, stack, cell)
    repo = plan.one("aws:ecr/repository:Repository")
    image = plan.one("docker-build:index:Image")
    assert image.inputs["push"] is True
    # Immutable ECR tags: pushed under <image_tag>-<12 hex of the content>, and the inline cache is read from that tag.
    release = cell_spec(stack, cell).registry.image_tag
    [tag] = image.inputs["tags"]
    assert re.fullmatch(re.escape(f'{repo.outputs["repositoryUrl"]}:{release}-') + "[0-9a-f]{12}", tag)
    assert image.inputs["cacheFrom"] == [{"registry": {"ref": tag}}]
    deployment = plan.of_type("kubernetes:apps/v1:Deployment")[0]
    assert deployment.inputs["spec"]["template"]["spec"]["containers"][0]["image"] == image.outputs["ref"]


@pytest.mark.parametrize("stack,cell", ALL_CELLS)
def test_every_kubernetes_object_passes_the_kubernetes_schema_strictly(stack, cell, stack_plan):
    plan = cell_plan(stack_plan, stack, cell)
    version = cell_spec(stack, cell).cluster.kubernetes_version
    objects = kubernetes_objects(plan)
    errors, custom = schema_errors(objects, version)
    assert errors == []
    assert len(objects) > len(custom) > 0
    # Istio's, and the models' ScaledObject and PodMonitor: tests/upstream checks each against its vendored CRD.
    assert {r.inputs["apiVersion"].split("/")[0] for r in custom} <= {
        "security.istio.io", "networking.istio.io", "keda.sh", "monitoring.coreos.com"
    }


@pytest.mark.parametrize(
    "break_it,field",
    [
        (lambda s: s["cells"][0]["gpu_pools"][0].update(max_szie=3), "cells[0].gpu_pools[0].max_szie"),
        (lambda s: s["cells"][0]["gpu_pools"][0].update(min_size=5, max_size=1), "cells[0].gpu_pools[0].min_size"),
        (lambda s: s["cells"][0]["gpu_pools"][0].update(accelerator="a10"), "cells[0].gpu_pools[0].accelerator"),
    ],
    ids=["misspelt-key", "min-over-max", "accelerator-aws-lacks"],
)
def test_a_bad_config_fails_before_any_resource_exists(break_it, field):
    config = read_stack_config("dev", STACKS)
    spec = config[SPEC_KEY]
    break_it(spec)
    plan = OfflinePlan()
    with pytest.raises(SpecError) as err:
        run_stack("dev", STACKS, config_overrides={SPEC_KEY: spec}, plan=plan)
    assert field in dict(err.value.issues)
    assert plan.resources == []


@pytest.mark.parametrize(
    "kwargs,field",
    [({"build_context": STACKS}, "build_context"), ({"cell": "gcp-euw4"}, "cell")],
    ids=["no-serving-dockerfile-there", "unknown-cell"],
)
def test_bad_platform_args_fail_before_any_resource_exists(kwargs, field):
    spec = spec_of("dev")
    plan = OfflinePlan()
    with pytest.raises(SpecError) as err:
        run(lambda: Cell("dev", spec, **kwargs), plan=plan)
    message = dict(err.value.issues)[field]
    assert "serving/" in message or "aws-use1" in message
    assert plan.resources == []


@pytest.mark.parametrize("stack", STACK_NAMES)
def test_each_model_admits_only_its_own_namespace_through_the_mesh(stack, stack_plan):
    plan = stack_plan(stack)
    # The models' (the global metrics receiver's own, in `monitoring`, is tests/observe/test_observe_global.py's).
    found = [p for p in plan.of_type("kubernetes:security.istio.io/v1:AuthorizationPolicy") if p.inputs["metadata"]["namespace"] == "models"]
    policies = {p.inputs["metadata"]["name"]: p.inputs["spec"] for p in found}
    assert set(policies) == {m.name for m in spec_of(stack).models}
    assert len(found) == sum(len(spec_of(stack).models_for(c)) for c in spec_of(stack).cells)
    for name, policy in policies.items():
        assert policy["action"] == "ALLOW" and policy["selector"] == {"matchLabels": {"app": name}}
        assert policy["rules"] == [{"from": [{"source": {"namespaces": ["models"]}}]}]


@pytest.mark.parametrize("stack,cell", AWS_CELLS)
def test_the_in_cluster_layer_follows_the_aws_cells_capabilities(stack, cell, stack_plan):
    plan = cell_plan(stack_plan, stack, cell)
    releases = {r.inputs["chart"]: r.inputs["values"] for r in plan.of_type("kubernetes:helm.sh/v3:Release")}
    assert releases["gateway"]["service"]["annotations"] == {"service.beta.kubernetes.io/aws-load-balancer-internal": "true"}
    assert releases["gpu-operator"]["driver"]["enabled"] is False and releases["gpu-operator"]["toolkit"]["enabled"] is False
    for deployment in plan.of_type("kubernetes:apps/v1:Deployment"):
        env = {e["name"]: e.get("value") for e in deployment.inputs["spec"]["template"]["spec"]["containers"][0]["env"]}
        assert env["AWS_REGION"] == "us-east-1"


def test_a_cell_without_gpu_pools_installs_no_gpu_operator(stack_plan):
    plan = stack_plan("local")
    assert not cell_spec("local", "local").gpu_pools
    assert not [r for r in plan.of_type("kubernetes:helm.sh/v3:Release") if r.inputs["chart"] == "gpu-operator"]
    assert plan.of_type("kubernetes:apps/v1:Deployment"), "the CPU model is still served"


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_every_cell_with_gpu_pools_installs_the_gpu_operator(stack, stack_plan):
    operators = [r for r in stack_plan(stack).of_type("kubernetes:helm.sh/v3:Release") if r.inputs["chart"] == "gpu-operator"]
    assert len(operators) == len(spec_of(stack).cells)
