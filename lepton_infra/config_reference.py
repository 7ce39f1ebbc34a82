"""docs/config-reference.md, written from the platform spec's JSON Schema: every field with its type, default, rule
and description, one section per object, cells per cloud.

    python -m lepton_infra.config_reference > docs/config-reference.md

The schema is the one `lepton-infra schema` prints (pydantic's, with each validator's rule stated in it:
spec.common.schema_rule), so the reference says what validation enforces; tests/core/test_config_reference.py fails
when the committed file is stale.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from .spec import json_schema

TITLE = "# Stack config reference: `lepton-platform:platform`"
INTRO = """\
Generated from the JSON Schema of the platform spec by `python -m lepton_infra.config_reference`; do not edit by hand.
The same schema is `stacks/platform.schema.json` (editor completion) and `lepton-infra schema`. A stack file sets
these under `config: lepton-platform:platform:` (see stacks/Pulumi.dev.yaml). `lepton-infra validate STACK` checks a
stack file against every rule below, plus the checks that span fields (named in the error when one fails).
"""
RULE_KEYWORDS = {
    "minimum": "≥ {}",
    "maximum": "≤ {}",
    "exclusiveMinimum": "> {}",
    "minLength": "length ≥ {}",
    "maxLength": "length ≤ {}",
    "minItems": "at least {} items",
    "maxItems": "at most {} items",
    "pattern": "matches `{}`",
}


def _ref_name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


def _anchor(name: str) -> str:
    return name.lower()


def _type(schema: dict[str, Any]) -> str:
    """A field's type as a reader says it, with links to the sections of nested objects."""
    if "$ref" in schema:
        name = _ref_name(schema["$ref"])
        return f"[{name}](#{_anchor(name)})"
    for union in ("anyOf", "oneOf"):
        if union in schema:
            options = [o for o in schema[union] if o.get("type") != "null"]
            nullable = len(options) < len(schema[union])
            text = " or ".join(_type(o) for o in options)
            return f"{text} or null" if nullable else text
    kind = schema.get("type", "any")
    if kind == "array":
        return f"list of {_type(schema.get('items', {}))}"
    if kind == "object" and isinstance(schema.get("additionalProperties"), dict):
        return f"map of {_type(schema['additionalProperties'])}"
    return kind


def _rule(schema: dict[str, Any]) -> str:
    """The constraints on a value (of a union's non-null branch, or of a list's items), as one short phrase."""
    for union in ("anyOf", "oneOf"):
        if union in schema:
            return "; ".join(filter(None, (_rule(o) for o in schema[union] if o.get("type") != "null")))
    parts = []
    if "enum" in schema:
        parts.append("one of " + ", ".join(f"`{v}`" for v in schema["enum"]))
    if "const" in schema:
        parts.append(f"`{schema['const']}`")
    parts += [text.format(schema[key]) for key, text in RULE_KEYWORDS.items() if key in schema]
    if schema.get("uniqueItems"):
        parts.append("no duplicates")
    if "propertyNames" in schema:
        parts.append(f"keys {_rule(schema['propertyNames'])}")
    if isinstance(schema.get("additionalProperties"), dict) and (values := _rule(schema["additionalProperties"])):
        parts.append(f"values {values}")
    if schema.get("type") == "array" and (items := _rule(schema.get("items", {}))):
        parts.append(f"each {items}")
    return "; ".join(parts)


def _default(name: str, field: dict[str, Any], required: set[str]) -> str:
    if name in required:
        return "**required**"
    if "default" not in field:
        return "—"
    if isinstance(field["default"], dict) and field["default"] and ("$ref" in field or "anyOf" in field):
        return "its fields' defaults"  # a nested spec: each field's default is in its own section
    return f"`{json.dumps(field['default'])}`"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _section(name: str, schema: dict[str, Any]) -> list[str]:
    lines = [f"## {name}", ""]
    if description := schema.get("description"):
        lines += [_cell(description), ""]
    lines += ["| field | type | default | rule | description |", "|---|---|---|---|---|"]
    required = set(schema.get("required", ()))
    for field, spec in schema.get("properties", {}).items():
        row = (f"`{field}`", _type(spec), _default(field, spec, required), _rule(spec), spec.get("description", ""))
        lines.append("| " + " | ".join(_cell(c) for c in row) + " |")
    return [*lines, ""]


def render(schema: dict[str, Any] | None = None) -> str:
    """The reference: the platform's own fields first, then every object it uses, by name."""
    schema = schema or json_schema()
    lines = [TITLE, "", INTRO, *_section("platform", schema)]
    for name, definition in sorted(schema.get("$defs", {}).items()):
        lines += _section(name, definition)
    return "\n".join(lines).rstrip() + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())
