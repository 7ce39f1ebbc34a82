"""Container logs, every stack offline: each AWS and GCP cell installs the OpenTelemetry Collector (contrib, pinned
chart, DaemonSet, the chart's logsCollection preset) exporting to its cloud's log service as an identity that may only
write there; an existing cell ships to the OTLP endpoint its spec names, or not at all; an Azure cell runs no
collector of its own: AKS's monitoring add-on ships its logs (tests/azure/test_azure_container_logs.py). The
release's values are checked against the vendored chart, and a wrong key fails."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest

import upstream_truth as truth
from lepton_infra.components.kubernetes import log_collector
from lepton_infra.testing import read_stack_config, run_stack

from stack_support import STACKS
from test_observe_stacks import RELEASE, STACK_NAMES, cell_plan, cells, releases, spec_of
from test_upstream import put

CHART = "opentelemetry-collector"
# What each cloud's cells export with (opentelemetry-collector-contrib exporter ids); None: no collector.
EXPORTER = {"aws": "awscloudwatchlogs", "gcp": "googlecloud", "azure": None, "existing": None}
ROOT = Path(__file__).resolve().parents[2]


def collector(plan):
    found = releases(plan, CHART)
    assert len(found) <= 1
    return found[0] if found else None


@pytest.mark.parametrize("stack,cell", cells(), ids=lambda v: getattr(v, "name", v))
def test_every_cell_ships_its_container_logs_with_its_clouds_exporter(stack, cell, stack_plan):
    plan = cell_plan(stack_plan, stack, cell)
    release = collector(plan)
    exporter = EXPORTER[cell.cloud]
    if exporter is None:  # Azure: AKS's monitoring add-on; the stacks' existing cells name no OTLP endpoint
        assert release is None
        associations = [r.inputs["associationName"] for r in plan.of_type("azure-native:monitor:DataCollectionRuleAssociation")]
        assert associations == (["ContainerInsightsExtension"] if cell.cloud == "azure" else [])
        return
    assert (release.inputs["namespace"], release.inputs["version"]) == ("logging", truth.OTEL_COLLECTOR)
    assert release.inputs["repositoryOpts"]["repo"] == "https://open-telemetry.github.io/opentelemetry-helm-charts"
    values = release.inputs["values"]
    assert values["mode"] == "daemonset"
    assert values["image"]["repository"] == "otel/opentelemetry-collector-contrib" and values["command"]["name"] == "otelcol-contrib"
    assert values["presets"]["logsCollection"]["enabled"] is True
    config = values["alternateConfig"]
    assert list(config["exporters"]) == [exporter]
    (pipeline,) = config["service"]["pipelines"].values()
    assert pipeline["exporters"] == [exporter] and pipeline["receivers"] == []  # the preset adds filelog
    assert "transform/json_body" in pipeline["processors"] and "health_check" in config["service"]["extensions"]
    cell_attributes = {a["key"]: a["value"] for a in config["processors"]["resource/cell"]["attributes"]}
    assert cell_attributes == {"cell": cell.name, "cloud": cell.cloud}


@pytest.mark.parametrize("stack", STACK_NAMES)
def test_the_collectors_values_are_the_charts_and_it_runs_non_root_within_limits(stack, stack_plan):
    found = releases(stack_plan(stack), CHART)
    assert len(found) == sum(EXPORTER[c.cloud] is not None for c in spec_of(stack).cells)
    for release in found:
        values = release.inputs["values"]
        assert truth.chart_of(release.inputs).errors(values) == [], release.name
        security = values["securityContext"]
        assert security["runAsNonRoot"] is True and security["runAsUser"] != 0
        assert security["allowPrivilegeEscalation"] is False and security["readOnlyRootFilesystem"] is True
        assert values["podSecurityContext"]["runAsNonRoot"] is True
        assert values["presets"]["logsCollection"]["storeCheckpoints"] is False  # the chart's switch to root
        assert set(values["resources"]) == {"requests", "limits"}
        assert all(set(values["resources"][k]) == {"cpu", "memory"} for k in ("requests", "limits"))
        # No receiver but the preset's filelog, so none of the chart's default ports (hostPorts on every node).
        assert all(not values["ports"][name]["enabled"] for name in ("otlp", "otlp-http", "jaeger-compact", "zipkin"))
        assert values["alternateConfig"]["receivers"] == {}


def test_a_key_the_chart_does_not_have_fails_by_its_path(stack_plan):
    (release, *_) = releases(stack_plan("prod"), CHART)
    values = put(copy.deepcopy(dict(release.inputs["values"])), ("presets", "logsCollection", "storeCheckpoint"), True)
    errors = truth.chart_of(release.inputs).errors(values)
    assert len(errors) == 1 and "presets.logsCollection.storeCheckpoint" in errors[0]


def test_the_aws_identity_may_only_create_streams_and_put_events_in_its_cells_log_group(stack_plan):
    plan = stack_plan("prod")
    (group,) = [g for g in plan.of_type("aws:cloudwatch/logGroup:LogGroup") if g.inputs["name"].endswith("/containers")]
    assert group.inputs["name"] == "/lepton/prod/aws-use1/containers"
    assert group.inputs["kmsKeyId"] and group.inputs["retentionInDays"] == spec_of("prod").cells[0].logs.retention_days
    assert group.protect and group.retain_on_delete  # prod is protected
    (role,) = [r for r in plan.of_type("aws:iam/role:Role") if "log-collector" in r.inputs["name"]]
    trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]["Condition"]["StringEquals"]
    assert [v for k, v in trust.items() if k.endswith(":sub")] == ["system:serviceaccount:logging:log-collector"]
    policies = [p for p in plan.of_type("aws:iam/rolePolicy:RolePolicy") if p.inputs["role"] == role.inputs["name"]]
    (policy,) = policies
    (statement,) = json.loads(policy.inputs["policy"])["Statement"]
    group_arn = f"arn:aws:logs:us-east-1:123456789012:log-group:{group.inputs['name']}"
    assert statement["Effect"] == "Allow" and sorted(statement["Action"]) == ["logs:CreateLogStream", "logs:PutLogEvents"]
    assert statement["Resource"] == [group_arn, f"{group_arn}:log-stream:*"]
    # Nothing else is attached to the role.
    assert not [a for a in plan.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment") if a.inputs["role"] == role.inputs["name"]]
    values = collector(cell_plan(stack_plan, "prod", spec_of("prod").cells[0])).inputs["values"]
    assert values["serviceAccount"]["name"] == log_collector.SERVICE_ACCOUNT
    assert values["serviceAccount"]["annotations"] == {"eks.amazonaws.com/role-arn": role.outputs["arn"]}
    exporter = values["alternateConfig"]["exporters"]["awscloudwatchlogs"]
    assert exporter["log_group_name"] == group.inputs["name"] and exporter["region"] == "us-east-1"


def test_the_gcp_identity_is_the_collectors_and_holds_only_the_log_writer_role(stack_plan):
    plan = stack_plan("prod")
    gcp = next(c for c in spec_of("prod").cells if c.cloud == "gcp")
    values = collector(cell_plan(stack_plan, "prod", gcp)).inputs["values"]
    email = values["serviceAccount"]["annotations"]["iam.gke.io/gcp-service-account"]
    member = f"serviceAccount:{email}"
    granted = [(r.type, r.inputs["role"]) for r in plan.resources if r.type.startswith("gcp:") and r.inputs.get("member") == member]
    assert granted == [("gcp:projects/iAMMember:IAMMember", "roles/logging.logWriter")]
    (user,) = [r for r in plan.of_type("gcp:serviceaccount/iAMMember:IAMMember") if r.inputs["serviceAccountId"].endswith(f"/{email}")]
    assert user.inputs["role"] == "roles/iam.workloadIdentityUser"
    assert user.inputs["member"].endswith(".svc.id.goog[logging/log-collector]")
    exporter = values["alternateConfig"]["exporters"]["googlecloud"]
    assert exporter["project"] == user.inputs["member"].split(":", 1)[1].split(".svc.id.goog")[0]


def test_an_existing_cell_ships_to_the_otlp_endpoint_its_spec_names():
    platform = copy.deepcopy(read_stack_config("local", STACKS)["lepton-platform:platform"])
    platform["cells"][0]["logs"] = {"otlp_endpoint": "http://otel-gateway.observability.svc:4318"}
    plan = run_stack("local", STACKS, {"lepton-platform:platform": platform})
    (release,) = [r for r in plan.of_type(RELEASE) if r.inputs["chart"] == CHART]
    values = release.inputs["values"]
    assert values["alternateConfig"]["exporters"] == {"otlphttp": {"endpoint": "http://otel-gateway.observability.svc:4318"}}
    assert values["serviceAccount"]["annotations"] == {} and truth.chart_of(release.inputs).errors(values) == []


def test_logs_off_in_the_spec_installs_no_collector():
    platform = copy.deepcopy(read_stack_config("dev", STACKS)["lepton-platform:platform"])
    platform["cells"][0]["logs"] = {"enabled": False}
    plan = run_stack("dev", STACKS, {"lepton-platform:platform": platform})
    assert not [r for r in plan.of_type(RELEASE) if r.inputs["chart"] == CHART]
    assert not [g for g in plan.of_type("aws:cloudwatch/logGroup:LogGroup") if g.inputs["name"].endswith("/containers")]


def test_the_in_cluster_layer_never_asks_which_cloud_it_runs_on():
    source = (ROOT / "components" / "kubernetes" / "log_collector.py").read_text()
    assert not re.search(r"\b(aws|gcp|azure|google|cloudwatch)\b", source, flags=re.I)
