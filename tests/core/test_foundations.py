"""A cell's cloud is looked up, never switched on; a cloud whose SDK is missing names the extra that brings it."""

import sys

import pytest

from lepton_infra.composition import foundations
from lepton_infra.composition.foundations import CloudFoundation, foundation_builder
from lepton_infra.spec import CELL_KINDS, SpecError


def test_each_cloud_of_the_spec_has_a_foundation():
    clouds = {kind.model_fields["cloud"].default for kind in CELL_KINDS}
    assert clouds <= set(foundations.FOUNDATIONS)
    for cloud in clouds:
        assert callable(foundation_builder(cloud))


def test_a_missing_cloud_sdk_names_the_extra_to_install(tmp_path, monkeypatch):
    (tmp_path / "fake_cell.py").write_text("import pulumi_nowhere.compute\n\ndef build_foundation(*a):\n    pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(foundations.FOUNDATIONS, "nowhere", CloudFoundation("fake_cell", "nowhere", "pulumi_nowhere"))
    with pytest.raises(SpecError) as err:
        foundation_builder("nowhere")
    assert "pip install 'lepton-infra[nowhere]'" in str(err.value)
    sys.modules.pop("fake_cell", None)


def test_a_bug_in_a_foundation_is_not_mistaken_for_a_missing_sdk(tmp_path, monkeypatch):
    (tmp_path / "broken_cell.py").write_text("import no_such_helper_module\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(foundations.FOUNDATIONS, "broken", CloudFoundation("broken_cell", "broken", "pulumi_broken"))
    with pytest.raises(ModuleNotFoundError):
        foundation_builder("broken")


def test_an_unknown_cloud_lists_the_known_ones():
    with pytest.raises(SpecError) as err:
        foundation_builder("openstack")
    assert "aws" in str(err.value)
