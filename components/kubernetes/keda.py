"""KEDA from its official chart (kedacore), one release per cell in namespace ``keda``: it scales each model's
Deployment on serving's own metrics through the ScaledObject the model declares (model_deployment.py)."""

from __future__ import annotations

from typing import Any, Mapping, Required, TypedDict

import pulumi
from pydantic import Field

from lepton_infra.spec import ComponentArgs, DnsLabel, MonitoringSpec, parse_model

from ._helm import namespace, release

TOKEN = "lepton:kubernetes:Keda"
NAMESPACE = "keda"
CHART = "keda"
CHART_REPO = "https://kedacore.github.io/charts"
RELEASE = "keda"


class KedaArgsDict(TypedDict, total=False):
    """KedaArgs as a plain dict: the same keys, validated the same way."""

    spec: MonitoringSpec | Mapping[str, Any]
    cell: Required[DnsLabel]


class KedaArgs(ComponentArgs):
    spec: MonitoringSpec = MonitoringSpec()
    cell: DnsLabel = Field(description="The cell's name: KEDA's clusterName (its CloudEvents' source).")


def keda_values(cell: str) -> dict[str, Any]:
    """keda chart values (keys from the chart's values.yaml at 2.20.2, tests/upstream checks them).

    The chart's defaults are what the platform wants: CRDs installed (crds.install), every namespace watched
    (watchNamespace ""), non-root, read-only root filesystem (securityContext)."""
    return {"clusterName": cell}


class Keda(pulumi.ComponentResource):
    """The KEDA operator, metrics API server and admission webhooks in namespace ``keda``."""

    namespace: pulumi.Output[str]
    release_name: pulumi.Output[str]
    release_status: pulumi.Output[str]

    def __init__(self, name: str, args: KedaArgs | KedaArgsDict, opts: pulumi.ResourceOptions | None = None):
        args = parse_model(KedaArgs, args)
        super().__init__(TOKEN, name, None, opts)

        # KEDA's pods run restricted (the chart's securityContext/podSecurityContext defaults).
        ns = namespace(self, NAMESPACE, {"pod-security.kubernetes.io/enforce": "restricted"})
        keda = release(
            self,
            RELEASE,
            chart=CHART,
            repo=CHART_REPO,
            version=args.spec.keda_version,
            namespace=ns.metadata.name,
            values=keda_values(args.cell),
        )

        self.namespace = ns.metadata.name
        self.release_name = keda.name
        self.release_status = keda.status.status
        self.register_outputs(
            {"namespace": self.namespace, "release_name": self.release_name, "release_status": self.release_status}
        )
