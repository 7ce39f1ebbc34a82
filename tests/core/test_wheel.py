"""The library as `pip install lepton-infra` delivers it: the wheel carries the serving image's sources, and an
installation built from it finds them and tags the image exactly as a checkout does (docs/design.md, "Layout")."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from lepton_infra.components.kubernetes import dashboards
from lepton_infra.components.kubernetes.serving_image import DOCKERFILE, content_hash, context_files, packaged_context

ROOT = Path(__file__).resolve().parents[2]
PACKAGED = "lepton_infra/_image_context/"
PROBE = """
import json
from lepton_infra.components.kubernetes import dashboards
from lepton_infra.components.kubernetes.serving_image import DOCKERFILE, content_hash, packaged_context
context = packaged_context()
print(json.dumps({"context": str(context), "hash": content_hash(context, context / DOCKERFILE, "cuda", ["linux/amd64"])}))
"""


def pip(*argv: str) -> None:
    result = subprocess.run([sys.executable, "-m", "pip", "-q", *argv], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> tuple[Path, Path]:
    """(the wheel built from this checkout, a directory it was installed into)."""
    work = tmp_path_factory.mktemp("wheel")
    # Built from a copy: setuptools writes build/ and *.egg-info into the tree it builds.
    source = work / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(".git", ".venv", "build", "*.egg-info", "__pycache__"))
    pip("wheel", "--no-deps", "-w", str(work / "dist"), str(source))
    (wheel,) = (work / "dist").glob("lepton_infra-*.whl")
    pip("install", "--no-deps", "--target", str(work / "site"), str(wheel))
    return wheel, work / "site"


def test_the_wheel_carries_every_file_the_image_build_reads(installed):
    wheel, _ = installed
    names = set(zipfile.ZipFile(wheel).namelist())
    needed = context_files(packaged_context(), packaged_context() / DOCKERFILE)
    assert needed and "serving/Dockerfile" in needed
    missing = [f for f in needed if PACKAGED + f not in names]
    assert not missing, f"the wheel lacks {missing}"


def test_the_wheel_carries_every_python_package_of_the_library(installed):
    wheel, _ = installed
    names = set(zipfile.ZipFile(wheel).namelist())
    packages = {f"lepton_infra/{p.relative_to(ROOT / 'lepton_infra')}" for p in (ROOT / "lepton_infra").rglob("*.py")}
    packages |= {f"lepton_infra/components/{p.relative_to(ROOT / 'components')}" for p in (ROOT / "components").rglob("*.py")}
    assert not sorted(packages - names), "pyproject.toml's [tool.setuptools] packages miss these modules"


def test_an_installed_library_builds_from_its_own_sources_with_the_checkouts_content_tag(installed, tmp_path):
    _, site = installed
    env = {**os.environ, "PYTHONPATH": str(site)}
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    probe = json.loads(out.stdout)
    assert Path(probe["context"]) == site / "lepton_infra" / "_image_context"
    here = packaged_context()
    assert probe["hash"] == content_hash(here, here / DOCKERFILE, "cuda", ["linux/amd64"])


DASHBOARDS_PROBE = """
import json
from lepton_infra.components.kubernetes import dashboards
print(json.dumps({name: dashboards.dashboard(name)["uid"] for name in dashboards.NAMES}))
"""


def test_an_installed_library_finds_its_grafana_dashboards(installed, tmp_path):
    """The dashboards are package data (pyproject.toml): an installation from the wheel reads every one of them."""
    wheel, site = installed
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {f"lepton_infra/components/kubernetes/grafana/{n}.json" for n in dashboards.NAMES} <= names
    env = {**os.environ, "PYTHONPATH": str(site)}
    out = subprocess.run([sys.executable, "-c", DASHBOARDS_PROBE], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == {name: dashboards.dashboard(name)["uid"] for name in dashboards.NAMES}
