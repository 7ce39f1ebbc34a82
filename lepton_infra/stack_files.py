"""Reading stack files (``Pulumi.<stack>.yaml``) the way the engine does, with errors a person can act on.

A stack file that is not YAML is one line naming the file, line and column; a missing platform key names the
closest key the file does have, so a typo is found at once.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

import yaml

from .spec import CONFIG_KEY, CONFIG_NAMESPACE, PlatformSpec, parse_platform_spec

PLATFORM_KEY = f"{CONFIG_NAMESPACE}:{CONFIG_KEY}"
SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's, when PyYAML was built with it: ~10x faster


class StackFileError(ValueError):
    """A stack file that cannot be read or lacks what the program needs; the message says which and where."""


def stack_file(stack: str, stacks_dir: str | Path) -> Path:
    """``<stacks_dir>/Pulumi.<stack>.yaml``; an error listing the stacks that exist there otherwise."""
    stacks_dir = Path(stacks_dir)
    path = stacks_dir / f"Pulumi.{stack}.yaml"
    if path.is_file():
        return path
    if not stacks_dir.is_dir():
        raise StackFileError(
            f"no stacks directory {stacks_dir.resolve()}: run from the project root (where Pulumi.yaml is) or pass "
            "--stacks-dir DIR"
        )
    have = sorted(p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in stacks_dir.glob("Pulumi.*.yaml"))
    raise StackFileError(
        f"no stack file {path.resolve()}; stacks in {stacks_dir.resolve()}: {', '.join(have) or 'none'} "
        "(pass --stacks-dir DIR to look elsewhere)"
    )


def read_stack_config(stack: str, stacks_dir: str | Path) -> dict[str, Any]:
    """The ``config:`` block of the stack file, keys as the engine passes them to the program."""
    path = stack_file(stack, stacks_dir)
    try:
        document = yaml.load(path.read_text(), Loader=SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise StackFileError(f"{where}: not valid YAML: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise StackFileError(f"{path}: not valid YAML: {exc}") from None
    if document is None:
        return {}
    if not isinstance(document, dict) or not isinstance(document.get("config", {}), dict):
        raise StackFileError(f"{path}: expected a mapping with a 'config:' mapping, as Pulumi stack files have")
    return dict(document.get("config") or {})


def platform_config(config: dict[str, Any], path: str | Path) -> Any:
    """The platform spec's raw value from a stack's config; a missing key names the closest key the file has."""
    if PLATFORM_KEY in config:
        return config[PLATFORM_KEY]
    close = difflib.get_close_matches(PLATFORM_KEY, [str(k) for k in config], n=1, cutoff=0.6)
    hint = f"; the file has {close[0]!r}: did you mean {PLATFORM_KEY!r}?" if close else ""
    found = ", ".join(repr(str(k)) for k in config) or "none"
    raise StackFileError(f"{path}: config key {PLATFORM_KEY!r} is missing (keys found: {found}){hint}")


def read_platform_spec(stack: str, stacks_dir: str | Path) -> PlatformSpec:
    """The stack's platform spec from its file, validated: a bad file or spec is one clear error, before any program."""
    config = read_stack_config(stack, stacks_dir)
    return parse_platform_spec(platform_config(config, stack_file(stack, stacks_dir)))
