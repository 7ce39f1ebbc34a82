"""Istio service mesh: base CRDs, the CNI node agent, istiod, an ingress gateway, and mesh-wide mTLS.

Installed from Istio's Helm charts (docs/design.md, "Mesh"). In a stack of several cells the mesh is one across them
(multi-primary on different networks, istio.io/latest/docs/setup/install/multicluster/multi-primary_multi-network/):
given ``multi_cluster``, istiod signs with the cluster's intermediate of the mesh's root CA (secret ``cacerts``), an
east-west gateway exposes the cluster's services to the other networks, and a reader ServiceAccount lets the other
cells' istiods watch this cluster (their remote secrets, :func:`remote_secret`, carry its token).
The CNI node agent replaces the ``istio-init`` container, which needs NET_ADMIN/NET_RAW; without it no meshed pod
passes the ``baseline`` or ``restricted`` Pod Security Standard
(https://istio.io/latest/docs/setup/additional-setup/pod-security-admission/), and model pods run ``restricted``. istiod already carries the multi-cluster identity (mesh ID, cluster name, network) so joining
more cells later changes values, not the release.
"""

from __future__ import annotations

import hashlib

import base64
from dataclasses import dataclass
from typing import Any, Literal, Mapping, Required, TypedDict

import pulumi
import pulumi_kubernetes.core.v1 as core
import pulumi_kubernetes.rbac.v1 as rbac
from pulumi_kubernetes.apiextensions import CustomResource
from pydantic import Field

from lepton_infra.kubeconfig import single_cluster
from lepton_infra.spec import ComponentArgs, DnsLabel, MeshSpec, parse_model

from ._helm import child_name, namespace, release
from .mesh_ca import PluggedCa

TOKEN = "lepton:kubernetes:IstioMesh"
CHART_REPO = "https://istio-release.storage.googleapis.com/charts"
NAMESPACE = "istio-system"
INGRESS_NAMESPACE = "istio-ingress"
NETWORK_LABEL = "topology.istio.io/network"
CACERTS = "cacerts"  # the secret istiod reads a plugged-in CA from (Istio, "Plug in CA Certificates")
EASTWEST_GATEWAY = "istio-eastwestgateway"  # Istio's multicluster docs name it so; the chart labels it istio=eastwestgateway
EASTWEST_SELECTOR = {"istio": "eastwestgateway"}
CROSS_NETWORK_PORT = 15443  # Istio's multicluster docs: the east-west gateway's mTLS passthrough port
READER = "lepton-istio-reader"  # not istio-reader-*: those names belong to the istiod chart's own objects
MULTICLUSTER_LABEL = "istio/multiCluster"  # istiod watches secrets labelled so for remote clusters' kubeconfigs
CLUSTER_ANNOTATION = "networking.istio.io/cluster"
# What istiod reads in a remote cluster: the rules of the istiod chart's reader ClusterRole (istio-discovery
# templates/reader-clusterrole.yaml, Istio 1.28.0), which istioctl create-remote-secret's account
# (istio-reader-service-account) is bound to, rule for rule: the chart's MCS API group default
# (`.Values.env.MCS_API_GROUP`, unset here) and without the `istiodRemote.enabled` rules (a remote-istiod install,
# not ours). The template is vendored in tests/upstream/istio-1.28.0; test_upstream_templates.py checks these
# against it. (The workloadentries rule is already covered by the first one's "*"; kept, as the chart has it.)
READER_RULES = [
    {
        "api_groups": ["config.istio.io", "security.istio.io", "networking.istio.io", "authentication.istio.io",
                       "rbac.istio.io", "telemetry.istio.io", "extensions.istio.io"],
        "resources": ["*"],
        "verbs": ["get", "list", "watch"],
    },
    {
        "api_groups": [""],
        "resources": ["endpoints", "pods", "services", "nodes", "replicationcontrollers", "namespaces", "secrets"],
        "verbs": ["get", "list", "watch"],
    },
    {"api_groups": ["networking.istio.io"], "resources": ["workloadentries"], "verbs": ["get", "list", "watch"]},
    {"api_groups": ["networking.x-k8s.io", "gateway.networking.k8s.io"], "resources": ["gateways"], "verbs": ["get", "list", "watch"]},
    {"api_groups": ["apiextensions.k8s.io"], "resources": ["customresourcedefinitions"], "verbs": ["get", "list", "watch"]},
    {"api_groups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": ["get", "list", "watch"]},
    {"api_groups": ["multicluster.x-k8s.io"], "resources": ["serviceexports"], "verbs": ["get", "list", "watch", "create", "delete"]},
    {"api_groups": ["multicluster.x-k8s.io"], "resources": ["serviceimports"], "verbs": ["get", "list", "watch"]},
    {"api_groups": ["apps"], "resources": ["replicasets"], "verbs": ["get", "list", "watch"]},
    {"api_groups": ["authentication.k8s.io"], "resources": ["tokenreviews"], "verbs": ["create"]},
    {"api_groups": ["authorization.k8s.io"], "resources": ["subjectaccessreviews"], "verbs": ["create"]},
]


@dataclass(frozen=True)
class MeshMember:
    """What the other cells need of this cluster to watch it: its API server, CA and a reader token."""

    cluster_name: str
    api_endpoint: pulumi.Output[str]
    certificate_authority: pulumi.Output[str]  # base64 PEM
    reader_token: pulumi.Output[str]  # secret
    provider: pulumi.ProviderResource  # where this cluster's remote secrets (for the others) are written
    ready: list[pulumi.Resource]  # istio-system exists, and the reader's token is issued


class MultiClusterArgsDict(TypedDict, total=False):
    """MultiClusterArgs as a plain dict: the same keys, validated the same way."""

    ca: Required[PluggedCa]


class MultiClusterArgs(ComponentArgs):
    """The mesh across cells: this cluster's CA, an intermediate under the mesh's one root."""

    ca: PluggedCa


class IstioMeshArgsDict(TypedDict, total=False):
    """IstioMeshArgs as a plain dict: the same keys, validated the same way."""

    spec: MeshSpec | Mapping[str, Any]
    internal_load_balancer_annotations: Mapping[str, str]
    mesh_id: DnsLabel
    cluster_name: Required[DnsLabel]
    network: Required[DnsLabel]
    outbound_traffic: Literal["ALLOW_ANY", "REGISTRY_ONLY"]
    cni_platform: Literal["gke", "k3d", "k3s", "microk8s", "minikube", "openshift"] | None
    multi_cluster: MultiClusterArgs | MultiClusterArgsDict | None


class IstioMeshArgs(ComponentArgs):
    spec: MeshSpec = MeshSpec()
    internal_load_balancer_annotations: dict[str, str] = Field(
        default_factory=dict,
        description="What keeps a LoadBalancer Service inside the cell's network on this cloud (the cell's capabilities).",
    )
    mesh_id: DnsLabel = "lepton"
    cluster_name: DnsLabel
    network: DnsLabel
    outbound_traffic: Literal["ALLOW_ANY", "REGISTRY_ONLY"] = "ALLOW_ANY"
    """ALLOW_ANY (Istio's default): sidecars pass traffic to hosts outside the mesh registry, so model pods reach
    their object store (S3 / GCS / Blob) and cloud identity endpoints without a ServiceEntry per cloud endpoint.
    REGISTRY_ONLY is the locked-down opt-in; it then needs ServiceEntries for every external host."""
    cni_platform: Literal["gke", "k3d", "k3s", "microk8s", "minikube", "openshift"] | None = None
    """Istio CNI's ``global.platform`` for distributions whose CNI paths are not the default (None: EKS, AKS, kubeadm)."""
    multi_cluster: MultiClusterArgs | None = None
    """One mesh with the other cells (None: a mesh of this cluster alone, istiod's self-signed CA, no east-west gateway)."""


# istiod picks its CA once, when it starts (pilot/pkg/bootstrap/istio_ca.go, createIstioCA, 1.28): a cacerts secret
# written under a running istiod (a cell joining a mesh, or a new intermediate) is not used until istiod restarts. The
# certificate's digest on istiod's pod template makes any such change a rolling restart.
CA_DIGEST_ANNOTATION = "lepton.ai/ca-cert-sha256"


def istiod_values(args: IstioMeshArgs) -> dict[str, Any]:
    """istiod chart values; ``pilot.*`` is copied to the chart's top level (istio-discovery zzy_descope_legacy.yaml)."""
    pilot: dict[str, Any] = {
        "autoscaleEnabled": True,
        "autoscaleMin": 2,
        "autoscaleMax": 5,
        "replicaCount": 2,
        "resources": {"requests": {"cpu": "500m", "memory": "2Gi"}},
        "cni": {"enabled": True},
    }
    if args.multi_cluster:
        digest = args.multi_cluster.ca.ca_cert.apply(lambda pem: hashlib.sha256(pem.encode()).hexdigest())
        pilot["podAnnotations"] = {CA_DIGEST_ANNOTATION: digest}
    return {
        "pilot": pilot,
        "global": {
            "meshID": args.mesh_id,
            "multiCluster": {"clusterName": args.cluster_name},
            "network": args.network,
        },
        "meshConfig": {
            "accessLogFile": "/dev/stdout",
            "accessLogEncoding": "JSON",
            "outboundTrafficPolicy": {"mode": args.outbound_traffic},
            # The app container starts only once its sidecar is ready, so model downloads at start-up go through.
            "defaultConfig": {"holdApplicationUntilProxyStarts": True},
        },
    }


def ingress_gateway_values(args: IstioMeshArgs) -> dict[str, Any]:
    """gateway chart values: two replicas at least, behind an internal load balancer unless public_ingress."""
    annotations = {} if args.spec.public_ingress else dict(args.internal_load_balancer_annotations)
    return {"autoscaling": {"minReplicas": 2}, "service": {"annotations": annotations}}


def eastwest_gateway_values(args: IstioMeshArgs) -> dict[str, Any]:
    """gateway chart values of the east-west gateway, as Istio's multicluster docs install it with Helm
    (``--set name=istio-eastwestgateway --set networkGateway=<network>``). With ``networkGateway`` set, the chart
    (templates/service.yaml, deployment.yaml, 1.28.0) gives the Service its own fixed ports, status-port 15021, tls
    15443 (the cross-network port), tls-istiod 15012 and tls-webhook 15017, and ignores ``service.ports``, so none
    are set here; it labels the Service and the pods topology.istio.io/network=<network> and sets
    ISTIO_META_REQUESTED_NETWORK_VIEW. The name gives the selector istio=eastwestgateway (templates/_helpers.tpl).
    Always behind an internal load balancer: cells reach each other over private connectivity between their
    networks (VPN, interconnect), which this library does not create."""
    return {
        "name": EASTWEST_GATEWAY,
        "networkGateway": args.network,
        "autoscaling": {"minReplicas": 2},
        "service": {"annotations": dict(args.internal_load_balancer_annotations)},
    }


def cross_network_gateway_spec() -> dict[str, Any]:
    """Istio's samples/multicluster/expose-services.yaml: every *.local service through port 15443, mTLS passed through."""
    return {
        "selector": dict(EASTWEST_SELECTOR),
        "servers": [
            {
                "port": {"number": CROSS_NETWORK_PORT, "name": "tls", "protocol": "TLS"},
                "tls": {"mode": "AUTO_PASSTHROUGH"},
                "hosts": ["*.local"],
            }
        ],
    }


def remote_kubeconfig(cluster_name: str, server: str, ca_data: str, token: str) -> str:
    """A kubeconfig of ``cluster_name`` authenticating with a bearer token, as ``istioctl create-remote-secret``
    writes it: istiod runs no cloud CLI, so no exec plugin."""
    return single_cluster(cluster_name, {"server": server, "certificate-authority-data": ca_data}, {"token": token})


def remote_secret(parent: pulumi.Resource, name: str, remote: MeshMember, local: MeshMember) -> core.Secret:
    """In ``local``'s istio-system: how its istiod reaches ``remote`` (Istio's remote secret, the shape istioctl
    create-remote-secret gives it: labelled istio/multiCluster=true, the kubeconfig under the cluster's name)."""
    config = pulumi.Output.all(remote.api_endpoint, remote.certificate_authority, remote.reader_token).apply(
        lambda a: remote_kubeconfig(remote.cluster_name, *a)
    )
    return core.Secret(
        name,
        metadata={
            "name": f"istio-remote-secret-{remote.cluster_name}",
            "namespace": NAMESPACE,
            "labels": {MULTICLUSTER_LABEL: "true"},
            "annotations": {CLUSTER_ANNOTATION: remote.cluster_name},
        },
        string_data={remote.cluster_name: pulumi.Output.secret(config)},
        opts=pulumi.ResourceOptions(parent=parent, provider=local.provider, depends_on=[*local.ready, *remote.ready]),
    )


def _cni_values(args: IstioMeshArgs) -> dict[str, Any]:
    return {"global": {"platform": args.cni_platform}} if args.cni_platform else {}


class IstioMesh(pulumi.ComponentResource):
    """Istio (sidecar mode with CNI) in istio-system, an optional ingress gateway, and mesh-wide mTLS."""

    namespace: pulumi.Output[str]
    istiod_release_name: pulumi.Output[str]
    istiod_release_status: pulumi.Output[str]
    ingress_namespace: pulumi.Output[str] | None
    peer_authentication_mode: pulumi.Output[str]

    reader_token: pulumi.Output[str] | None  # with multi_cluster: the token the other cells' istiods read this one with
    member_ready: list[pulumi.Resource]  # what a remote secret for this cluster waits for (istio-system, the token)

    def __init__(self, name: str, args: IstioMeshArgs | IstioMeshArgsDict, opts: pulumi.ResourceOptions | None = None):
        args = parse_model(IstioMeshArgs, args)
        super().__init__(TOKEN, name, None, opts)
        version = args.spec.istio_version

        # privileged: the CNI node agent mounts host CNI directories (Istio's PSA guide labels istio-system so).
        ns = namespace(
            self, NAMESPACE, {NETWORK_LABEL: args.network, "pod-security.kubernetes.io/enforce": "privileged"}
        )

        def chart(release_name: str, chart_name: str, values: dict, depends_on=(), in_namespace=ns.metadata.name):
            return release(
                self, release_name, chart=chart_name, repo=CHART_REPO, version=version,
                namespace=in_namespace, values=values, depends_on=depends_on,
            )

        self.base = chart("istio-base", "base", {})
        self.cni = chart("istio-cni", "cni", _cni_values(args), depends_on=[self.base])
        # istiod reads cacerts when it starts: the secret is there first, or istiod signs with a self-signed root.
        plugged = [self._cacerts(args.multi_cluster.ca, ns)] if args.multi_cluster else []
        self.istiod = chart("istiod", "istiod", istiod_values(args), depends_on=[self.base, self.cni, *plugged])

        self.ingress_namespace = None
        if args.spec.ingress_gateway:
            ingress_ns = namespace(self, INGRESS_NAMESPACE, {"istio-injection": "enabled"})
            chart(
                "istio-ingressgateway", "gateway", ingress_gateway_values(args),
                depends_on=[self.istiod], in_namespace=ingress_ns.metadata.name,
            )
            self.ingress_namespace = ingress_ns.metadata.name

        # The CRD comes from base; istiod's validating webhook must be up to admit the object.
        self.peer_authentication = CustomResource(
            child_name(self, "mesh-mtls"),
            api_version="security.istio.io/v1",
            kind="PeerAuthentication",
            metadata={"name": "default", "namespace": NAMESPACE},
            spec={"mtls": {"mode": args.spec.mtls}},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.istiod]),
        )

        self.reader_token, self.member_ready = None, []
        if args.multi_cluster:
            chart("istio-eastwestgateway", "gateway", eastwest_gateway_values(args), depends_on=[self.istiod])
            CustomResource(
                child_name(self, "cross-network-gateway"),
                api_version="networking.istio.io/v1",
                kind="Gateway",
                metadata={"name": "cross-network-gateway", "namespace": NAMESPACE},
                spec=cross_network_gateway_spec(),
                opts=pulumi.ResourceOptions(parent=self, depends_on=[self.istiod]),
            )
            token = self._reader()
            self.reader_token = pulumi.Output.secret(token.data.apply(lambda d: base64.b64decode((d or {})["token"]).decode()))
            self.member_ready = [ns, token]

        self.namespace = ns.metadata.name
        self.istiod_release_name = self.istiod.name
        self.istiod_release_status = self.istiod.status.status
        self.peer_authentication_mode = pulumi.Output.from_input(args.spec.mtls)
        self.register_outputs(
            {
                "namespace": self.namespace,
                "istiod_release_name": self.istiod_release_name,
                "istiod_release_status": self.istiod_release_status,
                "ingress_namespace": self.ingress_namespace,
                "peer_authentication_mode": self.peer_authentication_mode,
            }
        )

    def _cacerts(self, ca: PluggedCa, ns: core.Namespace) -> core.Secret:
        return core.Secret(
            child_name(self, CACERTS),
            metadata={"name": CACERTS, "namespace": ns.metadata.name},
            string_data={
                "ca-cert.pem": ca.ca_cert,
                "ca-key.pem": pulumi.Output.secret(ca.ca_key),
                "root-cert.pem": ca.root_cert,
                "cert-chain.pem": ca.cert_chain,
            },
            opts=pulumi.ResourceOptions(parent=self, additional_secret_outputs=["data", "stringData"]),
        )

    def _reader(self) -> core.Secret:
        """A ServiceAccount the other cells' istiods act as here, bound to Istio's reader rules, and its long-lived
        token (a service-account-token Secret: the token controller fills ``data.token``, and pulumi-kubernetes waits
        for it, pulumi/pulumi-kubernetes#2048)."""
        child = pulumi.ResourceOptions(parent=self)
        account = core.ServiceAccount(
            child_name(self, "reader-sa"), metadata={"name": READER, "namespace": NAMESPACE}, opts=pulumi.ResourceOptions(parent=self, depends_on=[self.base])
        )
        role = rbac.ClusterRole(child_name(self, "reader-role"), metadata={"name": READER}, rules=READER_RULES, opts=child)
        rbac.ClusterRoleBinding(
            child_name(self, "reader-binding"),
            metadata={"name": READER},
            role_ref={"api_group": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role.metadata.name},
            subjects=[{"kind": "ServiceAccount", "name": account.metadata.name, "namespace": NAMESPACE}],
            opts=child,
        )
        return core.Secret(
            child_name(self, "reader-token"),
            metadata={"name": f"{READER}-token", "namespace": NAMESPACE, "annotations": {"kubernetes.io/service-account.name": account.metadata.name}},
            type="kubernetes.io/service-account-token",
            opts=pulumi.ResourceOptions(parent=self, additional_secret_outputs=["data"]),
        )
