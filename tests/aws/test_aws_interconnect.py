"""The AWS end of the VPN between cells, checked against pulumi_aws's own documentation of the VpnConnection fields
(its SDK docstrings list the valid values), so a name AWS does not take fails here rather than at `pulumi up`."""

from __future__ import annotations

import inspect
import re

import pulumi_aws.ec2 as ec2
import pytest

from lepton_infra.components.aws.interconnect import TUNNEL_OPTIONS, tunnel_options
from lepton_infra.composition.interconnect import KEY_LENGTH, KEY_PREFIX
from lepton_infra.spec.interconnect import TunnelPlan

FIELDS = set(inspect.signature(ec2.VpnConnection._internal_init).parameters)


def valid_values(field: str) -> set[str]:
    """The values the SDK's docstring of ``field`` lists: "Valid values are `a | b | c`"."""
    [listed] = re.findall(rf":param [^\n]* {field}: [^\n]*?Valid values are `([^`]*)`", inspect.getsource(ec2.VpnConnection))[:1]
    return {v.strip() for v in listed.split("|")}


def test_every_tunnel_option_is_a_vpn_connection_field_for_both_tunnels():
    options = {**tunnel_options(1, TunnelPlan(0, 0, 0, "169.254.21.0/30", "169.254.21.1", "169.254.21.2"), "k"),
               **tunnel_options(2, TunnelPlan(1, 0, 0, "169.254.21.4/30", "169.254.21.5", "169.254.21.6"), "k")}
    assert set(options) <= FIELDS
    assert options["tunnel1_inside_cidr"] == "169.254.21.0/30" and options["tunnel2_inside_cidr"] == "169.254.21.4/30"


@pytest.mark.parametrize(
    "option", ["ike_versions", "phase1_encryption_algorithms", "phase1_integrity_algorithms", "phase1_dh_group_numbers",
               "phase2_encryption_algorithms", "phase2_integrity_algorithms", "phase2_dh_group_numbers", "startup_action"],
)
def test_each_tunnel_option_takes_a_value_aws_lists(option):
    value = TUNNEL_OPTIONS[option]
    values = value if isinstance(value, list) else [value]
    assert {str(v) for v in values} <= valid_values(f"tunnel1_{option}")


def test_the_pre_shared_keys_fit_what_aws_accepts():
    # "between 8 and 64 characters ... cannot start with zero(0). Allowed characters are alphanumeric characters,
    # periods(.) and underscores(_)": the key is the prefix and KEY_LENGTH letters and digits (RandomPassword,
    # special=False).
    assert 8 <= len(KEY_PREFIX) + KEY_LENGTH <= 64
    assert re.fullmatch(r"[A-Za-z][A-Za-z0-9._]*", KEY_PREFIX)
    doc = re.search(r":param [^\n]* tunnel1_preshared_key: ([^\n]*)", inspect.getsource(ec2.VpnConnection)).group(1)
    assert "between 8 and 64 characters" in doc and "cannot start with zero" in doc
