"""The models namespace's NetworkPolicies: deny by default, then allow exactly what serving and its sidecar need.

Kubernetes NetworkPolicy semantics (kubernetes.io/docs/concepts/services-networking/network-policies/): a pod that
any policy selects for a direction accepts only what some policy allows in that direction, and traffic to and from the
node a pod runs on is always allowed, so the kubelet's probes (rewritten by Istio to the agent's port 15020) need no
rule. Istio's sidecar redirects traffic inside the pod's own network namespace, so the policies see the connections'
real ports: callers' on the serving port, the agent's 15020 for the merged metrics, xDS to istiod on 15012.

Allowed in:
- the serving port(s), per model, from the namespaces the model admits (its own and ``callers``, the same set its
  Istio AuthorizationPolicy names), and in a mesh across cells from the east-west gateway, through which the other
  cells' callers arrive (mTLS passed through, so the AuthorizationPolicy still sees the caller);
- 15020 (the sidecar agent's merged metrics, model_deployment.py SCRAPE_ANNOTATIONS) from the monitoring namespace.
Allowed out:
- DNS (53 UDP/TCP) anywhere: the cluster's resolver is CoreDNS in kube-system on EKS, AKS and kubeadm, kube-dns or
  Cloud DNS on GKE, NodeLocal DNSCache at a link-local address where installed: no one selector holds everywhere;
- istiod's xDS and certificate port 15012 (pods labelled app=istiod in istio-system: the istiod chart's own
  NetworkPolicy selects them so, istio-discovery templates/networkpolicy.yaml);
- HTTPS (443) anywhere: the lake's object store (S3, Blob, Cloud Storage) and the clouds' identity endpoints (STS,
  Entra ID, Google's STS) are the clouds' public or private-endpoint addresses, which a NetworkPolicy cannot name
  (it has no host names) and which change;
- what the cell's cloud adds (cell_contract.Capabilities.model_egress): GKE's metadata server, an existing cluster's
  S3 endpoint.
Images are pulled by the node's container runtime, not the pod: the registry needs no rule here.
"""

from __future__ import annotations

from typing import Any, Mapping, Required, Sequence, TypedDict

import pulumi
import pulumi_kubernetes.networking.v1 as networking
from pydantic import Field

from lepton_infra.cell_contract import Egress
from lepton_infra.spec import ComponentArgs, DnsLabel, parse_model

from ._helm import child_name

TOKEN = "lepton:kubernetes:ModelsNetworkPolicy"
NAMESPACE_LABEL = "kubernetes.io/metadata.name"  # set by the API server on every namespace (Kubernetes 1.21+)
ISTIO_NAMESPACE = "istio-system"  # mesh.py NAMESPACE
ISTIOD_SELECTOR = {"app": "istiod"}
ISTIOD_XDS_PORT = 15012  # Istio's "Ports used by Istio": xDS and CA (TLS), what the sidecars connect to
AGENT_METRICS_PORT = 15020  # Istio's "Ports used by Istio": the agent's merged Prometheus telemetry
DNS_PORT = 53
HTTPS_PORT = 443


class ModelsNetworkPolicyArgsDict(TypedDict, total=False):
    """ModelsNetworkPolicyArgs as a plain dict: the same keys, validated the same way."""

    namespace: Required[DnsLabel]
    callers: Required[Mapping[DnsLabel, Sequence[DnsLabel]]]
    serving_ports: Required[Sequence[int]]
    east_west_gateway: Mapping[str, str] | None
    monitoring_namespace: DnsLabel | None
    egress: Sequence[Egress]


class ModelsNetworkPolicyArgs(ComponentArgs):
    namespace: DnsLabel
    callers: dict[DnsLabel, list[DnsLabel]] = Field(
        description="Per model (its pods' `app` label): the namespaces whose pods may call it besides its own."
    )
    serving_ports: list[int] = Field(min_length=1, description="The models' container ports callers connect to.")
    east_west_gateway: dict[str, str] | None = Field(
        None, description="Pod labels of the mesh's east-west gateway in istio-system, in a mesh across cells."
    )
    monitoring_namespace: DnsLabel | None = Field(None, description="Where the Prometheus that scrapes the models runs.")
    egress: list[Egress] = Field(default_factory=list, description="What the cell's cloud adds (Capabilities.model_egress).")


def _namespace(name: str) -> dict[str, Any]:
    return {"namespace_selector": {"match_labels": {NAMESPACE_LABEL: name}}}


def _ports(ports: list[int], protocol: str = "TCP") -> list[dict[str, Any]]:
    return [{"protocol": protocol, "port": p} for p in ports]


def serving_ingress(args: ModelsNetworkPolicyArgs, model: str) -> dict[str, Any]:
    """One model's serving ingress: from the namespaces it admits, and the east-west gateway in a mesh of cells."""
    peers = [_namespace(ns) for ns in sorted({args.namespace, *args.callers[model]})]
    if args.east_west_gateway:
        peers.append({**_namespace(ISTIO_NAMESPACE), "pod_selector": {"match_labels": dict(args.east_west_gateway)}})
    return {
        "pod_selector": {"match_labels": {"app": model}},
        "policy_types": ["Ingress"],
        "ingress": [{"from": peers, "ports": _ports(args.serving_ports)}],
    }


def _egress_rule(e: Egress) -> dict[str, Any]:
    rule: dict[str, Any] = {"ports": _ports([e.port], e.protocol)}
    if e.cidr:
        rule["to"] = [{"ip_block": {"cidr": e.cidr}}]
    elif e.namespace:
        rule["to"] = [_namespace(e.namespace)]
    return rule


def egress(args: ModelsNetworkPolicyArgs) -> dict[str, Any]:
    """Every model pod's way out: DNS, istiod, HTTPS, and the cloud's additions."""
    return {
        "pod_selector": {},
        "policy_types": ["Egress"],
        "egress": [
            {"ports": _ports([DNS_PORT], "UDP") + _ports([DNS_PORT])},
            {
                "to": [{**_namespace(ISTIO_NAMESPACE), "pod_selector": {"match_labels": dict(ISTIOD_SELECTOR)}}],
                "ports": _ports([ISTIOD_XDS_PORT]),
            },
            {"ports": _ports([HTTPS_PORT])},
            *[_egress_rule(e) for e in args.egress],
        ],
    }


def metrics_ingress(monitoring_namespace: str) -> dict[str, Any]:
    return {
        "pod_selector": {},
        "policy_types": ["Ingress"],
        "ingress": [{"from": [_namespace(monitoring_namespace)], "ports": _ports([AGENT_METRICS_PORT])}],
    }


DEFAULT_DENY = {"pod_selector": {}, "policy_types": ["Ingress", "Egress"]}


class ModelsNetworkPolicy(pulumi.ComponentResource):
    """Default deny in the models namespace, and the allows above, one NetworkPolicy each."""

    names: pulumi.Output[list[str]]

    def __init__(self, name: str, args: ModelsNetworkPolicyArgs | ModelsNetworkPolicyArgsDict, opts: pulumi.ResourceOptions | None = None):
        args = parse_model(ModelsNetworkPolicyArgs, args)
        super().__init__(TOKEN, name, None, opts)
        specs = {"default-deny": DEFAULT_DENY, "egress": egress(args)}
        specs.update({f"serve-{model}": serving_ingress(args, model) for model in sorted(args.callers)})
        if args.monitoring_namespace:
            specs["metrics"] = metrics_ingress(args.monitoring_namespace)
        policies = [
            networking.NetworkPolicy(
                child_name(self, policy),
                metadata={"name": policy, "namespace": args.namespace},
                spec=spec,
                opts=pulumi.ResourceOptions(parent=self),
            )
            for policy, spec in specs.items()
        ]
        self.names = pulumi.Output.all(*[p.metadata.name for p in policies])
        self.register_outputs({"names": self.names})
