"""A certificate authority for the broker's TLS listener, and the broker's certificate.

Nodes trust the CA (its certificate goes into every node's bundle); the broker presents a
certificate the CA signed for the names nodes connect to. Keeping our own CA rather than a
public one means the nodes never depend on a public CA's renewal or on the Pi's clock
being right before NTP has run, within the certificates' long validity.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

DEFAULT_DAYS = 3650


@dataclass(frozen=True)
class CertPaths:
    ca_cert: Path
    ca_key: Path
    cert: Path
    key: Path

    @classmethod
    def in_dir(cls, directory: Path) -> CertPaths:
        d = Path(directory)
        return cls(d / "ca.crt", d / "ca.key", d / "broker.crt", d / "broker.key")


def make_certs(directory: Path, hostnames: list[str], ips: list[str] | None = None, *,
               days: int = DEFAULT_DAYS, renew: bool = False) -> tuple[CertPaths, list[str]]:
    """Create what is missing in `directory`: the CA (kept forever once made: every node
    trusts it) and the broker's certificate for `hostnames` and `ips` (made again with
    `renew`). Returns the paths and the names of the files written."""
    if not hostnames and not ips:
        raise ValueError("the broker certificate needs at least one host name or address")
    addresses = [ipaddress.ip_address(a) for a in ips or []]
    paths = CertPaths.in_dir(directory)
    Path(directory).mkdir(parents=True, exist_ok=True)
    written: list[str] = []
    now = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)  # a Pi's clock may lag a little
    if paths.ca_cert.exists() and paths.ca_key.exists():
        ca_key = serialization.load_pem_private_key(paths.ca_key.read_bytes(), password=None)
        ca_cert = x509.load_pem_x509_certificate(paths.ca_cert.read_bytes())
    else:
        ca_key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Roshni"),
                          x509.NameAttribute(NameOID.COMMON_NAME, "Roshni broker CA")])
        ca_cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                   .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now).not_valid_after(now + dt.timedelta(days=days))
                   .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                   .add_extension(x509.KeyUsage(
                       digital_signature=True, key_cert_sign=True, crl_sign=True,
                       content_commitment=False, key_encipherment=False,
                       data_encipherment=False, key_agreement=False, encipher_only=False,
                       decipher_only=False), critical=True)
                   .sign(ca_key, hashes.SHA256()))
        _write_key(paths.ca_key, ca_key)
        paths.ca_cert.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
        written += [paths.ca_key.name, paths.ca_cert.name]
        renew = True  # a new CA needs a broker certificate it signed
    if renew or not (paths.cert.exists() and paths.key.exists()):
        assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
        key = ec.generate_private_key(ec.SECP256R1())
        sans: list[x509.GeneralName] = [x509.DNSName(h) for h in hostnames]
        sans += [x509.IPAddress(a) for a in addresses]
        cn = hostnames[0] if hostnames else str(addresses[0])
        cert = (x509.CertificateBuilder()
                .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
                .issuer_name(ca_cert.subject).public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now).not_valid_after(now + dt.timedelta(days=days))
                .add_extension(x509.SubjectAlternativeName(sans), critical=False)
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                               critical=False)
                .sign(ca_key, hashes.SHA256()))
        _write_key(paths.key, key)
        paths.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        written += [paths.key.name, paths.cert.name]
    return paths, written


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    data = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(path, 0o600)
