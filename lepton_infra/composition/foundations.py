"""Which code stands up a cloud's part of a cell, and which extra of lepton-infra brings that cloud's SDK.

The composition looks a cell's foundation up here by its ``cloud`` and never branches on it. Each cloud's module is
imported only when a stack has a cell of that cloud, so a stack on one cloud needs only that cloud's SDK installed.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Callable

from ..cell_contract import CellFoundation
from ..spec import SpecError


@dataclass(frozen=True)
class CloudFoundation:
    module: str  # holds build_foundation(parent, name, spec, cell) -> CellFoundation
    extra: str  # pip install 'lepton-infra[<extra>]' brings its SDK
    sdk: str  # the SDK's top-level package, to tell a missing SDK from a bug in our own module


FOUNDATIONS: dict[str, CloudFoundation] = {
    "aws": CloudFoundation("lepton_infra.components.aws.cell", "aws", "pulumi_aws"),
    "azure": CloudFoundation("lepton_infra.components.azure.cell", "azure", "pulumi_azure_native"),
    "gcp": CloudFoundation("lepton_infra.components.gcp.cell", "gcp", "pulumi_gcp"),
    "existing": CloudFoundation("lepton_infra.components.existing.cell", "existing", "pulumi_kubernetes"),
}


def foundation_builder(cloud: str) -> Callable[..., CellFoundation]:
    """``build_foundation`` of ``cloud``; a SpecError naming the extra to install when its SDK is missing."""
    entry = FOUNDATIONS.get(cloud)
    if entry is None:
        raise SpecError([("cloud", f"no cell foundation for {cloud!r}; clouds: {', '.join(FOUNDATIONS)}")], "cell")
    try:
        module = importlib.import_module(entry.module)
    except ModuleNotFoundError as exc:
        if exc.name != entry.sdk and not (exc.name or "").startswith(entry.sdk + "."):
            raise
        raise SpecError(
            [("cloud", f"a {cloud} cell needs {entry.sdk}, which is not installed: pip install 'lepton-infra[{entry.extra}]'")],
            "cell",
        ) from None
    return module.build_foundation
