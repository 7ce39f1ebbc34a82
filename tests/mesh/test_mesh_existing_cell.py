"""An existing cluster joins the mesh of a multi-cell stack with the API endpoint and CA its spec gives: the other
cells' istiods reach it there (a kind kubeconfig's 127.0.0.1 would reach nothing), and without them the stack is
refused up front, naming the field."""

import base64
import json

import pytest

from lepton_infra.spec import SpecError, parse_platform_spec
from mesh_support import SECRET, plan_of, prod_spec

ENDPOINT = "https://k8s.dc1.example.com:6443"
CA = base64.b64encode(b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n").decode()


def with_existing_cell(**cluster) -> dict:
    spec = prod_spec()
    spec["cells"].append({
        "name": "dc1", "cloud": "existing", "region": "on-prem-dc1", "cluster": cluster,
        "registry": {"url": "registry.dc1.example.com", "build_variant": "cpu"},
    })
    spec["models"].append({"name": "classifier", "accelerator": "cpu", "artifact": "classifier/v1/model.pt"})
    return spec


def test_the_other_cells_reach_an_existing_cluster_at_its_given_endpoint_with_its_ca():
    plan = plan_of(with_existing_cell(api_endpoint=ENDPOINT, certificate_authority_data=CA))
    to_dc1 = [
        s for s in plan.of_type(SECRET)
        if (s.inputs["metadata"].get("annotations") or {}).get("networking.istio.io/cluster") == "dc1"
    ]
    assert len(to_dc1) == 3  # one in each of prod's three cloud cells
    for secret in to_dc1:
        cluster = json.loads(secret.inputs["stringData"]["dc1"])["clusters"][0]["cluster"]
        assert (cluster["server"], cluster["certificate-authority-data"]) == (ENDPOINT, CA)


def test_an_existing_cell_in_a_stack_of_several_cells_must_give_its_api_endpoint():
    with pytest.raises(SpecError) as err:
        parse_platform_spec(with_existing_cell())
    [(path, problem)] = err.value.issues
    assert path == "cells[3].cluster.api_endpoint"
    assert "reachable from the other clusters" in problem and "certificate_authority_data" in problem


def test_alone_an_existing_cell_needs_no_endpoint():
    spec = with_existing_cell()
    spec["cells"] = spec["cells"][-1:]
    spec["models"] = spec["models"][-1:]
    spec.pop("global_metrics")  # prod's receives in a cell this spec no longer has
    assert parse_platform_spec(spec).cells[0].cluster.api_endpoint is None


@pytest.mark.parametrize(
    "cluster,field,problem",
    [
        ({"api_endpoint": ENDPOINT}, "certificate_authority_data", "set both or neither"),
        ({"certificate_authority_data": CA}, "api_endpoint", "set both or neither"),
        ({"api_endpoint": ENDPOINT, "certificate_authority_data": "-----BEGIN CERTIFICATE-----"}, "certificate_authority_data", "must be base64"),
        ({"api_endpoint": ENDPOINT, "certificate_authority_data": base64.b64encode(b"hello").decode()}, "certificate_authority_data", "PEM"),
        ({"api_endpoint": "http://k8s:6443", "certificate_authority_data": CA}, "api_endpoint", "pattern"),
    ],
    ids=["endpoint-alone", "ca-alone", "pem-not-base64", "not-a-certificate", "plain-http"],
)
def test_a_bad_endpoint_or_ca_is_refused_naming_the_field(cluster, field, problem):
    with pytest.raises(SpecError) as err:
        parse_platform_spec(with_existing_cell(**cluster))
    assert any(path == f"cells[3].cluster.{field}" and problem in message for path, message in err.value.issues), err.value.issues
