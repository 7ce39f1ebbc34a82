"""The global metrics view (docs/design.md, "Observability"): in prod and staging the chosen cell's Prometheus receives
the other cells' series over the mesh, mTLS only on its write path, and every other cell sends with its cell and cloud
labels; single-cell stacks stay as they were; an external endpoint gets its credentials from secret config into a
Secret; bad choices are refused naming the field, before anything is registered."""

import copy
import json

import pytest

import upstream_truth as truth
from lepton_infra.components.kubernetes import monitoring
from lepton_infra.kubernetes_schema import manifest
from lepton_infra.spec import SpecError, parse_platform_spec
from lepton_infra.testing import OfflinePlan, read_stack_config, run_stack
from lepton_infra.upstream_schemas import chart_defaults, custom_resource_errors

from stack_support import STACKS
from test_upstream import put

SPEC_KEY = "lepton-platform:platform"
CREDENTIALS_KEY = "lepton-platform:metricsRemoteWriteCredentials"
RELEASE = "kubernetes:helm.sh/v3:Release"
SERVICE = "kubernetes:core/v1:Service"
SECRET = "kubernetes:core/v1:Secret"
DESTINATION_RULE = "kubernetes:networking.istio.io/v1:DestinationRule"
SIDECAR = "kubernetes:networking.istio.io/v1:Sidecar"
AUTHORIZATION_POLICY = "kubernetes:security.istio.io/v1:AuthorizationPolicy"
GLOBAL_KINDS = (DESTINATION_RULE, SIDECAR, AUTHORIZATION_POLICY)


def spec_of(stack, overrides=None):
    raw = copy.deepcopy(read_stack_config(stack, STACKS)[SPEC_KEY])
    raw.update(overrides or {})
    return raw


def cell_plan(plan, environment, cell):
    return plan.within(plan.one("lepton:platform:Cell", f"{environment}-{cell}"))


def prometheus_spec(plan):
    (release,) = [r for r in plan.of_type(RELEASE) if r.inputs["chart"] == "kube-prometheus-stack"]
    return release.inputs["values"]["prometheus"]["prometheusSpec"]


def in_monitoring(plan, type_):
    return [r for r in plan.of_type(type_) if r.inputs["metadata"].get("namespace") == monitoring.NAMESPACE]


def global_service(plan):
    (service,) = [s for s in in_monitoring(plan, SERVICE) if s.inputs["metadata"]["name"] == monitoring.GLOBAL_SERVICE]
    return service


@pytest.mark.parametrize("stack,receiver,senders", [("prod", "aws-use1", ["azure-eus2", "gcp-usc1"]), ("staging", "aws-use1", ["gcp-usc1"])])
def test_the_stacks_choose_one_receiving_cell_and_every_other_cell_sends_to_it(stack, receiver, senders, stack_plan):
    spec = parse_platform_spec(spec_of(stack))
    assert spec.global_metrics.kind == "cell" and spec.global_metrics.cell == receiver
    assert sorted(c.name for c in spec.cells if not spec.receives_global_metrics(c)) == senders
    for cell in senders:
        values = prometheus_spec(cell_plan(stack_plan(stack), stack, cell))
        assert "enableRemoteWriteReceiver" not in values
        (remote,) = values["remoteWrite"]
        assert remote["url"] == monitoring.GLOBAL_REMOTE_WRITE_URL
    assert prometheus_spec(cell_plan(stack_plan(stack), stack, receiver))["enableRemoteWriteReceiver"] is True


def test_the_receiving_cell_takes_writes_through_its_sidecar_only_from_the_cells_prometheus_with_mtls(stack_plan):
    plan = cell_plan(stack_plan("prod"), "prod", "aws-use1")
    values = prometheus_spec(plan)
    spec = parse_platform_spec(spec_of("prod")).global_metrics
    assert "remoteWrite" not in values  # it sends to no one
    # Sized from the spec's global_metrics, with a size cap below the volume (1Ti -> 85% in GiB).
    assert values["retention"] == spec.retention == "90d"
    assert values["storageSpec"]["volumeClaimTemplate"]["spec"]["resources"]["requests"]["storage"] == spec.storage_size == "1Ti"
    assert values["retentionSize"] == "870GiB"
    # Meshed for inbound on the global port only: its web port (9090: Grafana, KEDA, the operator, unmeshed) and its
    # scrapes do not go through the sidecar.
    pod = values["podMetadata"]
    assert pod["labels"] == {"sidecar.istio.io/inject": "true", **monitoring.RECEIVER_LABEL}
    assert pod["annotations"] == {
        "traffic.sidecar.istio.io/includeInboundPorts": str(monitoring.GLOBAL_PORT),
        "traffic.sidecar.istio.io/includeOutboundIPRanges": "",
    }
    # Its own series carry cell and cloud too (a default scrape class), as the series it receives do.
    (scrape_class,) = values["scrapeClasses"]
    assert scrape_class["default"] is True
    assert {(r["targetLabel"], r["replacement"]) for r in scrape_class["relabelings"]} == {("cell", "aws-use1"), ("cloud", "aws")}
    # The Service selects it (its pods' labels) on the global port, where its sidecar listens (the mesh's STRICT
    # mTLS: no PeerAuthentication of its own) and hands the writes to Prometheus's web port on localhost.
    service = global_service(plan).inputs["spec"]
    assert service["selector"].items() <= pod["labels"].items()
    (port,) = service["ports"]
    assert (port["port"], port["targetPort"], port["appProtocol"]) == (monitoring.GLOBAL_PORT, monitoring.GLOBAL_PORT, "http")
    (sidecar,) = in_monitoring(plan, SIDECAR)
    assert sidecar.inputs["spec"] == {
        "workloadSelector": {"labels": monitoring.RECEIVER_LABEL},
        "ingress": [{"port": {"number": monitoring.GLOBAL_PORT, "protocol": "HTTP", "name": "http-remote-write"}, "defaultEndpoint": "127.0.0.1:9090"}],
    }
    (peers,) = plan.of_type("kubernetes:security.istio.io/v1:PeerAuthentication")  # the mesh's own, STRICT
    assert (peers.inputs["metadata"]["namespace"], peers.inputs["spec"]["mtls"]["mode"]) == ("istio-system", "STRICT")
    # Through the mesh only the cells' Prometheus identity, and only to write.
    (authz,) = in_monitoring(plan, AUTHORIZATION_POLICY)
    rule = authz.inputs["spec"]
    assert rule["action"] == "ALLOW" and rule["selector"] == {"matchLabels": monitoring.RECEIVER_LABEL}
    assert rule["rules"] == [{"from": [{"source": {"principals": ["cluster.local/ns/monitoring/sa/kube-prometheus-stack-prometheus"]}}],
                              "to": [{"operation": {"methods": ["POST"], "paths": ["/api/v1/write"]}}]}]


def test_the_writers_principal_is_the_service_account_the_chart_makes_for_prometheus():
    defaults = chart_defaults(truth.KUBE_PROMETHEUS_STACK_DIR / "values.yaml")["prometheus"]["serviceAccount"]
    # templates/_helpers.tpl: "<fullname>-prometheus" when create is true and no name is given.
    assert defaults["create"] is True and not defaults["name"]
    assert monitoring.SENDER_PRINCIPAL.endswith(f"/ns/{monitoring.NAMESPACE}/sa/{monitoring.FULLNAME}-prometheus")


@pytest.mark.parametrize("cell,cloud", [("azure-eus2", "azure"), ("gcp-usc1", "gcp")])
def test_every_other_prod_cell_sends_its_labelled_series_through_an_outbound_only_sidecar(cell, cloud, stack_plan):
    plan = cell_plan(stack_plan("prod"), "prod", cell)
    values = prometheus_spec(plan)
    assert values["externalLabels"] == {"cell": cell, "cloud": cloud}
    assert values["remoteWrite"] == [{"name": "global", "url": f"http://metrics-global.monitoring.svc.cluster.local:{monitoring.GLOBAL_PORT}/api/v1/write"}]
    # Its own retention and volume; no receiver, no receiver label, no scrape class.
    assert values["retention"] == "15d" and "retentionSize" not in values and "scrapeClasses" not in values
    pod = values["podMetadata"]
    assert pod["labels"] == {"sidecar.istio.io/inject": "true"}
    # Nothing inbound captured, no IP range: only connections to the global port go through Envoy (mTLS).
    assert pod["annotations"] == {
        "traffic.sidecar.istio.io/includeInboundPorts": "",
        "traffic.sidecar.istio.io/includeOutboundIPRanges": "",
        "traffic.sidecar.istio.io/includeOutboundPorts": str(monitoring.GLOBAL_PORT),
    }
    # The URL's host resolves here (the Service exists in every cell) and no pod here answers it.
    service = global_service(plan).inputs
    assert f"{service['metadata']['name']}.{service['metadata']['namespace']}.svc.cluster.local" == monitoring.GLOBAL_HOST
    assert not service["spec"]["selector"].items() <= pod["labels"].items()
    assert service["spec"]["ports"][0]["port"] == monitoring.GLOBAL_PORT
    (rule,) = in_monitoring(plan, DESTINATION_RULE)
    assert rule.inputs["spec"] == {"host": monitoring.GLOBAL_HOST, "trafficPolicy": {"tls": {"mode": "ISTIO_MUTUAL"}}}
    assert in_monitoring(plan, SIDECAR) == in_monitoring(plan, AUTHORIZATION_POLICY) == []


def test_the_senders_sidecars_reach_the_receiver_through_the_east_west_gateways(stack_plan):
    """Cross-network endpoints are reached through the receiving network's east-west gateway (AUTO_PASSTHROUGH of
    mesh mTLS on *.local): the global host is one of those, and every prod cell is in the mesh across cells."""
    plan = stack_plan("prod")
    gateways = [g for g in plan.of_type("kubernetes:networking.istio.io/v1:Gateway") if g.inputs["metadata"]["name"] == "cross-network-gateway"]
    assert len(gateways) == 3
    for gateway in gateways:
        (server,) = gateway.inputs["spec"]["servers"]
        assert server["tls"]["mode"] == "AUTO_PASSTHROUGH" and monitoring.GLOBAL_HOST.endswith(server["hosts"][0].lstrip("*"))


@pytest.mark.parametrize("stack", ["dev", "local"])
def test_a_single_cell_stack_without_global_metrics_is_unchanged(stack, stack_plan):
    plan = stack_plan(stack)
    assert parse_platform_spec(spec_of(stack)).global_metrics is None
    values = prometheus_spec(plan)
    for key in ("remoteWrite", "enableRemoteWriteReceiver", "podMetadata", "scrapeClasses", "retentionSize"):
        assert key not in values
    assert [s for s in in_monitoring(plan, SERVICE) if s.inputs["metadata"]["name"] == monitoring.GLOBAL_SERVICE] == []
    assert [r for kind in GLOBAL_KINDS for r in in_monitoring(plan, kind)] == []


@pytest.mark.parametrize("stack", ["prod", "staging"])
def test_the_global_views_istio_objects_pass_their_vendored_crds(stack, stack_plan):
    objects = [r for kind in GLOBAL_KINDS for r in in_monitoring(stack_plan(stack), kind)]
    assert len(objects) == len(parse_platform_spec(spec_of(stack)).cells) + 2  # a DestinationRule each; the receiver's two
    assert [e for o in objects for e in custom_resource_errors(manifest(o), truth.crd_schemas())] == []


@pytest.mark.parametrize(
    "path,value,expected",
    [
        (("remoteWrite", 0, "basicAuht"), {}, "spec.remoteWrite[0].basicAuht: unknown field"),
        (("remoteWrite", 0, "url"), 5, "spec.remoteWrite[0].url: 5 is not of type 'string'"),
        (("enableRemoteWriteReceiver",), "yes", "spec.enableRemoteWriteReceiver: 'yes' is not of type 'boolean'"),
        (("retentionSize",), "870Gi", "spec.retentionSize: '870Gi' does not match"),
        (("scrapeClasses", 0, "relabelings", 0, "target_label"), "cell", "spec.scrapeClasses[0].relabelings[0].target_label: unknown field"),
        (("podMetadata", "annotation"), {}, "spec.podMetadata.annotation: unknown field"),
    ],
    ids=["remote-write-key", "remote-write-type", "receiver-type", "retention-size-unit", "scrape-class-key", "pod-metadata-key"],
)
def test_a_wrong_prometheus_value_the_chart_passes_on_is_refused_by_the_prometheus_crd(path, value, expected, stack_plan):
    plan = stack_plan("prod")
    by_cell = {c: prometheus_spec(cell_plan(plan, "prod", c)) for c in ("aws-use1", "gcp-usc1")}
    for cell, values in by_cell.items():
        wrapped = {"prometheus": {"prometheusSpec": copy.deepcopy(dict(values))}}
        assert truth.prometheus_spec_errors(wrapped) == []
        if path[0] in values:
            errors = truth.prometheus_spec_errors(put(wrapped, ("prometheus", "prometheusSpec", *path), value))
            assert any(e.startswith(expected) for e in errors), errors


# ----------------------------------------------------------------------------------------------- refused choices
@pytest.mark.parametrize(
    "stack,global_metrics,cells,field,message",
    [
        ("prod", {"kind": "cell", "cell": "aws-usw2"}, None, "global_metrics.cell", "'aws-usw2' is not a cell of this stack; cells: aws-use1, azure-eus2, gcp-usc1"),
        ("staging", {"kind": "cell", "cell": "gcp-usc1"}, {"monitoring": {"enabled": False}}, None, None),
        ("prod", {"kind": "remote_write", "url": "http://metrics.example.com/api/v1/push"}, None, "global_metrics.url", "must be https://"),
        ("prod", {"kind": "remote_write", "url": "https://aps.example.com/api/v1/remote_write", "auth": "sigv4"}, None, "global_metrics.sigv4", "set both or neither"),
        ("prod", {"kind": "remote_write", "url": "https://m.example.com", "sigv4": {"region": "us-east-1"}}, None, "global_metrics.auth", "set both or neither"),
        ("prod", {"kind": "remote_write", "url": "https://m.example.com", "auth": "oauth"}, None, "global_metrics.auth", None),
        ("prod", {"kind": "federate", "cell": "aws-use1"}, None, "global_metrics", None),
        ("prod", {"kind": "cell", "cell": "aws-use1", "retention": "90 days"}, None, "global_metrics.retention", None),
        ("prod", {"kind": "cell", "cell": "aws-use1", "storage_size": "500GB"}, None, "global_metrics.storage_size", None),
    ],
    ids=["unknown-cell", "receiver-without-monitoring", "plaintext-url", "sigv4-without-region", "region-without-sigv4", "unknown-auth", "unknown-kind", "bad-retention", "bad-size"],
)
def test_a_bad_global_metrics_choice_is_refused_naming_the_field(stack, global_metrics, cells, field, message):
    raw = spec_of(stack, {"global_metrics": global_metrics})
    if cells:
        # A receiver without a Prometheus: the cell serves no model, so monitoring may be off there.
        raw["models"][0]["cells"] = ["aws-use1"]
        next(c for c in raw["cells"] if c["name"] == "gcp-usc1").update(cells)
        field, message = "global_metrics.cell", "cell 'gcp-usc1' has monitoring disabled, so no Prometheus to receive"
    with pytest.raises(SpecError) as err:
        parse_platform_spec(raw)
    issues = dict(err.value.issues)
    assert field in issues, issues
    assert message is None or message in issues[field], issues[field]


def test_plaintext_http_is_a_named_opt_out():
    raw = spec_of("prod", {"global_metrics": {"kind": "remote_write", "url": "http://mimir.internal/api/v1/push", "allow_plaintext_http": True}})
    assert parse_platform_spec(raw).global_metrics.url.startswith("http://")


# ----------------------------------------------------------------------------------------------- external endpoint
EXTERNAL = {"kind": "remote_write", "url": "https://prometheus-prod.grafana.example.net/api/prom/push", "auth": "basic"}
CREDENTIALS = {"username": "12345", "password": "glc_secret"}


@pytest.fixture(scope="module")
def external_plan():
    return run_stack("staging", STACKS, config_overrides={SPEC_KEY: spec_of("staging", {"global_metrics": EXTERNAL}),
                                                          CREDENTIALS_KEY: json.dumps(CREDENTIALS)})


@pytest.mark.parametrize("cell,cloud", [("aws-use1", "aws"), ("gcp-usc1", "gcp")])
def test_with_an_external_endpoint_every_cell_sends_to_it_with_its_credentials_from_a_secret(cell, cloud, external_plan):
    plan = cell_plan(external_plan, "staging", cell)
    values = prometheus_spec(plan)
    assert values["externalLabels"] == {"cell": cell, "cloud": cloud}
    ref = lambda key: {"name": monitoring.REMOTE_WRITE_SECRET, "key": key}  # noqa: E731
    assert values["remoteWrite"] == [{"name": "global", "url": EXTERNAL["url"], "basicAuth": {"username": ref("username"), "password": ref("password")}}]
    # No mesh part: no sidecar on Prometheus, no receiver, no global Service or Istio objects.
    assert "podMetadata" not in values and "enableRemoteWriteReceiver" not in values
    assert [r for kind in GLOBAL_KINDS for r in in_monitoring(plan, kind)] == []
    (secret,) = [s for s in in_monitoring(plan, SECRET) if s.inputs["metadata"]["name"] == monitoring.REMOTE_WRITE_SECRET]
    assert secret.inputs["stringData"] == CREDENTIALS
    assert secret.is_secret("stringData")
    assert "glc_secret" not in json.dumps(secret.masked_inputs())
    # The operator reads the credentials when it renders the config: the Secret is there before the release.
    (release,) = [r for r in plan.of_type(RELEASE) if r.inputs["chart"] == "kube-prometheus-stack"]
    assert secret.urn in release.dependencies
    assert truth.prometheus_spec_errors(release.inputs["values"]) == []


@pytest.mark.parametrize(
    "auth,extra,credentials,entry",
    [
        ("bearer", {}, {"token": "t0ken"}, {"authorization": {"type": "Bearer", "credentials": {"name": "metrics-remote-write", "key": "token"}}}),
        ("sigv4", {"sigv4": {"region": "us-east-1", "role_arn": "arn:aws:iam::123456789012:role/amp-writer"}},
         {"access_key_id": "AKIA", "secret_access_key": "s3cret"},
         {"sigv4": {"region": "us-east-1", "roleArn": "arn:aws:iam::123456789012:role/amp-writer",
                    "accessKey": {"name": "metrics-remote-write", "key": "access_key_id"},
                    "secretKey": {"name": "metrics-remote-write", "key": "secret_access_key"}}}),
    ],
    ids=["bearer", "sigv4"],
)
def test_bearer_and_sigv4_endpoints_reference_their_secrets_keys(auth, extra, credentials, entry):
    target = {**EXTERNAL, "auth": auth, **extra}
    args = monitoring.MonitoringArgs(cell="c", cloud="aws", send_global=target, remote_write_credentials=credentials)
    values = monitoring.prometheus_values(args.spec, "c", "aws", args)
    (remote,) = values["prometheus"]["prometheusSpec"]["remoteWrite"]
    assert remote == {"name": "global", "url": EXTERNAL["url"], **entry}
    assert truth.prometheus_spec_errors(values) == []


def test_an_external_endpoint_without_its_credentials_is_refused_naming_the_config_key_and_registers_nothing():
    plan = OfflinePlan()
    with pytest.raises(SpecError) as err:
        run_stack("staging", STACKS, config_overrides={SPEC_KEY: spec_of("staging", {"global_metrics": EXTERNAL})}, plan=plan)
    message = dict(err.value.issues)[CREDENTIALS_KEY]
    assert message.startswith("missing: global_metrics.auth needs it") and '"username": "..."' in message
    # Refused before any cell registered anything (the stack itself and the platform component only).
    assert not [r for r in plan.resources if r.type.startswith(("kubernetes:", "aws:", "gcp:"))]


def test_credentials_without_the_fields_the_auth_reads_are_refused_naming_the_config_key():
    # Read when the secret resolves (a SpecError inside the Output, which the engine reports as the resource's error).
    with pytest.raises(Exception) as err:
        run_stack("staging", STACKS, config_overrides={SPEC_KEY: spec_of("staging", {"global_metrics": EXTERNAL}),
                                                       CREDENTIALS_KEY: json.dumps({"user": "x"})})
    assert f"{CREDENTIALS_KEY}: must be a JSON object with text username, password" in str(err.value)
