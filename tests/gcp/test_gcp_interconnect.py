"""The GCP end of the VPN between cells, checked against pulumi_gcp: the cipher suite's fields and the external VPN
gateway's redundancy types are the SDK's."""

from __future__ import annotations

import inspect

import pulumi_gcp.compute as compute
import pytest
from pulumi_gcp.compute import _inputs

from lepton_infra.components.gcp.interconnect import CIPHER_SUITE, REDUNDANCY, VpnEndpoint
from lepton_infra.spec import SpecError
from lepton_infra.testing import run


def fields(args_class) -> set[str]:
    return {n for n in inspect.signature(args_class.__init__).parameters if n != "__self__"}


def test_the_cipher_suite_uses_the_sdks_fields():
    assert set(CIPHER_SUITE) == fields(_inputs.VPNTunnelCipherSuiteArgs)
    assert set(CIPHER_SUITE["phase1"]) == fields(_inputs.VPNTunnelCipherSuitePhase1Args)
    assert set(CIPHER_SUITE["phase2"]) == fields(_inputs.VPNTunnelCipherSuitePhase2Args)


def test_one_cipher_per_role_as_cloud_vpn_advises():
    assert all(len(values) == 1 for phase in CIPHER_SUITE.values() for values in phase.values())


def test_redundancy_types_are_the_ones_gcp_lists():
    doc = inspect.getsource(compute.ExternalVpnGateway)
    assert all(f"`{kind}`" in doc for kind in REDUNDANCY.values())
    assert REDUNDANCY == {2: "TWO_IPS_REDUNDANCY", 4: "FOUR_IPS_REDUNDANCY"}


def test_bad_args_are_a_spec_error_naming_each_field():
    with pytest.raises(SpecError) as caught:
        run(lambda: VpnEndpoint("vpn", {"plan": None, "network_id": "n", "physical": "Bad_Name"}))
    assert {path for path, _ in caught.value.issues} == {"plan", "physical"}
