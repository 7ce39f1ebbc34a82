"""What every rule reads and returns: a resource as the engine sees it, the stack it belongs to, a violation.

A rule is a plain function over these, so one rule runs over the offline plan (lepton_infra.testing.OfflinePlan) and
inside the CrossGuard pack (policy-pack/) alike. Under CrossGuard, values are pulumi_policy's read-only proxies
(``Mapping`` and ``Sequence``, not ``dict`` and ``list``) that raise when a value is unknown during a preview; the
helpers here only test against the abstract types, and let that error through to the SDK, which reports the rule as
not decidable during that preview rather than as passed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator, Literal

from ..spec import CONFIG_KEY, CONFIG_NAMESPACE

PLATFORM_CONFIG_KEY = f"{CONFIG_NAMESPACE}:{CONFIG_KEY}"
# The spec's named opt-outs a rule acknowledges instead of failing: (a cell's field path, the value that opts out).
# The rule then reports its finding as an advisory "acknowledged exception", never a silent pass.
OPT_OUTS = ((("registry", "customer_managed_key"), False),)


@dataclass(frozen=True)
class Resource:
    """One resource of a stack: what a rule may read (inputs as registered; in a CrossGuard stack policy, state)."""

    type: str
    name: str
    urn: str
    inputs: Mapping[str, Any]
    protect: bool = False
    parent: str | None = None
    provider: str | None = None  # the URN of the provider resource it is created through, if any


@dataclass(frozen=True)
class StackContext:
    """What a rule needs to know about the stack besides its resources: the environment and whether it is protected
    (the platform spec's ``environment`` and ``protected``, lepton_infra.spec.PlatformSpec)."""

    environment: str | None = None
    protected: bool = False
    # (cell name, "registry.customer_managed_key"): the OPT_OUTS the spec's cells take.
    opt_outs: frozenset[tuple[str, str]] = frozenset()

    @classmethod
    def of_spec(cls, spec: Any) -> "StackContext":
        """From a parsed lepton_infra.spec.PlatformSpec."""
        cells = [spec_cell.model_dump() for spec_cell in spec.cells]
        return cls(environment=spec.environment, protected=bool(spec.protected), opt_outs=opt_outs_of(cells))

    @classmethod
    def of_config(cls, config: Mapping[str, Any]) -> "StackContext":
        """From a stack's config (``Pulumi.<stack>.yaml``'s ``config:``, or what the engine gives a policy pack):
        the ``lepton-platform:platform`` key, as an object or as its JSON text. No such key: not protected."""
        raw = config.get(PLATFORM_CONFIG_KEY)
        if isinstance(raw, str):
            raw = json.loads(raw)
        if not isinstance(raw, Mapping):
            return cls()
        cells = raw.get("cells")
        return cls(
            environment=raw.get("environment"),
            protected=bool(raw.get("protected", False)),
            opt_outs=opt_outs_of(cells if isinstance(cells, Sequence) else []),
        )

    def opts_out(self, cell: Any, *path: str) -> bool:
        return (cell, ".".join(path)) in self.opt_outs


def opt_outs_of(cells: Sequence[Any]) -> frozenset[tuple[str, str]]:
    """The OPT_OUTS the cells (as mappings: the spec's or the config's) take."""
    return frozenset(
        (get(cell, "name"), ".".join(path))
        for cell in cells
        for path, value in OPT_OUTS
        if is_map(cell) and get(cell, *path) is value
    )


@dataclass(frozen=True)
class Violation:
    """A rule a resource breaks: which rule, which resource, what is wrong and what would be right."""

    rule: str
    urn: str
    message: str
    enforcement: Literal["mandatory", "advisory"] = "mandatory"

    def __str__(self) -> str:
        return f"[{self.enforcement}] {self.rule}: {self.urn}: {self.message}"


Scope = Literal["resource", "stack"]


@dataclass(frozen=True)
class Rule:
    """A rule: a name (the CrossGuard policy name), what it asks for, and its check.

    ``scope`` "resource": ``check(resource, stack)`` reads one resource (a CrossGuard ResourceValidationPolicy).
    ``scope`` "stack": ``check(resources, stack)`` reads them all, for rules that join resources (an S3 bucket and
    its encryption configuration are two resources; a StackValidationPolicy).
    Each yields violation messages, or (urn, message) pairs for stack rules; a stack rule may yield (urn, message,
    "advisory") for a finding the spec opts out of by name (StackContext.opt_outs): an acknowledged exception.
    """

    name: str
    description: str
    scope: Scope
    check: Callable[..., Iterable[Any]]
    enforcement: Literal["mandatory", "advisory"] = "mandatory"
    not_covered: tuple[str, ...] = field(default=())  # what the rule does not see, said once (README, pack readme)
    acknowledges: bool = False  # a stack rule that may yield acknowledged exceptions (the pack adds its ADVISORY twin)

    def run(self, resources: Sequence[Resource], stack: StackContext) -> list[Violation]:
        if self.scope == "resource":
            return [
                Violation(self.name, r.urn, message, self.enforcement) for r in resources for message in self.check(r, stack)
            ]
        return [Violation(self.name, urn, message, *rest or (self.enforcement,)) for urn, message, *rest in self.check(resources, stack)]


# --- reading values that may be dicts or pulumi_policy proxies --------------------------------------------------


def is_map(value: Any) -> bool:
    return isinstance(value, Mapping)


def is_list(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, (str, bytes))


def get(value: Any, *path: str | int) -> Any:
    """The value at ``path`` inside nested mappings and lists; None where any step is missing."""
    for step in path:
        if isinstance(step, int):
            if not is_list(value) or not -len(value) <= step < len(value):
                return None
            value = value[step]
        else:
            if not is_map(value) or step not in value:
                return None
            value = value[step]
    return value


def items(value: Any) -> list[Any]:
    """A list input as a list (None and a missing value: empty; a single value: one item)."""
    if value is None:
        return []
    return list(value) if is_list(value) else [value]


def document(value: Any) -> Mapping[str, Any] | None:
    """A JSON policy document given as text or as an object; None when it is neither (not yet known, or not JSON)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return None
    return value if is_map(value) else None


def of_type(resources: Iterable[Resource], *types: str) -> Iterator[Resource]:
    return (r for r in resources if r.type in types)
