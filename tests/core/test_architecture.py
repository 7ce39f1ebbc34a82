"""The layers the folders show are the layers the imports keep (docs/design.md, "Layout"):
the cloud-neutral core imports no component; components import only the core (and their own cloud's folder, or the
shared in-cluster one); the composition sits above both; nothing dodges this with an import inside a function."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE_OF = {ROOT / "lepton_infra": "lepton_infra", ROOT / "components": "lepton_infra.components"}
CORE_EXCLUDED = ("composition", "_image_context")


def module_name(path: Path) -> str:
    for folder, package in PACKAGE_OF.items():
        if path.is_relative_to(folder):
            parts = path.relative_to(folder).with_suffix("").parts
            parts = parts[:-1] if parts[-1] == "__init__" else parts
            return ".".join((package, *parts))
    raise ValueError(path)


def imports(path: Path) -> list[tuple[str, bool]]:
    """(absolute module imported, whether the import sits inside a function) for every import of ``path``."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    tree = ast.parse(path.read_text())
    nested = {id(n) for f in ast.walk(tree) if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef)) for n in ast.walk(f)}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, id(node) in nested) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            found.append((target, id(node) in nested))
    return found


def sources(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


def core_sources() -> list[Path]:
    return [p for p in sources("lepton_infra") if not any(part in CORE_EXCLUDED for part in p.relative_to(ROOT).parts)]


@pytest.mark.parametrize("path", core_sources(), ids=lambda p: str(p.relative_to(ROOT)))
def test_the_core_imports_no_component_and_no_composition(path):
    bad = [m for m, _ in imports(path) if m.startswith(("lepton_infra.components", "lepton_infra.composition"))]
    assert not bad, f"{path.relative_to(ROOT)} (core) imports {bad}"


@pytest.mark.parametrize("path", sources("components"), ids=lambda p: str(p.relative_to(ROOT)))
def test_components_import_only_the_core_their_own_folder_and_the_shared_in_cluster_layer(path):
    name = module_name(path)
    own = ".".join(name.split(".")[:3])  # lepton_infra.components.<cloud>
    allowed = (own, "lepton_infra.components.kubernetes", "lepton_infra.components._resource_options")
    bad = [
        m for m, _ in imports(path)
        if m.startswith("lepton_infra.composition") or (m.startswith("lepton_infra.components.") and not m.startswith(allowed))
    ]
    assert not bad, f"{path.relative_to(ROOT)} imports {bad}"


@pytest.mark.parametrize("path", [*sources("lepton_infra"), *sources("components")], ids=lambda p: str(p.relative_to(ROOT)))
def test_no_import_of_the_library_hides_inside_a_function(path):
    hidden = [m for m, inside in imports(path) if inside and m.startswith("lepton_infra")]
    assert not hidden, f"{path.relative_to(ROOT)} imports {hidden} inside a function: an import cycle is being dodged"


@pytest.mark.parametrize("path", sources("components"), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_component_imports_the_offline_harness_or_asks_whether_it_runs_under_mocks(path):
    """What a component does under the engine is what it does offline: the harness answers it from the outside
    (provider mocks, lepton_infra.outbound), never through a branch of the component's own."""
    bad = [m for m, _ in imports(path) if m.startswith(("lepton_infra.testing", "pulumi.runtime.mocks"))]
    assert not bad, f"{path.relative_to(ROOT)} imports {bad}"
    assert "MockMonitor" not in path.read_text(), f"{path.relative_to(ROOT)} checks for Pulumi's mock monitor"
