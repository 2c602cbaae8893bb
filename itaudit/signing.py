"""Ed25519 signatures over a canonical serialisation of a HostReport.

The signature travels inside the report as its `signature` member, and covers
the canonical form of everything else: JSON with sorted keys, no insignificant
white space, UTF-8, no floating-point numbers (the schema has none). The same
canonical form, hashed, is the report's content hash in the store.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

ALGORITHM = "ed25519"
SIGNATURE_FIELD = "signature"


class SignatureError(Exception):
    """A signature is present but does not verify."""


def canonical_bytes(document: dict[str, Any]) -> bytes:
    """The bytes that are hashed and signed: the report without its signature."""
    body = {k: v for k, v in document.items() if k != SIGNATURE_FIELD}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8"
    )


def content_hash(document: dict[str, Any]) -> str:
    """SHA-256 of the canonical form, hex: the same report always hashes the same."""
    return hashlib.sha256(canonical_bytes(document)).hexdigest()


def key_fingerprint(public_key_b64: str) -> str:
    """A short, stable name for a public key: `SHA256:` + base64 of its hash."""
    raw = base64.b64decode(public_key_b64)
    digest = base64.b64encode(hashlib.sha256(raw).digest()).decode().rstrip("=")
    return f"SHA256:{digest}"


def public_key_b64(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    pub = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    raw = pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def sign_report(document: dict[str, Any], key: Ed25519PrivateKey) -> dict[str, Any]:
    """Return a copy of the report with its `signature` member set."""
    signed = {k: v for k, v in document.items() if k != SIGNATURE_FIELD}
    value = key.sign(canonical_bytes(signed))
    signed[SIGNATURE_FIELD] = {
        "algorithm": ALGORITHM,
        "public_key": public_key_b64(key),
        "value": base64.b64encode(value).decode(),
    }
    return signed


@dataclass(frozen=True)
class Verified:
    """The outcome of verification for a report that carries a signature."""

    public_key: str
    fingerprint: str


def verify_report(document: dict[str, Any]) -> Verified | None:
    """None for an unsigned report; Verified when the signature holds.

    Raises SignatureError when a signature is present and does not match the
    content (the report was edited after signing, or the signature is forged).
    """
    sig = document.get(SIGNATURE_FIELD)
    if sig is None:
        return None
    try:
        pub_raw = base64.b64decode(sig["public_key"], validate=True)
        value = base64.b64decode(sig["value"], validate=True)
        public = Ed25519PublicKey.from_public_bytes(pub_raw)
    except (KeyError, TypeError, ValueError) as exc:
        raise SignatureError(f"malformed signature: {exc}") from exc
    try:
        public.verify(value, canonical_bytes(document))
    except InvalidSignature as exc:
        raise SignatureError(
            "signature does not match the report content (edited after signing?)"
        ) from exc
    return Verified(sig["public_key"], key_fingerprint(sig["public_key"]))


def load_or_create_key(path: Path) -> Ed25519PrivateKey:
    """The agent's private key, created on first use, readable only by its owner."""
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"{path}: not an Ed25519 private key")
        return key
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    # Created with 0600 from the start: no window in which others could read it.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    return key
