"""The upstream checker's rules on small schemas and values: what it refuses, what it lets through, and how it says so.

The real upstream files (Istio, GPU operator, cluster autoscaler) are exercised against the stacks in tests/upstream.
"""

import copy

import pytest
import yaml

from lepton_infra.upstream_schemas import (
    chart_defaults,
    crd_schema,
    custom_resource_errors,
    field_path,
    load_crd_schemas,
    schema_errors,
    strict_schema,
    unknown_values,
)

# A CRD shaped like Istio's: no apiVersion/kind/metadata at the root, maps, int-or-string, nullable, an enum, a
# preserve-unknown-fields object, a oneOf over required fields, and an old version no longer served.
SPEC = {
    "type": "object",
    "properties": {
        "mode": {"type": "string", "enum": ["STRICT", "PERMISSIVE"]},
        "port": {"anyOf": [{"type": "integer"}, {"type": "string"}], "x-kubernetes-int-or-string": True},
        "timeout": {"type": "string", "nullable": True},
        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
        "routes": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"exact": {"type": "string"}, "prefix": {"type": "string"}, "weight": {"type": "integer"}},
                "oneOf": [{"required": ["exact"]}, {"required": ["prefix"]}],
            },
        },
        "extra": {"type": "object", "x-kubernetes-preserve-unknown-fields": True, "properties": {"known": {"type": "string"}}},
    },
}
CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "policies.example.io"},
    "spec": {
        "group": "example.io",
        "names": {"kind": "Policy", "plural": "policies"},
        "scope": "Namespaced",
        "versions": [
            {"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": {"type": "object", "properties": {"spec": SPEC}}}},
            {"name": "v1alpha1", "served": False, "storage": False, "schema": {"openAPIV3Schema": {"type": "object"}}},
        ],
    },
}
VALID = {
    "apiVersion": "example.io/v1",
    "kind": "Policy",
    "metadata": {"name": "p", "namespace": "ns", "labels": {"app": "p"}},
    "spec": {
        "mode": "STRICT",
        "port": 8080,
        "timeout": None,
        "labels": {"any-key": "v"},
        "routes": [{"exact": "/a", "weight": 90}, {"prefix": "/b"}],
        "extra": {"known": "x", "anything": {"goes": [1, 2]}},
    },
}


@pytest.fixture
def crd_file(tmp_path):
    path = tmp_path / "crds.yaml"
    # A multi-document file with a non-CRD document in it, like crd-all.gen.yaml's neighbours.
    path.write_text(yaml.safe_dump_all([{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x"}}, CRD]))
    return path


@pytest.fixture
def schemas(crd_file):
    return load_crd_schemas(crd_file)


def test_a_valid_object_passes_with_root_fields_maps_int_or_string_nullable_and_preserved_fields(schemas):
    assert custom_resource_errors(VALID, schemas) == []
    assert custom_resource_errors({**VALID, "spec": {**VALID["spec"], "port": "http"}}, schemas) == []


def break_at(path, value):
    """A copy of VALID with ``value`` set at ``path`` (a tuple of keys and indexes)."""

    def apply(obj):
        node = obj
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
        return obj

    return apply


@pytest.mark.parametrize(
    "break_it,expected",
    [
        (break_at(("spec", "mdoe"), "STRICT"), "spec.mdoe: unknown field (known here: extra, labels, mode, port, routes, timeout)"),
        (break_at(("spec", "routes", 1, "wieght"), 3), "spec.routes[1].wieght: unknown field"),
        (break_at(("spec", "mode"), "STRIKT"), "spec.mode: 'STRIKT' is not one of ['STRICT', 'PERMISSIVE']"),
        (break_at(("spec", "routes", 0, "weight"), "90"), "spec.routes[0].weight: '90' is not of type 'integer'"),
        (break_at(("spec", "routes", 0, "weight"), 90.0), "spec.routes[0].weight: 90.0 is not of type 'integer'"),
        (break_at(("spec", "port"), [80]), "spec.port: [80] is not of type 'integer', 'string'"),
        (break_at(("spec", "labels", "app"), 1), "spec.labels.app: 1 is not of type 'string'"),
        (break_at(("spec", "mode"), None), "spec.mode: None is not of type 'string'"),
        (break_at(("spec", "routes", 0, "prefix"), "/c"), "spec.routes[0]: "),  # both branches of the oneOf match
        (break_at(("statuss",), {}), "statuss: unknown field"),
    ],
    ids=["misspelt-field", "misspelt-nested", "enum", "type", "float-is-no-integer", "int-or-string", "map-value", "not-nullable", "one-of", "root"],
)
def test_a_wrong_field_is_refused_with_its_path(schemas, break_it, expected):
    errors = custom_resource_errors(break_it(copy.deepcopy(VALID)), schemas)
    path = expected.split(": ", 1)[0]
    # Every error is about that one field (an enum and a type may both fail), and one says what was expected.
    assert errors and all(e.startswith(path + ": ") for e in errors), errors
    assert any(e.startswith(expected) for e in errors), errors


def test_an_unknown_kind_or_an_unserved_version_is_refused_naming_what_is_served(schemas):
    [error] = custom_resource_errors({**VALID, "apiVersion": "example.io/v1alpha1"}, schemas)
    assert error == "<root>: no CRD serves Policy example.io/v1alpha1 (known: Policy example.io/v1)"


def test_crd_schema_finds_one_served_version_and_lists_the_rest_when_asked_for_another(crd_file):
    assert "spec" in crd_schema(crd_file, "example.io", "Policy", "v1")["properties"]
    with pytest.raises(LookupError, match=r"serves no Policy example.io/v1alpha1; it has: Policy example.io/v1"):
        crd_schema(crd_file, "example.io", "Policy", "v1alpha1")


def test_strict_schema_closes_declared_objects_only_and_leaves_the_input_alone():
    original = copy.deepcopy(SPEC)
    strict = strict_schema({"type": "object", "properties": {"spec": SPEC}})
    spec = strict["properties"]["spec"]
    assert spec["additionalProperties"] is False
    assert spec["properties"]["routes"]["items"]["additionalProperties"] is False
    assert all("additionalProperties" not in branch for branch in spec["properties"]["routes"]["items"]["oneOf"])
    assert "additionalProperties" not in spec["properties"]["extra"]  # x-kubernetes-preserve-unknown-fields
    assert spec["properties"]["labels"]["additionalProperties"] == {"type": "string"}  # a map stays a map
    assert spec["properties"]["timeout"]["type"] == ["string", "null"]
    assert SPEC == original


def test_schema_errors_with_draft_2020_12_reads_defs_as_helm_values_schemas_use_them():
    schema = {"$defs": {"v": {"type": "object", "additionalProperties": False, "properties": {"n": {"type": "integer"}}}}, "$ref": "#/$defs/v"}
    assert schema_errors({"n": 2.0}, schema, draft="2020-12") == []  # 2020-12 counts 2.0 as an integer
    assert schema_errors({"n": 2, "m": 1}, schema, draft="2020-12") == ["m: unknown field (known here: n)"]


@pytest.mark.parametrize(
    "path,expected",
    [((), "<root>"), (("spec",), "spec"), (("spec", "http", 0, "route", 1), "spec.http[0].route[1]"), ((0, "a"), "[0].a")],
)
def test_field_path(path, expected):
    assert field_path(path) == expected


# --------------------------------------------------------------------------------------------------- Helm values
DEFAULTS = {
    "image": {"repository": "r", "tag": "v1"},
    "annotations": {},
    "tolerations": [],
    "clusterName": None,
    "extraArgs": {"v": 4},
    "pilot_like": {"replicaCount": 1},
    "replicaCount": 1,
    "nested": {"deeper": {"leaf": True}},
}


@pytest.mark.parametrize(
    "values",
    [
        {"image": {"tag": "v2"}, "replicaCount": 3},
        {"annotations": {"any": "thing", "deep": {"ok": 1}}},  # {} default: free-form
        {"tolerations": [{"key": "k"}]},  # list default: free-form
        {"clusterName": {"even": "a mapping"}},  # null default: the chart says nothing of its shape
        {"image": None},  # null unsets a default
        {"extraArgs": {"expander": "least-waste"}},  # declared free-form below
        {"alias": {"replicaCount": 2}},  # checked at the top level
    ],
    ids=["known-keys", "empty-mapping", "list", "null-default", "null-value", "free-form-path", "alias"],
)
def test_values_the_chart_has_pass(values):
    assert unknown_values(values, DEFAULTS, free_form=[("extraArgs",)], aliases={"alias": ()}) == []


@pytest.mark.parametrize(
    "values,expected",
    [
        ({"imgae": {}}, "imgae: unknown value key (the chart has here: annotations, clusterName"),
        ({"image": {"tga": "v2"}}, "image.tga: unknown value key (the chart has here: repository, tag)"),
        ({"nested": {"deeper": {"lef": 1}}}, "nested.deeper.lef: unknown value key (the chart has here: leaf)"),
        ({"extraArgs": {"expander": "x"}}, "extraArgs.expander: unknown value key (the chart has here: v)"),
        ({"alias": {"replicaCoutn": 2}}, "alias.replicaCoutn: unknown value key"),
        ({"replicaCount": {"min": 1}}, "replicaCount: the chart's default here is 1 (int), not a mapping"),
        ({"image": "r:v2"}, "image: the chart has a mapping here (keys: repository, tag), not a str"),
    ],
    ids=["top-level", "nested", "deep", "not-declared-free-form", "alias", "mapping-for-scalar", "scalar-for-mapping"],
)
def test_a_key_the_chart_does_not_have_is_refused_with_its_path(values, expected):
    free_form = [] if "extraArgs" in values else [("extraArgs",)]
    errors = unknown_values(values, DEFAULTS, free_form=free_form, aliases={"alias": ()})
    assert len(errors) == 1 and errors[0].startswith(expected), errors


def test_an_alias_is_checked_at_its_target_path_and_reported_under_its_own_name():
    assert unknown_values({"p": {"tag": "v2"}}, DEFAULTS, aliases={"p": ("image",)}) == []
    assert unknown_values({"p": {"tgx": "v2"}}, DEFAULTS, aliases={"p": ("image",)}) == [
        "p.tgx: unknown value key (the chart has here: repository, tag)"
    ]


def test_a_long_list_of_known_keys_is_cut_short():
    [error] = unknown_values({"zzz": 1}, {f"k{i:02}": 1 for i in range(20)})
    assert error.endswith("k11, ... (8 more))")


def test_chart_defaults_reads_values_yaml_or_the_mapping_a_chart_keeps_them_under(tmp_path):
    path = tmp_path / "values.yaml"
    path.write_text("_internal_defaults_do_not_set:\n  replicaCount: 1\n")
    assert chart_defaults(path) == {"_internal_defaults_do_not_set": {"replicaCount": 1}}
    assert chart_defaults(path, root="_internal_defaults_do_not_set") == {"replicaCount": 1}
