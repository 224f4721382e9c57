"""A throwaway certificate authority for HTTPS mocks (trustme): one CA, one server certificate for
127.0.0.1 / ::1 / localhost, both living only as long as the mock.

Clients that insist on HTTPS verify the mock against the CA bundle the gate exports
(`SSL_CERT_FILE`, `REQUESTS_CA_BUNDLE`, `ID_CA_BUNDLE`, ...), never with `--insecure`.
"""
from __future__ import annotations

import datetime
import shutil
import ssl
import tempfile
from dataclasses import dataclass
from pathlib import Path

import trustme

# Names the server certificate answers to: the gate and serve bind 127.0.0.1.
SERVER_NAMES = ("localhost", "127.0.0.1", "::1")
# The server certificate's lifetime: long enough for any CI job, short enough that a leaked key is
# worthless soon. The CA's private key never leaves the process, so no one can sign with it later.
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


def make_tls(directory: str | Path | None = None) -> TLSMaterial:
    """Mint a CA and a server certificate for 127.0.0.1/localhost; return the server context and
    the CA bundle path (in a fresh folder under `directory`, default the system temp folder)."""
    # ECDSA P-256 (trustme's default): minted in milliseconds, accepted by OpenSSL, curl, Node and
    # every Python client; trustme's leaf carries SAN, AKI, a non-CA constraint and server-auth EKU,
    # which Python 3.13's VERIFY_X509_STRICT and browsers want.
    ca = trustme.CA(organization_name="authconform", organization_unit_name="authconform throwaway CA")
    now = datetime.datetime.now(datetime.timezone.utc)
    leaf = ca.issue_cert(*SERVER_NAMES, common_name="localhost", organization_name="authconform",
                         not_before=now - SKEW, not_after=now + LIFETIME)
    # Always a fresh folder of our own, so close() never deletes anything it did not write.
    folder = Path(tempfile.mkdtemp(prefix="authconform-tls-", dir=directory))
    ca_path = folder / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_path))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    # ssl.load_cert_chain reads files only: trustme writes the key to a private temporary file,
    # loads it and deletes it at once.
    leaf.configure_cert(context)
    return TLSMaterial(server_context=context, ca_path=ca_path, directory=folder)
