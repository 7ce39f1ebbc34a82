"""Private connectivity between the cells of one stack (docs/design.md, "Mesh" > "Connectivity"): the spec's part.

Every pair of cloud cells is joined by site-to-site IPsec VPN tunnels carrying BGP. What both ends of a pair must
agree on is computed here from the spec alone, before any resource exists, so the two clouds' halves cannot disagree:
each cell's BGP ASN, which of its ranges it routes to its peers, and for every tunnel its link-local inside /30, which
end takes which address of it and which gateway interface each end uses.

- Inside addresses come from 169.254.21.0-169.254.22.255: the APIPA range an Azure VPN gateway
  accepts for BGP ("Configure BGP for VPN Gateway", custom APIPA addresses), inside the 169.254.0.0/16 that AWS
  (tunnel inside CIDR: a /30 of 169.254.0.0/16 outside its reserved blocks 169.254.0.0/30-169.254.5.0/30 and
  169.254.169.252/30) and GCP (Cloud Router BGP addresses: link-local) take. One range all three accept.
- A pair of cells gets the /28 number (asn_a + asn_b) mod 32 of that range, four /30s, one per tunnel: stable when
  other cells come or go, and distinct among one cell's pairs when the cells' ASNs differ modulo 32 (checked).
- AWS gives a VPN connection's outside addresses only once the connection exists, towards one customer gateway
  address: its end is the "per_link" end and comes first; its virtual private gateway takes the first host of each
  /30 (AWS Site-to-Site VPN user guide, "Tunnel options": inside IPs, virtual private gateway .1, customer gateway .2).
  Azure (active-active) and GCP (HA VPN) gateways have two public addresses of their own ("fixed").
- Per pair: fixed-fixed, two tunnels (interface i to interface i); per_link-fixed, one AWS VPN connection per peer
  interface, each with its two tunnels, so four tunnels (AWS's documented topology towards HA VPN and active-active
  Azure gateways). Two per_link ends cannot meet over VPN (neither has an address before the other): refused.
"""

from __future__ import annotations

import ipaddress
import zlib
from dataclasses import dataclass
from typing import Literal

from pydantic import Field, field_validator

from .common import Strict

VpnAddresses = Literal["fixed", "per_link"]
# 169.254.21.0-169.254.22.255 is two /24s, not one aligned /23.
INSIDE_RANGES = (ipaddress.IPv4Network("169.254.21.0/24"), ipaddress.IPv4Network("169.254.22.0/24"))
PAIR_BLOCK_LIST = [block for net in INSIDE_RANGES for block in net.subnets(new_prefix=28)]
PAIR_BLOCKS = len(PAIR_BLOCK_LIST)  # 32 /28s
PRIVATE_ASNS = (64512, 65534)  # 2-byte private ASNs (RFC 6996), what all three clouds take
# Azure keeps these for itself: neither its gateways nor their peers may use them ("About BGP with VPN Gateway").
AZURE_RESERVED_ASNS = frozenset({65515, 65517, 65518, 65519, 65520})
DEFAULT_ASN_SPAN = 1000  # default ASNs: 64512 + crc32(cell name) % 1000, below Azure's reserved ones
GATEWAY_INTERFACES = 2  # public addresses of an Azure active-active or GCP HA VPN gateway


@dataclass(frozen=True)
class IpsecSuite:
    """The one IKE/IPsec proposal both ends of every tunnel offer, so initiator and responder always agree (GCP's
    "Supported IKE ciphers" advises one cipher per role): IKEv2, AES-256-CBC, SHA2-256, DH group 14 (2048-bit MODP)
    in phase 1 and as phase 2's PFS group. All three clouds take it: AWS tunnel options (AES256, SHA2-256, DH 14),
    Azure's custom IPsec/IKE policy (AES256, SHA256, DHGroup14, PFS2048), GCP's cipher suite (AES-CBC-256,
    HMAC-SHA2-256-128, PRF-HMAC-SHA2-256, Group-14). Lifetimes: GCP's are fixed (phase 1 36000 s, phase 2 10800 s)
    and IKEv2 lets each end rekey on its own; AWS and Azure keep theirs at 28800 s and 3600 s."""

    ike_version: int = 2
    phase1_lifetime_seconds: int = 28800
    phase2_lifetime_seconds: int = 3600
    dh_group: int = 14


IPSEC = IpsecSuite()

# What a peer's traffic may reach, and nothing else (Istio docs, "Install Multi-Primary on different networks"): the
# east-west gateway's cross-network mTLS port, and the API server each remote istiod watches. 15012 and 15017 (istiod
# behind the east-west gateway) serve primary-remote meshes only; in multi-primary every cluster has its own istiod.
CROSS_NETWORK_PORT = 15443
API_SERVER_PORT = 443
MESH_PORTS = (API_SERVER_PORT, CROSS_NETWORK_PORT)


class VpnSpec(Strict):
    """A cell's end of the VPN tunnels that join it to the other cells of a stack of several cells."""

    asn: int | None = Field(
        None,
        ge=PRIVATE_ASNS[0],
        le=PRIVATE_ASNS[1],
        description="BGP ASN of the cell's VPN gateway (private, 64512-65534, not Azure's 65515/65517-65520). "
        "Default: derived from the cell's name, stable when cells come and go. ASNs differ between cells modulo 32.",
    )

    @field_validator("asn")
    @classmethod
    def _not_reserved(cls, value: int | None) -> int | None:
        if value in AZURE_RESERVED_ASNS:
            raise ValueError(f"{value} is reserved by Azure (65515, 65517-65520) on both ends of a tunnel; pick another")
        return value


def default_asn(cell: str) -> int:
    return PRIVATE_ASNS[0] + zlib.crc32(cell.encode()) % DEFAULT_ASN_SPAN


def asn_of(cell) -> int:
    return cell.vpn.asn if cell.vpn.asn is not None else default_asn(cell.name)


@dataclass(frozen=True)
class TunnelPlan:
    """One tunnel of a link, as one end sees it."""

    index: int
    interface: int  # this end's gateway interface (AWS: its VPN connection) the tunnel leaves from
    peer_interface: int  # the peer's
    inside_cidr: str  # the /30 the BGP session runs on
    inside_ip: str  # this end's BGP address
    peer_inside_ip: str


@dataclass(frozen=True)
class LinkPlan:
    """This cell's end of the tunnels to one peer cell."""

    peer: str
    peer_asn: int
    peer_cidrs: tuple[str, ...]  # what the peer routes to this cell: admitted on the mesh's ports, nothing else
    first: bool  # this end is set up first (the per_link end, else the cell named first)
    tunnels: tuple[TunnelPlan, ...]


@dataclass(frozen=True)
class VpnPlan:
    """A cell's VPN gateway and its links, one per other cloud cell."""

    cell: str
    asn: int
    cidrs: tuple[str, ...]
    links: tuple[LinkPlan, ...]

    def tunnels_on(self, interface: int) -> list[str]:
        """This end's BGP addresses on one gateway interface, across every link (Azure lists them on the gateway)."""
        return [t.inside_ip for link in self.links for t in link.tunnels if t.interface == interface]


def connected(cells: list) -> list:
    """The cells that take part in the VPN: cloud cells (an existing cluster's connectivity is its operator's)."""
    members = [c for c in cells if c.vpn_addresses is not None]
    return members if len(members) > 1 else []


def pair_block(asn_a: int, asn_b: int) -> ipaddress.IPv4Network:
    return PAIR_BLOCK_LIST[(asn_a + asn_b) % PAIR_BLOCKS]


def _layout(first_kind: VpnAddresses) -> list[tuple[int, int]]:
    """(first end's interface, second end's interface) per tunnel."""
    if first_kind == "per_link":
        # One AWS VPN connection per peer interface, two tunnels each.
        return [(t // 2, t // 2) for t in range(2 * GATEWAY_INTERFACES)]
    return [(i, i) for i in range(GATEWAY_INTERFACES)]


def _ends(a, b) -> tuple:
    """(first, second) of a pair: the per_link end first, else by name."""
    if a.vpn_addresses == "per_link" or (b.vpn_addresses != "per_link" and a.name < b.name):
        return a, b
    return b, a


def plan_vpn(cells: list) -> dict[str, VpnPlan]:
    """Every cloud cell's VPN plan for a stack of ``cells`` (cell specs); empty for a single cell."""
    members = connected(cells)
    links: dict[str, list[LinkPlan]] = {c.name: [] for c in members}
    for i, a in enumerate(members):
        for b in members[i + 1 :]:
            first, second = _ends(a, b)
            block = list(pair_block(asn_of(first), asn_of(second)).subnets(new_prefix=30))
            tunnels = [
                (t, mine, theirs, block[t], block[t][1], block[t][2]) for t, (mine, theirs) in enumerate(_layout(first.vpn_addresses))
            ]
            links[first.name].append(LinkPlan(
                second.name, asn_of(second), tuple(second.routed_cidrs().values()), True,
                tuple(TunnelPlan(t, m, p, str(net), str(ip1), str(ip2)) for t, m, p, net, ip1, ip2 in tunnels),
            ))
            links[second.name].append(LinkPlan(
                first.name, asn_of(first), tuple(first.routed_cidrs().values()), False,
                tuple(TunnelPlan(t, p, m, str(net), str(ip2), str(ip1)) for t, m, p, net, ip1, ip2 in tunnels),
            ))
    return {c.name: VpnPlan(c.name, asn_of(c), tuple(c.routed_cidrs().values()), tuple(links[c.name])) for c in members}


Issue = tuple[tuple[str | int, ...], str]


def vpn_issues(cells: list) -> list[Issue]:
    """ASNs that clash, and pairs the VPN cannot join; paths relative to the platform spec."""
    members = connected(cells)
    index = {c.name: i for i, c in enumerate(cells)}
    issues: list[Issue] = []
    for i, a in enumerate(members):
        for b in members[i + 1 :]:
            where = ("cells", index[b.name], "vpn", "asn")
            if asn_of(a) == asn_of(b):
                issues.append((where, f"ASN {asn_of(b)} is cell {a.name!r}'s too; each cell's VPN gateway needs its own"))
            elif asn_of(a) % PAIR_BLOCKS == asn_of(b) % PAIR_BLOCKS:
                issues.append((where, f"ASN {asn_of(b)} equals cell {a.name!r}'s {asn_of(a)} modulo {PAIR_BLOCKS}, which "
                                      "places the pairs' tunnel addresses; set vpn.asn to one that differs"))
            if a.vpn_addresses == b.vpn_addresses == "per_link":
                issues.append((("cells", index[b.name], "cloud"), f"cells {a.name!r} and {b.name!r} are both {a.cloud} cells: "
                               "a site-to-site VPN needs one end with a fixed address (join two AWS VPCs by peering; "
                               "not built by lepton-infra yet)"))
    return issues


def overlap_issues(cells: list) -> list[Issue]:
    """A range one cell routes to its peers must not overlap any range of another cell (routed, or used only inside
    its cluster: a destination there would be taken for a local pod or Service)."""
    index = {c.name: i for i, c in enumerate(cells)}
    issues: list[Issue] = []
    for i, a in enumerate(cells):
        for b in cells[i + 1 :]:
            for a_path, a_cidr, a_routed in _ranges(a):
                for b_path, b_cidr, b_routed in _ranges(b):
                    if (a_routed or b_routed) and ipaddress.IPv4Network(a_cidr).overlaps(ipaddress.IPv4Network(b_cidr)):
                        issues.append((
                            ("cells", index[b.name], *b_path),
                            f"{b_cidr} overlaps cell {a.name!r}'s {'.'.join(map(str, a_path))} {a_cidr}: the cells' "
                            "networks are routed to each other, so their ranges must be disjoint",
                        ))
    return issues


def _ranges(cell) -> list[tuple[tuple[str, ...], str, bool]]:
    return [(p, c, True) for p, c in cell.routed_cidrs().items()] + [(p, c, False) for p, c in cell.local_cidrs().items()]


__all__ = ["VpnSpec", "VpnPlan", "LinkPlan", "TunnelPlan", "plan_vpn", "asn_of", "default_asn"]
