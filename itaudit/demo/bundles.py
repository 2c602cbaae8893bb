"""Demo Windows machines as collector bundles, parsed by `itaudit agent parse`'s code.

Each demo Windows machine is written as the folder collect.ps1 writes
(manifest.json + one file per source, each file's SHA-256 in the manifest),
then turned into a HostReport by `itaudit.agent.collect.parse_bundle` — the
function `itaudit agent parse` calls — with the sample department's
catalogue (demo-security-products.yaml). So the demo, and every test built
on it, goes through the real Windows parsers.
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

from itaudit.agent.bundle import FORMAT, MANIFEST
from itaudit.agent.catalog import Catalog, load_catalog
from itaudit.demo import windows_security_sources  # noqa: F401  (registers its sources)
from itaudit.demo.windows_machine import UTC_OFFSET_MINUTES, WinMachine
from itaudit.demo.windows_sources import SOURCES, Failed, Text

DEMO_CATALOG = "demo-security-products.yaml"
_P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
SIMULATED = "itaudit demo: a sample machine, not collected from a real computer"


@cache
def demo_catalog() -> Catalog:
    """The shipped catalogue plus the sample department's products."""
    path = Path(str(resources.files(__package__).joinpath(DEMO_CATALOG)))
    return load_catalog([path])


def _json(value: Any) -> bytes:
    """ConvertTo-Json -Compress as Windows PowerShell 5.1 writes it (dates as \\/Date(ms)\\/)."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text.replace('"/Date(', '"\\/Date(').replace(')/"', ')\\/"').encode("utf-8")


def write_bundle(machine: WinMachine, folder: Path) -> Path:
    """Write the bundle folder of `machine` (created or refreshed); return it."""
    folder.mkdir(parents=True, exist_ok=True)
    sources: dict[str, Any] = {}
    for name, kind, target, render in SOURCES:
        value = render(machine)
        entry: dict[str, Any] = {"kind": kind, "target": target, "status": "ok"}
        if isinstance(value, Failed):
            entry.update(status=value.status, message=value.message)
            if value.code:
                entry["error_code"] = value.code
        else:
            if isinstance(value, Text):
                file, data = f"{name}.txt", value.value.encode("utf-8")
            else:
                file, data = f"{name}.json", _json(value)
            (folder / file).write_bytes(data)
            entry.update(file=file, sha256=hashlib.sha256(data).hexdigest())
        entry["duration_ms"] = 412 if name == "secedit-securitypolicy" else 12
        sources[name] = entry
    b = machine.release.build
    manifest = {
        "format": FORMAT,
        "platform": "windows",
        "collector": "powershell",
        "collector_version": "1",
        "collected_at": machine.collected.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "elevated": True,  # the IT officer runs the collector as administrator
        "hostname": machine.hostname,
        "ui_language": machine.language,
        "utc_offset_minutes": UTC_OFFSET_MINUTES,
        "powershell_version": f"5.1.{b}.{machine.ubr}",
        "duration_ms": machine.duration_ms,
        "simulated": SIMULATED,
        "sources": sources,
    }
    (folder / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=4), "utf-8")
    return folder


def demo_bundle_key(name: str) -> ec.EllipticCurvePrivateKey:
    """A deterministic per-machine collector key (P-256), so repeated demos keep
    their pinned keys, as `demo_key` does for the Linux agent's Ed25519 key."""
    seed = int.from_bytes(hashlib.sha256(f"itaudit-demo-collector:{name}".encode()).digest())
    return ec.derive_private_key(seed % (_P256_ORDER - 1) + 1, ec.SECP256R1())


def sign_bundle(folder: Path, key_name: str) -> None:
    """Sign the bundle folder exactly as collect.ps1 does (ECDSA P-256 over the
    statement of every file's digest; machine key store, as run by the officer)."""
    from itaudit.agent.bundle_signing import sign_bundle as sign

    sign(folder, demo_bundle_key(key_name), "machine", deterministic=True)


def parse(folder: Path, unit: str | None) -> dict[str, Any]:
    """The HostReport `itaudit agent parse` makes of the bundle (collector "demo")."""
    from itaudit.agent.collect import parse_bundle

    return parse_bundle(folder, demo_catalog(), unit, collector="demo")
