import pulumi
import pytest

from lepton_infra.components.kubernetes.mesh import IstioMesh
from lepton_infra.testing import run

from _support import custom_resources_after_strict_schema_check, provider_of, rejected, run_with_provider, uses_provider

RELEASE = "kubernetes:helm.sh/v3:Release"
PEER_AUTHENTICATION = "kubernetes:security.istio.io/v1:PeerAuthentication"
ISTIO_REPO = "https://istio-release.storage.googleapis.com/charts"
INTERNAL = {"service.beta.kubernetes.io/aws-load-balancer-internal": "true"}  # what an AWS cell's capabilities give


def mesh_args(**overrides):
    return {"cluster_name": "dev-use1", "network": "net-use1", "internal_load_balancer_annotations": INTERNAL, **overrides}


def mesh(**overrides):
    return run(lambda: IstioMesh("mesh", mesh_args(**overrides)))


def namespace_named(plan, name):
    (found,) = [r for r in plan.of_type("kubernetes:core/v1:Namespace") if r.inputs["metadata"]["name"] == name]
    return found


def release_of(plan, chart):
    (found,) = [r for r in plan.of_type(RELEASE) if r.inputs["chart"] == chart]
    return found


def test_charts_come_pinned_from_istios_repository():
    plan = mesh(spec={"istio_version": "1.27.3"})
    charts = {r.inputs["chart"] for r in plan.of_type(RELEASE)}
    assert charts == {"base", "cni", "istiod", "gateway"}
    for r in plan.of_type(RELEASE):
        assert r.inputs["repositoryOpts"]["repo"] == ISTIO_REPO
        assert r.inputs["version"] == "1.27.3"
        assert r.inputs["atomic"] is True


def test_istiod_installs_after_base_and_cni():
    plan = mesh()
    istiod = release_of(plan, "istiod")
    assert release_of(plan, "base").urn in istiod.dependencies
    assert release_of(plan, "cni").urn in istiod.dependencies
    assert release_of(plan, "base").urn in release_of(plan, "cni").dependencies


def test_istiod_carries_the_multi_cluster_identity():
    values = release_of(mesh(mesh_id="lepton-prod"), "istiod").inputs["values"]
    assert values["global"]["meshID"] == "lepton-prod"
    assert values["global"]["multiCluster"]["clusterName"] == "dev-use1"
    assert values["global"]["network"] == "net-use1"


def test_istiod_is_highly_available_and_uses_the_cni_agent():
    pilot = release_of(mesh(), "istiod").inputs["values"]["pilot"]
    assert pilot["autoscaleEnabled"] is True
    assert pilot["autoscaleMin"] >= 2
    assert pilot["resources"]["requests"]["memory"] == "2Gi"
    assert pilot["cni"]["enabled"] is True


@pytest.mark.parametrize("mode", ["ALLOW_ANY", "REGISTRY_ONLY"])
def test_outbound_traffic_policy_is_a_named_choice(mode):
    mesh_config = release_of(mesh(outbound_traffic=mode), "istiod").inputs["values"]["meshConfig"]
    assert mesh_config["outboundTrafficPolicy"] == {"mode": mode}
    assert mesh_config["accessLogFile"] == "/dev/stdout"


def test_outbound_traffic_defaults_to_allow_any():
    mesh_config = release_of(mesh(), "istiod").inputs["values"]["meshConfig"]
    assert mesh_config["outboundTrafficPolicy"] == {"mode": "ALLOW_ANY"}


def test_istio_system_is_labelled_with_its_network_and_allows_the_cni_agent():
    ns = namespace_named(mesh(), "istio-system")
    assert ns.inputs["metadata"]["labels"]["topology.istio.io/network"] == "net-use1"
    assert ns.inputs["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "privileged"
    assert release_of(mesh(), "istiod").inputs["namespace"] == "istio-system"


def test_cni_platform_is_passed_only_when_named():
    assert release_of(mesh(), "cni").inputs["values"] == {}
    assert release_of(mesh(cni_platform="gke"), "cni").inputs["values"] == {"global": {"platform": "gke"}}


def test_ingress_gateway_runs_injected_in_its_own_namespace_after_istiod():
    plan = mesh()
    gateway = release_of(plan, "gateway")
    ns = namespace_named(plan, "istio-ingress")
    assert gateway.inputs["name"] == "istio-ingressgateway"
    assert gateway.inputs["namespace"] == "istio-ingress"
    assert ns.inputs["metadata"]["labels"] == {"istio-injection": "enabled"}
    assert release_of(plan, "istiod").urn in gateway.dependencies


def test_ingress_load_balancer_is_internal_to_the_network_by_default():
    values = release_of(mesh(), "gateway").inputs["values"]
    assert values["service"]["annotations"] == INTERNAL


def test_an_internet_facing_ingress_is_a_named_opt_out():
    values = release_of(mesh(spec={"public_ingress": True}), "gateway").inputs["values"]
    assert values["service"]["annotations"] == {}


def test_no_ingress_gateway_when_the_spec_turns_it_off():
    plan = mesh(spec={"ingress_gateway": False})
    assert "gateway" not in {r.inputs["chart"] for r in plan.of_type(RELEASE)}
    assert [r.inputs["metadata"]["name"] for r in plan.of_type("kubernetes:core/v1:Namespace")] == ["istio-system"]


def test_mesh_wide_mtls_is_strict_in_istio_system_after_istiod():
    plan = mesh()
    pa = plan.one(PEER_AUTHENTICATION)
    assert pa.inputs["apiVersion"] == "security.istio.io/v1"
    assert pa.inputs["kind"] == "PeerAuthentication"
    assert pa.inputs["metadata"] == {"name": "default", "namespace": "istio-system"}
    assert pa.inputs["spec"] == {"mtls": {"mode": "STRICT"}}
    assert release_of(plan, "istiod").urn in pa.dependencies


def test_permissive_mtls_is_an_explicit_opt_out():
    pa = mesh(spec={"mtls": "PERMISSIVE"}).one(PEER_AUTHENTICATION)
    assert pa.inputs["spec"]["mtls"]["mode"] == "PERMISSIVE"


def test_every_kubernetes_object_passes_the_schema_and_the_custom_resource_is_the_peer_authentication():
    custom = custom_resources_after_strict_schema_check(mesh())
    assert [r.type for r in custom] == [PEER_AUTHENTICATION]


def test_children_use_the_provider_given_to_the_component():
    plan = run_with_provider(lambda opts: IstioMesh("mesh", mesh_args(), opts))
    kids = plan.descendants(plan.one("lepton:kubernetes:IstioMesh"))
    assert len(kids) == 7
    assert all(uses_provider(k, provider_of(plan)) for k in kids)


def test_two_cells_meshes_coexist_in_one_stack():
    def program():
        IstioMesh("use1", mesh_args())
        IstioMesh("euw1", mesh_args(cluster_name="prod-euw1", network="net-euw1"))

    plan = run(program)
    assert len({r.urn for r in plan.resources}) == len(plan.resources) == 16


def test_outputs():
    def program():
        m = IstioMesh("mesh", mesh_args())
        pulumi.export("namespace", m.namespace)
        pulumi.export("istiod", m.istiod_release_name)
        pulumi.export("status", m.istiod_release_status)
        pulumi.export("ingress", m.ingress_namespace)
        pulumi.export("mtls", m.peer_authentication_mode)

    out = run(program).stack_outputs
    assert [out[k] for k in ("namespace", "istiod", "status", "ingress", "mtls")] == [
        "istio-system", "istiod", "deployed", "istio-ingress", "STRICT",
    ]


@pytest.mark.parametrize(
    "bad, field",
    [
        ({"network": "Net_1"}, "network"),
        ({"spec": {"mtls": "DISABLE"}}, "spec.mtls"),
        ({"outbound_traffic": "DENY"}, "outbound_traffic"),
        ({"cluster_name": None}, "cluster_name"),
        ({"cloud": "aws"}, "cloud"),
    ],
)
def test_bad_args_are_rejected_naming_the_field_with_nothing_registered(bad, field):
    error, plan = rejected(lambda: IstioMesh("mesh", mesh_args(**bad)))
    assert [path for path, _ in error.issues] == [field]
    assert plan.resources == []
