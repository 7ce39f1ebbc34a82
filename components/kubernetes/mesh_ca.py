"""The mesh's certificate authority across cells: one root CA, and an intermediate CA per cluster signed by it.

Istio's "Plug in CA Certificates" (istio.io/latest/docs/tasks/security/cert-management/plugin-ca-cert/): every
cluster's istiod signs workload certificates with its own intermediate CA, read from the secret ``cacerts`` in
istio-system (keys ca-cert.pem, ca-key.pem, root-cert.pem, cert-chain.pem); intermediates of one root make the
workloads of every cluster trust each other, which multi-primary across networks needs (docs/design.md, "Mesh").
Istio's own tooling (tools/certs/common.mk) makes both as RSA 4096 keys, the root valid ten years, each
intermediate two; so do these.
"""

from __future__ import annotations

from typing import Required, TypedDict
from dataclasses import dataclass

import pulumi
import pulumi_tls as tls
from pydantic import Field

from lepton_infra.spec import ComponentArgs, DnsLabel, parse_model

from ._helm import child_name

TOKEN = "lepton:kubernetes:MeshCertificateAuthority"
KEY_ALGORITHM = "RSA"
KEY_BITS = 4096
CA_USES = ["cert_signing", "crl_signing", "digital_signature", "key_encipherment"]


@dataclass(frozen=True)
class PluggedCa:
    """One cluster's intermediate CA, as istiod reads it from ``cacerts`` (every value a pulumi secret or PEM)."""

    ca_cert: pulumi.Output[str]  # ca-cert.pem: the intermediate's certificate
    ca_key: pulumi.Output[str]  # ca-key.pem: its private key (secret)
    root_cert: pulumi.Output[str]  # root-cert.pem: the mesh's root certificate
    cert_chain: pulumi.Output[str]  # cert-chain.pem: intermediate then root


class MeshCertificateAuthorityArgsDict(TypedDict, total=False):
    """MeshCertificateAuthorityArgs as a plain dict: the same keys, validated the same way."""

    mesh_id: DnsLabel
    organization: str
    root_validity_hours: int
    intermediate_validity_hours: int


class MeshCertificateAuthorityArgs(ComponentArgs):
    mesh_id: DnsLabel = "lepton"
    organization: str = Field("lepton-infra", min_length=1, description="The O= of every certificate's subject.")
    root_validity_hours: int = Field(24 * 365 * 10, ge=24, description="How long the root CA is valid (ten years).")
    intermediate_validity_hours: int = Field(24 * 365 * 2, ge=24, description="How long each cluster's CA is valid.")


class MeshCertificateAuthority(pulumi.ComponentResource):
    """The mesh's root CA; ``intermediate(cluster)`` issues a cluster's CA under it (its children here)."""

    root_cert_pem: pulumi.Output[str]

    def __init__(
        self, name: str, args: MeshCertificateAuthorityArgs | MeshCertificateAuthorityArgsDict, opts: pulumi.ResourceOptions | None = None
    ):
        args = parse_model(MeshCertificateAuthorityArgs, args)
        super().__init__(TOKEN, name, None, opts)
        self._args = args
        child = pulumi.ResourceOptions(parent=self)
        self._root_key = tls.PrivateKey(child_name(self, "root-key"), algorithm=KEY_ALGORITHM, rsa_bits=KEY_BITS, opts=child)
        self._root = tls.SelfSignedCert(
            child_name(self, "root-cert"),
            private_key_pem=self._root_key.private_key_pem,
            is_ca_certificate=True,
            validity_period_hours=args.root_validity_hours,
            allowed_uses=CA_USES,
            subject={"common_name": f"{args.mesh_id} root CA", "organization": args.organization},
            opts=child,
        )
        self.root_cert_pem = self._root.cert_pem
        self.register_outputs({"root_cert_pem": self.root_cert_pem})

    def intermediate(self, cluster: str) -> PluggedCa:
        """A CA for ``cluster`` signed by the root; its common name and resources are named after the cluster only, so
        adding or removing another cluster leaves it as it is."""
        child = pulumi.ResourceOptions(parent=self)
        key = tls.PrivateKey(child_name(self, f"{cluster}-key"), algorithm=KEY_ALGORITHM, rsa_bits=KEY_BITS, opts=child)
        request = tls.CertRequest(
            child_name(self, f"{cluster}-csr"),
            private_key_pem=key.private_key_pem,
            # Istio's tools/certs name an intermediate "Intermediate CA" with L=<cluster>; the cluster is in the CN here.
            subject={"common_name": f"{self._args.mesh_id} {cluster} intermediate CA", "organization": self._args.organization},
            opts=child,
        )
        cert = tls.LocallySignedCert(
            child_name(self, f"{cluster}-cert"),
            cert_request_pem=request.cert_request_pem,
            ca_private_key_pem=self._root_key.private_key_pem,
            ca_cert_pem=self._root.cert_pem,
            is_ca_certificate=True,
            validity_period_hours=self._args.intermediate_validity_hours,
            allowed_uses=CA_USES,
            opts=child,
        )
        return PluggedCa(
            ca_cert=cert.cert_pem,
            ca_key=pulumi.Output.secret(key.private_key_pem),
            root_cert=self._root.cert_pem,
            cert_chain=pulumi.Output.concat(cert.cert_pem, self._root.cert_pem),
        )
