"""The platform's Grafana dashboards as code: one ConfigMap per dashboard in namespace ``monitoring``, which the
kube-prometheus-stack chart's Grafana loads through its dashboard sidecar (docs/design.md, "Observability").

The dashboards are JSON files shipped with the library (``grafana/*.json``, package data): serving (requests/s,
p50/p99 latency, batch size, queue depth, errors per model and version, canary vs stable), GPUs (utilisation, memory,
power, XID errors per pool and cell, from the DCGM exporter) and the mesh (Istio's standard metrics per model service
and between cells). Each has a data source variable (no data source UID is written in them) and ``cloud``/``cell``
variables: the labels Prometheus's ``externalLabels`` put on what it sends to the global view (monitoring.py). In a
cell's own Grafana the series carry neither, and "All" (``.*``) matches a missing label, so the same dashboard serves
both. tests/observe/test_observe_dashboards*.py check every query's metric names against what the platform exports.
"""

from __future__ import annotations

import json
from functools import cache
from importlib.resources import files
from typing import Any, Required, TypedDict

import pulumi
import pulumi_kubernetes.core.v1 as core
from pydantic import Field

from lepton_infra.conventions import CELL_TAG
from lepton_infra.spec import ComponentArgs, DnsLabel, PulumiInput, parse_model

from ._helm import child_name
from .monitoring import GRAFANA_DASHBOARD_LABELS, NAMESPACE

TOKEN = "lepton:kubernetes:GrafanaDashboards"
# The folder of JSON files beside this module (pyproject.toml ships it as package data).
FOLDER = "grafana"
NAMES = ("serving", "gpus", "mesh")


@cache
def _text(name: str) -> str:
    return (files(__package__) / FOLDER / f"{name}.json").read_text(encoding="utf-8")


def dashboard(name: str) -> dict[str, Any]:
    """The dashboard ``name`` (one of NAMES) as Grafana's JSON model, read from the installed package (a fresh copy)."""
    return json.loads(_text(name))


def config_map_name(name: str) -> str:
    return f"lepton-dashboard-{name}"


class GrafanaDashboardsArgsDict(TypedDict, total=False):
    """GrafanaDashboardsArgs as a plain dict: the same keys, validated the same way."""

    cell: Required[DnsLabel]
    namespace: PulumiInput[str]


class GrafanaDashboardsArgs(ComponentArgs):
    cell: DnsLabel = Field(description="The cell's name (the ConfigMaps' cell label).")
    namespace: PulumiInput[str] = Field(
        NAMESPACE, description="The monitoring namespace (pass Monitoring.namespace, so the ConfigMaps wait for it)."
    )


class GrafanaDashboards(pulumi.ComponentResource):
    """The platform's dashboards as ConfigMaps labelled for the Grafana sidecar, one per dashboard."""

    config_maps: dict[str, core.ConfigMap]
    names: pulumi.Output[list[str]]

    def __init__(self, name: str, args: GrafanaDashboardsArgs | GrafanaDashboardsArgsDict, opts: pulumi.ResourceOptions | None = None):
        args = parse_model(GrafanaDashboardsArgs, args)
        super().__init__(TOKEN, name, None, opts)
        self.config_maps = {
            dash: core.ConfigMap(
                child_name(self, dash),
                metadata={
                    "name": config_map_name(dash),
                    "namespace": args.namespace,
                    "labels": {**GRAFANA_DASHBOARD_LABELS, "app.kubernetes.io/part-of": "lepton", CELL_TAG: args.cell},
                },
                data={f"{dash}.json": json.dumps(dashboard(dash), indent=1, sort_keys=True)},
                opts=pulumi.ResourceOptions(parent=self),
            )
            for dash in NAMES
        }
        self.names = pulumi.Output.all(*(cm.metadata.name for cm in self.config_maps.values()))
        self.register_outputs({"names": self.names})
