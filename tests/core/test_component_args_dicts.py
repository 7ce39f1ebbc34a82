"""Every component takes its args as a model or as a dict typed like it (issue 8: "the dict form typed too").

A Pulumi program may pass ``{"pool": ..., "cluster": cluster}`` instead of ``GpuNodePoolArgs(...)``; a type checker
then checks the keys against ``GpuNodePoolArgsDict``. The dict is hand-written beside the model, so these tests
keep the two in step: the same keys, the same required ones, and annotations that resolve.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import typing

import pulumi
import pytest
from pydantic import BaseModel

import lepton_infra.components as components
from lepton_infra.spec import ComponentArgs


def component_classes() -> list[type[pulumi.ComponentResource]]:
    found = []
    for module_info in pkgutil.walk_packages(components.__path__, components.__name__ + "."):
        module = importlib.import_module(module_info.name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, pulumi.ComponentResource) and cls.__module__ == module.__name__:
                found.append(cls)
    return sorted(found, key=lambda c: f"{c.__module__}.{c.__name__}")


def args_forms(cls: type) -> tuple[type[BaseModel], type]:
    """(the args model, the args TypedDict) from ``__init__(self, name, args: Model | ModelDict, opts)``."""
    module = importlib.import_module(cls.__module__)
    hint = typing.get_type_hints(cls.__init__, vars(module))["args"]
    forms = typing.get_args(hint)
    models = [f for f in forms if isinstance(f, type) and issubclass(f, ComponentArgs)]
    dicts = [f for f in forms if typing.is_typeddict(f)]
    assert len(forms) == 2 and len(models) == len(dicts) == 1, (
        f"{cls.__name__}.__init__'s args must be `<Args> | <Args>Dict`, not {hint}"
    )
    return models[0], dicts[0]


COMPONENTS = [c for c in component_classes() if "args" in inspect.signature(c.__init__).parameters]


def test_the_components_are_found():
    names = {c.__name__ for c in COMPONENTS}
    assert {"EksCluster", "AksCluster", "GkeCluster", "ModelDeployment", "IstioMesh", "InClusterLake"} <= names
    assert len(COMPONENTS) >= 26


@pytest.mark.parametrize("cls", COMPONENTS, ids=lambda c: f"{c.__module__.rsplit('.', 2)[-2]}.{c.__name__}")
def test_the_dict_form_has_the_models_keys_and_required_keys(cls):
    model, as_dict = args_forms(cls)
    assert as_dict.__name__ == f"{model.__name__}Dict"
    assert set(as_dict.__annotations__) == set(model.model_fields), f"{as_dict.__name__} and {model.__name__} differ"
    required = {name for name, field in model.model_fields.items() if field.is_required()}
    # Under `from __future__ import annotations` the class's __required_keys__ cannot see Required[...] in a string
    # annotation (Python 3.11); the resolved hints, extras kept, do.
    hints = typing.get_type_hints(as_dict, vars(importlib.import_module(cls.__module__)), include_extras=True)
    marked = {name for name, hint in hints.items() if typing.get_origin(hint) is typing.Required}
    assert marked == required, f"{as_dict.__name__}: Required[...] must mark exactly {sorted(required)}"


@pytest.mark.parametrize("cls", COMPONENTS, ids=lambda c: f"{c.__module__.rsplit('.', 2)[-2]}.{c.__name__}")
def test_every_annotation_of_the_dict_form_resolves(cls):
    """A type checker reads these names: each must exist in the component's module."""
    model, as_dict = args_forms(cls)
    hints = typing.get_type_hints(as_dict, vars(importlib.import_module(cls.__module__)))
    for name, field in model.model_fields.items():
        nested = field.annotation if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel) else None
        if nested is not None:  # a spec part may be given as its model or as a plain mapping (as YAML gives it)
            assert nested in typing.get_args(hints[name]), f"{as_dict.__name__}.{name} must accept {nested.__name__}"


def test_a_plain_dict_with_a_wrong_key_is_refused_naming_it():
    from lepton_infra.components.kubernetes.mesh_ca import MeshCertificateAuthorityArgs
    from lepton_infra.spec import SpecError, parse_model

    with pytest.raises(SpecError) as error:
        parse_model(MeshCertificateAuthorityArgs, {"mesh": "lepton"})
    assert "mesh" in dict(error.value.issues)
