"""A throwaway certificate authority for HTTPS mocks: one CA, one server certificate for
127.0.0.1 / ::1 / localhost, both living only as long as the mock.

Clients that insist on HTTPS verify the mock against the CA bundle the gate exports
(`SSL_CERT_FILE`, `REQUESTS_CA_BUNDLE`, `ID_CA_BUNDLE`, ...), never with `--insecure`.
"""
from __future__ import annotations

import datetime
import ipaddress
import shutil
import ssl
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

# Names the server certificate answers to: the gate and serve bind 127.0.0.1.
SERVER_NAMES = ("localhost",)
SERVER_IPS = ("127.0.0.1", "::1")
# Long enough for any CI job, short enough that a leaked bundle is worthless soon.
LIFETIME = datetime.timedelta(days=2)
# Clock skew between the certificate's notBefore and a client's clock (containers drift).
SKEW = datetime.timedelta(minutes=5)


@dataclass
class TLSMaterial:
    """A server SSLContext and the PEM bundle of the CA that signed it; `close()` deletes the files."""

    server_context: ssl.SSLContext
    ca_path: Path
    directory: Path

    def client_context(self) -> ssl.SSLContext:
        """An SSLContext that trusts only the throwaway CA (hostname checked)."""
        return ssl.create_default_context(cafile=str(self.ca_path))

    def close(self) -> None:
        """Delete the CA bundle and its folder (idempotent)."""
        shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> "TLSMaterial":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _name(common_name: str) -> x509.Name:
    return x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "authconform"),
        x509.NameAttribute(NameOID.COMMON_NAME, common_name),
    ])


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def make_tls(directory: str | Path | None = None) -> TLSMaterial:
    """Mint a CA and a server certificate for 127.0.0.1/localhost; return the server context and
    the CA bundle path (in a fresh folder under `directory`, default the system temp folder)."""
    # P-256 keys: minted in milliseconds, accepted by OpenSSL, curl, Node and every Python client.
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("authconform throwaway CA")
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - SKEW)
        .not_valid_after(now + LIFETIME)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ca_ski, critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    key = ec.generate_private_key(ec.SECP256R1())
    sans: list[x509.GeneralName] = [x509.DNSName(n) for n in SERVER_NAMES]
    sans += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in SERVER_IPS]
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("localhost"))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - SKEW)
        .not_valid_after(now + LIFETIME)
        # Python 3.13's VERIFY_X509_STRICT wants SAN, AKI and a non-CA leaf; browsers want EKU.
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    # Always a fresh folder of our own, so close() never deletes anything it did not write.
    folder = Path(tempfile.mkdtemp(prefix="authconform-tls-", dir=directory))
    ca_path = folder / "ca.pem"
    ca_path.write_bytes(_pem(ca_cert))
    # ssl.load_cert_chain reads files only: write the server key, load it, delete it at once.
    chain = folder / "server.pem"
    chain.touch(mode=0o600)
    chain.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        + _pem(cert)
    )
    try:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(str(chain))
    finally:
        chain.unlink(missing_ok=True)
    return TLSMaterial(server_context=context, ca_path=ca_path, directory=folder)
