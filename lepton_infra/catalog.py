"""The accelerator catalog: which machine type gives N GPUs of an accelerator on each cloud.

One entry per accelerator, so a pool spec says *what* it needs (``accelerator: l4, gpus_per_node: 1``) and each cloud
component looks up *how* to get it. Sources, checked when the entry was written:
- AWS: EC2 accelerated-computing instance pages (P5 incl. p5.4xlarge, P4d/P4de, G6, G5, G4dn); RAPIDS' AWS
  instance table (rapidsai/deployment source/cloud/aws/index.md) for the multi-GPU G6/G5/G4dn sizes.
- Azure: ND H100 v5, NC H100 v5, ND A100 v4 (ND96asr = 40 GB, ND96amsr = 80 GB), NC A100 v4 (80 GB: NC24ads = 1,
  NC48ads = 2, NC96ads = 4), NVadsA10 v5 (NV36ads = 1 full A10, NV72ads = 2), NCasT4_v3 series pages.
  Note: Azure's NC A100 v4 series (NC24ads_A100_v4) is the 80 GB part, though tables often list it as the 40 GB a100.
- GCP: Compute Engine GPU machine types (A3 High, A2 Standard/Ultra, G2, N1 + T4 attached).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal, Mapping

Cloud = Literal["aws", "azure", "gcp", "existing"]
CLOUDS: tuple[Cloud, ...] = ("aws", "azure", "gcp", "existing")


@dataclass(frozen=True)
class GcpMachine:
    """GKE needs both the machine type and the accelerator type attached to it."""

    machine_type: str
    accelerator_type: str


@dataclass(frozen=True)
class Accelerator:
    name: str
    gpu_memory_gb: int
    aws: Mapping[int, str] = field(default_factory=dict)
    azure: Mapping[int, str] = field(default_factory=dict)
    gcp: Mapping[int, GcpMachine] = field(default_factory=dict)

    def machine_types(self, cloud: Cloud) -> Mapping[int, object]:
        """GPU count -> machine type on a cloud; an existing cluster brings its own nodes, so any count is fine."""
        if cloud == "existing":
            return {}
        return getattr(self, cloud)

    def offered_on(self, cloud: Cloud) -> bool:
        return cloud == "existing" or bool(self.machine_types(cloud))


def _gcp(machine: str, accelerator: str) -> GcpMachine:
    return GcpMachine(machine, accelerator)


ACCELERATORS: Mapping[str, Accelerator] = MappingProxyType(
    {
        a.name: a
        for a in (
            Accelerator(
                "h100",
                80,
                aws={1: "p5.4xlarge", 8: "p5.48xlarge"},
                azure={1: "Standard_NC40ads_H100_v5", 8: "Standard_ND96isr_H100_v5"},
                gcp={1: _gcp("a3-highgpu-1g", "nvidia-h100-80gb"), 8: _gcp("a3-highgpu-8g", "nvidia-h100-80gb")},
            ),
            Accelerator(
                "a100-80gb",
                80,
                aws={8: "p4de.24xlarge"},
                azure={
                    1: "Standard_NC24ads_A100_v4",
                    2: "Standard_NC48ads_A100_v4",
                    4: "Standard_NC96ads_A100_v4",
                    8: "Standard_ND96amsr_A100_v4",
                },
                gcp={1: _gcp("a2-ultragpu-1g", "nvidia-a100-80gb"), 8: _gcp("a2-ultragpu-8g", "nvidia-a100-80gb")},
            ),
            Accelerator(
                "a100",
                40,
                aws={8: "p4d.24xlarge"},
                azure={8: "Standard_ND96asr_v4"},
                gcp={1: _gcp("a2-highgpu-1g", "nvidia-tesla-a100"), 8: _gcp("a2-highgpu-8g", "nvidia-tesla-a100")},
            ),
            Accelerator(
                "l4",
                24,
                aws={1: "g6.xlarge", 4: "g6.24xlarge", 8: "g6.48xlarge"},
                gcp={1: _gcp("g2-standard-4", "nvidia-l4"), 8: _gcp("g2-standard-96", "nvidia-l4")},
            ),
            # The full A10 is an Azure part; AWS's G5 carries the A10G, a different SKU.
            Accelerator("a10", 24, azure={1: "Standard_NV36ads_A10_v5", 2: "Standard_NV72ads_A10_v5"}),
            Accelerator("a10g", 24, aws={1: "g5.xlarge", 4: "g5.12xlarge", 8: "g5.48xlarge"}),
            Accelerator(
                "t4",
                16,
                aws={1: "g4dn.xlarge", 4: "g4dn.12xlarge", 8: "g4dn.metal"},
                azure={1: "Standard_NC4as_T4_v3", 4: "Standard_NC64as_T4_v3"},
                gcp={1: _gcp("n1-standard-4", "nvidia-tesla-t4")},
            ),
        )
    }
)


class CatalogError(ValueError):
    """An accelerator / GPU count a cloud cannot provide; the message says what would work."""


def accelerator(name: str) -> Accelerator:
    try:
        return ACCELERATORS[name]
    except KeyError:
        raise CatalogError(f"unknown accelerator {name!r}; allowed: {', '.join(ACCELERATORS)}") from None


def clouds_offering(name: str, gpus: int | None = None) -> list[str]:
    acc = accelerator(name)
    return [c for c in CLOUDS if c != "existing" and (gpus in acc.machine_types(c) if gpus else acc.offered_on(c))]


def check_offered(name: str, cloud: Cloud, gpus: int) -> None:
    """Raise a CatalogError naming the clouds (or GPU counts) that would work."""
    acc = accelerator(name)
    if cloud == "existing":
        return
    types = acc.machine_types(cloud)
    if not types:
        others = clouds_offering(name)
        raise CatalogError(
            f"accelerator {name!r} is not offered on {cloud}; clouds that offer it: {', '.join(others)}. "
            f"Accelerators on {cloud}: {', '.join(a for a, v in ACCELERATORS.items() if v.offered_on(cloud))}"
        )
    if gpus not in types:
        raise CatalogError(
            f"{cloud} offers {name!r} with {', '.join(str(n) for n in sorted(types))} GPUs per node, not {gpus}"
            + (f"; {gpus} per node is offered on: {', '.join(c)}" if (c := clouds_offering(name, gpus)) else "")
        )


def machine_type(name: str, cloud: Cloud, gpus: int):
    """The cloud's machine type for ``gpus`` x ``name``: a str, or a GcpMachine on GCP."""
    check_offered(name, cloud, gpus)
    return accelerator(name).machine_types(cloud)[gpus]
