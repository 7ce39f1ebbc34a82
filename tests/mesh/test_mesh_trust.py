"""One root CA for the whole mesh: in prod it signs every cluster's intermediate, which each istiod reads from cacerts.

The TLS mocks make real keys and certificates (lepton_infra/testing/mocks/tls.py), so the chain is checked with
``cryptography`` as a TLS peer would check it.
"""

import hashlib

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import padding

from mesh_support import RELEASE, SECRET, cell_names, certificate, certificates, one_in_cell, prod
from stack_support import planned_stack

PROD_CELLS = ["aws-use1", "azure-eus2", "gcp-usc1"]
ROOT = "tls:index/selfSignedCert:SelfSignedCert"
SIGNED = "tls:index/locallySignedCert:LocallySignedCert"
KEY = "tls:index/privateKey:PrivateKey"


def signed_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        issuer.public_key().verify(cert.signature, cert.tbs_certificate_bytes, padding.PKCS1v15(), cert.signature_hash_algorithm)
    except Exception:
        return False
    return cert.issuer == issuer.subject


def is_ca(cert: x509.Certificate) -> bool:
    return cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca


def cacerts(cell: str) -> dict[str, str]:
    return one_in_cell(prod(), cell, SECRET, "-mesh-cacerts").inputs["stringData"]


def test_prod_has_its_three_cells():
    assert cell_names(prod()) == PROD_CELLS


def test_exactly_one_root_ca_owned_by_the_platform_and_it_is_a_self_signed_ca():
    plan = prod()
    [root] = plan.of_type(ROOT)
    ca = plan.one("lepton:kubernetes:MeshCertificateAuthority")
    assert root.parent == ca.urn and ca.parent == plan.one("lepton:platform:Platform").urn
    cert = certificate(root.outputs["certPem"])
    assert is_ca(cert) and signed_by(cert, cert)
    assert root.inputs["isCaCertificate"] is True


def test_the_root_signs_one_intermediate_ca_per_cluster_and_nothing_else_is_a_root():
    plan = prod()
    root = certificate(plan.one(ROOT).outputs["certPem"])
    intermediates = {r.name: certificate(r.outputs["certPem"]) for r in plan.of_type(SIGNED)}
    assert sorted(intermediates) == [f"prod-mesh-ca-{c}-cert" for c in PROD_CELLS]
    for name, cert in intermediates.items():
        assert signed_by(cert, root), name
        assert is_ca(cert), name
    assert len({c.subject for c in intermediates.values()}) == len(PROD_CELLS)


@pytest.mark.parametrize("cell", PROD_CELLS)
def test_each_cluster_gets_its_intermediate_in_cacerts_with_the_keys_istiod_reads(cell):
    plan = prod()
    data = cacerts(cell)
    assert sorted(data) == ["ca-cert.pem", "ca-key.pem", "cert-chain.pem", "root-cert.pem"]
    root = certificate(plan.one(ROOT).outputs["certPem"])
    ca = certificate(data["ca-cert.pem"])
    assert certificate(data["root-cert.pem"]) == root
    assert signed_by(ca, root) and is_ca(ca)
    assert ca == certificate(plan.one(SIGNED, f"prod-mesh-ca-{cell}-cert").outputs["certPem"])
    # cert-chain.pem: the intermediate, then the root it chains to.
    assert certificates(data["cert-chain.pem"]) == [ca, root]
    # ca-key.pem is the intermediate's own key.
    key = serialization.load_pem_private_key(data["ca-key.pem"].encode(), password=None)
    assert key.public_key().public_numbers() == ca.public_key().public_numbers()


@pytest.mark.parametrize("cell", PROD_CELLS)
def test_cacerts_is_a_secret_in_istio_system_and_exists_before_istiod(cell):
    plan = prod()
    secret = one_in_cell(plan, cell, SECRET, "-mesh-cacerts")
    assert secret.inputs["metadata"]["name"] == "cacerts"
    assert secret.inputs["metadata"]["namespace"] == "istio-system"
    assert secret.is_secret("stringData")
    istiod = one_in_cell(plan, cell, RELEASE, "-mesh-istiod")
    assert secret.urn in istiod.dependencies


@pytest.mark.parametrize("cell", PROD_CELLS)
def test_istiod_restarts_when_its_plugged_ca_changes_since_it_reads_cacerts_only_at_start(cell):
    """A cell joining the mesh, or a new intermediate, writes cacerts under a running istiod: the certificate's
    digest on istiod's pod template rolls it, so it signs with the mesh's CA and not its self-signed one."""
    plan = prod()
    cacerts = one_in_cell(plan, cell, SECRET, "-mesh-cacerts").inputs["stringData"]
    annotations = one_in_cell(plan, cell, RELEASE, "-mesh-istiod").inputs["values"]["pilot"]["podAnnotations"]
    assert annotations == {"lepton.ai/ca-cert-sha256": hashlib.sha256(cacerts["ca-cert.pem"].encode()).hexdigest()}


def test_a_single_cell_istiod_carries_no_ca_digest():
    [istiod] = [r for r in planned_stack("dev").of_type(RELEASE) if r.name.endswith("-mesh-istiod")]
    assert "podAnnotations" not in istiod.inputs["values"]["pilot"]


def test_private_keys_are_secrets_wherever_they_go():
    plan = prod()
    for key in plan.of_type(KEY):
        assert key.inputs["algorithm"] == "RSA" and key.inputs["rsaBits"] == 4096
    for signed in plan.of_type(SIGNED):
        assert signed.is_secret("caPrivateKeyPem")


def test_a_single_cell_stack_keeps_istiods_own_ca_and_no_mesh_across_cells():
    dev = planned_stack("dev")
    assert len(dev.of_type("lepton:platform:Cell")) == 1
    assert not [r for r in dev.resources if r.type.startswith("tls:")]
    assert not [r for r in dev.of_type(SECRET) if r.inputs["metadata"]["name"] == "cacerts"]
    assert not [r for r in dev.of_type(RELEASE) if r.inputs["name"] == "istio-eastwestgateway"]
    assert not [r for r in dev.of_type(SECRET) if "istio/multiCluster" in (r.inputs["metadata"].get("labels") or {})]
    assert not [r for r in dev.resources if r.type == "kubernetes:networking.istio.io/v1:Gateway"]
