import pulumi
import pytest

from lepton_infra.components.kubernetes.model_deployment import ModelDeployment
from lepton_infra.testing import run

from _support import custom_resources_after_strict_schema_check, provider_of, rejected, run_with_provider, uses_provider

DEPLOYMENT = "kubernetes:apps/v1:Deployment"
DESTINATION_RULE = "kubernetes:networking.istio.io/v1:DestinationRule"
VIRTUAL_SERVICE = "kubernetes:networking.istio.io/v1:VirtualService"
AUTHORIZATION_POLICY = "kubernetes:security.istio.io/v1:AuthorizationPolicy"
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/serving@sha256:" + "a" * 64
HOST = "llm.models.svc.cluster.local"
CANARY = {"version": "v2", "artifact": "llm/v2/model.pt", "weight": 20}


def model(**overrides):
    return {
        "name": "llm",
        "accelerator": "l4",
        "gpus": 1,
        "artifact": "llm/v1/model.pt",
        "replicas": {"min_size": 2, "max_size": 6},
        **overrides,
    }


def deployment_args(**overrides):
    return {
        "model": model(),
        "image": IMAGE,
        "model_uri_base": "s3://lake-models",
        "service_account_annotations": {"eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/llm"},
        "env": {"AWS_REGION": "us-east-1"},
        **overrides,
    }


def deploy(**overrides):
    return run(lambda: ModelDeployment("llm", deployment_args(**overrides)))


def with_canary():
    return deploy(model=model(canary=CANARY))


def deployment(plan, version="v1"):
    (found,) = [d for d in plan.of_type(DEPLOYMENT) if d.inputs["metadata"]["labels"]["version"] == version]
    return found


def pod(plan, version="v1"):
    return deployment(plan, version).inputs["spec"]["template"]["spec"]


def server(plan, version="v1"):
    (container,) = pod(plan, version)["containers"]
    return container


def env(plan, version="v1"):
    return {e["name"]: e["value"] for e in server(plan, version)["env"]}


# --------------------------------------------------------------------------------------------- the GPU contract
def test_server_requests_and_is_limited_to_the_models_gpus():
    resources = server(deploy(model=model(gpus=2)))["resources"]
    assert resources["limits"]["nvidia.com/gpu"] == "2"
    assert resources["requests"]["nvidia.com/gpu"] == "2"
    assert resources["limits"]["cpu"] == "2" and resources["limits"]["memory"] == "8Gi"


def test_pod_selects_the_accelerator_and_tolerates_the_gpu_taint_and_akss_spot_taint():
    spec = pod(deploy(model=model(accelerator="h100", gpus=8)))
    assert spec["nodeSelector"] == {"lepton.ai/accelerator": "h100"}
    assert spec["tolerations"] == [
        {"key": "nvidia.com/gpu", "operator": "Equal", "value": "present", "effect": "NoSchedule"},
        # AKS taints every spot node with this, unremovably: tolerated everywhere, so one pod spec fits every cloud.
        {"key": "kubernetes.azure.com/scalesetpriority", "operator": "Equal", "value": "spot", "effect": "NoSchedule"},
    ]


def test_shared_memory_is_a_memory_backed_empty_dir_of_the_models_size():
    plan = deploy(model=model(shm_size="4Gi"))
    volumes = {v["name"]: v for v in pod(plan)["volumes"]}
    mounts = {m["mountPath"]: m["name"] for m in server(plan)["volumeMounts"]}
    assert volumes[mounts["/dev/shm"]]["emptyDir"] == {"medium": "Memory", "sizeLimit": "4Gi"}
    assert "emptyDir" in volumes[mounts["/tmp"]]


# --------------------------------------------------------------------------------------------- security
def test_server_runs_non_root_with_a_read_only_root_filesystem_and_no_capabilities():
    plan = deploy()
    container = server(plan)["securityContext"]
    assert container["runAsNonRoot"] is True
    assert container["runAsUser"] == 10001
    assert container["readOnlyRootFilesystem"] is True
    assert container["allowPrivilegeEscalation"] is False
    assert container["capabilities"] == {"drop": ["ALL"]}
    assert container["seccompProfile"] == {"type": "RuntimeDefault"}
    pod_context = pod(plan)["securityContext"]
    assert pod_context["runAsNonRoot"] is True and pod_context["fsGroup"] == 10001


def test_namespace_is_mesh_injected_and_enforces_the_restricted_pod_security_standard():
    ns = deploy().one("kubernetes:core/v1:Namespace")
    assert ns.inputs["metadata"]["name"] == "models"
    assert ns.inputs["metadata"]["labels"] == {
        "istio-injection": "enabled",
        "pod-security.kubernetes.io/enforce": "restricted",
    }


def test_an_existing_namespace_is_used_without_creating_it():
    plan = deploy(create_namespace=False, namespace="serving")
    assert plan.of_type("kubernetes:core/v1:Namespace") == []
    assert deployment(plan).inputs["metadata"]["namespace"] == "serving"


def test_service_account_carries_the_workload_identity():
    plan = deploy()
    sa = plan.one("kubernetes:core/v1:ServiceAccount")
    assert sa.inputs["metadata"]["annotations"] == {"eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/llm"}
    assert pod(plan)["serviceAccountName"] == sa.inputs["metadata"]["name"] == "llm"


# --------------------------------------------------------------------------------------------- server contract
def test_probes_use_the_v2_health_endpoints_with_a_generous_startup_budget():
    container = server(deploy())
    assert container["startupProbe"]["httpGet"] == {"path": "/v2/health/ready", "port": "http"}
    assert container["readinessProbe"]["httpGet"]["path"] == "/v2/health/ready"
    assert container["livenessProbe"]["httpGet"]["path"] == "/v2/health/live"
    startup = container["startupProbe"]
    assert startup["periodSeconds"] * startup["failureThreshold"] >= 600


def test_container_is_configured_through_the_serving_environment():
    plan = deploy(model=model(max_batch_size=64, max_queue_delay_ms=2.5))
    assert env(plan) == {
        "MODEL_URI": "s3://lake-models/llm/v1/model.pt",
        "MODEL_NAME": "llm",
        "PORT": "8080",
        "GRPC_PORT": "8081",
        "MAX_BATCH_SIZE": "64",
        "MAX_QUEUE_DELAY_MS": "2.5",
        "SHUTDOWN_GRACE_S": "30",
        "DEVICE": "cuda",
        "AWS_REGION": "us-east-1",
    }
    assert server(plan)["image"] == IMAGE
    assert server(plan)["ports"] == [
        {"name": "http", "containerPort": 8080, "protocol": "TCP"},
        {"name": "grpc", "containerPort": 8081, "protocol": "TCP"},
    ]
    # The image's CMD is `python -m serving` with no ENTRYPOINT: container args would replace the command.
    assert "args" not in server(plan) and "command" not in server(plan)


def test_termination_grace_outlasts_the_servers_drain():
    plan = deploy()
    assert pod(plan)["terminationGracePeriodSeconds"] > float(env(plan)["SHUTDOWN_GRACE_S"])


def test_pod_gets_no_kubernetes_api_token():
    assert pod(deploy())["automountServiceAccountToken"] is False


def test_rollouts_may_outlast_a_gpu_scale_up_an_image_pull_and_the_startup_budget():
    plan = with_canary()
    startup = server(plan)["startupProbe"]
    startup_minutes = startup["periodSeconds"] * startup["failureThreshold"] / 60
    for version in ("v1", "v2"):
        timeouts = deployment(plan, version).custom_timeouts
        assert timeouts.keys() == {"create", "update"}
        assert all(float(t.removesuffix("m")) >= startup_minutes + 10 for t in timeouts.values()), timeouts


# --------------------------------------------------------------------------------------------- versions, scaling
def test_stable_deployment_is_named_by_version_and_starts_at_the_desired_replicas():
    d = deployment(deploy(model=model(replicas={"min_size": 2, "max_size": 6, "desired_size": 3})))
    assert d.inputs["metadata"]["name"] == "llm-v1"
    assert d.inputs["spec"]["replicas"] == 3
    assert d.inputs["spec"]["selector"]["matchLabels"] == {"app": "llm", "version": "v1"}


def test_canary_gets_its_own_single_replica_deployment_with_its_artifact():
    plan = with_canary()
    canary = deployment(plan, "v2")
    assert canary.inputs["metadata"]["name"] == "llm-v2"
    assert canary.inputs["spec"]["replicas"] == 1
    assert env(plan, "v2")["MODEL_URI"] == "s3://lake-models/llm/v2/model.pt"
    assert len(plan.of_type(DEPLOYMENT)) == 2


def test_the_autoscaler_not_pulumi_owns_the_stable_replica_count():
    plan = with_canary()
    assert deployment(plan, "v1").ignore_changes == ("spec.replicas",)
    assert not deployment(plan, "v2").ignore_changes


def test_keda_scales_the_stable_deployment_between_the_models_bounds_on_queue_depth_not_cpu():
    plan = deploy()
    assert plan.of_type("kubernetes:autoscaling/v2:HorizontalPodAutoscaler") == []
    spec = plan.one("kubernetes:keda.sh/v1alpha1:ScaledObject").inputs["spec"]
    assert spec["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "llm-v1"}
    assert (spec["minReplicaCount"], spec["maxReplicaCount"]) == (2, 6)
    (trigger,) = spec["triggers"]
    assert trigger["type"] == "prometheus" and "serving_queue_depth" in trigger["metadata"]["query"]


def test_pod_disruption_budget_lets_one_pod_of_the_model_go_at_a_time():
    spec = deploy().one("kubernetes:policy/v1:PodDisruptionBudget").inputs["spec"]
    assert spec == {"maxUnavailable": 1, "selector": {"matchLabels": {"app": "llm"}}}


def test_service_exposes_http_and_grpc_for_istio_protocol_selection():
    spec = deploy().one("kubernetes:core/v1:Service").inputs["spec"]
    assert spec["selector"] == {"app": "llm"}
    assert spec["ports"] == [
        {"name": "http", "port": 8080, "targetPort": "http", "appProtocol": "http"},
        {"name": "grpc", "port": 8081, "targetPort": "grpc", "appProtocol": "grpc"},
    ]


# --------------------------------------------------------------------------------------------- Istio routing
def test_destination_rule_uses_istio_mutual_tls_with_a_subset_per_version():
    dr = with_canary().one(DESTINATION_RULE)
    assert (dr.inputs["apiVersion"], dr.inputs["kind"]) == ("networking.istio.io/v1", "DestinationRule")
    assert dr.inputs["spec"]["host"] == HOST
    assert dr.inputs["spec"]["trafficPolicy"] == {"tls": {"mode": "ISTIO_MUTUAL"}}
    assert dr.inputs["spec"]["subsets"] == [
        {"name": "v1", "labels": {"version": "v1"}},
        {"name": "v2", "labels": {"version": "v2"}},
    ]


def routes(plan):
    """{subset: weight}, the same for HTTP and gRPC; each port's route matches and targets that port only."""
    vs = plan.one(VIRTUAL_SERVICE)
    assert (vs.inputs["apiVersion"], vs.inputs["kind"]) == ("networking.istio.io/v1", "VirtualService")
    assert vs.inputs["spec"]["hosts"] == [HOST]
    http, grpc = vs.inputs["spec"]["http"]
    weights = []
    for route, port in ((http, 8080), (grpc, 8081)):
        assert route["match"] == [{"port": port}]
        assert {r["destination"]["port"]["number"] for r in route["route"]} == {port}
        weights.append({r["destination"]["subset"]: r["weight"] for r in route["route"]})
    assert weights[0] == weights[1]
    return weights[0]


def test_virtual_service_splits_traffic_by_the_canary_weight():
    weights = routes(with_canary())
    assert weights == {"v1": 80, "v2": 20}
    assert sum(weights.values()) == 100


def test_virtual_service_sends_everything_to_stable_without_a_canary():
    assert routes(deploy()) == {"v1": 100}


def test_only_the_models_own_namespace_may_call_it_by_default():
    policy = deploy().one(AUTHORIZATION_POLICY).inputs
    assert policy["metadata"]["namespace"] == "models"
    assert policy["spec"] == {
        "selector": {"matchLabels": {"app": "llm"}},
        "action": "ALLOW",
        "rules": [{"from": [{"source": {"namespaces": ["models"]}}]}],
    }


def test_the_authorization_policy_covers_the_grpc_port_too():
    """Its rules name callers, not ports: every port of the model's pods (HTTP and gRPC) admits the same callers."""
    plan = deploy(model=model(callers=["apps"]))
    (rule,) = plan.one(AUTHORIZATION_POLICY).inputs["spec"]["rules"]
    assert "to" not in rule and {p["name"] for p in server(plan)["ports"]} == {"http", "grpc"}


def test_named_callers_are_added_to_the_allowed_namespaces():
    policy = deploy(model=model(callers=["istio-ingress", "apps"])).one(AUTHORIZATION_POLICY).inputs["spec"]
    assert policy["rules"] == [{"from": [{"source": {"namespaces": ["apps", "istio-ingress", "models"]}}]}]


def test_every_kubernetes_object_passes_the_schema_and_the_custom_resources_are_istio_scaling_and_metrics():
    custom = custom_resources_after_strict_schema_check(with_canary())
    assert sorted(r.type for r in custom) == sorted([
        DESTINATION_RULE, VIRTUAL_SERVICE, AUTHORIZATION_POLICY,
        "kubernetes:keda.sh/v1alpha1:ScaledObject", "kubernetes:monitoring.coreos.com/v1:PodMonitor",
    ])


# --------------------------------------------------------------------------------------------- wiring
def test_image_and_model_location_may_be_outputs():
    def program():
        ModelDeployment(
            "llm",
            deployment_args(image=pulumi.Output.from_input(IMAGE), model_uri_base=pulumi.Output.from_input("s3://b")),
        )

    plan = run(program)
    assert server(plan)["image"] == IMAGE
    assert env(plan)["MODEL_URI"] == "s3://b/llm/v1/model.pt"


def test_children_use_the_provider_given_to_the_component():
    plan = run_with_provider(lambda opts: ModelDeployment("llm", deployment_args(model=model(canary=CANARY)), opts))
    kids = plan.children(plan.one("lepton:kubernetes:ModelDeployment"))
    assert len(kids) == 11  # ns, sa, 2 deployments, svc, scaledobject, podmonitor, pdb, dr, vs, authz
    assert all(uses_provider(k, provider_of(plan)) for k in kids)


def test_two_models_coexist_in_one_namespace():
    def program():
        ModelDeployment("llm", deployment_args())
        ModelDeployment("vision", deployment_args(model=model(name="vision"), create_namespace=False))

    plan = run(program)
    assert len({r.urn for r in plan.resources}) == len(plan.resources)
    assert {d.inputs["metadata"]["name"] for d in plan.of_type(DEPLOYMENT)} == {"llm-v1", "vision-v1"}


def test_outputs():
    def program():
        md = ModelDeployment("llm", deployment_args(model=model(canary=CANARY)))
        pulumi.export("service", md.service_name)
        pulumi.export("deployments", md.deployment_names)
        pulumi.export("ns", md.namespace)
        pulumi.export("host", md.host)

    out = run(program).stack_outputs
    assert (out["service"], out["deployments"], out["ns"], out["host"]) == ("llm", ["llm-v1", "llm-v2"], "models", HOST)


@pytest.mark.parametrize(
    "bad, field",
    [
        ({"model": model(name="LLM")}, "model.name"),
        ({"model": model(canary={**CANARY, "weight": 120})}, "model.canary.weight"),
        ({"model": model(canary={**CANARY, "version": "v1"})}, "model.canary.version"),
        ({"namespace": "Models"}, "namespace"),
        ({"env": {"AWS_REGION": 1}}, "env.AWS_REGION"),
        ({"replica_count": 3}, "replica_count"),
        ({"model": model(callers=["Apps"])}, "model.callers[0]"),
    ],
)
def test_bad_args_are_rejected_naming_the_field_with_nothing_registered(bad, field):
    error, plan = rejected(lambda: ModelDeployment("llm", deployment_args(**bad)))
    assert field in [path for path, _ in error.issues]
    assert plan.resources == []


def test_image_and_model_location_are_required():
    args = deployment_args()
    del args["image"], args["model_uri_base"]
    error, plan = rejected(lambda: ModelDeployment("llm", args))
    assert sorted(path for path, _ in error.issues) == ["image", "model_uri_base"]
    assert plan.resources == []
