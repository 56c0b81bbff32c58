"""TLS for the REST server: a certificate authority per cluster database.

kubectl (like client-go in general) refuses to send a bearer token over plain
HTTP, so the server speaks HTTPS the way a kind or minikube cluster does: a
self-signed CA whose certificate goes into the kubeconfig
(``certificate-authority-data``) and a server certificate signed by it for
the addresses the server answers on.  The CA is made once and kept in the
database, beside the token, so a restarted server is trusted by the
kubeconfig written before; the server certificate is made afresh at every
start (its names follow ``--host``).
"""

from __future__ import annotations

import base64
import datetime
import ipaddress
import os
import ssl
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

_CA_NAME = "gitops-agent-emulator-ca"
_CA_YEARS = 10
_SERVER_DAYS = 365


@dataclass(frozen=True)
class Authority:
    """A CA certificate and its private key, both PEM."""

    cert_pem: bytes
    key_pem: bytes

    @property
    def data(self) -> str:
        """The CA certificate as kubeconfig's ``certificate-authority-data``."""
        return base64.b64encode(self.cert_pem).decode()


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def new_authority() -> Authority:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, _CA_NAME)])
    start = _now() - datetime.timedelta(minutes=5)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + datetime.timedelta(days=365 * _CA_YEARS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return Authority(cert.public_bytes(serialization.Encoding.PEM), _key_pem(key))


def _alt_names(hosts: list[str]) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = []
    for host in dict.fromkeys(hosts):
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    return names


def server_certificate(ca: Authority, hosts: list[str]) -> tuple[bytes, bytes]:
    """A server certificate (PEM) and key for ``hosts``, signed by ``ca``."""
    ca_key = serialization.load_pem_private_key(ca.key_pem, password=None)
    ca_cert = x509.load_pem_x509_certificate(ca.cert_pem)
    if not isinstance(ca_key, ec.EllipticCurvePrivateKey):
        raise ValueError("the emulated cluster's CA key is not an EC key")
    key = ec.generate_private_key(ec.SECP256R1())
    start = _now() - datetime.timedelta(minutes=5)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kube-apiserver")]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + datetime.timedelta(days=_SERVER_DAYS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName(_alt_names(hosts)), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM), _key_pem(key)


class ServerFiles:
    """The server certificate and key as files, which is how uvicorn takes them.

    They live in a private temporary folder (mode 0700, key 0600) only until
    uvicorn has loaded them; :meth:`remove` deletes them.
    """

    def __init__(self, cert_pem: bytes, key_pem: bytes) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="gitops-agent-tls-"))
        self.cert = self.folder / "server.crt"
        self.key = self.folder / "server.key"
        self.cert.write_bytes(cert_pem)
        fd = os.open(self.key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(key_pem)

    def remove(self) -> None:
        for p in (self.key, self.cert):
            p.unlink(missing_ok=True)
        self.folder.rmdir()


def client_context(ca: Authority) -> ssl.SSLContext:
    """An SSL context that trusts the emulated cluster's CA (for Python clients and tests)."""
    context = ssl.create_default_context(cadata=ca.cert_pem.decode())
    return context
