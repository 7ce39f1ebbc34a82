"""The platform: every cell of the spec under one component, the home of what spans cells (the mesh across them)."""

from __future__ import annotations

from pathlib import Path

import pulumi

from ..spec import PlatformSpec, parse_model
from .cell import TYPE_BEFORE_PLATFORM, Cell, build_context_of

TOKEN = "lepton:platform:Platform"
# Before cells had a platform above them, each cell was a top-level component ("<env>-<cell>"); the alias lets an
# existing stack move every cell, and all it holds, under the platform without replacing anything.
CELL_BEFORE_PLATFORM = pulumi.Alias(type_=TYPE_BEFORE_PLATFORM, parent=pulumi.ROOT_STACK_RESOURCE)


class Platform(pulumi.ComponentResource):
    """Every cell of the spec: ``Platform("prod", spec)`` stands up one Cell per cell, named ``<name>-<cell>``."""

    cells: dict[str, Cell]

    def __init__(
        self,
        name: str,
        spec: PlatformSpec | dict,
        build_context: str | Path | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ):
        spec = parse_model(PlatformSpec, spec)
        context = build_context_of(build_context)
        super().__init__(TOKEN, name, None, opts)
        self.cells = {
            cell.name: Cell(
                f"{name}-{cell.name}",
                spec,
                cell=cell.name,
                build_context=context,
                opts=pulumi.ResourceOptions(parent=self, aliases=[CELL_BEFORE_PLATFORM]),
            )
            for cell in spec.cells
        }
        self.register_outputs({name: cell.cluster_name for name, cell in self.cells.items()})


def deploy(spec: PlatformSpec, build_context: str | Path | None = None) -> Platform:
    """The stack program: the platform of the stack's environment, with the outputs a user needs exported per cell."""
    platform = Platform(spec.environment, spec, build_context=build_context)
    for name, cell in platform.cells.items():
        pulumi.export(f"{name}.cluster_name", cell.cluster_name)
        pulumi.export(f"{name}.image_ref", cell.image_ref)
        pulumi.export(f"{name}.models_uri", cell.models_uri)
    return platform

