"""The facts the code takes from what a chart renders, checked against the chart's own templates (vendored verbatim
beside this file, see README.md): the istiod chart's reader ClusterRole rules, the gateway chart as a network
gateway (its fixed ports, its network label, its selector), Istio's cross-network Gateway sample, and the SeaweedFS
chart's S3 Service name and port and its two S3 identities.

A template is not rendered here (no Helm offline): each test first finds, verbatim, the template lines it relies on,
so a release that changes them fails naming the line, then evaluates those lines for the values the platform sets.
"""

from __future__ import annotations

import json
import re
from collections import Counter

import pytest
import yaml

import upstream_truth as truth
from lepton_infra.components.existing import lake
from lepton_infra.components.kubernetes import mesh
from lepton_infra.spec import SEAWEEDFS_CHART_VERSION
from lepton_infra.upstream_schemas import chart_defaults

from stack_support import planned_stack

RELEASE = "kubernetes:helm.sh/v3:Release"


def text_of(path) -> str:
    return path.read_text()


def line_in(text: str, line: str) -> str:
    """``line`` (stripped) as one whole line of ``text``: what a test relies on, found verbatim."""
    assert line in (l.strip() for l in text.splitlines()), f"the template no longer has the line {line!r}"
    return line


def release_of(stack: str, chart: str, name: str):
    """The first release of ``chart`` named ``name`` (prod installs each in every cell, alike but for names)."""
    return next(r for r in planned_stack(stack).of_type(RELEASE) if r.inputs["chart"] == chart and r.inputs["name"] == name)


# ------------------------------------------------------------------------------------------------- istiod: reader
def rule_key(rule: dict) -> tuple:
    """A rule as RBAC reads it: its groups, resources and verbs as sets (order carries no meaning)."""
    groups = rule.get("apiGroups", rule.get("api_groups"))
    return tuple(sorted(groups)), tuple(sorted(rule["resources"])), tuple(sorted(rule["verbs"]))


def chart_reader_rules(istiod_values: dict) -> tuple[list[dict], list[dict]]:
    """(the rules the istiod chart's reader ClusterRole always has, those only a remote-istiod install adds), for
    ``istiod_values``; the MCS API group resolved as the template does."""
    text = text_of(truth.ISTIO_READER_CLUSTERROLE)
    mcs_line = line_in(text, '{{ $mcsAPIGroup := or .Values.env.MCS_API_GROUP "multicluster.x-k8s.io" }}')
    env = {**(istiod_values.get("env") or {}), **((istiod_values.get("pilot") or {}).get("env") or {})}  # pilot.* -> top
    mcs = env.get("MCS_API_GROUP") or re.search(r'"([^"]+)" }}$', mcs_line).group(1)
    remote_if = line_in(text, "{{- if .Values.istiodRemote.enabled }}")
    always, remote_only = text.split("\nrules:\n", 1)[1].split(remote_if, 1)
    always = always.replace("{{ $mcsAPIGroup }}", mcs)
    assert "{{" not in always, "the reader rules gained a template expression: re-read the template"
    remote_only = "\n".join(l for l in remote_only.splitlines() if not l.strip().startswith("{{"))
    return yaml.safe_load(always), yaml.safe_load(remote_only)


def istiod_values_of(stack: str) -> dict:
    return dict(release_of(stack, "istiod", "istiod").inputs["values"])


def test_the_template_rules_parse_as_the_chart_renders_them():
    always, remote_only = chart_reader_rules({})
    assert len(always) == 11 and len(remote_only) == 3
    assert (("multicluster.x-k8s.io",), ("serviceexports",), ("create", "delete", "get", "list", "watch")) in map(rule_key, always)
    assert {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["create", "get", "list", "watch", "update"]} in remote_only
    # A value that moves the MCS group moves it in the rules, as the template does.
    assert ("x.example.com",) in {rule_key(r)[0] for r in chart_reader_rules({"pilot": {"env": {"MCS_API_GROUP": "x.example.com"}}})[0]}


def test_reader_rules_are_the_istiod_charts_reader_clusterrole_rule_for_rule():
    values = istiod_values_of("prod")
    assert not (values.get("istiodRemote") or {}).get("enabled")  # the remote-istiod rules are not the chart's here
    always, _ = chart_reader_rules(values)
    assert sorted(map(rule_key, mesh.READER_RULES)) == sorted(map(rule_key, always))


def test_the_reader_clusterrole_each_cell_emits_has_exactly_the_charts_rules():
    roles = [r for r in planned_stack("prod").of_type("kubernetes:rbac.authorization.k8s.io/v1:ClusterRole") if r.inputs["metadata"]["name"] == mesh.READER]
    assert len(roles) == 3  # one per prod cell
    always, remote_only = chart_reader_rules(istiod_values_of("prod"))
    for role in roles:
        assert Counter(map(rule_key, role.inputs["rules"])) == Counter(map(rule_key, always))
        assert not set(map(rule_key, role.inputs["rules"])) & set(map(rule_key, remote_only))


# --------------------------------------------------------------------------------------------- gateway: east-west
def gateway_template(name: str) -> str:
    return text_of(truth.ISTIO_GATEWAY_TEMPLATES / name)


def network_gateway_service_ports() -> tuple[list[dict], str]:
    """(the Service ports the gateway chart renders when ``networkGateway`` is set, the text of its other branch)."""
    text = gateway_template("service.yaml")
    line_in(text, "{{- if .Values.networkGateway }}")
    match = re.search(r"\n  ports:\n\{\{- if \.Values\.networkGateway \}\}\n(.*?)\n\{\{- else \}\}\n(.*?)\n\{\{- end \}\}", text, re.S)
    assert match, "the gateway Service's ports are no longer chosen by networkGateway: re-read service.yaml"
    return yaml.safe_load(match.group(1)), match.group(2)


def eastwest_values() -> dict:
    return dict(release_of("prod", "gateway", mesh.EASTWEST_GATEWAY).inputs["values"])


def test_as_a_network_gateway_the_chart_serves_the_status_and_cross_network_ports():
    fixed, _ = network_gateway_service_ports()
    assert {"name": "tls", "port": mesh.CROSS_NETWORK_PORT, "targetPort": mesh.CROSS_NETWORK_PORT} in fixed
    assert {"name": "status-port", "port": 15021, "targetPort": 15021} in fixed
    assert eastwest_values()["networkGateway"]  # set, so these are the ports rendered
    [server] = mesh.cross_network_gateway_spec()["servers"]
    assert server["port"]["number"] in {p["port"] for p in fixed}


def test_the_east_west_gateway_sets_no_service_ports_which_the_chart_ignores_for_a_network_gateway():
    fixed, otherwise = network_gateway_service_ports()
    # service.ports is read in the other branch only: for a network gateway anything set there is dropped silently.
    assert gateway_template("service.yaml").count(".Values.service.ports") == 1 and ".Values.service.ports" in otherwise
    values = eastwest_values()
    assert "ports" not in values.get("service", {}), values["service"]


NETWORK_LABEL_AT = re.compile(r'\{\{- with \.Values\.networkGateway \}\}\n\s*([\w./-]+): "\{\{\.\}\}"')


@pytest.mark.parametrize("template", ["service.yaml", "deployment.yaml"])
def test_the_chart_labels_a_network_gateway_with_the_network_label_the_code_uses(template):
    """The Service and the pods get topology.istio.io/network=<networkGateway>: istiod finds the network's gateway by
    it, as it finds the network of istio-system by the same label on the namespace (mesh.NETWORK_LABEL)."""
    labels = NETWORK_LABEL_AT.findall(gateway_template(template))
    assert labels == [mesh.NETWORK_LABEL]


def test_the_east_west_gateway_is_of_its_cells_network():
    plan = planned_stack("prod")
    for release in [r for r in plan.of_type(RELEASE) if r.inputs["chart"] == "gateway" and r.inputs["name"] == mesh.EASTWEST_GATEWAY]:
        [istiod] = [r for r in plan.of_type(RELEASE) if r.inputs["chart"] == "istiod" and r.provider == release.provider]
        assert release.inputs["values"]["networkGateway"] == istiod.inputs["values"]["global"]["network"]


def test_the_charts_selector_for_the_east_west_gateway_is_the_one_the_cross_network_gateway_selects():
    helpers = gateway_template("_helpers.tpl")
    line_in(helpers, '{{- .Values.name | default .Release.Name | default "istio-ingressgateway" -}}')
    line_in(helpers, 'istio: {{ (.Values.labels.istio | quote) | default (include "gateway.name" . | trimPrefix "istio-") }}')
    line_in(gateway_template("service.yaml"), 'name: {{ include "gateway.name" . }}')
    values = eastwest_values()
    release = release_of("prod", "gateway", mesh.EASTWEST_GATEWAY)
    name = values.get("name") or release.inputs["name"]
    labels = {**(chart_defaults(truth.ISTIO_DIR / "charts" / "gateway" / "values.yaml", truth.ISTIO_DEFAULTS).get("labels") or {}), **(values.get("labels") or {})}
    selector = {"istio": labels.get("istio") or name.removeprefix("istio-")}
    assert name == mesh.EASTWEST_GATEWAY  # the Service's name
    assert selector == mesh.EASTWEST_SELECTOR == mesh.cross_network_gateway_spec()["selector"]


def test_the_cross_network_gateway_is_istios_expose_services_sample():
    sample = yaml.safe_load(text_of(truth.ISTIO_EXPOSE_SERVICES))
    assert (sample["kind"], sample["metadata"]["name"]) == ("Gateway", "cross-network-gateway")
    assert mesh.cross_network_gateway_spec() == sample["spec"]


# ---------------------------------------------------------------------------------------------------- SeaweedFS
def seaweedfs_template(name: str) -> str:
    return text_of(truth.SEAWEEDFS_TEMPLATES / name)


def seaweedfs_release():
    [release] = [r for r in planned_stack("local").of_type(RELEASE) if r.inputs["chart"] == lake.CHART]
    return release


def test_the_vendored_chart_is_the_pinned_version():
    chart = yaml.safe_load(text_of(truth.SEAWEEDFS_CHART_YAML))
    assert (chart["name"], chart["version"]) == (lake.CHART, SEAWEEDFS_CHART_VERSION)


def fullname(release_name: str, values: dict) -> str:
    """seaweedfs.fullname (templates/shared/_helpers.tpl), for the lines checked below."""
    if values.get("fullnameOverride"):
        return values["fullnameOverride"][:63].rstrip("-")
    name = values.get("nameOverride") or lake.CHART
    return release_name[:63].rstrip("-") if name in release_name else f"{release_name}-{name}"[:63].rstrip("-")


def component_name(fullname_: str, suffix: str) -> str:
    """seaweedfs.componentName: the fullname cut to leave room for ``-<suffix>``, then the suffix."""
    return f"{fullname_[: 62 - len(suffix)].rstrip('-')}-{suffix}"


def test_the_s3_service_is_named_as_the_code_says():
    helpers = seaweedfs_template("shared/_helpers.tpl")
    for line in (
        "{{- $name := default .Chart.Name .Values.nameOverride -}}",
        "{{- if contains $name .Release.Name -}}",
        '{{- .Release.Name | trunc 63 | trimSuffix "-" -}}',
        '{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}',
        "{{- $maxLen := sub 62 (len $suffix) | int -}}",
        '{{- printf "%s-%s" $truncatedFullname $suffix -}}',
    ):
        line_in(helpers, line)
    line_in(seaweedfs_template("s3/s3-service.yaml"), 'name: {{ include "seaweedfs.componentName" (list . "s3") }}')
    release = seaweedfs_release()
    assert lake.S3_SERVICE == component_name(fullname(release.inputs["name"], release.inputs["values"]), "s3")


def test_the_s3_service_port_is_s3_port_the_charts_8333_and_the_endpoint_says_it():
    line_in(seaweedfs_template("s3/s3-service.yaml"), "port: {{ if .Values.s3.enabled }}{{ .Values.s3.port }}{{ else }}{{ .Values.filer.s3.port }}{{ end }}")
    s3 = seaweedfs_release().inputs["values"]["s3"]
    assert s3["enabled"] is True and s3["port"] == lake.S3_PORT
    assert lake.S3_PORT == chart_defaults(truth.SEAWEEDFS_DIR / "values.yaml")["s3"]["port"] == 8333
    endpoints = {e["value"] for d in planned_stack("local").of_type("kubernetes:apps/v1:Deployment")
                 for c in d.inputs["spec"]["template"]["spec"]["containers"] for e in c.get("env") or [] if e["name"] == "AWS_ENDPOINT_URL_S3"}
    assert endpoints and all(e.startswith(f"http://{lake.S3_SERVICE}.") and e.endswith(f":{lake.S3_PORT}") for e in endpoints), endpoints


def chart_identities() -> dict[str, list[str]]:
    """{credentials key (s3.credentials.<key>): actions} of the identities s3-secret.yaml configures."""
    text = seaweedfs_template("s3/s3-secret.yaml")
    # Which s3.credentials key each identity's variables come from ($adminCreds := $creds.admin ...).
    sources = dict(re.findall(r"\{\{- \$(\w+)Creds := \$creds\.(\w+) \| default dict -\}\}", text))
    assert all(re.search(rf"\$access_key_{var} := \${var}Creds\.accessKey\b", text) for var in sources), sources
    [config] = re.findall(r"^  seaweedfs_s3_config: '(.*)'$", text, re.M)
    config = re.sub(r"\{\{ \$(access|secret)_key_(\w+) \}\}", r"\2", config)
    identities = json.loads(config)["identities"]
    return {sources[i["credentials"][0]["accessKey"]]: i["actions"] for i in identities}


def test_the_gateway_reads_the_identities_file_the_code_writes_instead_of_the_charts():
    deployment = seaweedfs_template("s3/s3-deployment.yaml")
    line_in(deployment, "-config=/etc/sw/seaweedfs_s3_config \\")
    line_in(deployment, "- mountPath: /etc/sw")
    line_in(deployment, "secretName: {{ .Values.s3.existingConfigSecret }}")
    # ... and the chart then renders no identities of its own (s3-secret.yaml's condition).
    assert "(not .Values.s3.existingConfigSecret)" in seaweedfs_template("s3/s3-secret.yaml")
    s3 = seaweedfs_release().inputs["values"]["s3"]
    assert (s3["enableAuth"], s3["existingConfigSecret"]) == (True, lake.CONFIG_SECRET) and "credentials" not in s3
    assert lake.CONFIG_KEY == "seaweedfs_s3_config"


def test_admin_has_the_charts_admin_actions_and_each_reader_only_reads_its_zone():
    assert chart_identities()["admin"] == lake.ADMIN_ACTIONS
    secrets = {s.inputs["metadata"]["name"]: s for s in planned_stack("local").of_type("kubernetes:core/v1:Secret")}
    config = secrets[lake.CONFIG_SECRET]
    assert config.is_secret("stringData")
    identities = {i["name"]: i for i in json.loads(config.inputs["stringData"][lake.CONFIG_KEY])["identities"]}
    zones = [b["name"] for b in seaweedfs_release().inputs["values"]["s3"]["createBuckets"]]
    assert set(identities) == {"admin", *(f"{zone}-reader" for zone in zones)}
    for zone in zones:
        assert identities[f"{zone}-reader"]["actions"] == [f"Read:{zone}", f"List:{zone}"]
    keys = [c["accessKey"] for i in identities.values() for c in i["credentials"]]
    assert len(set(keys)) == len(keys) == len(identities)  # one key pair each, none shared
