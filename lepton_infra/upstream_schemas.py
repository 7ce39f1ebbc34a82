"""Check what a program emits against upstream's own schemas, offline: CRDs and Helm charts' values.yaml.

kubernetes-validate knows the core Kubernetes API only (lepton_infra.kubernetes_schema); a custom resource (Istio,
the NVIDIA GPU operator) is checked here against its CRD's ``openAPIV3Schema``, and a Helm release's values against
the chart's values.yaml, both read from pinned upstream files. Errors are ``"path: message"`` strings, the path
naming the field (``spec.mtls.mdoe: unknown field ...``), so a failing test says what to fix.

    schemas = load_crd_schemas("crd-all.gen.yaml")
    errors = custom_resource_errors(obj, schemas)          # [] when the API server would admit obj's fields
    errors = unknown_values(values, chart_defaults("values.yaml", root=None))
"""

from __future__ import annotations

import copy
import functools
import re
from pathlib import Path
from typing import Any, Iterable, Mapping

import yaml

PRESERVE_UNKNOWN = "x-kubernetes-preserve-unknown-fields"
INT_OR_STRING = "x-kubernetes-int-or-string"
# Every object carries these at its root; a CRD's schema may leave them out (Istio's do), the API server checks them.
ROOT_FIELDS = {"apiVersion": {"type": "string"}, "kind": {"type": "string"}, "metadata": {"type": "object"}}
MAX_MESSAGE = 300
MAX_NAMES = 12  # how many of the known keys an "unknown ..." message lists

SchemaKey = tuple[str, str]  # (apiVersion, kind): ("security.istio.io/v1", "PeerAuthentication")


# --------------------------------------------------------------------------------------------------- CRDs
def strict_schema(schema: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of a CRD's openAPIV3Schema that refuses what the API server would prune or refuse.

    The API server drops fields a structural schema does not declare; a dropped field is a silent bug, so here an
    object with ``properties`` gets ``additionalProperties: false`` unless it says
    ``x-kubernetes-preserve-unknown-fields``. ``nullable`` admits null; ``x-kubernetes-int-or-string`` admits an
    integer or a string. Only the structural part (properties, additionalProperties, items) is made strict:
    allOf/anyOf/oneOf/not only repeat fields declared beside them (a structural schema's rule), so a closed
    branch there would refuse its siblings' fields. CEL rules (``x-kubernetes-validations``) are not evaluated.
    """
    out = _strict(copy.deepcopy(dict(schema)))
    out.setdefault("properties", {})
    for name, field in ROOT_FIELDS.items():
        out["properties"].setdefault(name, field)
    return out


def _strict(node: dict[str, Any]) -> dict[str, Any]:
    if node.get(INT_OR_STRING):
        node.setdefault("type", ["integer", "string"])
    if node.get("nullable"):
        node["type"] = _with_null(node.get("type"))
        if "enum" in node and None not in node["enum"]:
            node["enum"] = [*node["enum"], None]
    properties = node.get("properties")
    if isinstance(properties, dict):
        for child in properties.values():
            _strict(child)
        if not node.get(PRESERVE_UNKNOWN) and "additionalProperties" not in node:
            node["additionalProperties"] = False
    if isinstance(node.get("additionalProperties"), dict):
        _strict(node["additionalProperties"])
    if isinstance(node.get("items"), dict):
        _strict(node["items"])
    return node


def _with_null(type_: Any) -> Any:
    if type_ is None:
        return None
    types = type_ if isinstance(type_, list) else [type_]
    return types if "null" in types else [*types, "null"]


def _crds(path: str | Path) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as f:
        return [d for d in yaml.safe_load_all(f) if d and d.get("kind") == "CustomResourceDefinition"]


def load_crd_schemas(*paths: str | Path) -> dict[SchemaKey, dict[str, Any]]:
    """{(apiVersion, kind): strict schema} for every served version of every CRD in the YAML files ``paths``."""
    schemas: dict[SchemaKey, dict[str, Any]] = {}
    for path in paths:
        for crd in _crds(path):
            spec = crd["spec"]
            for version in spec["versions"]:
                if version.get("served", True):
                    key = (f"{spec['group']}/{version['name']}", spec["names"]["kind"])
                    schemas[key] = strict_schema(version["schema"]["openAPIV3Schema"])
    return schemas


def crd_schema(path: str | Path, group: str, kind: str, version: str) -> dict[str, Any]:
    """The strict schema of one served (group, kind, version) in the CRD file ``path``; a LookupError lists the rest."""
    schemas = load_crd_schemas(path)
    try:
        return schemas[(f"{group}/{version}", kind)]
    except KeyError:
        known = ", ".join(f"{k} {a}" for a, k in sorted(schemas))
        raise LookupError(f"{path} serves no {kind} {group}/{version}; it has: {known}") from None


def schema_errors(instance: Any, schema: Mapping[str, Any], *, draft: str = "4") -> list[str]:
    """Every way ``instance`` fails ``schema``, as sorted "path: message" strings ([] when it passes).

    CRD schemas are OpenAPI 3.0 schema objects, whose keywords mean what they mean in JSON Schema draft 4 (the
    draft OpenAPI 3.0 took them from: boolean exclusiveMaximum, no const), hence the default. Draft 4 counts only
    ints as integers: give it 8080, not the 8080.0 a Pulumi mock records (kubernetes_schema.manifest converts).
    """
    import jsonschema

    cls = {"4": jsonschema.Draft4Validator, "2020-12": jsonschema.Draft202012Validator}[draft]
    errors: list[str] = []
    for error in cls(schema).iter_errors(instance):
        errors += _describe(error)
    return sorted(errors)


def _describe(error) -> list[str]:
    """One jsonschema error as "path: message"; a closed object's error becomes one line per unknown field, naming it."""
    path = list(error.absolute_path)
    if error.validator == "additionalProperties" and error.validator_value is False and isinstance(error.instance, dict):
        declared = error.schema.get("properties", {})
        extra = sorted(k for k in error.instance if k not in declared and not _matches_pattern(k, error.schema))
        return [f"{field_path([*path, k])}: unknown field (known here: {_names(declared)})" for k in extra]
    message = error.message if len(error.message) <= MAX_MESSAGE else error.message[: MAX_MESSAGE - 3] + "..."
    return [f"{field_path(path)}: {message}"]


def _matches_pattern(key: str, schema: Mapping[str, Any]) -> bool:
    return any(re.search(pattern, key) for pattern in schema.get("patternProperties", {}))


def field_path(path: Iterable[str | int]) -> str:
    """("spec", "http", 0, "route") -> "spec.http[0].route"; the root is "<root>"."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "<root>"


def custom_resource_errors(obj: Mapping[str, Any], schemas: Mapping[SchemaKey, Mapping[str, Any]]) -> list[str]:
    """``obj``'s errors against the CRD that serves its apiVersion and kind; an error too when no CRD does."""
    key = (obj.get("apiVersion"), obj.get("kind"))
    if key not in schemas:
        return [f"<root>: no CRD serves {key[1]} {key[0]} (known: {_names(f'{k} {a}' for a, k in schemas)})"]
    return schema_errors(obj, schemas[key])


# --------------------------------------------------------------------------------------------------- Helm values
@functools.lru_cache(maxsize=None)
def _yaml_file(path: str) -> Any:
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


def chart_defaults(values_yaml: str | Path, root: str | None = None) -> dict[str, Any]:
    """A chart's default values: its values.yaml, or the mapping under ``root`` when the chart keeps them there
    (Istio's charts keep them under ``_internal_defaults_do_not_set`` and merge that into .Values)."""
    values = _yaml_file(str(values_yaml)) or {}
    return copy.deepcopy(values[root] if root else values)


def unknown_values(
    values: Mapping[str, Any],
    defaults: Mapping[str, Any],
    *,
    free_form: Iterable[tuple[str, ...]] = (),
    aliases: Mapping[str, tuple[str, ...]] | None = None,
) -> list[str]:
    """Every key path of ``values`` the chart does not have, as sorted "a.b.c: message" strings.

    The rule: a key must exist at the same path in the chart's values.yaml (``defaults``), descending into
    mappings. Where the chart's default is an empty mapping ``{}``, a list or null, whatever is below is the
    chart's free-form input (annotations, tolerations, resources) and anything goes; so below a path in
    ``free_form`` (a mapping the chart passes on whole, e.g. a config file or command-line flags). A mapping given
    where the chart has a scalar, or a scalar or list where it has a mapping with keys, is refused too; null is
    always allowed (it unsets a default). ``aliases`` names top-level keys the chart merges in at another path
    (istiod copies ``pilot.*`` to the top level): their content is checked at that path.
    """
    aliases = dict(aliases or {})
    free = {tuple(p) for p in free_form}
    errors: list[str] = []
    for key, value in values.items():
        if key in defaults:
            errors += _unknown(value, defaults[key], [key], [key], free)
        elif key in aliases:
            target = aliases[key]
            errors += _unknown(value, _at(defaults, target), list(target), [key], free)
        else:
            errors.append(_unknown_key([key], defaults))
    return sorted(errors)


def _at(defaults: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    node: Any = defaults
    for key in path:
        node = node[key]
    return node


def _unknown(value: Any, default: Any, logical: list, shown: list, free: set[tuple[str, ...]]) -> list[str]:
    """Errors of ``value`` against the chart's ``default`` at ``logical`` (reported at ``shown``)."""
    if value is None or default is None or tuple(logical) in free:
        return []
    if isinstance(default, list) or (isinstance(default, dict) and not default):
        return []
    if isinstance(default, dict):
        if not isinstance(value, Mapping):
            return [f"{field_path(shown)}: the chart has a mapping here (keys: {_names(default)}), not a {type(value).__name__}"]
        errors = []
        for key, child in value.items():
            if key not in default:
                errors.append(_unknown_key([*shown, key], default))
            else:
                errors += _unknown(child, default[key], [*logical, key], [*shown, key], free)
        return errors
    if isinstance(value, Mapping):
        return [f"{field_path(shown)}: the chart's default here is {default!r} ({type(default).__name__}), not a mapping"]
    return []


def _unknown_key(path: list, siblings: Mapping[str, Any]) -> str:
    return f"{field_path(path)}: unknown value key (the chart has here: {_names(siblings)})"


def _names(keys: Iterable[str]) -> str:
    names = sorted(keys)
    more = f", ... ({len(names) - MAX_NAMES} more)" if len(names) > MAX_NAMES else ""
    return ", ".join(names[:MAX_NAMES]) + more if names else "nothing"
