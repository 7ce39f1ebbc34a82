"""Every design-document citation in the code points at a section docs/design.md has."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DESIGN = ROOT / "docs" / "design.md"
CITATION = re.compile(r'docs/design\.md, "([^"]+)"')
SOURCES = ("lepton_infra", "components", "stacks", "serving")


def _citations() -> list[tuple[Path, str]]:
    found = []
    for folder in SOURCES:
        for path in (ROOT / folder).rglob("*.py"):
            found += [(path, section) for section in CITATION.findall(path.read_text())]
    return found


def test_the_code_cites_the_design_document():
    cited = {section for _, section in _citations()}
    assert {"Mesh", "GPU drivers", "Cross-cloud conventions", "Data lake"} <= cited


def test_every_cited_section_exists():
    headings = set(re.findall(r"^## (.+)$", DESIGN.read_text(), flags=re.MULTILINE))
    missing = [f"{path.relative_to(ROOT)}: {section!r}" for path, section in _citations() if section not in headings]
    assert not missing, f"docs/design.md has no such section (it has {sorted(headings)}): {missing}"


def test_no_reference_to_a_design_file_the_project_does_not_have():
    stale = [
        str(path.relative_to(ROOT))
        for folder in SOURCES
        for path in (ROOT / folder).rglob("*.py")
        if re.search(r"(?<![\w/])DESIGN\.md", path.read_text())
    ]
    assert not stale, f"these cite DESIGN.md, which the project does not contain (use docs/design.md): {stale}"
