"""Adding or removing a cell leaves the other cells as they are: prod and prod without its GCP cell plan every
resource of the AWS and Azure cells with the same URN and inputs. Only what lists the cells by design differs: the
remote secrets (Platform's children), the CA's intermediates (one per cell, children of the mesh's CA) and the VPN's
resources of the removed cell's pairs (the Interconnect's)."""

import pytest

from mesh_support import CELL, SECRET, in_cell, prod, prod_without

KEPT = ["aws-use1", "azure-eus2"]


def by_urn(resources):
    return {r.urn: r for r in resources}


@pytest.mark.parametrize("cell", KEPT)
def test_removing_a_cell_changes_no_resource_of_another_cell(cell):
    before, after = by_urn(in_cell(prod(), cell)), by_urn(in_cell(prod_without("gcp-usc1"), cell))
    assert len(before) > 50
    assert sorted(before) == sorted(after)
    changed = [
        urn for urn in before
        if before[urn].inputs != after[urn].inputs or set(before[urn].dependencies) != set(after[urn].dependencies)
    ]
    assert changed == []


def test_only_the_remote_secrets_and_the_removed_cells_intermediate_go_with_it():
    before, after = prod(), prod_without("gcp-usc1")
    kept_cells = {urn for cell in KEPT for urn in by_urn(in_cell(before, cell))}
    gone = {r.urn: r for r in before.resources if r.urn not in by_urn(after.resources)}
    removed_cell = {r.urn for r in in_cell(before, "gcp-usc1")} | {before.one(CELL, "prod-gcp-usc1").urn}
    rest = {urn: r for urn, r in gone.items() if urn not in removed_cell}
    assert not set(gone) & kept_cells
    remote = {r.name for r in rest.values() if r.type == SECRET}
    assert remote == {
        "prod-aws-use1-remote-secret-gcp-usc1",
        "prod-azure-eus2-remote-secret-gcp-usc1",
        "prod-gcp-usc1-remote-secret-aws-use1",
        "prod-gcp-usc1-remote-secret-azure-eus2",
    }
    tls = {r.name for r in rest.values() if r.type.startswith("tls:")}
    assert tls == {"prod-mesh-ca-gcp-usc1-key", "prod-mesh-ca-gcp-usc1-csr", "prod-mesh-ca-gcp-usc1-cert"}
    # And the VPN's resources of the pairs with the removed cell (tests/mesh/test_mesh_interconnect_spec.py).
    interconnect = before.one("lepton:platform:Interconnect")
    vpn = {r.urn for r in before.descendants(interconnect) if "gcp-usc1" in r.name}
    assert set(rest) == {r.urn for r in rest.values() if r.type == SECRET or r.type.startswith("tls:")} | vpn


def test_the_remaining_cells_keep_their_remote_secrets_for_each_other_and_the_root_ca():
    before, after = by_urn(prod().resources), by_urn(prod_without("gcp-usc1").resources)
    for name in ("prod-aws-use1-remote-secret-azure-eus2", "prod-azure-eus2-remote-secret-aws-use1", "prod-mesh-ca-root-cert"):
        [urn] = [u for u, r in before.items() if r.name == name]
        assert before[urn].inputs == after[urn].inputs, name
