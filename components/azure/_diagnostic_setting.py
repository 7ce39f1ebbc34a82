"""Azure Monitor diagnostic settings, registered as pulumi_azure_native registers them, without importing its module.

``pulumi_azure_native.monitor`` loads all sixty of its resource modules and their input and output types on first
use (its ``__init__`` star-imports them): 0.59 s of a cold offline plan of prod on a busy 2-core machine
(``python -X importtime -m lepton_infra plan prod``, its modules' own times summed), for the one resource the Azure
cell needs from it. This registers the same resource the same way: its type token, the SDK's aliases, its version options
(``_utilities.get_resource_opts_defaults``), and its inputs under their API names; the provider is the same
azure-native plugin. tests/azure/test_azure_audit.py compares it with ``monitor.DiagnosticSetting`` under mocks,
so a new SDK that registers it differently fails a test instead of drifting.
"""

from __future__ import annotations

from typing import Any, Sequence

import pulumi
from pulumi_azure_native import _utilities

TYPE = "azure-native:monitor:DiagnosticSetting"
# The earlier tokens the SDK's class lists as aliases (pulumi_azure_native/monitor/diagnostic_setting.py).
ALIASES = (
    "azure-native:insights/v20210501preview:DiagnosticSetting",
    "azure-native:insights:DiagnosticSetting",
    "azure-native:monitor/v20170501preview:DiagnosticSetting",
    "azure-native:monitor/v20210501preview:DiagnosticSetting",
)
# Properties the provider fills in (the SDK registers them as None so they come back as outputs).
OUTPUTS = ("azureApiVersion", "systemData", "type")


class DiagnosticSetting(pulumi.CustomResource):
    """``monitor.DiagnosticSetting(name, name=..., resource_uri=..., workspace_id=..., logs=[{category, enabled}],
    log_analytics_destination_type=...)``: logs of ``resource_uri`` into a Log Analytics workspace."""

    def __init__(
        self,
        resource_name: str,
        *,
        name: str,
        resource_uri: pulumi.Input[str],
        workspace_id: pulumi.Input[str],
        logs: Sequence[dict[str, Any]],
        log_analytics_destination_type: str,
        opts: pulumi.ResourceOptions | None = None,
    ):
        opts = pulumi.ResourceOptions.merge(_utilities.get_resource_opts_defaults(), opts)
        opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(aliases=[pulumi.Alias(type_=t) for t in ALIASES]))
        props: dict[str, Any] = {
            "logAnalyticsDestinationType": log_analytics_destination_type,
            "logs": [dict(log) for log in logs],
            "name": name,
            "resourceUri": resource_uri,
            "workspaceId": workspace_id,
            **{output: None for output in OUTPUTS},
        }
        super().__init__(TYPE, resource_name, props, opts)
