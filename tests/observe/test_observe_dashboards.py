"""The Grafana dashboards as code (components/kubernetes/dashboards.py): each dashboard's JSON is well formed for
Grafana (panels with a data source, targets with an expression, unique ids, the data source as a variable, never a
UID), every cell of every stack ships them as ConfigMaps the chart's Grafana sidecar loads, and the chart values and
monitors the dashboards rely on are set: the sidecar's label, the pool label on kube_node_labels, the DCGM exporter's
ServiceMonitor with a `node` label, and the `track` label that tells a canary's series from the stable ones.
The metric names in the queries are cross-checked in test_observe_dashboards_metrics.py."""

import copy
import json

import pytest
import yaml

import upstream_truth as truth
from lepton_infra.components.kubernetes import dashboards, gpu_runtime, model_deployment, monitoring
from lepton_infra.components.kubernetes.dashboards import GrafanaDashboards
from lepton_infra.spec import SpecError
from lepton_infra.testing import rejected, run
from test_observe_stacks import POD_MONITOR, RELEASE, STACK_NAMES, cell_plan, cells, releases, spec_of
from test_upstream import put

CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
KPS_VALUES = yaml.safe_load(truth.KUBE_PROMETHEUS_STACK_DIR.joinpath("values.yaml").read_text())


def all_panels(dashboard):
    """Every panel, rows' nested panels included."""
    for panel in dashboard["panels"]:
        yield panel
        yield from panel.get("panels", [])


def variables(dashboard):
    return {v["name"]: v for v in dashboard["templating"]["list"]}


# ---------------------------------------------------------------------------------------------- the JSON itself
@pytest.mark.parametrize("name", dashboards.NAMES)
def test_each_dashboard_is_grafana_json_with_unique_ids_and_a_uid_of_its_own(name):
    board = dashboards.dashboard(name)
    assert board["uid"] == f"lepton-{name}" and board["title"].startswith("Lepton / ")
    assert isinstance(board["schemaVersion"], int) and board["editable"] is False
    ids = [p["id"] for p in all_panels(board)]
    assert len(ids) == len(set(ids)) and all(isinstance(i, int) for i in ids)
    for panel in all_panels(board):
        grid = panel["gridPos"]
        assert 0 <= grid["x"] and grid["x"] + grid["w"] <= 24 and grid["h"] > 0, panel["title"]


def test_the_dashboards_uids_are_distinct():
    uids = [dashboards.dashboard(name)["uid"] for name in dashboards.NAMES]
    assert len(set(uids)) == len(uids)


@pytest.mark.parametrize("name", dashboards.NAMES)
def test_every_query_panel_reads_the_data_source_variable_and_has_targets_with_expressions(name):
    board = dashboards.dashboard(name)
    queried = [p for p in all_panels(board) if p["type"] != "row"]
    assert len(queried) >= 4
    for panel in queried:
        assert panel["datasource"] == DATASOURCE, panel["title"]
        assert panel["targets"], panel["title"]
        ref_ids = [t["refId"] for t in panel["targets"]]
        assert len(ref_ids) == len(set(ref_ids)), panel["title"]
        for target in panel["targets"]:
            assert target["datasource"] == DATASOURCE and target["expr"].strip(), panel["title"]
        assert panel["title"] and panel["description"]


@pytest.mark.parametrize("name", dashboards.NAMES)
def test_the_data_source_is_a_variable_and_cloud_and_cell_are_variables_that_match_a_missing_label(name):
    board = dashboards.dashboard(name)
    found = variables(board)
    assert found["datasource"]["type"] == "datasource" and found["datasource"]["query"] == "prometheus"
    for label in ("cloud", "cell"):
        variable = found[label]
        assert variable["type"] == "query" and variable["datasource"] == DATASOURCE
        # In a cell's own Prometheus the series carry no cell/cloud (externalLabels mark only what leaves it): All
        # must be ".*", which matches the empty (missing) label, not Grafana's default of every value found.
        assert variable["includeAll"] is True and variable["allValue"] == ".*"
    # No data source UID written anywhere but as the variable.
    text = json.dumps(board)
    assert text.count('"uid": "${datasource}"') == text.count('"uid"') - 1  # the dashboard's own uid


def test_a_hard_coded_data_source_uid_would_be_seen():
    board = copy.deepcopy(dashboards.dashboard("serving"))
    board["panels"][1]["datasource"] = {"type": "prometheus", "uid": "PBFA97CFB590B2093"}
    text = json.dumps(board)
    assert text.count('"uid": "${datasource}"') != text.count('"uid"') - 1


@pytest.mark.parametrize("name", dashboards.NAMES)
def test_every_query_filters_on_the_cell_and_cloud_variables(name):
    for panel in all_panels(dashboards.dashboard(name)):
        for target in panel.get("targets", []):
            assert 'cell=~"$cell"' in target["expr"] and 'cloud=~"$cloud"' in target["expr"], panel["title"]


def test_the_serving_dashboard_has_what_the_issue_asks_for():
    titles = " | ".join(p["title"] for p in all_panels(dashboards.dashboard("serving")))
    for wanted in ("Requests/s", "p50 and p99", "batch size", "Queue depth", "Errors/s by model, version", "canary vs stable"):
        assert wanted in titles, wanted
    exprs = [t["expr"] for p in all_panels(dashboards.dashboard("serving")) for t in p.get("targets", [])]
    assert any("histogram_quantile(0.99" in e and "serving_request_duration_seconds_bucket" in e for e in exprs)
    assert any("histogram_quantile(0.5," in e and "serving_request_duration_seconds_bucket" in e for e in exprs)
    assert any("by (cell, app, track)" in e for e in exprs)  # the PodMonitor's track label


def test_the_gpu_dashboard_shows_utilisation_memory_power_and_xid_errors_per_pool_and_cell():
    exprs = " ".join(t["expr"] for p in all_panels(dashboards.dashboard("gpus")) for t in p.get("targets", []))
    for counter in ("DCGM_FI_DEV_GPU_UTIL", "DCGM_FI_DEV_FB_USED", "DCGM_FI_DEV_POWER_USAGE", "DCGM_FI_DEV_XID_ERRORS"):
        assert counter in exprs
    assert "group_left (label_lepton_ai_pool) kube_node_labels" in exprs and "on (cell, node)" in exprs


# ------------------------------------------------------------------------------------------- the component
def test_each_dashboard_is_one_config_map_in_monitoring_with_the_sidecars_label():
    plan = run(lambda: GrafanaDashboards("d", {"cell": "aws-use1"}))
    maps = plan.of_type(CONFIG_MAP)
    assert sorted(m.inputs["metadata"]["name"] for m in maps) == sorted(f"lepton-dashboard-{n}" for n in dashboards.NAMES)
    for config_map in maps:
        meta = config_map.inputs["metadata"]
        assert meta["namespace"] == "monitoring"
        assert meta["labels"]["grafana_dashboard"] == "1" and meta["labels"]["lepton.ai/cell"] == "aws-use1"
        ((key, text),) = config_map.inputs["data"].items()
        name = key.removesuffix(".json")
        assert json.loads(text) == dashboards.dashboard(name)
        assert config_map.parent_name == "d"


def test_the_sidecar_label_is_the_charts_and_the_values_state_it_and_look_only_in_monitoring():
    chart = KPS_VALUES["grafana"]["sidecar"]["dashboards"]
    assert chart["enabled"] is True
    assert monitoring.GRAFANA_DASHBOARD_LABELS == {chart["label"]: chart["labelValue"]}
    values = monitoring.prometheus_values(monitoring.MonitoringArgs(cell="c", cloud="aws").spec, "c", "aws")
    stated = values["grafana"]["sidecar"]["dashboards"]
    assert {stated["label"]: stated["labelValue"]} == monitoring.GRAFANA_DASHBOARD_LABELS
    assert stated["searchNamespace"] == monitoring.NAMESPACE != chart["searchNamespace"]


def test_a_bad_cell_name_is_refused_naming_the_field_and_registers_nothing():
    error, plan = rejected(lambda: GrafanaDashboards("d", {"cell": "Not_A_Label"}))
    assert isinstance(error, SpecError) and "cell" in str(error)
    assert plan.of_type(CONFIG_MAP) == []


# ------------------------------------------------------------------------------------------------ the stacks
@pytest.mark.parametrize("stack,cell", cells(), ids=lambda v: getattr(v, "name", v))
def test_every_cell_registers_the_dashboards_beside_its_monitoring_stack(stack, cell, stack_plan):
    plan = cell_plan(stack_plan, stack, cell)
    (component,) = plan.of_type(dashboards.TOKEN)
    assert component.name == f"{spec_of(stack).environment}-{cell.name}-dashboards"
    maps = [m for m in plan.within(component).of_type(CONFIG_MAP)]
    assert sorted(m.inputs["metadata"]["name"] for m in maps) == sorted(dashboards.config_map_name(n) for n in dashboards.NAMES)
    (release,) = releases(plan, "kube-prometheus-stack")
    assert {m.inputs["metadata"]["namespace"] for m in maps} == {release.inputs["namespace"]}
    sidecar = release.inputs["values"]["grafana"]["sidecar"]["dashboards"]
    for config_map in maps:
        assert config_map.inputs["metadata"]["labels"][sidecar["label"]] == sidecar["labelValue"]


@pytest.mark.parametrize("stack,cell", cells(), ids=lambda v: getattr(v, "name", v))
def test_kube_state_metrics_exports_the_nodes_pool_label_the_gpu_dashboard_joins_on(stack, cell, stack_plan):
    (release,) = releases(cell_plan(stack_plan, stack, cell), "kube-prometheus-stack")
    assert release.inputs["values"]["kube-state-metrics"]["metricLabelsAllowlist"] == ["nodes=[lepton.ai/pool]"]


def test_the_kube_state_metrics_subchart_is_the_vendored_one_and_a_wrong_key_in_it_is_refused(stack_plan):
    chart_yaml = yaml.safe_load(truth.KUBE_PROMETHEUS_STACK_DIR.joinpath("Chart.yaml").read_text())
    (dependency,) = [d for d in chart_yaml["dependencies"] if d["name"] == "kube-state-metrics"]
    assert dependency["version"] == truth.KUBE_STATE_METRICS
    (release,) = [r for r in releases(stack_plan("prod"), "kube-prometheus-stack") if r.name.startswith("prod-aws-use1-")]
    values = copy.deepcopy(dict(release.inputs["values"]))
    assert truth.chart_of(release.inputs).errors(values) == []
    errors = truth.chart_of(release.inputs).errors(put(copy.deepcopy(values), ("kube-state-metrics", "metricLabelAllowlist"), []))
    assert any(e.startswith("kube-state-metrics.metricLabelAllowlist: unknown value key") for e in errors), errors
    # The parent's own keys below the subchart's name still count.
    assert truth.chart_of(release.inputs).errors(put(values, ("kube-state-metrics", "releaseLabel"), True)) == []


def test_the_gpu_operator_pins_the_vendored_dcgm_exporter():
    values = yaml.safe_load(truth.GPU_OPERATOR_DIR.joinpath("values.yaml").read_text())
    assert values["dcgmExporter"]["version"].removesuffix("-distroless") == truth.DCGM_EXPORTER


@pytest.mark.parametrize("stack,cell", [c for c in cells() if c[1].gpu_pools], ids=lambda v: getattr(v, "name", v))
def test_the_dcgm_exporter_is_scraped_by_the_cells_prometheus_with_its_gpus_node(stack, cell, stack_plan):
    plan = cell_plan(stack_plan, stack, cell)
    (operator,) = releases(plan, "gpu-operator")
    monitor = operator.inputs["values"]["dcgmExporter"]["serviceMonitor"]
    assert monitor["enabled"] is True and monitor["honorLabels"] is True
    assert gpu_runtime.DCGM_NODE_RELABELING in monitor["relabelings"]
    (prometheus,) = releases(plan, "kube-prometheus-stack")
    spec = prometheus.inputs["values"]["prometheus"].get("prometheusSpec", {})
    # The values state the selector (the chart's default, with NilUsesHelmValues true, would be its release's label).
    assert spec["serviceMonitorSelectorNilUsesHelmValues"] is False
    assert spec["serviceMonitorSelector"] == {"matchLabels": monitor["additionalLabels"]}
    assert monitor["additionalLabels"] == {"release": prometheus.inputs["name"]}
    assert spec["serviceMonitorNamespaceSelector"] == {}  # every namespace


def test_without_a_prometheus_the_dcgm_exporter_runs_unscraped():
    values = gpu_runtime.operator_values(True)
    assert values["dcgmExporter"] == {"enabled": True}


@pytest.mark.parametrize("stack", STACK_NAMES)
def test_series_of_a_canarys_pods_are_tracked_canary_and_the_others_stable(stack, stack_plan):
    spec = spec_of(stack)
    for cell in spec.cells:
        plan = cell_plan(stack_plan, stack, cell)
        for model in spec.models_for(cell):
            (monitor,) = [r for r in plan.of_type(POD_MONITOR) if r.inputs["metadata"]["name"] == model.name]
            (endpoint,) = monitor.inputs["spec"]["podMetricsEndpoints"]
            track = [r for r in endpoint["relabelings"] if r.get("targetLabel") == "track"]
            assert track[0] == {"action": "replace", "targetLabel": "track", "replacement": "stable"}
            if model.canary:
                assert track[1]["sourceLabels"] == ["__meta_kubernetes_pod_label_version"]
                assert (track[1]["regex"], track[1]["replacement"]) == (model.canary.version, "canary")
                # The canary Deployment's pods carry that version label.
                (canary,) = [d for d in plan.of_type("kubernetes:apps/v1:Deployment")
                             if d.inputs["metadata"]["name"] == f"{model.name}-{model.canary.version}"]
                assert canary.inputs["spec"]["template"]["metadata"]["labels"]["version"] == model.canary.version
            else:
                assert len(track) == 1


def test_prod_has_a_canary_so_the_track_relabeling_is_exercised():
    assert any(m.canary for m in spec_of("prod").models)


def test_a_canary_version_is_matched_as_a_whole_literal_value():
    model = spec_of("prod").models[0].model_copy(update={"canary": spec_of("prod").models[0].canary.model_copy(update={"version": "v2.1"})})
    (_, canary) = model_deployment.track_relabelings(model)
    assert canary["regex"] == r"v2\.1"
