"""Answers of the TLS provider (pulumi_tls): real keys and real X.509 certificates, made with ``cryptography``.

The provider computes everything locally (hashicorp/terraform-provider-tls), so its answers can be the real thing
offline: a PrivateKey has a key of the asked algorithm and size, a SelfSignedCert and a LocallySignedCert are
certificates signed by the keys their inputs give, so tests can verify a chain (which root signed which CA). Keys
and certificates are kept per resource name and inputs for the process: planning a stack twice gives the same PEMs.
Validity starts at a fixed instant (VALIDITY_START) so two plans compare equal; the real provider starts at now.
"""

from __future__ import annotations

import datetime
import hashlib
import json
from typing import Any, Callable, Mapping

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import NameOID

from ..plan import unwrap_secrets

PREFIX = "tls"
VALIDITY_START = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
CURVES = {"P224": ec.SECP224R1, "P256": ec.SECP256R1, "P384": ec.SECP384R1, "P521": ec.SECP521R1}
# allowed_uses (the provider's names) -> x509 KeyUsage fields; the extended ones -> their OIDs.
KEY_USES = {
    "digital_signature": "digital_signature",
    "content_commitment": "content_commitment",
    "key_encipherment": "key_encipherment",
    "data_encipherment": "data_encipherment",
    "key_agreement": "key_agreement",
    "cert_signing": "key_cert_sign",
    "crl_signing": "crl_sign",
    "encipher_only": "encipher_only",
    "decipher_only": "decipher_only",
}
EXTENDED_USES = {
    "server_auth": x509.oid.ExtendedKeyUsageOID.SERVER_AUTH,
    "client_auth": x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH,
    "code_signing": x509.oid.ExtendedKeyUsageOID.CODE_SIGNING,
    "email_protection": x509.oid.ExtendedKeyUsageOID.EMAIL_PROTECTION,
}

_made: dict[str, tuple[str, dict]] = {}
_keys: dict[str, Any] = {}  # private key PEM -> the key object it was made from, so signing does not parse it again


def _plain(handler: Callable) -> Callable:
    """The handler given its inputs without the SDK's secret wrappers (a private key PEM is a secret input)."""

    def answer(m, name, inputs, region):
        return handler(m, name, unwrap_secrets(dict(inputs))[0], region)

    return answer


def _once(kind: str, name: str, inputs: Mapping[str, Any], make: Callable[[], tuple[str, dict]]) -> tuple[str, dict]:
    key = hashlib.sha256(json.dumps([kind, name, inputs], sort_keys=True, default=str).encode()).hexdigest()
    if key not in _made:
        _made[key] = make()
    return _made[key]


# Offline, RSA keys are made at the smallest size `cryptography` allows: a 4096-bit key takes about a second to
# generate and a 2048-bit one ~60 ms (a three-cell plan makes four), while signatures and chains check the same at
# 1024. The inputs still say what `pulumi up` makes (rsaBits), and that is what tests assert on.
OFFLINE_RSA_BITS_MAX = 1024


def _new_key(inputs: Mapping[str, Any]):
    algorithm = inputs.get("algorithm", "RSA")
    if algorithm == "RSA":
        bits = min(int(inputs.get("rsaBits") or 2048), OFFLINE_RSA_BITS_MAX)
        return rsa.generate_private_key(public_exponent=65537, key_size=bits)
    if algorithm == "ECDSA":
        return ec.generate_private_key(CURVES[inputs.get("ecdsaCurve") or "P224"]())
    if algorithm == "ED25519":
        return ed25519.Ed25519PrivateKey.generate()
    raise ValueError(f"tls mocks: unknown key algorithm {algorithm!r}")


def _private_key(m, name, inputs, region):
    def make():
        key = _new_key(inputs)
        # The provider's private_key_pem is PKCS#1 for RSA ("RSA PRIVATE KEY"), SEC 1 for ECDSA, PKCS#8 for ED25519.
        legacy = serialization.PrivateFormat.PKCS8 if isinstance(key, ed25519.Ed25519PrivateKey) else serialization.PrivateFormat.TraditionalOpenSSL
        pem = key.private_bytes(serialization.Encoding.PEM, legacy, serialization.NoEncryption()).decode()
        _keys[pem] = key
        pkcs8 = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
        public = key.public_key()
        public_pem = public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
        der = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        rid = hashlib.sha1(der).hexdigest()  # the provider's id: the SHA-1 of the public key
        return rid, {
            "privateKeyPem": pem,
            "privateKeyPemPkcs8": pkcs8,
            "publicKeyPem": public_pem,
            "publicKeyFingerprintSha256": hashlib.sha256(der).hexdigest(),
        }

    return _once("key", name, inputs, make)


def _subject(subject: Mapping[str, Any] | None) -> x509.Name:
    fields = [
        ("commonName", NameOID.COMMON_NAME),
        ("organization", NameOID.ORGANIZATION_NAME),
        ("organizationalUnit", NameOID.ORGANIZATIONAL_UNIT_NAME),
        ("locality", NameOID.LOCALITY_NAME),
        ("province", NameOID.STATE_OR_PROVINCE_NAME),
        ("country", NameOID.COUNTRY_NAME),
    ]
    return x509.Name([x509.NameAttribute(oid, str(subject[key])) for key, oid in fields if subject and subject.get(key)])


def _serial(name: str) -> int:
    return int(hashlib.sha256(name.encode()).hexdigest()[:30], 16)


def _sign(name: str, inputs: Mapping[str, Any], subject: x509.Name, public_key, issuer: x509.Name, issuer_key) -> tuple[str, dict]:
    hours = int(inputs.get("validityPeriodHours") or 0)
    uses = list(inputs.get("allowedUses") or [])
    end = VALIDITY_START + datetime.timedelta(hours=hours)
    is_ca = bool(inputs.get("isCaCertificate"))
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(_serial(name))
        .not_valid_before(VALIDITY_START)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=is_ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False)
    )
    key_uses = {field: False for field in KEY_USES.values()}
    key_uses.update({KEY_USES[u]: True for u in uses if u in KEY_USES})
    if any(key_uses.values()):
        builder = builder.add_extension(x509.KeyUsage(**key_uses), critical=True)
    extended = [EXTENDED_USES[u] for u in uses if u in EXTENDED_USES]
    if extended:
        builder = builder.add_extension(x509.ExtendedKeyUsage(extended), critical=False)
    algorithm = None if isinstance(issuer_key, ed25519.Ed25519PrivateKey) else hashes.SHA256()
    cert = builder.sign(issuer_key, algorithm)
    outputs = {
        "certPem": cert.public_bytes(serialization.Encoding.PEM).decode(),
        "validityStartTime": VALIDITY_START.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "validityEndTime": end.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "readyForRenewal": False,
    }
    return str(cert.serial_number), outputs


def _load_key(pem: str):
    """The key of a PEM: the one made here, else parsed (parsing checks an RSA key's consistency: ~30 ms each)."""
    if pem not in _keys:
        _keys[pem] = serialization.load_pem_private_key(pem.encode(), password=None)
    return _keys[pem]


def _self_signed_cert(m, name, inputs, region):
    def make():
        key = _load_key(inputs["privateKeyPem"])
        subject = _subject(inputs.get("subject"))
        return _sign(name, inputs, subject, key.public_key(), subject, key)

    return _once("self-signed", name, inputs, make)


def _cert_request(m, name, inputs, region):
    def make():
        key = _load_key(inputs["privateKeyPem"])
        algorithm = None if isinstance(key, ed25519.Ed25519PrivateKey) else hashes.SHA256()
        csr = x509.CertificateSigningRequestBuilder().subject_name(_subject(inputs.get("subject"))).sign(key, algorithm)
        return f"{name}-csr", {"certRequestPem": csr.public_bytes(serialization.Encoding.PEM).decode()}

    return _once("csr", name, inputs, make)


def _locally_signed_cert(m, name, inputs, region):
    def make():
        csr = x509.load_pem_x509_csr(inputs["certRequestPem"].encode())
        ca_cert = x509.load_pem_x509_certificate(inputs["caCertPem"].encode())
        ca_key = _load_key(inputs["caPrivateKeyPem"])
        return _sign(name, inputs, csr.subject, csr.public_key(), ca_cert.subject, ca_key)

    return _once("locally-signed", name, inputs, make)


RESOURCES = {
    "tls:index/privateKey:PrivateKey": _plain(_private_key),
    "tls:index/selfSignedCert:SelfSignedCert": _plain(_self_signed_cert),
    "tls:index/certRequest:CertRequest": _plain(_cert_request),
    "tls:index/locallySignedCert:LocallySignedCert": _plain(_locally_signed_cert),
}
INVOKES: dict = {}
