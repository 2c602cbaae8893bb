"""Signed bundles: the Windows collector's ECDSA P-256 signature over its files.

collect.ps1 (its `# -- signing ---` block) writes `signature.json` last:

    {"format": "itaudit-bundle-signature/1", "algorithm": "ecdsa-p256-sha256",
     "key_store": "machine" | "user",
     "public_key": base64 of the CNG EccPublicBlob (72 bytes),
     "statement": the signed text (itaudit.signing.build_statement),
     "signature": base64 of IEEE P1363 r||s (64 bytes)}

The statement names the host, the collection time, the platform, the key store
and the SHA-256 of every file the bundle held when it was signed (manifest.json
included, so the sources' statuses and hashes are covered too). `verify_bundle`
checks all of it against the bundle's content at `agent parse`; what parse
copies into the report is verified again by ingest (itaudit.signing).
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from itaudit.agent.bundle import MANIFEST, Bundle, _load_json
from itaudit.agent.errors import BundleError
from itaudit.signing import (
    BUNDLE_ALGORITHM,
    KEY_STORES,
    SignatureError,
    build_statement,
    ecc_public_blob,
    p1363_signature,
    parse_statement,
    verify_p1363,
)

SIGNATURE_FILE = "signature.json"
SIGNATURE_FORMAT = "itaudit-bundle-signature/1"


def sign_bundle(
    folder: Path,
    key: ec.EllipticCurvePrivateKey,
    key_store: str = "machine",
    *,
    deterministic: bool = False,
) -> Path:
    """Sign a bundle folder as collect.ps1 does; returns the signature.json written.

    `key` is a P-256 private key (`ec.generate_private_key(ec.SECP256R1())`);
    `key_store` says where the collector kept it (machine when run as
    administrator or SYSTEM, user otherwise). Every file already in the folder
    is covered, so sign last, after manifest.json is written. `deterministic`
    uses RFC 6979 nonces (the same bundle gives the same signature): the demo
    uses it so that a re-run stores nothing twice; collect.ps1's CNG signatures
    are randomised, and both verify alike.
    """
    if key_store not in KEY_STORES:
        raise ValueError(f"key_store must be machine or user, not {key_store!r}")
    if not isinstance(key.curve, ec.SECP256R1):
        raise ValueError(f"a P-256 key is needed, not {key.curve.name}")
    manifest = json.loads((folder / MANIFEST).read_bytes().decode("utf-8-sig"))
    files = {
        path.name: hashlib.sha256(path.read_bytes()).hexdigest()
        for path in folder.iterdir()
        if path.is_file() and path.name != SIGNATURE_FILE
    }
    statement = build_statement(
        manifest["hostname"], manifest["collected_at"], manifest["platform"], key_store, files
    )
    der = key.sign(
        statement.encode("utf-8"), ec.ECDSA(hashes.SHA256(), deterministic_signing=deterministic)
    )
    document = {
        "format": SIGNATURE_FORMAT,
        "algorithm": BUNDLE_ALGORITHM,
        "key_store": key_store,
        "public_key": base64.b64encode(ecc_public_blob(key.public_key())).decode(),
        "statement": statement,
        "signature": base64.b64encode(p1363_signature(der)).decode(),
    }
    path = folder / SIGNATURE_FILE
    path.write_text(json.dumps(document, indent=4), encoding="utf-8")
    return path


def verify_bundle(bundle: Bundle) -> dict[str, Any] | None:
    """None for an unsigned bundle; else the report's `bundle_signature` member.

    Raises BundleError, naming the file, when the signature does not hold: a
    signed file changed or missing, the manifest's identity not the signed one,
    or a signature that does not verify with the key it names.
    """
    if SIGNATURE_FILE not in bundle.file_names():
        return None
    where = f"{bundle.label}:{SIGNATURE_FILE}"
    doc = _load_json(bundle.read_file(SIGNATURE_FILE), where)
    if not isinstance(doc, dict) or doc.get("format") != SIGNATURE_FORMAT:
        raise BundleError(where, f"not an {SIGNATURE_FORMAT} document")
    if doc.get("algorithm") != BUNDLE_ALGORITHM:
        raise BundleError(where, f"algorithm must be {BUNDLE_ALGORITHM}")
    fields = {k: doc.get(k) for k in ("key_store", "public_key", "statement", "signature")}
    missing = [k for k, v in fields.items() if not isinstance(v, str)]
    if missing:
        raise BundleError(where, f"missing or not text: {', '.join(missing)}")
    text: str = fields["statement"]  # type: ignore[assignment]
    try:
        blob = base64.b64decode(fields["public_key"], validate=True)  # type: ignore[arg-type]
        value = base64.b64decode(fields["signature"], validate=True)  # type: ignore[arg-type]
        verify_p1363(blob, value, text.encode("utf-8"))
        statement = parse_statement(text)
    except (ValueError, SignatureError) as exc:
        raise BundleError(where, str(exc)) from exc
    if statement.key_store != fields["key_store"]:
        raise BundleError(where, f"key_store differs from the signed one ({statement.key_store})")
    _check_identity(bundle, statement.hostname, statement.collected_at, statement.platform)
    _check_files(bundle, statement.files)
    return {
        "algorithm": BUNDLE_ALGORITHM,
        "key_store": statement.key_store,
        "public_key": fields["public_key"],
        "statement": text,
        "manifest_digest": hashlib.sha256(text.encode("utf-8")).hexdigest(),
        "value": fields["signature"],
    }


def _check_identity(bundle: Bundle, hostname: str, collected_at: str, platform: str) -> None:
    where = f"{bundle.label}:{MANIFEST}"
    m = bundle.manifest
    for key, signed in (
        ("hostname", hostname),
        ("collected_at", collected_at),
        ("platform", platform),
    ):
        if m.get(key) != signed:
            raise BundleError(
                where, f"{key} {str(m.get(key))[:64]!r} is not the signed one ({signed!r})"
            )


def _check_files(bundle: Bundle, signed: dict[str, str]) -> None:
    present = set(bundle.file_names())
    # Files the manifest uses must be signed; a file added later that nothing
    # reads (desktop.ini...) is ignored, since parse never opens it.
    used = {MANIFEST} | {e.file for e in bundle.sources.values() if e.file is not None}
    for name in sorted(used - set(signed)):
        if name in present:
            raise BundleError(
                f"{bundle.label}:{name}", "not covered by the signature (added after signing)"
            )
    missing = [name for name in sorted(signed) if name not in present]
    if missing:
        raise BundleError(
            f"{bundle.label}:{missing[0]}", "signed, but missing from the bundle" + _also(missing)
        )
    changed = [
        name
        for name, digest in sorted(signed.items())
        if hashlib.sha256(bundle.read_file(name)).hexdigest() != digest
    ]
    if changed:
        raise BundleError(
            f"{bundle.label}:{changed[0]}",
            "changed after signing (its SHA-256 differs from the signed one)" + _also(changed),
        )


def _also(names: list[str]) -> str:
    rest = names[1:]
    if not rest:
        return ""
    shown = ", ".join(rest[:10]) + (f" and {len(rest) - 10} more" if len(rest) > 10 else "")
    return f"; so are {shown}"
