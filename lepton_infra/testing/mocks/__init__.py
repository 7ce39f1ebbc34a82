"""Realistic answers of the providers, one module per provider, found by the type token's package.

A resource type or invoke token starts with its provider's package (``aws:eks/cluster:Cluster``,
``kubernetes:core/v1:Namespace``, ``docker-build:index:Image``); PROVIDERS maps that package to the module of this
folder that answers for it. A provider module defines ``RESOURCES`` (type -> handler returning ``(id, outputs)``),
``INVOKES`` (token -> handler returning the result), optionally ``default`` for its other types and ``OUTBOUND``
(name -> function answering a call the program makes itself, lepton_infra.outbound, with that call's arguments). A
handler is called as ``handler(mocks, name, inputs, region)`` (invokes: ``handler(mocks, args, region)``). Adding a
cloud's mocks is one module and one line here.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any, Mapping

from ._shapes import hex_of

DEFAULT_REGION = "us-east-1"  # where a resource is when neither its provider nor its inputs say

PROVIDERS = {
    "aws": "aws",
    "kubernetes": "kubernetes",
    "docker-build": "docker_build",
    "azure-native": "azure",
    "gcp": "gcp",
    "tls": "tls",
    "random": "random",
}


def provider_module(token: str) -> ModuleType | None:
    """The mock module answering for ``token``'s provider package, or None when no module does."""
    module = PROVIDERS.get(token.split(":", 1)[0])
    return importlib.import_module(f"{__name__}.{module}") if module else None


class RealisticMocks:
    """Answers resource registrations and invokes with values shaped like the real providers' outputs."""

    def __init__(self, region: str | None = None):
        self.region = region or DEFAULT_REGION
        self._provider_regions: dict[str, str] = {}

    def new_resource(self, args) -> tuple[str, dict]:
        inputs = dict(args.inputs)
        if args.typ.startswith("pulumi:providers:"):
            rid = f"{args.name}-{hex_of(args.name, 8)}"
            if where := inputs.get("region") or inputs.get("location"):
                self._provider_regions[rid] = where
            return rid, inputs
        module = provider_module(args.typ)
        handler = module and (module.RESOURCES.get(args.typ) or getattr(module, "default", None))
        if handler is None:
            return f"{args.name}-{hex_of(args.typ + args.name, 8)}", inputs
        rid, extra = handler(self, args.name, inputs, self._region_of(args.provider, inputs))
        return rid, {**inputs, **extra}

    def call(self, args) -> dict:
        module = provider_module(args.token)
        handler = module.INVOKES.get(args.token) if module else None
        if handler is None:
            raise NotImplementedError(
                f"offline mocks do not know the invoke {args.token!r}; add a realistic answer to the INVOKES of its "
                f"provider's module in lepton_infra/testing/mocks/"
            )
        return handler(self, dict(args.args), self._region_of(args.provider, args.args))

    def outbound(self, name: str, args: tuple[Any, ...]) -> Any:
        """The answer to a call the program makes itself (lepton_infra.outbound.call), from its provider's module."""
        module = provider_module(name)
        answer = getattr(module, "OUTBOUND", {}).get(name) if module else None
        if answer is None:
            raise NotImplementedError(
                f"offline mocks do not know the program's own call {name!r}; add a realistic answer to the OUTBOUND of "
                f"its provider's module in lepton_infra/testing/mocks/"
            )
        return answer(*args)

    def _region_of(self, provider_ref: str | None, inputs: Mapping[str, Any]) -> str:
        """The region (AWS, GCP) or location (Azure) of the resource's provider, else of its inputs, else the default."""
        if provider_ref:
            rid = provider_ref.rsplit("::", 1)[-1]
            if rid in self._provider_regions:
                return self._provider_regions[rid]
        return inputs.get("region") or inputs.get("location") or self.region
