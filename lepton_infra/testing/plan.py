"""What an offline run records: every resource the program registered, with masking and portable paths for printing."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

SECRET_MASK = "[secret]"

InputPath = tuple[str | int, ...]  # where a value sits inside a resource's inputs: ("registries", 0, "password")


@dataclass(frozen=True)
class PlannedResource:
    """One resource the program registered, as the engine would have received it."""

    type: str
    name: str
    urn: str
    parent: str | None
    inputs: Mapping[str, Any]
    outputs: Mapping[str, Any]
    custom: bool
    protect: bool
    retain_on_delete: bool
    provider: str | None
    dependencies: tuple[str, ...] = ()
    ignore_changes: tuple[str, ...] = ()
    custom_timeouts: Mapping[str, str] = field(default_factory=dict)  # create / update / delete, when set
    secret_inputs: frozenset[InputPath] = frozenset()  # paths of the inputs the program marked secret
    aliases: tuple[str, ...] = ()  # earlier URNs this resource answers to (the engine moves state, not the resource)

    @property
    def parent_name(self) -> str | None:
        return self.parent.rsplit("::", 1)[-1] if self.parent else None

    def is_secret(self, *path: str | int) -> bool:
        """Whether the input at ``path`` (or a value around it) was marked secret by the program."""
        return any(path[: len(secret)] == secret for secret in self.secret_inputs)

    def masked_inputs(self) -> Mapping[str, Any]:
        """The inputs with every secret value replaced by ``[secret]``: what any printed plan shows."""
        return _masked(self.inputs, self.secret_inputs)


@dataclass
class OfflinePlan:
    resources: list[PlannedResource] = field(default_factory=list)
    invokes: list[tuple[str, Mapping[str, Any]]] = field(default_factory=list)
    stack_outputs: dict[str, Any] = field(default_factory=dict)
    secret_outputs: set[str] = field(default_factory=set)
    # Absolute local paths -> placeholders, so a printed plan reads the same in every checkout (docker contexts).
    local_roots: dict[str, str] = field(default_factory=dict)

    def of_type(self, type_: str) -> list[PlannedResource]:
        return [r for r in self.resources if r.type == type_]

    def one(self, type_: str, name: str | None = None) -> PlannedResource:
        """The single resource of a type (and name); an error that lists what exists when there is not exactly one."""
        found = [r for r in self.of_type(type_) if name is None or r.name == name]
        if len(found) != 1:
            names = [r.name for r in self.of_type(type_)]
            raise LookupError(f"expected one {type_}{f' named {name!r}' if name else ''}, found {len(found)}: {names}")
        return found[0]

    def within(self, component: PlannedResource) -> "OfflinePlan":
        """The part of the plan under ``component`` (itself included): one cell of a stack, say, to assert on alone."""
        return OfflinePlan(resources=[component, *self.descendants(component)], local_roots=dict(self.local_roots))

    def answers_to(self, resource: PlannedResource) -> set[str]:
        """Every URN the engine matches ``resource`` to in a stack's state: its own, its aliases, and its name under
        every URN its parent answers to (the engine derives a child's aliases from its parent's, so moving a component
        moves all it holds)."""
        urns = {resource.urn, *resource.aliases}
        parent = next((r for r in self.resources if r.urn == resource.parent), None)
        if parent is not None:
            for parent_urn in self.answers_to(parent) - {parent.urn}:
                stack_project, parent_type = parent_urn.split("::")[:2], parent_urn.split("::")[2]
                urns.add("::".join([*stack_project, f"{parent_type}${resource.type}", resource.name]))
        return urns

    def children(self, parent: PlannedResource) -> list[PlannedResource]:
        return [r for r in self.resources if r.parent == parent.urn]

    def descendants(self, parent: PlannedResource) -> list[PlannedResource]:
        out, frontier = [], [parent.urn]
        while frontier:
            urn = frontier.pop()
            kids = [r for r in self.resources if r.parent == urn]
            out += kids
            frontier += [k.urn for k in kids]
        return out

    @property
    def types(self) -> set[str]:
        return {r.type for r in self.resources}

    def summary(self) -> list[dict[str, Any]]:
        """A JSON-able, deterministic view of the plan: what an offline plan diff compares.

        Secrets are masked, and local paths are relative to placeholders (``<project>``, ``<site-packages>``), so
        two checkouts of one commit give the same summary and nothing secret is ever printed.
        """
        return sorted(
            (
                {
                    "urn": r.urn,
                    "type": r.type,
                    "inputs": self._portable(_jsonable(r.masked_inputs())),
                    "protect": r.protect,
                    "retain_on_delete": r.retain_on_delete,
                }
                for r in self.resources
            ),
            key=lambda r: r["urn"],
        )

    def masked_outputs(self) -> dict[str, Any]:
        """The stack's outputs, secret ones replaced by ``[secret]``."""
        return {k: SECRET_MASK if k in self.secret_outputs else v for k, v in self.stack_outputs.items()}

    def _portable(self, value: Any) -> Any:
        if isinstance(value, str):
            for root, placeholder in sorted(self.local_roots.items(), key=lambda kv: -len(kv[0])):
                if value == root or value.startswith(root + "/"):
                    return placeholder + value[len(root) :]
            return value
        if isinstance(value, dict):
            return {k: self._portable(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._portable(v) for v in value]
        return value


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str, sort_keys=True))


def _masked(value: Any, secrets: Iterable[InputPath], path: InputPath = ()) -> Any:
    if path in secrets:
        return SECRET_MASK
    if isinstance(value, Mapping):
        return {k: _masked(v, secrets, path + (k,)) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(v, secrets, path + (i,)) for i, v in enumerate(value)]
    return value


def unwrap_secrets(value: Any, path: InputPath = ()) -> tuple[Any, set[InputPath]]:
    """(value with the SDK's secret wrappers removed, the paths that were wrapped).

    The SDK marks a secret by wrapping it, and pushes the mark up to the enclosing list or dict; the path recorded
    is that of the outermost wrapper, so masking it hides everything the program marked secret.
    """
    from pulumi.runtime import rpc

    if rpc.is_rpc_secret(value):
        plain, _ = unwrap_secrets(rpc.unwrap_rpc_secret(value), path)
        return plain, {path}
    secrets: set[InputPath] = set()
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            out[k], inner = unwrap_secrets(v, path + (k,))
            secrets |= inner
        return out, secrets
    if isinstance(value, list):
        items = []
        for i, v in enumerate(value):
            item, inner = unwrap_secrets(v, path + (i,))
            items.append(item)
            secrets |= inner
        return items, secrets
    return value, secrets
