"""How ``lepton-infra plan --format NAME`` prints a plan: one module per format, each ``render(doc, style) -> str``
over the plan document (document.py), registered here by name. The first is the default."""

from __future__ import annotations

from typing import Any, Callable

from . import as_json, as_yaml, markdown, mermaid, table
from .document import NOTE, build, plan_stack
from .terminal import PLAIN, Style

Renderer = Callable[[dict[str, Any], Style], str]

FORMATS: dict[str, Renderer] = {
    "table": table.render,
    "json": as_json.render,
    "yaml": as_yaml.render,
    "mermaid": mermaid.render,
    "markdown": markdown.render,
}
COLORED = {"table"}  # the formats for people; the others are read by programs, and never carry escape codes

__all__ = ["COLORED", "FORMATS", "NOTE", "PLAIN", "Renderer", "Style", "build", "plan_stack"]
