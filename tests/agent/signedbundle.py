"""Signed Windows bundles for tests, as collect.ps1 writes them.

A recorded fixture bundle (raw sources + manifest.json) is copied, its manifest
optionally re-dated, then signed the way the collector's `# -- signing ---`
block does, by `itaudit.agent.bundle_signing.sign_bundle`.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ec

from itaudit.agent.bundle_signing import sign_bundle

FIXTURES = Path(__file__).resolve().parent / "fixtures"
CASE = "win11-defender-only"  # host HO-TTR-LT02, collected as administrator


def p256_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def windows_bundle(target: Path, case: str = CASE, collected_at: str | None = None) -> Path:
    """An unsigned bundle folder copied from a fixture; `collected_at` re-dates it."""
    shutil.copytree(FIXTURES / case / "bundle", target)
    if collected_at is not None:
        path = target / "manifest.json"
        manifest = json.loads(path.read_bytes().decode("utf-8-sig"))
        manifest["collected_at"] = collected_at
        path.write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return target


def signed_windows_bundle(
    target: Path,
    key: ec.EllipticCurvePrivateKey,
    key_store: str = "machine",
    case: str = CASE,
    collected_at: str | None = None,
) -> Path:
    windows_bundle(target, case, collected_at)
    sign_bundle(target, key, key_store)
    return target
