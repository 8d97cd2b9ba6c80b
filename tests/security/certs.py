"""Test certificates, made with the ``openssl`` command line: a CA, a server and client it signed, and
certificates that must be refused (another CA's client, a server named for another host).

EC P-256 keys: generating one takes milliseconds, so the whole set costs well under a second.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.redis_servers import TlsFiles

INSTALL_OPENSSL = "the TLS tests make their certificates with the openssl command; install openssl"


@dataclass(frozen=True)
class Certificates:
    """Everything the TLS tests use; ``trusted`` serves and connects, the rest must be refused."""

    trusted: TlsFiles
    #: A self-signed CA the server does not know, used as a client certificate.
    rogue_cert: Path
    rogue_key: Path
    #: Signed by the trusted CA, but for ``other.example`` only: a client connecting to 127.0.0.1
    #: must refuse a server that presents it.
    wrong_host_cert: Path
    wrong_host_key: Path


def make_certificates(directory: Path) -> Certificates:
    """Write the certificates into ``directory`` (which must exist) and return their paths."""
    if not shutil.which("openssl"):
        raise RuntimeError(INSTALL_OPENSSL)
    ca_cert, ca_key = _self_signed(directory, "ca", "agent-cache test CA")
    server_cert, server_key = _signed(directory, "server", "localhost", ca_cert, ca_key, san="IP:127.0.0.1")
    client_cert, client_key = _signed(directory, "client", "agent-cache client", ca_cert, ca_key)
    rogue_cert, rogue_key = _self_signed(directory, "rogue", "rogue CA")
    wrong_cert, wrong_key = _signed(
        directory, "wrong-host", "other.example", ca_cert, ca_key, san="DNS:other.example"
    )
    trusted = TlsFiles(ca_cert, server_cert, server_key, client_cert, client_key)
    return Certificates(trusted, rogue_cert, rogue_key, wrong_cert, wrong_key)


def _openssl(*args: str | Path) -> None:
    subprocess.run(["openssl", *map(str, args)], check=True, capture_output=True, timeout=30)


def _key(directory: Path, name: str) -> Path:
    key = directory / f"{name}.key"
    _openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", key)
    key.chmod(0o600)
    return key


def _self_signed(directory: Path, name: str, subject: str) -> tuple[Path, Path]:
    key, cert = _key(directory, name), directory / f"{name}.crt"
    _openssl("req", "-x509", "-new", "-key", key, "-subj", f"/CN={subject}", "-days", "2", "-out", cert)
    return cert, key


def _signed(
    directory: Path, name: str, subject: str, ca_cert: Path, ca_key: Path, *, san: str | None = None
) -> tuple[Path, Path]:
    key, csr, cert = _key(directory, name), directory / f"{name}.csr", directory / f"{name}.crt"
    _openssl("req", "-new", "-key", key, "-subj", f"/CN={subject}", "-out", csr)
    extensions = directory / f"{name}.ext"
    extensions.write_text(f"subjectAltName={san}\n" if san else "basicConstraints=CA:FALSE\n")
    _openssl(
        *("x509", "-req", "-in", csr, "-CA", ca_cert, "-CAkey", ca_key, "-CAcreateserial"),
        *("-days", "2", "-extfile", extensions, "-out", cert),
    )
    return cert, key
