"""The whole platform spec: cells of every cloud, the models served on them, and how a stack file is read."""

from __future__ import annotations

import json
from typing import Annotated, Any, Mapping, Union

from pydantic import Discriminator, Field, Tag, model_validator
from pydantic.json_schema import GenerateJsonSchema
from pydantic_core import core_schema

from .aws import AwsCellSpec
from .azure import AzureCellSpec
from .existing import ExistingCellSpec
from .gcp import GcpCellSpec
from .global_metrics import GlobalMetricsCellSpec, GlobalMetricsSpec
from .interconnect import overlap_issues, vpn_issues
from .common import (
    CONFIG_KEY,
    CONFIG_NAMESPACE,
    CPU,
    DnsLabel,
    ModelSpec,
    SpecError,
    SpecIssues,
    Strict,
    parse_model,
    scale_to_zero_issue,
)

# Every kind of cell, by its ``cloud``. A new cloud adds its module's cell class here.
CELL_KINDS = (AwsCellSpec, AzureCellSpec, GcpCellSpec, ExistingCellSpec)


def _cloud_of(value: Any) -> str:
    """The cell's kind; a cell that does not say is an AWS cell (stack files written before other clouds existed)."""
    if isinstance(value, dict):
        return value.get("cloud", "aws")
    return getattr(value, "cloud", "aws")


def _cell_union(kinds: tuple[type[Strict], ...]) -> Any:
    """A union of the cell kinds tagged by ``cloud`` (one kind needs no union)."""
    if len(kinds) == 1:
        return kinds[0]
    clouds = [kind.model_fields["cloud"].default for kind in kinds]
    return Annotated[
        Union[tuple(Annotated[kind, Tag(cloud)] for kind, cloud in zip(kinds, clouds))],  # type: ignore[misc]
        Discriminator(_cloud_of, custom_error_type="unknown_cloud", custom_error_message=f"cloud must be one of: {', '.join(clouds)}"),
    ]


CellSpec = _cell_union(CELL_KINDS)


class PlatformSpec(Strict):
    """Everything one stack (environment) stands up."""

    environment: DnsLabel
    protected: bool = Field(
        False, description="Protect data-bearing resources (buckets, keys) from deletion and keep them on delete."
    )
    tags: dict[str, str] = Field(default_factory=dict)
    cells: list[CellSpec] = Field(min_length=1, description="One per cloud region; `cloud` says which kind (default aws).")
    models: list[ModelSpec] = Field(default_factory=list)
    global_metrics: GlobalMetricsSpec | None = Field(
        None,
        description="One view of every cell's metrics: the cell whose Prometheus receives the others' series over "
        "the mesh (kind: cell), or an external remote-write endpoint (kind: remote_write). Unset: each cell keeps its own.",
    )

    @model_validator(mode="after")
    def _cross_checks(self) -> "PlatformSpec":
        issues: list[tuple[tuple[str | int, ...], str]] = []
        cell_names = [c.name for c in self.cells]
        for i, cell in enumerate(self.cells):
            if cell_names.count(cell.name) > 1:
                issues.append((("cells", i, "name"), f"cell name {cell.name!r} is used more than once"))
        model_names = [m.name for m in self.models]
        for i, model in enumerate(self.models):
            if problem := scale_to_zero_issue(self.protected, model.scale_to_zero):
                issues.append((("models", i, "scale_to_zero"), problem))
            if model_names.count(model.name) > 1:
                issues.append((("models", i, "name"), f"model name {model.name!r} is used more than once"))
            for j, placed in enumerate(model.cells or []):
                if placed not in cell_names:
                    issues.append((("models", i, "cells", j), f"{placed!r} is not a cell of this stack; cells: {', '.join(cell_names)}"))
                elif model.accelerator not in next(c for c in self.cells if c.name == placed).accelerators:
                    issues.append((("models", i, "cells", j), f"cell {placed!r} has no GPU pool of {model.accelerator!r}"))
                if (model.cells or []).count(placed) > 1:
                    issues.append((("models", i, "cells", j), f"cell {placed!r} is listed more than once"))
            if model.on_cpu:
                if not any(CPU in c.accelerators for c in self.cells):
                    issues.append((("models", i, "accelerator"), f"no cell serves {CPU!r} models (existing cells do)"))
                continue
            pools = [p for c in self.cells for p in c.gpu_pools if p.accelerator == model.accelerator]
            if not pools:
                have = sorted({p.accelerator for c in self.cells for p in c.gpu_pools}) or ["none"]
                issues.append(
                    (("models", i, "accelerator"), f"no GPU pool has {model.accelerator!r}; pools offer: {', '.join(have)}")
                )
            elif all(model.gpus > p.gpus_per_node for p in pools):
                most = max(p.gpus_per_node for p in pools)
                issues.append((("models", i, "gpus"), f"{model.gpus} GPUs per replica, but {model.accelerator} nodes have at most {most}"))
        issues += self._global_metrics_issues()
        for i, cell in enumerate(self.cells):
            found = cell.platform_issues(self.protected, bool(self.models), meshed=len(self.cells) > 1)
            issues += [(("cells", i, *path), problem) for path, problem in found]
        if len(self.cells) > 1:
            # The cells' networks are joined (docs/design.md, "Mesh" > "Connectivity").
            issues += overlap_issues(self.cells) + vpn_issues(self.cells)
        if issues:
            raise SpecIssues(issues)
        return self

    def _global_metrics_issues(self) -> list[tuple[tuple[str | int, ...], str]]:
        """The receiving cell exists and runs a Prometheus."""
        target = self.global_metrics
        if not isinstance(target, GlobalMetricsCellSpec):
            return []
        cell = next((c for c in self.cells if c.name == target.cell), None)
        if cell is None:
            names = ", ".join(c.name for c in self.cells)
            return [(("global_metrics", "cell"), f"{target.cell!r} is not a cell of this stack; cells: {names}")]
        if not cell.monitoring.enabled:
            return [(("global_metrics", "cell"), f"cell {target.cell!r} has monitoring disabled, so no Prometheus to receive; "
                                                  "enable it there or choose another cell")]
        return []

    def receives_global_metrics(self, cell: CellSpec) -> bool:
        """``cell``'s Prometheus holds the global view (the others remote-write to it)."""
        return isinstance(self.global_metrics, GlobalMetricsCellSpec) and self.global_metrics.cell == cell.name

    def models_for(self, cell: CellSpec) -> list[ModelSpec]:
        """The models ``cell`` serves: those placed there, or (unplaced) every model of an accelerator it has."""
        return [m for m in self.models if cell.name in self.cells_of(m)]

    def cells_of(self, model: ModelSpec) -> list[str]:
        """The names of the cells serving ``model``: its ``cells``, else every cell with a pool of its accelerator."""
        if model.cells is not None:
            return list(model.cells)
        return [c.name for c in self.cells if model.accelerator in c.accelerators]


def parse_platform_spec(data: Mapping[str, Any] | str) -> PlatformSpec:
    if isinstance(data, str):
        try:
            data = json.loads(data)
        except json.JSONDecodeError as exc:
            raise SpecError([("<root>", f"not valid JSON: {exc}")]) from None
    return parse_model(PlatformSpec, data, f"platform spec ({CONFIG_NAMESPACE}:{CONFIG_KEY})")


def load_platform_spec() -> PlatformSpec:
    """Read and validate the stack's ``lepton-platform:platform`` config; raise SpecError before any resource exists."""
    import pulumi

    raw = pulumi.Config(CONFIG_NAMESPACE).get_object(CONFIG_KEY)
    if raw is None:
        raise SpecError([(f"{CONFIG_NAMESPACE}:{CONFIG_KEY}", "missing: set it in stacks/Pulumi.<stack>.yaml")])
    return parse_platform_spec(raw)


class _FactoryDefaults(GenerateJsonSchema):
    """Also states the defaults made by ``default_factory`` (zones, lists, nested specs), which pydantic leaves out."""

    def get_default_value(self, schema: core_schema.WithDefaultSchema) -> Any:
        factory = schema.get("default_factory")
        if factory is not None and not schema.get("default_factory_takes_data"):
            return factory()
        return super().get_default_value(schema)


def json_schema() -> dict[str, Any]:
    """The JSON Schema of the platform spec, for editor completion of the stack files."""
    schema = PlatformSpec.model_json_schema(schema_generator=_FactoryDefaults)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = f"{CONFIG_NAMESPACE}:{CONFIG_KEY}"
    return schema


__all__ = [
    "CELL_KINDS",
    "CellSpec",
    "PlatformSpec",
    "json_schema",
    "load_platform_spec",
    "parse_platform_spec",
]
