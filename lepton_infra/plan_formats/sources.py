"""The two sides of ``lepton-infra diff``: a plan JSON file (``plan --format json``), or a git ref planned offline.

A ref is exported (``git archive``) into a temporary folder and its stack run there by a fresh Python process with
that checkout's own library first on the import path (its ``pyproject.toml`` package-dir map applied, as an install
would), so the plan is the ref's program, stack files and components, not the ones installed here.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any

from ..project import find_project_file, resolve
from . import document

# Runs in the child: map the checkout's packages as its pyproject's [tool.setuptools.package-dir] says, then run
# document.py (argv: document.py ROOT STACK STACKS_DIR PROGRAM_DIR OUT).
LAUNCHER = """
import importlib.abc, importlib.machinery, importlib.util, os, runpy, sys, tomllib
script, root = sys.argv[1], sys.argv[2]
with open(os.path.join(root, "pyproject.toml"), "rb") as f:
    mapped = tomllib.load(f).get("tool", {}).get("setuptools", {}).get("package-dir", {})
dirs = {name: os.path.join(root, folder) for name, folder in mapped.items() if name}

class CheckoutFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        folder = dirs.get(name)
        if folder is None:
            return None
        init = os.path.join(folder, "__init__.py")
        if os.path.isfile(init):
            return importlib.util.spec_from_file_location(name, init, submodule_search_locations=[folder])
        spec = importlib.machinery.ModuleSpec(name, None, is_package=True)
        spec.submodule_search_locations = [folder]
        return spec

sys.meta_path.insert(0, CheckoutFinder())
sys.argv = [script, *sys.argv[3:]]
runpy.run_path(script, run_name="__main__")
"""


class SideError(Exception):
    """A side of a diff that cannot be read or planned; the message says which and why."""


def load(side: str, stack: str | None, cwd: Path) -> dict[str, Any]:
    """The plan document of ``side``: a JSON file's content, or the plan of ``stack`` at git ref ``side``."""
    path = cwd / side
    if path.is_file():
        return read_file(path)
    return plan_ref(side, stack, cwd)


def read_file(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise SideError(f"{path}: not a plan JSON file ({exc})") from None
    if isinstance(data, list):  # `plan --json` before plan documents: the bare resource list
        data = {"resources": data, "gpu_capacity": [], "outputs": {}}
    if not isinstance(data, dict) or not isinstance(data.get("resources"), list):
        raise SideError(f"{path}: not a plan JSON file (no 'resources' list; write one with `lepton-infra plan STACK --format json`)")
    for r in data["resources"]:
        r.setdefault("name", r.get("urn", "").rsplit("::", 1)[-1])
        r.setdefault("custom", True)
        r.setdefault("parent", None)
    data.setdefault("gpu_capacity", [])
    data.setdefault("outputs", {})
    return data


def _git(cwd: Path, *args: str, binary: bool = False) -> Any:
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=not binary, check=False)
    except FileNotFoundError:
        raise SideError("git is not installed: a side that is not a file must be a git ref") from None
    if done.returncode != 0:
        return None
    return done.stdout if binary else done.stdout.strip()


def plan_ref(ref: str, stack: str | None, cwd: Path) -> dict[str, Any]:
    project_file = find_project_file(cwd)
    where = project_file.parent if project_file else cwd
    top = _git(where, "rev-parse", "--show-toplevel")
    commit = top and _git(where, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    if not commit:
        raise SideError(f"{ref!r} is neither a plan JSON file nor a git ref of {'the repository at ' + str(where) if top else 'a git repository (none here)'}")
    if not stack:
        raise SideError(f"{ref!r} is a git ref: pass --stack STACK to say which stack to plan there")
    prefix = _git(where, "rev-parse", "--show-prefix") or ""
    archive = _git(where, "archive", "--format=tar", commit, binary=True)
    if archive is None:
        raise SideError(f"git archive {ref} failed")
    with tempfile.TemporaryDirectory(prefix="lepton-infra-diff-") as tmp:
        root = Path(tmp) / "checkout"
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            # The "data" filter refuses links and paths out of the folder (Python >= 3.11.4; the archive is git's own).
            tar.extractall(root, **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))
        checkout = root / prefix
        if not (root / "pyproject.toml").is_file() or not (root / "lepton_infra").is_dir():
            # Not lepton-infra's own repository: a project using the installed library; plan its program with it.
            return _in_process(stack, checkout)
        project = resolve(stack, cwd=checkout)
        out = Path(tmp) / "plan.json"
        argv = [sys.executable, "-c", LAUNCHER, document.__file__, str(root), project.stack, str(project.stacks_dir.resolve()),
                str(project.program_dir.resolve()), str(out)]
        done = subprocess.run(argv, cwd=checkout, capture_output=True, text=True, check=False)
        if done.returncode != 0 or not out.is_file():
            tail = "\n".join(done.stderr.strip().splitlines()[-8:])
            raise SideError(f"planning stack {stack!r} at {ref} ({commit[:12]}) failed:\n{tail}")
        return json.loads(out.read_text())


def _in_process(stack: str, checkout: Path) -> dict[str, Any]:
    project = resolve(stack, cwd=checkout)
    return document.plan_stack(project.stack, project.stacks_dir, project.program_dir)
