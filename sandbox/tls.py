"""Self-signed TLS for the Azure emulator.

azure-identity refuses a non-https authority ("The value must be a TLS protected (https)
URL"), so the Azure server also listens with TLS. The certificate covers 127.0.0.1, ::1 and
localhost; clients trust it by passing the PEM path (``connection_verify=...`` for
azure-identity, ``verify=...`` for requests) — the sandbox prints that path as azure_ca_cert.
"""
from __future__ import annotations

import datetime as dt
import os
import ipaddress
import socket
import ssl
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def write_self_signed(directory: Path, host: str = "127.0.0.1", names: tuple[str, ...] = ()) -> tuple[Path, Path]:
    """Create azure-ca.pem / azure-key.pem in ``directory``; returns their paths.

    The certificate is valid for localhost, 127.0.0.1, ::1, this machine's hostname, the bind
    host and ``names`` (e.g. a docker compose service name such as 'sandbox').
    """
    directory.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "billing-sandbox")])
    sans: list[x509.GeneralName] = [
        x509.DNSName("localhost"),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        x509.IPAddress(ipaddress.ip_address("::1")),
    ]
    seen = {"localhost", "127.0.0.1", "::1", "0.0.0.0", "::", ""}
    for alt in (host, socket.gethostname(), *names):
        if alt in seen:
            continue
        seen.add(alt)
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(alt)))
        except ValueError:
            sans.append(x509.DNSName(alt))
    now = dt.datetime.now(dt.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=365))
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "azure-ca.pem", directory / "azure-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    # the private key is readable by its owner only, from its first byte
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()))
    return cert_path, key_path


def server_context(cert_path: Path, key_path: Path) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(cert_path), str(key_path))
    return context
