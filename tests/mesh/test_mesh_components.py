"""The mesh's pieces on their own: the CA component and IstioMesh joined to a mesh across cells, outside any stack."""

import pulumi
import pytest

from lepton_infra.components.kubernetes.mesh import IstioMesh
from lepton_infra.components.kubernetes.mesh_ca import MeshCertificateAuthority
from lepton_infra.spec import SpecError
from lepton_infra.testing import run

RELEASE = "kubernetes:helm.sh/v3:Release"


def caught(build):
    errors = []

    def program():
        try:
            build()
        except SpecError as exc:
            errors.append(exc)

    plan = run(program)
    assert errors, "expected a SpecError"
    return errors[0], plan


@pytest.mark.parametrize(
    "args,field",
    [({"root_validity_hours": 1}, "root_validity_hours"), ({"mesh_id": "Not_A_Label"}, "mesh_id"), ({"organization": ""}, "organization")],
)
def test_bad_ca_args_name_the_field_and_register_nothing(args, field):
    error, plan = caught(lambda: MeshCertificateAuthority("ca", args))
    assert field in str(error)
    assert plan.resources == []


def test_a_mesh_member_needs_a_plugged_ca_and_registers_nothing_without_one():
    error, plan = caught(lambda: IstioMesh("mesh", {"cluster_name": "c1", "network": "n1", "multi_cluster": {"ca": "not a ca"}}))
    assert "multi_cluster.ca" in str(error)
    assert plan.resources == []


def test_a_mesh_member_plugs_its_intermediate_in_before_istiod_and_exposes_its_reader_token():
    tokens = []

    def program():
        ca = MeshCertificateAuthority("ca", {"mesh_id": "m1"})
        mesh = IstioMesh("mesh", {"cluster_name": "c1", "network": "n1", "mesh_id": "m1", "multi_cluster": {"ca": ca.intermediate("c1")}})
        mesh.reader_token.apply(tokens.append)
        pulumi.export("members", len(mesh.member_ready))

    plan = run(program)
    [cacerts] = [r for r in plan.of_type("kubernetes:core/v1:Secret") if r.inputs["metadata"]["name"] == "cacerts"]
    [istiod] = [r for r in plan.of_type(RELEASE) if r.inputs["chart"] == "istiod"]
    assert cacerts.urn in istiod.dependencies
    assert istiod.inputs["values"]["global"] == {"meshID": "m1", "multiCluster": {"clusterName": "c1"}, "network": "n1"}
    [eastwest] = [r for r in plan.of_type(RELEASE) if r.inputs["name"] == "istio-eastwestgateway"]
    assert eastwest.inputs["values"]["networkGateway"] == "n1"
    assert tokens and tokens[0].startswith("eyJ")
    assert plan.stack_outputs["members"] == 2
