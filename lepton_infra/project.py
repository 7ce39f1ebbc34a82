"""Where a project's program and stack files are, found the way the Pulumi CLI finds them.

The nearest folder holding a ``Pulumi.yaml`` (searching up from where the command runs) is the project; its ``main``
is the program's location and ``stackConfigDir`` the stack files' folder, both relative to that file, each defaulting
to the project's own folder (https://www.pulumi.com/docs/iac/concepts/projects/project-file/, "Attributes").
``--stacks-dir`` overrides only the stack files' folder; a stack given as a path to ``Pulumi.<stack>.yaml`` names
both the stack and its folder. Without a Pulumi.yaml the program and the stack files are both in ``./stacks``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from .stack_files import SafeLoader, StackFileError

PROJECT_FILES = ("Pulumi.yaml", "Pulumi.yml")  # "either .yml or .yaml extension will work" (Pulumi docs, "Projects")
DEFAULT_STACKS_DIR = Path("stacks")


@dataclass(frozen=True)
class Project:
    """A stack to run: its name, the folder of its stack file, and the folder of the program (its __main__.py)."""

    stack: str
    stacks_dir: Path
    program_dir: Path
    project_file: Path | None  # the Pulumi.yaml found, if any


def find_project_file(start: Path) -> Path | None:
    """The nearest Pulumi.yaml at or above ``start``."""
    start = start.resolve()
    for directory in (start, *start.parents):
        for name in PROJECT_FILES:
            if (directory / name).is_file():
                return directory / name
    return None


def _project_settings(project_file: Path) -> tuple[Path, Path]:
    """(program folder, stack files folder) that ``project_file`` declares."""
    try:
        document = yaml.load(project_file.read_text(), Loader=SafeLoader) or {}
    except yaml.YAMLError as exc:
        raise StackFileError(f"{project_file}: not valid YAML: {exc}") from None
    if not isinstance(document, dict):
        raise StackFileError(f"{project_file}: expected a mapping, as Pulumi project files have")
    root = project_file.parent
    program_dir = root / str(document.get("main") or ".")
    if program_dir.suffix == ".py":
        # An offline run executes a folder's __main__.py (lepton_infra.testing.run_stack), as `main: stacks/` does here.
        raise StackFileError(f"{project_file}: main: {document['main']!r} names a file; point it at the program's folder")
    stacks_dir = root / str(document.get("stackConfigDir") or ".")
    return program_dir, stacks_dir


def resolve(stack: str, stacks_dir: Path | None = None, cwd: Path | None = None) -> Project:
    """The stack to run for ``lepton-infra ... STACK [--stacks-dir D]`` run from ``cwd``.

    ``stack`` is a stack name, or a path to a ``Pulumi.<stack>.yaml`` file (which then gives the stacks folder).
    """
    cwd = Path.cwd() if cwd is None else cwd
    as_path = Path(stack)
    from_path = as_path.name.startswith("Pulumi.") and as_path.suffix in (".yaml", ".yml") and as_path.is_file()
    if from_path:
        stack = as_path.name.removeprefix("Pulumi.").rsplit(".", 1)[0]
        stacks_dir = as_path.parent
    project_file = find_project_file(cwd) or (find_project_file(as_path.parent) if from_path else None)
    if project_file is None:
        config_dir = stacks_dir if stacks_dir is not None else DEFAULT_STACKS_DIR
        return Project(stack, Path(config_dir), Path(config_dir), None)
    program_dir, declared_stacks_dir = _project_settings(project_file)
    return Project(stack, Path(stacks_dir) if stacks_dir is not None else declared_stacks_dir, program_dir, project_file)
