"""The CLI finds the program and the stack files as Pulumi does: the nearest Pulumi.yaml's `main` and `stackConfigDir`;
--stacks-dir moves only the stack files; a stack may be named by its file's path."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from lepton_infra.project import resolve
from lepton_infra.stack_files import StackFileError

from plan_cli_support import ROOT, STACKS, run_cli



def test_main_and_stack_config_dir_are_read_from_the_nearest_pulumi_yaml(tmp_path):
    (tmp_path / "Pulumi.yaml").write_text("name: p\nruntime: python\nmain: infra/\nstackConfigDir: config\n")
    (tmp_path / "infra" / "deep").mkdir(parents=True)
    project = resolve("dev", cwd=tmp_path / "infra" / "deep")
    assert (project.program_dir, project.stacks_dir) == (tmp_path / "infra", tmp_path / "config")
    assert resolve("dev", stacks_dir=Path("elsewhere"), cwd=tmp_path).stacks_dir == Path("elsewhere")
    assert resolve("dev", stacks_dir=Path("elsewhere"), cwd=tmp_path).program_dir == tmp_path / "infra"


def test_a_main_that_names_a_file_is_an_error_naming_the_project_file(tmp_path):
    (tmp_path / "Pulumi.yaml").write_text("name: p\nruntime: python\nmain: infra/program.py\n")
    with pytest.raises(StackFileError, match="Pulumi.yaml: main: 'infra/program.py' names a file"):
        resolve("dev", cwd=tmp_path)


def test_without_main_or_stack_config_dir_both_are_the_project_folder(tmp_path):
    (tmp_path / "Pulumi.yaml").write_text("name: p\nruntime: python\n")
    project = resolve("dev", cwd=tmp_path)
    assert project.program_dir == project.stacks_dir == tmp_path


def test_without_a_pulumi_yaml_program_and_stacks_are_in_stacks(tmp_path):
    project = resolve("dev", cwd=tmp_path)
    assert (project.program_dir, project.stacks_dir, project.project_file) == (Path("stacks"), Path("stacks"), None)


def test_a_stack_given_as_its_file_names_the_stack_and_its_folder(monkeypatch, tmp_path):
    monkeypatch.chdir(ROOT)
    code, out, _ = run_cli("validate", "stacks/Pulumi.staging.yaml")
    assert code == 0 and out.startswith("staging: valid")
    elsewhere = tmp_path / "Pulumi.staging.yaml"
    shutil.copy(STACKS / "Pulumi.staging.yaml", elsewhere)
    project = resolve(str(elsewhere), cwd=ROOT)
    assert (project.stack, project.stacks_dir, project.program_dir) == ("staging", tmp_path, STACKS)


def test_the_project_is_found_from_a_subfolder(monkeypatch):
    monkeypatch.chdir(STACKS)
    code, out, _ = run_cli("validate", "dev")
    assert code == 0 and out.startswith("dev: valid")


def test_a_stack_file_kept_elsewhere_is_planned_with_the_projects_program(monkeypatch, tmp_path):
    """--stacks-dir moves the stack files only: the program is still Pulumi.yaml's `main` (stacks/__main__.py)."""
    shutil.copy(STACKS / "Pulumi.dev.yaml", tmp_path / "Pulumi.dev.yaml")
    monkeypatch.chdir(ROOT)
    code, out, err = run_cli("plan", "dev", "--stacks-dir", str(tmp_path), "--format", "json")
    assert code == 0, err
    assert json.loads(out)["stack"] == "dev" and not (tmp_path / "__main__.py").exists()
