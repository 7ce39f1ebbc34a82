"""CI runs exactly what the README tells a newcomer to run, and the lock covers every declared dependency."""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / ".ci"))
import readme_commands  # noqa: E402  (CI's own reader of the README, under test here)

CI_RUN = (ROOT / ".ci" / "run").read_text()
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
LINES = readme_commands.commands()


def pins() -> dict[str, str]:
    found = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert version, f"constraints.txt: {line!r} is not an exact pin (name==version)"
            found[canonicalize_name(name)] = version.strip()
    return found


def test_ci_runs_the_readme_tests_line_and_installs_nothing_of_its_own():
    assert "readme_commands.py test-install" in CI_RUN and "readme_commands.py test-run" in CI_RUN
    assert 'eval "$install"' in CI_RUN and 'eval "$tests"' in CI_RUN
    assert "pip install" not in CI_RUN, ".ci/run must install only through the README's line"
    assert "rm -rf .venv" in CI_RUN, ".ci/run must start from a new virtual environment every run"


def test_the_split_ci_times_is_the_readme_line_itself():
    setup, last = readme_commands.split(LINES["test"])
    assert f"{setup} && {last}" == LINES["test"]
    assert last == "python3 -m pytest"
    assert setup.endswith(" && .ci/tools"), "the tests line installs the tests' command-line tools (.ci/tools) last"


def test_both_lines_create_a_venv_from_python3_and_install_against_the_lock():
    for key, line in LINES.items():
        assert line.startswith("python3 -m venv .venv && . .venv/bin/activate && "), key
        installs = re.findall(r"python3 -m pip install ([^&]+)", line)
        project = [i for i in installs if "-e " in i]
        assert project and all("-c constraints.txt" in i for i in project), f"{key}: install the project with -c constraints.txt"
    assert LINES["main"].endswith("lepton-infra plan dev")


def test_torch_is_one_release_in_the_readme_the_lock_and_the_image():
    readme = readme_commands.torch_version(LINES["test"])
    dockerfile = re.search(r"ARG TORCH_VERSION=(\S+)", (ROOT / "serving" / "Dockerfile").read_text()).group(1)
    assert readme == pins()["torch"] == dockerfile


def test_the_lock_was_made_for_every_extra():
    header = (ROOT / "constraints.txt").read_text().splitlines()[0]
    extras = re.search(r"for every extra \(([^)]*)\)", header).group(1).split(",")
    assert sorted(extras) == sorted(PYPROJECT["project"]["optional-dependencies"])


def test_every_declared_requirement_is_pinned_to_a_version_it_accepts():
    locked = pins()
    declared = list(PYPROJECT["project"]["dependencies"])
    for extra in PYPROJECT["project"]["optional-dependencies"].values():
        declared += extra
    problems = []
    for text in declared:
        requirement = Requirement(text)
        name = canonicalize_name(requirement.name)
        if name == canonicalize_name(PYPROJECT["project"]["name"]):
            continue  # an extra made of other extras (all = lepton-infra[aws,azure,gcp])
        if name not in locked:
            problems.append(f"{requirement.name} is not in constraints.txt")
        elif not requirement.specifier.contains(locked[name], prereleases=True):
            problems.append(f"{requirement.name}=={locked[name]} does not satisfy {requirement.specifier}")
    assert not problems, "run .ci/lock: " + "; ".join(problems)
