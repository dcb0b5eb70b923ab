"""Ed25519 signatures of the bundles' manifests: who published them, and that nothing changed.

A manifest hashes every file of its bundle; its signature (``manifest.sig``, beside it) makes
the manifest itself impossible to rewrite without the publisher's private key. The public key
travels in the bundle (``signing-key.pub``, PEM) and is known by its *fingerprint*, the SHA-256
of the raw 32-byte public key in hex: an auditor compares it with the one the publisher gave
them (or audits with ``--public-key``), since a forger could ship a key of their own.

The publisher's private key comes from ``--signing-key PATH``, else from the file named by
``LCI_SIGNING_KEY``, else from a per-user key created once at
``$XDG_CONFIG_HOME/lci/signing-key.pem`` (``~/.config/lci/`` by default), readable by its owner
only. Ed25519 signatures are deterministic: the same manifest and key give the same bytes.
"""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

KEY_ENV = "LCI_SIGNING_KEY"
KEY_FILE = "signing-key.pem"
SIGNATURE = "manifest.sig"
PUBLIC_KEY = "signing-key.pub"


class SigningError(Exception):
    """A key cannot be read, created or used; the message says which and what to do."""


@dataclass(frozen=True)
class SigningKey:
    """The publisher's private key, where it came from, and whether this run created it."""

    private: Ed25519PrivateKey
    path: Path
    origin: str  # "--signing-key", "LCI_SIGNING_KEY" or "per-user key"
    created: bool = False

    @property
    def public(self) -> Ed25519PublicKey:
        return self.private.public_key()

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.public)


def fingerprint(key: Ed25519PublicKey) -> str:
    """SHA-256 of the raw public key, in hex: what publisher and auditor compare."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def default_key_path() -> Path:
    """``$XDG_CONFIG_HOME/lci/signing-key.pem``, ``~/.config/lci/signing-key.pem`` by default."""
    config_home = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config_home) / "lci" / KEY_FILE


def resolve_signing_key(explicit: Path | None = None) -> SigningKey:
    """The key to sign with: ``explicit``, else ``$LCI_SIGNING_KEY``, else the per-user key
    (created on first use)."""
    if explicit is not None:
        return SigningKey(load_private_key(explicit), explicit, "--signing-key")
    from_env = os.environ.get(KEY_ENV)
    if from_env:
        return SigningKey(load_private_key(Path(from_env)), Path(from_env), KEY_ENV)
    path = default_key_path()
    if path.exists():
        return SigningKey(load_private_key(path), path, "per-user key")
    write_key_pair(path)
    return SigningKey(load_private_key(path), path, "per-user key", created=True)


def write_key_pair(path: Path) -> tuple[Path, Path]:
    """A new private key at ``path`` (PEM, mode 0600) and its public key beside it (``.pub``).

    Never overwrites: an existing file is an error.
    """
    public_path = path.with_suffix(".pub")
    for existing in (path, public_path):
        if existing.exists():
            raise SigningError(f"{existing} already exists: choose another path, or remove it "
                               f"first if you mean to replace the key")
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(pem)
        public_path.write_bytes(public_pem(key.public_key()))
    except OSError as error:
        raise SigningError(f"{error.filename or path}: cannot write the key "
                           f"({error.strerror or error})") from None
    return path, public_path


def load_private_key(path: Path) -> Ed25519PrivateKey:
    try:
        data = path.read_bytes()
    except OSError as error:
        raise SigningError(f"{path}: cannot read the signing key ({error.strerror or error}); "
                           f"'lci keygen {path}' creates one") from None
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as error:
        raise SigningError(f"{path}: not an unencrypted PEM private key ({error})") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningError(f"{path}: not an Ed25519 key ('lci keygen PATH' writes one)")
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    try:
        data = path.read_bytes()
    except OSError as error:
        raise SigningError(f"{path}: cannot read the public key "
                           f"({error.strerror or error})") from None
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError) as error:
        raise SigningError(f"{path}: not a PEM public key ({error})") from None
    if not isinstance(key, Ed25519PublicKey):
        raise SigningError(f"{path}: not an Ed25519 public key")
    return key


def public_pem(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.PEM,
                            serialization.PublicFormat.SubjectPublicKeyInfo)


def write_public_key(folder: Path, key: SigningKey) -> Path:
    path = folder / PUBLIC_KEY
    path.write_bytes(public_pem(key.public))
    return path


def sign_file(path: Path, key: SigningKey) -> Path:
    """``manifest.sig`` beside ``path``: the base64 Ed25519 signature of its bytes."""
    signature = key.private.sign(path.read_bytes())
    target = path.with_name(SIGNATURE)
    target.write_text(base64.b64encode(signature).decode("ascii") + "\n", encoding="ascii")
    return target


def verify_file(path: Path, signature_path: Path, key: Ed25519PublicKey) -> bool:
    """True when ``signature_path`` holds a valid signature of ``path``'s bytes by ``key``."""
    try:
        signature = base64.b64decode(signature_path.read_text(encoding="ascii").strip(),
                                     validate=True)
        key.verify(signature, path.read_bytes())
    except (InvalidSignature, ValueError, OSError):
        return False
    return True
