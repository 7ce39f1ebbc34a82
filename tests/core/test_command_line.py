"""The CLI as a newcomer meets it: piped output, broken stack files, where it looks, what it prints."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from lepton_infra.cli import main
from lepton_infra.testing import SECRET_MASK, run_stack

ROOT = Path(__file__).resolve().parents[2]
STACKS = ROOT / "stacks"


def cli(*argv: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "lepton_infra", *argv], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


@pytest.mark.parametrize("argv", [("plan", "dev", "--json"), ("schema",)], ids=["plan-json", "schema"])
def test_a_reader_that_closes_the_pipe_early_ends_the_cli_quietly(argv):
    proc = cli(*argv)
    assert proc.stdout.readline().strip() in ("[", "{")  # what `| head -1` reads, then it closes the pipe
    proc.stdout.close()
    assert proc.wait(timeout=120) == 0
    assert proc.stderr.read() == ""


def test_the_command_ends_without_teardown_yet_writes_all_its_output_and_its_exit_status():
    """`lepton-infra` exits with os._exit after flushing (cli.run): the whole plan still arrives, and errors still exit 1."""
    proc = cli("plan", "dev", "--format", "json")
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0 and err == ""
    assert json.loads(out)["stack"] == "dev"
    proc = cli("validate", "no-such-stack")
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 1 and out == "" and err.startswith("error: no stack file") and err.endswith("\n")


def test_the_installed_command_is_the_entry_point_that_skips_teardown():
    import tomllib

    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["lepton-infra"] == "lepton_infra.cli:run"


def stacks_dir_with(tmp_path: Path, text: str) -> Path:
    (tmp_path / "Pulumi.dev.yaml").write_text(text)
    return tmp_path


def test_a_stack_file_that_is_not_yaml_is_one_line_naming_file_line_and_column(tmp_path, capsys):
    stacks = stacks_dir_with(tmp_path, "config:\n  lepton-platform:platform:\n    environment: [dev\n")
    assert main(["validate", "dev", "--stacks-dir", str(stacks)]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert f"{stacks / 'Pulumi.dev.yaml'}:4:1: not valid YAML" in err or f"{stacks / 'Pulumi.dev.yaml'}:3:" in err, err


def test_a_misspelt_platform_key_is_named_with_the_closest_key_found(tmp_path, capsys):
    text = (STACKS / "Pulumi.dev.yaml").read_text().replace("lepton-platform:platform:", "lepton-platfrom:platform:")
    assert main(["validate", "dev", "--stacks-dir", str(stacks_dir_with(tmp_path, text))]) == 1
    err = capsys.readouterr().err
    assert "lepton-platform:platform" in err and "lepton-platfrom:platform" in err and "Field required" not in err


@pytest.mark.parametrize("argv", [["--stacks-dir", str(STACKS), "validate", "dev"], ["validate", "dev", "--stacks-dir", str(STACKS)]],
                         ids=["before", "after"])
def test_stacks_dir_is_accepted_before_or_after_the_subcommand(argv, capsys):
    assert main(argv) == 0
    assert capsys.readouterr().out.startswith("dev: valid")


def test_outside_the_project_the_error_says_where_it_looked_and_how_to_point_elsewhere(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["validate", "dev"]) == 1
    err = capsys.readouterr().err
    assert str(tmp_path / "stacks") in err and "--stacks-dir" in err


def test_the_printed_plan_masks_every_secret(capsys):
    assert main(["plan", "dev", "--json", "--stacks-dir", str(STACKS)]) == 0
    printed = capsys.readouterr().out
    plan = run_stack("dev", STACKS)
    secrets = [value for r in plan.resources for path in r.secret_inputs if isinstance(value := _at(r.inputs, path), str)]
    assert secrets, "the dev stack has secret inputs (the registry's push password)"
    assert SECRET_MASK in printed and not [s for s in secrets if s in printed]


def _at(value, path):
    for step in path:
        value = value[step]
    return value


def test_two_copies_of_the_project_plan_the_same_with_no_local_path(tmp_path):
    summaries = []
    for copy in ("a", "b"):
        project = tmp_path / copy
        shutil.copytree(STACKS, project / "stacks", ignore=shutil.ignore_patterns("__pycache__"))
        shutil.copy(ROOT / "Pulumi.yaml", project)
        summaries.append(json.dumps(run_stack("dev", project / "stacks").summary()))
    assert summaries[0] == summaries[1]
    for local in (tmp_path, ROOT, sysconfig.get_paths()["purelib"]):
        assert str(local) not in summaries[0]
    # The image's build context: lepton-infra's own serving sources, wherever this installation keeps them.
    assert '"<lepton-infra>/serving/Dockerfile"' in summaries[0] or '"<site-packages>/lepton_infra/' in summaries[0]
