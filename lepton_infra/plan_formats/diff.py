"""``lepton-infra diff BASE HEAD``: what changes between two offline plans, as Markdown for a pull-request comment.

Resources are matched by URN without its stack part (two stacks of one project compare too), or through an alias
the newer resource declares (a move the engine follows without replacing anything). A resource whose URN changes
without an alias (its type, name or parent) is deleted and created: a replacement. For Kubernetes objects a new
``metadata.name`` or ``metadata.namespace`` also replaces (pulumi-kubernetes, provider/pkg/provider/forcenew.go:
``metadataForceNewProperties(".metadata")`` is forced new for every kind). Secret values are masked on both sides,
so a change of a secret's value alone does not show.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from .document import NOTE
from .terminal import Style

MAX_VALUE = 80  # a changed value longer than this is cut
MAX_PATHS = 12  # changed paths listed per resource
MAX_LISTED = 150  # resources listed per section; the rest are counted
KUBERNETES_FORCE_NEW = (("metadata", "name"), ("metadata", "namespace"))

Path = tuple[str | int, ...]


@dataclass
class Changed:
    base: dict[str, Any]
    head: dict[str, Any]
    paths: list[tuple[Path, Any, Any]] = field(default_factory=list)  # (input path, before, after)
    flags: list[tuple[str, Any, Any]] = field(default_factory=list)  # protect / retain_on_delete
    replace_because: str | None = None
    moved: bool = False


@dataclass
class PlanDiff:
    added: list[dict[str, Any]] = field(default_factory=list)
    removed: list[dict[str, Any]] = field(default_factory=list)
    changed: list[Changed] = field(default_factory=list)
    gpu: list[tuple[str, str, tuple[int, int], tuple[int, int]]] = field(default_factory=list)  # cell, accel, base, head
    outputs: list[tuple[str, Any, Any]] = field(default_factory=list)  # key, before (None: new), after (None: gone)

    @property
    def replaced(self) -> list[Changed]:
        return [c for c in self.changed if c.replace_because]

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.changed or self.gpu or self.outputs)


def key(urn: str) -> str:
    """urn:pulumi:<stack>::<project>::<types>::<name> -> <project>::<types>::<name>."""
    return urn.split("::", 1)[1] if "::" in urn else urn


def compare(base: dict[str, Any], head: dict[str, Any]) -> PlanDiff:
    result = PlanDiff()
    # Custom resources only: a component has no inputs of its own and nothing in a cloud; what it holds is listed.
    before = {key(r["urn"]): r for r in base["resources"] if r.get("custom", True)}
    after = {key(r["urn"]): r for r in head["resources"] if r.get("custom", True)}
    matched: dict[str, str] = {k: k for k in after if k in before}  # head key -> base key
    for k, r in after.items():
        if k not in matched:
            old = next((key(a) for a in r.get("aliases", ()) if key(a) in before and key(a) not in after), None)
            if old is not None:
                matched[k] = old
    taken = set(matched.values())
    gone = [r for k, r in before.items() if k not in taken]
    new = [r for k, r in after.items() if k not in matched]
    # One resource of a name gone and one come, without an alias: its type or parent changed, the engine replaces it.
    gone_by_name = _unique_by_name(gone)
    new_by_name = _unique_by_name(new)
    for name in sorted(gone_by_name.keys() & new_by_name.keys()):
        old, now = gone_by_name[name], new_by_name[name]
        what = "type" if old["type"] != now["type"] else "parent"
        result.changed.append(Changed(old, now, _paths(old["inputs"], now["inputs"]), replace_because=f"its {what} changed (a new URN, no alias)"))
        gone.remove(old)
        new.remove(now)
    for head_key, base_key in sorted(matched.items()):
        old, now = before[base_key], after[head_key]
        change = Changed(old, now, _paths(old["inputs"], now["inputs"]), moved=head_key != base_key)
        change.flags = [(f, old.get(f), now.get(f)) for f in ("protect", "retain_on_delete") if old.get(f) != now.get(f)]
        if now["type"].startswith("kubernetes:"):
            forced = [p for p, _, _ in change.paths if p[:2] in KUBERNETES_FORCE_NEW]
            if forced:
                change.replace_because = f"{_dotted(forced[0][:2])} changed (the Kubernetes provider replaces on it)"
        if change.paths or change.flags or change.moved:
            result.changed.append(change)
    result.changed.sort(key=lambda c: c.head["urn"])
    result.added, result.removed = sorted(new, key=lambda r: r["urn"]), sorted(gone, key=lambda r: r["urn"])
    result.gpu = _gpu_delta(base.get("gpu_capacity", []), head.get("gpu_capacity", []))
    result.outputs = [
        (k, base["outputs"].get(k), head["outputs"].get(k))
        for k in sorted(base.get("outputs", {}).keys() | head.get("outputs", {}).keys())
        if base.get("outputs", {}).get(k) != head.get("outputs", {}).get(k)
    ]
    return result


def _unique_by_name(resources: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    counts: dict[str, int] = {}
    for r in resources:
        counts[r["name"]] = counts.get(r["name"], 0) + 1
    return {r["name"]: r for r in resources if counts[r["name"]] == 1}


def _paths(old: Any, new: Any, path: Path = ()) -> list[tuple[Path, Any, Any]]:
    """Every input path whose value differs: dicts key by key, lists of one length item by item, else the whole."""
    if old == new:
        return []
    if isinstance(old, dict) and isinstance(new, dict):
        out = []
        for k in sorted(old.keys() | new.keys(), key=str):
            out += _paths(old.get(k, _ABSENT), new.get(k, _ABSENT), path + (k,))
        return out
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        return [d for i, (a, b) in enumerate(zip(old, new)) for d in _paths(a, b, path + (i,))]
    return [(path, old, new)]


class _Absent:
    def __repr__(self) -> str:
        return "(none)"


_ABSENT = _Absent()


def _gpu_delta(base: list[dict], head: list[dict]) -> list[tuple[str, str, tuple[int, int], tuple[int, int]]]:
    def index(rows):
        return {(r["cell"], r["accelerator"]): (r["min_gpus"], r["max_gpus"]) for r in rows}

    old, new = index(base), index(head)
    return [(cell, acc, old.get((cell, acc), (0, 0)), new.get((cell, acc), (0, 0))) for cell, acc in sorted(old.keys() | new.keys())
            if old.get((cell, acc), (0, 0)) != new.get((cell, acc), (0, 0))]


def _dotted(path: Path) -> str:
    text = ""
    for step in path:
        text += f"[{step}]" if isinstance(step, int) else (f".{step}" if text else str(step))
    return text or "(inputs)"


def _value(value: Any) -> str:
    text = repr(value) if value is _ABSENT else json.dumps(value, sort_keys=True, ensure_ascii=False)
    return text if len(text) <= MAX_VALUE else f"{text[:MAX_VALUE]}…"


def _resource(r: dict[str, Any]) -> str:
    return f"`{r['type']}` **{r['name']}**"


def _signed(n: int) -> str:
    return f"+{n}" if n > 0 else str(n)


def render(diff: PlanDiff, base_label: str, head_label: str, style: Style) -> str:
    out = [style.bold(f"### Offline plan diff: `{base_label}` → `{head_label}`"), "", f"_{NOTE[0].upper()}{NOTE[1:]}._", ""]
    if not diff:
        return "\n".join([*out, "no changes"]) + "\n"
    changed = [c for c in diff.changed if not c.replace_because]
    out.append(
        f"**{len(diff.added)} to add, {len(diff.removed)} to remove, {len(changed)} to change, "
        f"{len(diff.replaced)} to replace**" + (f", {len(diff.outputs)} outputs changed" if diff.outputs else "")
    )
    if diff.gpu:
        out += ["", style.bold("#### GPU capacity"), "", "| cell | accelerator | before (min-max) | after (min-max) | change |", "|---|---|---|---|---|"]
        for cell, acc, (a_min, a_max), (b_min, b_max) in diff.gpu:
            out.append(f"| {cell} | {acc} | {a_min}-{a_max} | {b_min}-{b_max} | min {_signed(b_min - a_min)}, max {_signed(b_max - a_max)} |")
    if diff.replaced:
        out += ["", style.red(style.bold(f"#### Replaced ({len(diff.replaced)}): deleted, then created"))]
        for c in diff.replaced[:MAX_LISTED]:
            protect = " **protected: the engine refuses to delete it**" if c.base.get("protect") else ""
            out.append(f"- {_resource(c.head)}: {c.replace_because}{protect}")
            out += _path_lines(c)
        out += _more(diff.replaced)
    if diff.removed:
        out += ["", style.red(style.bold(f"#### Removed ({len(diff.removed)})"))]
        for r in diff.removed[:MAX_LISTED]:
            out.append(f"- {_resource(r)}" + (" **protected: the engine refuses to delete it**" if r.get("protect") else ""))
        out += _more(diff.removed)
    if diff.added:
        out += ["", style.green(style.bold(f"#### Added ({len(diff.added)})"))]
        out += [f"- {_resource(r)}" + (" (protected)" if r.get("protect") else "") for r in diff.added[:MAX_LISTED]]
        out += _more(diff.added)
    if changed:
        out += ["", style.yellow(style.bold(f"#### Changed ({len(changed)})"))]
        for c in changed[:MAX_LISTED]:
            out.append(f"- {_resource(c.head)}" + (f" (moved from `{key(c.base['urn'])}` by its alias)" if c.moved else ""))
            out += [f"  - {flag}: `{json.dumps(a)}` → `{json.dumps(b)}`" for flag, a, b in c.flags]
            out += _path_lines(c)
        out += _more(changed)
    if diff.outputs:
        out += ["", style.bold(f"#### Outputs ({len(diff.outputs)})")]
        out += [f"- `{k}`: `{_value(_ABSENT if a is None else a)}` → `{_value(_ABSENT if b is None else b)}`" for k, a, b in diff.outputs]
    return "\n".join(out) + "\n"


def _path_lines(change: Changed) -> list[str]:
    lines = [f"  - `{_dotted(p)}`: `{_value(a)}` → `{_value(b)}`" for p, a, b in change.paths[:MAX_PATHS]]
    if len(change.paths) > MAX_PATHS:
        lines.append(f"  - … and {len(change.paths) - MAX_PATHS} more input paths")
    return lines


def _more(items: list) -> list[str]:
    return [f"- … and {len(items) - MAX_LISTED} more"] if len(items) > MAX_LISTED else []
