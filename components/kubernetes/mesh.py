"""Istio service mesh: base CRDs, the CNI node agent, istiod, an ingress gateway, and mesh-wide mTLS.

Installed from Istio's Helm charts (docs/design.md, "Mesh"). The CNI node agent replaces the ``istio-init`` container,
which needs NET_ADMIN/NET_RAW; without it no meshed pod passes the ``baseline`` or ``restricted`` Pod Security
Standard (https://istio.io/latest/docs/setup/additional-setup/pod-security-admission/), and model pods run
``restricted``. istiod already carries the multi-cluster identity (mesh ID, cluster name, network) so joining
more cells later changes values, not the release.
"""

from __future__ import annotations

from typing import Any, Literal

import pulumi
from pulumi_kubernetes.apiextensions import CustomResource
from pydantic import Field

from lepton_infra.spec import ComponentArgs, DnsLabel, MeshSpec, parse_model

from ._helm import child_name, namespace, release

TOKEN = "lepton:kubernetes:IstioMesh"
CHART_REPO = "https://istio-release.storage.googleapis.com/charts"
NAMESPACE = "istio-system"
INGRESS_NAMESPACE = "istio-ingress"
NETWORK_LABEL = "topology.istio.io/network"


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


def istiod_values(args: IstioMeshArgs) -> dict[str, Any]:
    """istiod chart values; ``pilot.*`` is copied to the chart's top level (istio-discovery zzy_descope_legacy.yaml)."""
    return {
        "pilot": {
            "autoscaleEnabled": True,
            "autoscaleMin": 2,
            "autoscaleMax": 5,
            "replicaCount": 2,
            "resources": {"requests": {"cpu": "500m", "memory": "2Gi"}},
            "cni": {"enabled": True},
        },
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


def _cni_values(args: IstioMeshArgs) -> dict[str, Any]:
    return {"global": {"platform": args.cni_platform}} if args.cni_platform else {}


class IstioMesh(pulumi.ComponentResource):
    """Istio (sidecar mode with CNI) in istio-system, an optional ingress gateway, and mesh-wide mTLS."""

    namespace: pulumi.Output[str]
    istiod_release_name: pulumi.Output[str]
    istiod_release_status: pulumi.Output[str]
    ingress_namespace: pulumi.Output[str] | None
    peer_authentication_mode: pulumi.Output[str]

    def __init__(self, name: str, args: IstioMeshArgs | dict, opts: pulumi.ResourceOptions | None = None):
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
        self.istiod = chart("istiod", "istiod", istiod_values(args), depends_on=[self.base, self.cni])

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
