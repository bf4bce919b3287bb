"""This installation's key for signing content credentials: an ES256 (ECDSA P-256) private key and a chain of
two certificates, made on first use and kept in one file, mode 0600, beside installation.json.

The chain is a root made for this installation alone and the signing certificate that root issued. C2PA
validators refuse a self-signed signing certificate, so the key cannot sign alone; the root's own private key
is thrown away once it has issued that one certificate, so nothing else can ever chain to this root. Both
certificates name the installation id that the invisible mark carries. Nobody vouches for the root: a
signature shows which installation signed (whoever holds its key file), never who the person is.
"""

from __future__ import annotations

import datetime
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

KEY_FILE = "signing.pem"
VALID_DAYS = 3650
RENEW_BEFORE_DAYS = 1          # a chain this close to expiry is replaced rather than used


class SigningKeyUnusable(RuntimeError):
    """The key file exists but can be neither read nor replaced (permissions); the message names it."""


@dataclass(frozen=True)
class SigningKey:
    """key_pem: PKCS#8 PEM private key; chain_pem: signing certificate then root, PEM; root_pem: the root alone."""

    installation_id: str
    key_pem: bytes
    chain_pem: bytes
    root_pem: bytes


def _name(installation_id: str, role: str):
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, f"facecast installation {installation_id}"),
                      x509.NameAttribute(NameOID.COMMON_NAME, f"facecast {role}")])


def _make(installation_id: str) -> bytes:
    """A fresh key file's bytes: private key, signing certificate, root certificate (PEM, in that order)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID

    now = datetime.datetime.now(datetime.timezone.utc)
    start, end = now - datetime.timedelta(minutes=5), now + datetime.timedelta(days=VALID_DAYS)

    def usage(sign: bool):
        return x509.KeyUsage(digital_signature=sign, content_commitment=False, key_encipherment=False,
                             data_encipherment=False, key_agreement=False, key_cert_sign=not sign,
                             crl_sign=not sign, encipher_only=False, decipher_only=False)

    root_key = ec.generate_private_key(ec.SECP256R1())
    root_name = _name(installation_id, "root")
    root = (x509.CertificateBuilder().subject_name(root_name).issuer_name(root_name)
            .public_key(root_key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(start).not_valid_after(end)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(usage(sign=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(root_key.public_key()), critical=False)
            .sign(root_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (x509.CertificateBuilder().subject_name(_name(installation_id, "content credentials"))
            .issuer_name(root_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(start).not_valid_after(end)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(usage(sign=True), critical=True)
            # C2PA's certificate profile wants an EKU from its list; c2pa-python 0.38 refuses RFC 9336
            # documentSigning, and emailProtection is the usual choice for content signing certificates
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()), critical=False)
            .sign(root_key, hashes.SHA256()))
    del root_key  # never stored: this root issues the one certificate above and no other
    pem = serialization.Encoding.PEM
    return (key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
            + leaf.public_bytes(pem) + root.public_bytes(pem))


def _parse(data: bytes, installation_id: str | None) -> SigningKey | None:
    """The key in a key file's bytes, or None when it is damaged, mismatched, for another installation
    (installation.json was replaced) or about to expire."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    try:
        key = serialization.load_pem_private_key(data, password=None)
        leaf, root = x509.load_pem_x509_certificates(data)
    except ValueError:
        return None
    pub = serialization.PublicFormat.SubjectPublicKeyInfo
    der = serialization.Encoding.DER
    if not isinstance(key, ec.EllipticCurvePrivateKey) or \
            key.public_key().public_bytes(der, pub) != leaf.public_key().public_bytes(der, pub):
        return None
    org = leaf.subject.get_attributes_for_oid(x509.oid.NameOID.ORGANIZATION_NAME)
    ident = org[0].value.rsplit(" ", 1)[-1] if org else ""
    if installation_id is not None and ident != installation_id:
        return None
    if leaf.not_valid_after_utc - datetime.datetime.now(datetime.timezone.utc) < \
            datetime.timedelta(days=RENEW_BEFORE_DAYS):
        return None
    pem = serialization.Encoding.PEM
    key_pem = key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return SigningKey(ident, key_pem, leaf.public_bytes(pem) + root.public_bytes(pem), root.public_bytes(pem))


def _read(path: Path) -> bytes | None:
    try:
        if path.stat().st_mode & 0o077:
            os.chmod(path, 0o600)  # a copied or restored file may have come back readable by others
        return path.read_bytes()
    except OSError:
        return None


def signing_key(folder: Path, installation_id: str) -> SigningKey:
    """This installation's key, made on first use in `folder`/signing.pem (mode 0600) and read back afterwards.
    folder: the installation's config folder (engine.config.config_dir()); installation_id: 6 hex digits."""
    path = folder / KEY_FILE
    data = _read(path)
    found = _parse(data, installation_id) if data is not None else None
    if found is not None:
        return found
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = folder / f".{KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # private from its first byte
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(_make(installation_id))
            fh.flush()
            os.fsync(fh.fileno())
        if data is None:
            try:
                os.link(tmp, path)  # first one wins when two first runs race: both then use the same key
            except FileExistsError:
                pass
            except OSError:  # a file system without hard links
                os.replace(tmp, path)
        else:
            os.replace(tmp, path)  # the old file was unusable: replace it whole, never half
    finally:
        tmp.unlink(missing_ok=True)
    found = _parse(_read(path) or b"", installation_id)
    if found is None:
        raise SigningKeyUnusable(f"{path} cannot be read as this installation's signing key; "
                                 f"move it away and the next render makes a new one")
    return found


def own_root(folder: Path) -> bytes | None:
    """This installation's root certificate (PEM) if it has made a key yet; never makes one. Lets `verify`
    tell a file signed here from one signed by any other installation."""
    data = _read(folder / KEY_FILE)
    found = _parse(data, None) if data is not None else None
    return None if found is None else found.root_pem
