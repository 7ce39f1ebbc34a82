"""The platform: every cell of the spec under one component, the home of what spans cells (the mesh across them).

With several cells, the cells' Istio installations are one mesh (multi-primary on different networks, docs/design.md,
"Mesh"): the platform owns the mesh's root CA, gives each cell an intermediate under it before the cell installs
istiod, joins the cloud cells' networks by VPN (the Interconnect) and writes into every cluster a remote secret for
each other cluster. A single cell keeps istiod's own CA and needs no VPN.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import pulumi

from ..components.kubernetes.mesh import remote_secret
from ..components.kubernetes.mesh_ca import MeshCertificateAuthority
from ..spec import PlatformSpec, parse_model
from .cell import TYPE_BEFORE_PLATFORM, Cell, build_context_of
from .interconnect import interconnect

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
        spec: PlatformSpec | Mapping[str, Any],
        build_context: str | Path | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ):
        spec = parse_model(PlatformSpec, spec)
        context = build_context_of(build_context)
        super().__init__(TOKEN, name, None, opts)
        self.mesh_ca = None
        if len(spec.cells) > 1:
            self.mesh_ca = MeshCertificateAuthority(f"{name}-mesh-ca", {}, opts=pulumi.ResourceOptions(parent=self))
        self.cells = {
            cell.name: Cell(
                f"{name}-{cell.name}",
                spec,
                cell=cell.name,
                build_context=context,
                opts=pulumi.ResourceOptions(parent=self, aliases=[CELL_BEFORE_PLATFORM]),
                mesh_ca=self.mesh_ca.intermediate(cell.name) if self.mesh_ca else None,
            )
            for cell in spec.cells
        }
        # The cells' private networks, joined pairwise by VPN: what lets the mesh below cross clouds.
        self.interconnect = interconnect(
            self, f"{name}-interconnect", spec, {cell: built.foundation for cell, built in self.cells.items()}
        )
        # Each cluster's istiod watches every other one: one remote secret per ordered pair of cells.
        self.remote_secrets = {
            (local, remote): remote_secret(self, f"{name}-{local}-remote-secret-{remote}", there.mesh_member, here.mesh_member)
            for local, here in self.cells.items()
            for remote, there in self.cells.items()
            if local != remote and here.mesh_member and there.mesh_member
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

