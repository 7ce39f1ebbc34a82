"""`lepton-infra plan STACK --format ...` through the CLI's main: every format for dev and prod, the yaml against the
Kubernetes schema and the vendored CRDs, secrets masked everywhere, colour only on a terminal, help everywhere."""

from __future__ import annotations

import contextlib
import io
import importlib
import json
import subprocess
import sys
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from lepton_infra.cli import main
from lepton_infra.composition import cell as composition_cell, platform as composition_platform
from lepton_infra.plan_formats import FORMATS, PLAIN, Style, build, document, terminal
from lepton_infra.plan_formats._tree import short_type
from lepton_infra.stack_files import read_platform_spec
from lepton_infra.testing import SECRET_MASK, run_stack
from lepton_infra.upstream_schemas import custom_resource_errors, load_crd_schemas

from plan_cli_support import ROOT, STACKS, run_cli, secret_values

KUBERNETES_VERSION = "1.35.0"  # the stacks' cluster.kubernetes_version
sys.path.insert(0, str(ROOT / "tests" / "upstream"))
import upstream_truth  # noqa: E402  (every vendored CRD, the registry tests/upstream reads)

CRD_FILES = upstream_truth.CRD_FILES


class Terminal(io.StringIO):
    def isatty(self):
        return True


@pytest.fixture(scope="module")
def printed(request) -> dict[tuple[str, str], str]:
    """What `plan STACK --format F` prints, for dev in every format and prod in the ones its tests read."""
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(ROOT)
        outputs = {}
        for stack, formats in (("dev", list(FORMATS)), ("prod", ["mermaid"]), ("local", ["mermaid", "yaml"])):
            for name in formats:
                code, out, err = run_cli("plan", stack, "--format", name)
                assert code == 0, err
                outputs[stack, name] = out
        return outputs


def test_every_format_of_dev_prints_through_main(printed):
    for name in FORMATS:
        assert printed["dev", name].strip(), name
    assert "offline plan: what the program declares" in printed["dev", "table"]
    assert "preview" not in printed["dev", "table"].replace("not a preview", "")


def test_no_format_prints_a_secret_unmasked(printed):
    secrets = secret_values("dev")
    assert secrets, "the dev stack has secrets (the registry's push password)"
    for (stack, name), text in printed.items():
        if stack == "dev":
            assert not [s for s in secrets if s in text], name
    assert SECRET_MASK in printed["dev", "json"]
    local = secret_values("local")
    assert local and not [s for s in local if s in printed["local", "yaml"]]


def test_json_is_the_sorted_plan_document_and_json_is_its_shorthand(printed, monkeypatch):
    doc = json.loads(printed["dev", "json"])
    urns = [r["urn"] for r in doc["resources"]]
    assert urns == sorted(urns) and doc["stack"] == "dev" and doc["lepton_infra_plan"] == document.FORMAT_VERSION
    assert printed["dev", "json"] == json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    monkeypatch.chdir(ROOT)
    assert run_cli("plan", "dev", "--json")[1] == printed["dev", "json"]  # and two runs print the same bytes


def test_the_table_groups_resources_by_cell_and_component_with_gpus_and_outputs(printed):
    table = printed["dev", "table"]
    assert "cell aws-use1 · aws us-east-1" in table
    assert "lepton:aws:EksCluster dev-aws-use1-cluster" in table and "dev-aws-use1-lake-raw" in table
    gpu = table.split("GPU capacity", 1)[1]
    assert [line.split() for line in gpu.splitlines() if line.split()[:1] == ["aws-use1"]] == [["aws-use1", "l4", "l4-spot", "0", "2"]]
    assert "aws-use1.cluster_name" in table and "aws-use1.models_uri" in table


def test_the_table_marks_protected_resources(monkeypatch):
    monkeypatch.chdir(ROOT)
    plan = run_stack("prod", STACKS)
    spec = read_platform_spec("prod", STACKS)
    table = FORMATS["table"](build("prod", plan, spec), PLAIN)
    protected = [r for r in plan.resources if r.protect and r.custom]
    assert protected
    lines = {tuple(line.split()[:2]): line for line in table.splitlines() if line.startswith("    ")}
    assert all(lines[short_type(r.type), r.name].endswith("protected") for r in protected)
    assert sum(line.endswith("protected") for line in lines.values()) == len(protected)
    assert f"{len(protected)} protected" in table.splitlines()[0]


def test_the_yaml_is_kubernetes_objects_valid_against_the_schema_strictly_and_their_crds(printed):
    documents = [d for d in yaml.safe_load_all(printed["dev", "yaml"]) if d is not None]
    assert documents and all({"apiVersion", "kind", "metadata"} <= d.keys() for d in documents)
    crds = load_crd_schemas(*CRD_FILES)
    custom = []
    for obj in documents:
        try:
            kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.SchemaNotFoundError:
            custom.append(obj)
    assert custom, "the dev stack has Istio custom resources"
    assert [e for obj in custom for e in custom_resource_errors(obj, crds)] == []


def test_the_yaml_file_passes_the_kubernetes_validate_command_strictly(printed, tmp_path):
    """What the issue asks for, literally: `kubernetes-validate --strict` over the printed file exits 0."""
    command = Path(sys.executable).with_name("kubernetes-validate")
    for stack in ("dev", "local"):  # local: Secrets whose whole stringData is secret stay mappings, values masked
        (tmp_path / f"{stack}.yaml").write_text(printed[stack, "yaml"])
        done = subprocess.run([str(command), "--strict", "--quiet", "-k", KUBERNETES_VERSION, str(tmp_path / f"{stack}.yaml")],
                              capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr
    assert "stringData:\n  seaweedfs_s3_config: '[secret]'" in printed["local", "yaml"]  # the lake's identities file


def test_the_yaml_lists_helm_releases_with_chart_version_and_values_as_comments(printed):
    text = printed["dev", "yaml"]
    releases = text.split("Helm releases", 1)[1]
    commented = yaml.safe_load("\n".join(line[2:] for line in releases.splitlines() if line.startswith("# ") and "urn:" not in line))
    assert {"release", "chart", "version", "values"} <= commented.keys()


def test_mermaid_shows_clouds_cells_pools_lakes_models_and_mesh_links(printed):
    prod = printed["prod", "mermaid"]
    assert prod.startswith("flowchart LR")
    for text in ('subgraph cloud_aws["aws"]', 'subgraph cloud_azure["azure"]', 'subgraph cloud_gcp["gcp"]', "GPU pool h100",
                 "data lake prod-gcp-usc1-lake", "model llm", "cluster prod-azure-eus2-cluster"):
        assert text in prod, text
    links = [line for line in prod.splitlines() if "mesh mTLS" in line]
    assert len(links) == 3  # three cells, every pair
    assert "mesh mTLS" not in printed["dev", "mermaid"]  # one cell: no mesh across cells
    local = printed["local", "mermaid"]  # a cell on an existing cluster: the platform creates no cluster there
    assert '["existing cluster"]' in local and "model classifier" in local


def test_markdown_is_a_pull_request_summary(printed):
    md = printed["dev", "markdown"]
    assert md.startswith("### Offline plan of stack `dev`")
    assert "| aws-use1 | aws | us-east-1 |" in md and "| aws-use1 | l4 | l4-spot | 0 | 2 |" in md


def test_colour_only_on_a_terminal_and_never_with_no_color(monkeypatch):
    assert terminal.wants_color(Terminal()) and not terminal.wants_color(io.StringIO())
    monkeypatch.setenv("NO_COLOR", "1")
    assert not terminal.wants_color(Terminal())
    assert Style(True).bold("x") == "\033[1mx\033[0m" and Style(False).bold("x") == "x"
    stderr = Terminal()
    with terminal.progress(stderr, "planning"):
        pass
    assert stderr.getvalue().startswith("planning…") and stderr.getvalue().endswith("\r\033[K")
    quiet = io.StringIO()
    with terminal.progress(quiet, "planning"):
        pass
    assert quiet.getvalue() == ""


def test_the_table_is_coloured_on_a_terminal_through_main_unless_no_color(monkeypatch):
    monkeypatch.chdir(ROOT)
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("TERM", raising=False)
    for no_color, coloured in (("", True), ("1", False)):
        monkeypatch.setenv("NO_COLOR", no_color)
        out, err = Terminal(), Terminal()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            assert main(["plan", "dev"]) == 0
        assert ("\033[" in out.getvalue()) is coloured
        assert err.getvalue().startswith("planning dev offline")  # the progress line, erased after


def test_piped_output_is_plain(printed):
    assert not [text for text in printed.values() if "\033[" in text]


@pytest.mark.parametrize("argv", [[], ["schema"], ["validate"], ["plan"], ["diff"]], ids=lambda a: a[0] if a else "top")
def test_every_command_has_help(argv):
    code, out, _ = _help(*argv, "--help")
    assert code == 0 and "usage: lepton-infra" in out
    assert "preview" not in out.replace("not a preview", "")


def _help(*argv):
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit) as exit_:
        main(list(argv))
    return exit_.value.code, out.getvalue(), ""


def test_the_formats_know_the_composition_tokens():
    assert document.CELL_TOKEN == composition_cell.TOKEN
    assert document.PLATFORM_TOKEN == composition_platform.TOKEN


def test_the_formats_benchmark_measures_the_document_and_every_format(monkeypatch):
    """benchmarks/platform/plan_formats.py (timings are printed there, never asserted: benchmarks/README.md)."""
    monkeypatch.syspath_prepend(str(ROOT))
    bench = importlib.import_module("benchmarks.platform.plan_formats")
    seconds = bench.measure("dev", repeat=1)
    assert set(seconds) == {"document", *FORMATS} and all(len(t) == 1 for t in seconds.values())
