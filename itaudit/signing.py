"""Signatures of HostReports and of Windows collector bundles.

Ed25519 (the Python agent): the signature travels inside the report as its
`signature` member, and covers the canonical form of everything else: JSON with
sorted keys, no insignificant white space, UTF-8, no floating-point numbers (the
schema has none). The same canonical form, hashed, is the report's content hash
in the store.

ECDSA P-256 (the PowerShell collector, which has no Ed25519 on Windows
PowerShell 5.1): the collector signs a *statement* naming the SHA-256 of every
file of its bundle; `agent parse` copies statement, signature and public key
into the report's `bundle_signature` member and ingest verifies them here,
never trusting a flag. Byte formats are exactly .NET Framework's: the public
key is a CNG `EccPublicBlob` (BCRYPT_ECCKEY_BLOB header: magic "ECS1"
0x31534345 and cbKey 32 as little-endian uint32, then X and Y, 32 bytes each,
big-endian; learn.microsoft.com, "BCRYPT_ECCKEY_BLOB structure"), the signature
IEEE P1363 r||s, 64 bytes (what ECDsaCng.SignData returns; dotnet/corefx#3800).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
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
    # Which key of the host this is: `agent` (Ed25519), or the Windows collector's
    # `machine` or `user` key store. Pinning keeps one key per slot (itaudit.ingest).
    slot: str = "agent"


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


# -- ECDSA P-256: the Windows collector's bundle signature ---------------------

BUNDLE_SIGNATURE_FIELD = "bundle_signature"
BUNDLE_ALGORITHM = "ecdsa-p256-sha256"
AGENT_SLOT = "agent"
KEY_STORES = ("machine", "user")
STATEMENT_HEADER = "itaudit-bundle-statement/1"
ECS1_MAGIC = 0x31534345  # BCRYPT_ECDSA_PUBLIC_P256_MAGIC, "ECS1" in little-endian bytes
_P256 = 32  # bytes per coordinate, and per r and s
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,120}$")
_VALUE = re.compile(r"^[^\s]{1,100}$")
_IDENTITY_KEYS = ("hostname", "collected_at", "platform", "key_store")


def ecc_public_blob(public: ec.EllipticCurvePublicKey) -> bytes:
    """The CNG EccPublicBlob of a P-256 public key: what `CngKey.Export(EccPublicBlob)` writes."""
    numbers = public.public_numbers()
    return (
        ECS1_MAGIC.to_bytes(4, "little")
        + _P256.to_bytes(4, "little")
        + numbers.x.to_bytes(_P256, "big")
        + numbers.y.to_bytes(_P256, "big")
    )


def key_from_ecc_public_blob(blob: bytes) -> ec.EllipticCurvePublicKey:
    """The P-256 public key in a CNG EccPublicBlob; ValueError for anything else."""
    if len(blob) != 8 + 2 * _P256:
        raise ValueError(f"EccPublicBlob of {len(blob)} bytes, expected {8 + 2 * _P256}")
    magic = int.from_bytes(blob[:4], "little")
    if magic != ECS1_MAGIC:
        raise ValueError(f"EccPublicBlob magic 0x{magic:08X}, expected 0x{ECS1_MAGIC:08X} (ECS1)")
    size = int.from_bytes(blob[4:8], "little")
    if size != _P256:
        raise ValueError(f"EccPublicBlob cbKey {size}, expected {_P256}")
    # Raises ValueError for a point that is not on the curve.
    return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), b"\x04" + blob[8:])


def p1363_signature(der: bytes) -> bytes:
    """A DER ECDSA signature (what `cryptography` writes) as IEEE P1363 r||s."""
    r, s = decode_dss_signature(der)
    return r.to_bytes(_P256, "big") + s.to_bytes(_P256, "big")


def verify_p1363(blob: bytes, signature: bytes, message: bytes) -> None:
    """Check an ECDSA P-256 / SHA-256 signature in .NET's formats; SignatureError if not."""
    try:
        public = key_from_ecc_public_blob(blob)
    except ValueError as exc:
        raise SignatureError(f"malformed public key: {exc}") from exc
    if len(signature) != 2 * _P256:
        raise SignatureError(
            f"malformed signature: {len(signature)} bytes, expected {2 * _P256} (IEEE P1363 r||s)"
        )
    r = int.from_bytes(signature[:_P256], "big")
    s = int.from_bytes(signature[_P256:], "big")
    try:
        public.verify(encode_dss_signature(r, s), message, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature as exc:
        raise SignatureError(
            "bundle signature does not match its statement (edited after signing, or another key)"
        ) from exc


@dataclass(frozen=True)
class Statement:
    """What the Windows collector signs: who, when, which key store, and every file's SHA-256."""

    hostname: str
    collected_at: str
    platform: str
    key_store: str
    files: dict[str, str]  # file name -> SHA-256, lower-case hex

    def text(self) -> str:
        return build_statement(
            self.hostname, self.collected_at, self.platform, self.key_store, self.files
        )


def build_statement(
    hostname: str, collected_at: str, platform: str, key_store: str, files: dict[str, str]
) -> str:
    """The canonical statement (docs/agent.md, "Signed bundles"): LF-ended lines,
    files in ordinal order of their names. collect.ps1 builds the same text."""
    lines = [
        STATEMENT_HEADER,
        f"hostname {hostname}",
        f"collected_at {collected_at}",
        f"platform {platform}",
        f"key_store {key_store}",
    ]
    lines += [f"file {files[name]} {name}" for name in sorted(files)]
    return "\n".join(lines) + "\n"


def parse_statement(text: str) -> Statement:
    """A statement back to its parts; ValueError unless it is exactly canonical."""
    if not text.endswith("\n"):
        raise ValueError("the statement does not end with a line feed")
    lines = text[:-1].split("\n")
    if lines[0] != STATEMENT_HEADER:
        raise ValueError(f"the statement does not start with {STATEMENT_HEADER}")
    values: dict[str, str] = {}
    for key, line in zip(_IDENTITY_KEYS, lines[1:5], strict=False):
        name, _, value = line.partition(" ")
        if name != key or not _VALUE.match(value):
            raise ValueError(f"statement line {line[:80]!r}: expected `{key} VALUE`")
        values[key] = value
    if len(values) != len(_IDENTITY_KEYS):
        raise ValueError("the statement is cut short")
    if values["key_store"] not in KEY_STORES:
        raise ValueError(f"key_store must be machine or user, got {values['key_store'][:20]!r}")
    files: dict[str, str] = {}
    for line in lines[5:]:
        parts = line.split(" ")
        if len(parts) != 3 or parts[0] != "file" or not _HEX64.match(parts[1]):
            raise ValueError(f"statement line {line[:80]!r}: expected `file SHA256 NAME`")
        if not _FILE_NAME.match(parts[2]) or ".." in parts[2]:
            raise ValueError(f"statement names an unsafe file {parts[2][:60]!r}")
        files[parts[2]] = parts[1]
    statement = Statement(**values, files=files)
    if statement.text() != text:
        raise ValueError("the statement is not canonical (files out of order or listed twice)")
    return statement


def verify_bundle_report(document: dict[str, Any]) -> Verified | None:
    """None when the report carries no bundle signature; Verified when it holds.

    Checks, from the report alone: the signature over the statement with the
    key it names; `manifest_digest` is the statement's SHA-256; the statement
    names this report's host, collection time, platform and key store. The
    facts themselves are derived from the signed files by `agent parse`: a report
    edited after parsing is caught only when parse signed it (`--key`) or when
    the bundle itself is given to ingest (docs/agent.md, "Signed bundles").
    """
    member = document.get(BUNDLE_SIGNATURE_FIELD)
    if member is None:
        return None
    try:
        blob = base64.b64decode(member["public_key"], validate=True)
        value = base64.b64decode(member["value"], validate=True)
        text = member["statement"]
        digest = member["manifest_digest"]
        key_store = member["key_store"]
    except (KeyError, TypeError, ValueError) as exc:
        raise SignatureError(f"malformed bundle signature: {exc}") from exc
    message = text.encode("utf-8")
    verify_p1363(blob, value, message)
    if hashlib.sha256(message).hexdigest() != digest:
        raise SignatureError("manifest_digest is not the SHA-256 of the signed statement")
    try:
        statement = parse_statement(text)
    except ValueError as exc:
        raise SignatureError(f"signed statement unreadable: {exc}") from exc
    mismatches = _statement_mismatches(statement, document, key_store)
    if mismatches:
        raise SignatureError(
            "the signed bundle statement is not this report's: " + "; ".join(mismatches)
        )
    public_b64 = base64.b64encode(blob).decode()
    return Verified(public_b64, key_fingerprint(public_b64), statement.key_store)


def _statement_mismatches(
    statement: Statement, document: dict[str, Any], key_store: Any
) -> list[str]:
    from itaudit.identity import hostname_key

    out = []
    reported = document["identity"]["hostname"]
    if hostname_key(statement.hostname) != hostname_key(reported):
        out.append(f"it names host {statement.hostname!r}, the report {reported!r}")
    if _instant(statement.collected_at) != _instant(document["collected_at"]):
        out.append(
            f"it was collected at {statement.collected_at}, the report at {document['collected_at']}"
        )
    if statement.platform != document["platform"]:
        out.append(f"platform {statement.platform} signed, {document['platform']} reported")
    if statement.key_store != key_store:
        out.append(f"key store {statement.key_store} signed, {str(key_store)[:20]} reported")
    return out


def _instant(value: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo else None


def is_signed(document: dict[str, Any]) -> bool:
    """A stored report is signed when it carries either signature: ingest verified it
    before storing (an invalid one is rejected), so presence in the store means valid."""
    return SIGNATURE_FIELD in document or BUNDLE_SIGNATURE_FIELD in document


def signature_summary(document: dict[str, Any]) -> str:
    """`hosts show`: who signed a stored (hence verified) report."""
    parts = []
    bundle = document.get(BUNDLE_SIGNATURE_FIELD)
    if isinstance(bundle, dict):
        parts.append(
            f"yes, by the Windows collector ({bundle.get('key_store')} key store, key "
            f"{key_fingerprint(bundle['public_key'])}), verified at ingest"
        )
    sig = document.get(SIGNATURE_FIELD)
    if isinstance(sig, dict):
        who = "parsed and signed by key" if parts else "yes, key"
        parts.append(f"{who} {key_fingerprint(sig['public_key'])}")
    return "; ".join(parts) or "no"
