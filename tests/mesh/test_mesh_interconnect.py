"""The VPN between prod's cells (docs/design.md, "Mesh" > "Connectivity"): each pair of cells joined by tunnels whose
two ends agree (addresses, ASNs, inside /30s, pre-shared keys), and each network admitting its peers on the mesh's
ports only. Read from prod's offline plan, where every address is the mock provider's answer, so an end pointing at
anything but the other end's gateway output fails."""

from __future__ import annotations

import ipaddress
import itertools
import json

import pytest

from mesh_support import SECRET, prod

PROD_CELLS = ["aws-use1", "azure-eus2", "gcp-usc1"]
AWS, AZURE, GCP = PROD_CELLS
ENDPOINT = "prod-interconnect-{}"
MESH_PORTS = {443, 15443}  # the API server and the east-west gateway's cross-network port; nothing else


def endpoint(plan, cell: str):
    return plan.one(f"lepton:{cell.split('-')[0]}:VpnEndpoint", ENDPOINT.format(cell))


def of(plan, cell: str, type_: str, peer: str | None = None):
    """The resources of ``type_`` in the cell's VPN endpoint (towards ``peer``), by name."""
    found = [r for r in plan.descendants(endpoint(plan, cell)) if r.type == type_]
    if peer is not None:
        found = [r for r in found if r.name.startswith(f"{ENDPOINT.format(cell)}-{peer}-") or r.name == f"{ENDPOINT.format(cell)}-{peer}"]
    return sorted(found, key=lambda r: r.name)


def aws_tunnels(plan, peer: str) -> list[dict]:
    """The AWS end's tunnels towards ``peer`` in tunnel order: outside address, inside CIDR and addresses, key."""
    tunnels = []
    for connection in of(plan, AWS, "aws:ec2/vpnConnection:VpnConnection", peer):
        [customer] = [c for c in of(plan, AWS, "aws:ec2/customerGateway:CustomerGateway", peer) if c.name == connection.name]
        assert connection.inputs["customerGatewayId"] == customer.outputs["id"]
        assert connection.inputs["vpnGatewayId"] == of(plan, AWS, "aws:ec2/vpnGateway:VpnGateway")[0].outputs["id"]
        for n in (1, 2):
            tunnels.append({
                "address": connection.outputs[f"tunnel{n}Address"],
                "peer_address": customer.inputs["ipAddress"],
                "peer_asn": int(customer.inputs["bgpAsn"]),
                "inside_cidr": connection.inputs[f"tunnel{n}InsideCidr"],
                "inside_ip": connection.outputs[f"tunnel{n}VgwInsideAddress"],
                "peer_inside_ip": connection.outputs[f"tunnel{n}CgwInsideAddress"],
                "key": connection.inputs[f"tunnel{n}PresharedKey"],
                "key_secret": connection.is_secret(f"tunnel{n}PresharedKey"),
            })
    return tunnels


def azure_tunnels(plan, peer: str) -> list[dict]:
    ips = {ip.outputs["id"]: ip.outputs["ipAddress"] for ip in of(plan, AZURE, "azure-native:network:PublicIPAddress")}
    gateway = of(plan, AZURE, "azure-native:network:VirtualNetworkGateway")[0]
    by_configuration = {
        f"{gateway.outputs['id']}/ipConfigurations/{c['name']}": ips[c["publicIPAddress"]["id"]] for c in gateway.inputs["ipConfigurations"]
    }
    tunnels = []
    locals_ = {g.name: g for g in of(plan, AZURE, "azure-native:network:LocalNetworkGateway", peer)}
    for connection in of(plan, AZURE, "azure-native:network:VirtualNetworkGatewayConnection", peer):
        local = locals_[connection.name]
        assert connection.inputs["localNetworkGateway2"]["id"] == local.outputs["id"]
        assert connection.inputs["virtualNetworkGateway1"]["id"] == gateway.outputs["id"]
        speaks = connection.inputs["gatewayCustomBgpIpAddresses"][0]
        tunnels.append({
            "address": by_configuration[speaks["ipConfigurationId"]],
            "peer_address": local.inputs["gatewayIpAddress"],
            "peer_asn": int(local.inputs["bgpSettings"]["asn"]),
            "inside_ip": speaks["customBgpIpAddress"],
            "peer_inside_ip": local.inputs["bgpSettings"]["bgpPeeringAddress"],
            "key": connection.inputs["sharedKey"],
            "key_secret": connection.is_secret("sharedKey"),
        })
    return tunnels


def gcp_tunnels(plan, peer: str) -> list[dict]:
    gateway = of(plan, GCP, "gcp:compute/haVpnGateway:HaVpnGateway")[0]
    [external] = of(plan, GCP, "gcp:compute/externalVpnGateway:ExternalVpnGateway", peer)
    interfaces = {int(i["id"]): i["ipAddress"] for i in external.inputs["interfaces"]}
    peers = {p.name: p for p in of(plan, GCP, "gcp:compute/routerPeer:RouterPeer", peer)}
    routers = {i.name: i for i in of(plan, GCP, "gcp:compute/routerInterface:RouterInterface", peer)}
    tunnels = []
    for tunnel in sorted(of(plan, GCP, "gcp:compute/vPNTunnel:VPNTunnel", peer), key=lambda t: t.inputs["peerExternalGatewayInterface"]):
        assert tunnel.inputs["peerExternalGateway"] == external.outputs["id"]
        assert tunnel.inputs["vpnGateway"] == gateway.outputs["id"]
        interface, bgp = routers[tunnel.name], peers[tunnel.name]
        assert interface.inputs["vpnTunnel"] == tunnel.outputs["name"] and bgp.inputs["interface"] == interface.outputs["name"]
        tunnels.append({
            "address": gateway.outputs["vpnInterfaces"][int(tunnel.inputs["vpnGatewayInterface"])]["ipAddress"],
            "peer_address": interfaces[tunnel.inputs["peerExternalGatewayInterface"]],
            "peer_asn": int(bgp.inputs["peerAsn"]),
            "inside_cidr": str(ipaddress.IPv4Interface(interface.inputs["ipRange"]).network),
            "inside_ip": bgp.inputs["ipAddress"],
            "peer_inside_ip": bgp.inputs["peerIpAddress"],
            "key": tunnel.inputs["sharedSecret"],
            "key_secret": tunnel.is_secret("sharedSecret"),
        })
    return tunnels


TUNNELS = {AWS: aws_tunnels, AZURE: azure_tunnels, GCP: gcp_tunnels}


def asn(plan, cell: str) -> int:
    if cell == AWS:
        return int(of(plan, AWS, "aws:ec2/vpnGateway:VpnGateway")[0].inputs["amazonSideAsn"])
    if cell == AZURE:
        return int(of(plan, AZURE, "azure-native:network:VirtualNetworkGateway")[0].inputs["bgpSettings"]["asn"])
    return int(of(plan, GCP, "gcp:compute/router:Router")[0].inputs["bgp"]["asn"])


def test_prod_joins_each_pair_of_its_cells_and_nothing_else():
    plan = prod()
    [interconnect] = plan.of_type("lepton:platform:Interconnect")
    assert interconnect.parent == plan.one("lepton:platform:Platform").urn
    assert {endpoint(plan, cell).parent for cell in PROD_CELLS} == {interconnect.urn}
    for cell, peer in itertools.permutations(PROD_CELLS, 2):
        assert TUNNELS[cell](plan, peer), (cell, peer)
    # AWS: one connection (two tunnels) per peer gateway interface; Azure and GCP: one tunnel per AWS tunnel, and
    # a tunnel per interface between the two of them.
    assert [len(TUNNELS[AWS](plan, p)) for p in (AZURE, GCP)] == [4, 4]
    assert [len(TUNNELS[AZURE](plan, p)) for p in (AWS, GCP)] == [4, 2]
    assert [len(TUNNELS[GCP](plan, p)) for p in (AWS, AZURE)] == [4, 2]


@pytest.mark.parametrize("cell,peer", list(itertools.combinations(PROD_CELLS, 2)))
def test_both_ends_of_every_tunnel_agree(cell, peer):
    plan = prod()
    here, there = TUNNELS[cell](plan, peer), TUNNELS[peer](plan, cell)
    assert len(here) == len(there)
    for mine, theirs in zip(here, there):
        # Each end points at the other's gateway address, as the other's provider gave it.
        assert mine["peer_address"] == theirs["address"] and theirs["peer_address"] == mine["address"]
        assert mine["peer_asn"] == asn(plan, peer) and theirs["peer_asn"] == asn(plan, cell)
        assert (mine["inside_ip"], mine["peer_inside_ip"]) == (theirs["peer_inside_ip"], theirs["inside_ip"])
        inside = ipaddress.IPv4Network(mine.get("inside_cidr") or theirs["inside_cidr"])
        assert inside.prefixlen == 30 and {ipaddress.IPv4Address(mine["inside_ip"]), ipaddress.IPv4Address(theirs["inside_ip"])} == set(inside.hosts())
        # Azure accepts BGP (APIPA) addresses in 169.254.21.0-169.254.22.255 only; AWS and GCP take any of 169.254/16.
        assert ipaddress.IPv4Network("169.254.21.0/24").supernet_of(inside) or ipaddress.IPv4Network("169.254.22.0/24").supernet_of(inside)
        assert mine["key"] == theirs["key"] and mine["key_secret"] and theirs["key_secret"]
    assert len({t["key"] for t in here}) == len(here), "a key per tunnel"
    assert len({t["inside_ip"] for t in here}) == len(here)


def test_the_cells_asns_are_distinct_private_asns_azure_accepts():
    plan = prod()
    asns = [asn(plan, cell) for cell in PROD_CELLS]
    assert len(set(asns)) == 3
    assert all(64512 <= a <= 65534 and a not in {65515, 65517, 65518, 65519, 65520} for a in asns)


def test_a_gateway_never_has_two_tunnels_on_one_inside_address():
    plan = prod()
    for cell in PROD_CELLS:
        addresses = [t["inside_ip"] for peer in PROD_CELLS if peer != cell for t in TUNNELS[cell](plan, peer)]
        assert len(addresses) == len(set(addresses)), cell


def test_every_tunnel_offers_one_ikev2_suite_on_every_cloud():
    plan = prod()
    for connection in of(plan, AWS, "aws:ec2/vpnConnection:VpnConnection"):
        assert connection.inputs["staticRoutesOnly"] is False
        for n in (1, 2):
            assert connection.inputs[f"tunnel{n}IkeVersions"] == ["ikev2"]
            assert connection.inputs[f"tunnel{n}Phase1EncryptionAlgorithms"] == connection.inputs[f"tunnel{n}Phase2EncryptionAlgorithms"] == ["AES256"]
            assert connection.inputs[f"tunnel{n}Phase1IntegrityAlgorithms"] == ["SHA2-256"]
            assert connection.inputs[f"tunnel{n}Phase1DhGroupNumbers"] == connection.inputs[f"tunnel{n}Phase2DhGroupNumbers"] == [14]
    for connection in of(plan, AZURE, "azure-native:network:VirtualNetworkGatewayConnection"):
        assert connection.inputs["connectionProtocol"] == "IKEv2" and connection.inputs["enableBgp"] is True
        [policy] = connection.inputs["ipsecPolicies"]
        assert (policy["ikeEncryption"], policy["ikeIntegrity"], policy["dhGroup"], policy["pfsGroup"]) == ("AES256", "SHA256", "DHGroup14", "PFS2048")
    for tunnel in of(plan, GCP, "gcp:compute/vPNTunnel:VPNTunnel"):
        assert tunnel.inputs["ikeVersion"] == 2
        suite = tunnel.inputs["cipherSuite"]
        assert suite["phase1"]["dhs"] == suite["phase2"]["pfs"] == ["Group-14"]
        assert suite["phase1"]["encryptions"] == suite["phase2"]["encryptions"] == ["AES-CBC-256"]


def test_the_azure_gateway_is_route_based_active_active_in_its_gateway_subnet():
    plan = prod()
    gateway = of(plan, AZURE, "azure-native:network:VirtualNetworkGateway")[0]
    assert (gateway.inputs["gatewayType"], gateway.inputs["vpnType"], gateway.inputs["activeActive"], gateway.inputs["enableBgp"]) == ("Vpn", "RouteBased", True, True)
    assert gateway.inputs["sku"]["name"].endswith("AZ")
    [subnet] = of(plan, AZURE, "azure-native:network:Subnet")
    assert subnet.inputs["subnetName"] == "GatewaySubnet"
    vnet = plan.one("azure-native:network:VirtualNetwork")
    prefix = ipaddress.IPv4Network(subnet.inputs["addressPrefix"])
    assert prefix.prefixlen <= 27 and prefix.subnet_of(ipaddress.IPv4Network(vnet.inputs["addressSpace"]["addressPrefixes"][0]))
    nodes = [s for s in plan.of_type("azure-native:network:Subnet") if s.inputs["subnetName"] == "nodes"][0]
    assert not prefix.overlaps(ipaddress.IPv4Network(nodes.inputs["addressPrefix"]))
    assert nodes.urn in subnet.dependencies  # Azure changes a VNet's subnets one at a time
    assert "subnets" in vnet.ignore_changes  # so a subnet of its own changes nothing of the VNet
    [subnet_id] = {c["subnet"]["id"] for c in gateway.inputs["ipConfigurations"]}
    assert subnet_id.endswith(f"/virtualNetworks/{vnet.outputs['name']}/subnets/GatewaySubnet")
    # Each instance lists every BGP address its connections speak from.
    listed = {a["ipconfigurationId"].rsplit("/", 1)[-1]: set(a["customBgpIpAddresses"]) for a in gateway.inputs["bgpSettings"]["bgpPeeringAddresses"]}
    for connection in of(plan, AZURE, "azure-native:network:VirtualNetworkGatewayConnection"):
        for chosen in connection.inputs["gatewayCustomBgpIpAddresses"]:
            assert chosen["customBgpIpAddress"] in listed[chosen["ipConfigurationId"].rsplit("/", 1)[-1]]


def test_aws_propagates_the_peers_routes_into_every_private_route_table():
    plan = prod()
    [gateway] = of(plan, AWS, "aws:ec2/vpnGateway:VpnGateway")
    assert {gateway.inputs["vpcId"]} == {s.inputs["vpcId"] for s in plan.of_type("aws:ec2/subnet:Subnet")}
    private = {a.inputs["routeTableId"] for a in plan.of_type("aws:ec2/routeTableAssociation:RouteTableAssociation") if "-private-" in a.name}
    propagated = {p.inputs["routeTableId"] for p in of(plan, AWS, "aws:ec2/vpnGatewayRoutePropagation:VpnGatewayRoutePropagation")}
    assert propagated == private and len(private) == 3


def test_the_gcp_router_advertises_exactly_the_ranges_peers_reach():
    plan = prod()
    [router] = of(plan, GCP, "gcp:compute/router:Router")
    subnet = plan.one("gcp:compute/subnetwork:Subnetwork")
    pods = next(r for r in subnet.inputs["secondaryIpRanges"] if r["rangeName"] == "pods")
    assert router.inputs["bgp"]["advertiseMode"] == "CUSTOM"
    assert {r["range"] for r in router.inputs["bgp"]["advertisedIpRanges"]} == {subnet.inputs["ipCidrRange"], pods["ipCidrRange"]}


ROUTED = {AWS: {"10.20.0.0/16"}, AZURE: {"10.50.0.0/16"}, GCP: {"10.60.0.0/20", "10.4.0.0/14"}}


@pytest.mark.parametrize("cell,peer", list(itertools.permutations(PROD_CELLS, 2)))
def test_each_network_admits_its_peers_on_the_mesh_ports_only(cell, peer):
    plan = prod()
    if cell == AWS:
        rules = of(plan, AWS, "aws:ec2/securityGroupRule:SecurityGroupRule", peer)
        eks = plan.one("aws:eks/cluster:Cluster")
        assert {r.inputs["securityGroupId"] for r in rules} == {eks.outputs["vpcConfig"]["clusterSecurityGroupId"]}
        assert {(r.inputs["type"], r.inputs["protocol"]) for r in rules} == {("ingress", "tcp")}
        assert {r.inputs["fromPort"] for r in rules} == MESH_PORTS and all(r.inputs["fromPort"] == r.inputs["toPort"] for r in rules)
        assert all(set(r.inputs["cidrBlocks"]) == ROUTED[peer] for r in rules)
    elif cell == GCP:
        [rule] = of(plan, GCP, "gcp:compute/firewall:Firewall", peer)
        assert rule.inputs["direction"] == "INGRESS" and set(rule.inputs["sourceRanges"]) == ROUTED[peer]
        assert rule.inputs["allows"] == [{"protocol": "tcp", "ports": ["443", "15443"]}]
        assert rule.inputs["network"] == plan.one("gcp:compute/network:Network").outputs["id"]
    else:
        allow, deny = sorted(of(plan, AZURE, "azure-native:network:SecurityRule", peer), key=lambda r: r.inputs["access"])
        nsg = plan.one("azure-native:network:NetworkSecurityGroup")
        nodes = [s for s in plan.of_type("azure-native:network:Subnet") if s.inputs["subnetName"] == "nodes"][0]
        assert nodes.inputs["networkSecurityGroup"]["id"] == nsg.outputs["id"]
        assert {allow.inputs["networkSecurityGroupName"], deny.inputs["networkSecurityGroupName"]} == {nsg.outputs["name"]}
        assert (allow.inputs["access"], allow.inputs["protocol"], set(allow.inputs["destinationPortRanges"])) == ("Allow", "Tcp", {"443", "15443"})
        assert (deny.inputs["access"], deny.inputs["destinationPortRange"]) == ("Deny", "*")
        assert allow.inputs["priority"] < deny.inputs["priority"]
        assert set(allow.inputs["sourceAddressPrefixes"]) == set(deny.inputs["sourceAddressPrefixes"]) == ROUTED[peer]


def test_azure_firewall_priorities_are_distinct_per_direction():
    plan = prod()
    priorities = [r.inputs["priority"] for r in of(plan, AZURE, "azure-native:network:SecurityRule")]
    assert len(priorities) == len(set(priorities)) == 4


def test_gke_authorizes_its_peers_on_the_private_endpoint_their_istiod_watches():
    plan = prod()
    gke = plan.one("gcp:container/cluster:Cluster")
    config = gke.inputs["masterAuthorizedNetworksConfig"]
    assert {b["cidrBlock"] for b in config["cidrBlocks"]} == ROUTED[AWS] | ROUTED[AZURE]
    assert config["privateEndpointEnforcementEnabled"] is True


def test_remote_secrets_name_api_servers_the_peers_reach_over_the_vpn():
    plan = prod()
    servers = {}
    for secret in plan.of_type(SECRET):
        remote = secret.inputs["metadata"].get("annotations", {}).get("networking.istio.io/cluster")
        if remote:
            servers.setdefault(remote, set()).add(json.loads(secret.inputs["stringData"][remote])["clusters"][0]["cluster"]["server"])
    gke = plan.one("gcp:container/cluster:Cluster")
    # GKE: the private endpoint, an address in the cell's subnet (routed over the VPN).
    assert servers[GCP] == {f"https://{gke.outputs['privateClusterConfig']['privateEndpoint']}"}
    # AKS: the public FQDN, which public DNS resolves to the private endpoint; never the privatelink name only the
    # cell's own VNet resolves.
    aks = plan.one("azure-native:containerservice:ManagedCluster")
    assert servers[AZURE] == {f"https://{aks.outputs['fqdn']}:443"} and ".privatelink." not in aks.outputs["fqdn"]
    assert aks.inputs["apiServerAccessProfile"]["enablePrivateClusterPublicFQDN"] is True
    # EKS private-only: its endpoint's name resolves, from anywhere, to the private endpoint's addresses in the VPC.
    eks = plan.one("aws:eks/cluster:Cluster")
    assert eks.inputs["vpcConfig"]["endpointPublicAccess"] is False
    assert servers[AWS] == {eks.outputs["endpoint"]}
