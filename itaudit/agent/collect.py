"""Run the probes of a platform in their declared order and assemble one HostReport.

The same function serves the live agent (`agent collect`) and recorded
bundles (`agent parse`, the fixtures): only the context differs.
"""

from __future__ import annotations

import hashlib
import json
import re
import socket
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from itaudit import __version__
from itaudit.agent import AGENT_NAME
from itaudit.agent.bundle import Bundle, BundleContext, BundleWriter
from itaudit.agent.bundle_signing import verify_bundle
from itaudit.agent.catalog import Catalog, load_catalog
from itaudit.agent.context import OSContext, RecordingContext, live_context
from itaudit.agent.errors import AgentError, BundleError
from itaudit.agent.probes import probes_for
from itaudit.agent.probes.base import ProbeRun, hostname_label, iso
from itaudit.signing import BUNDLE_SIGNATURE_FIELD

SECTIONS = ("os", "hardware", "network", "security", "patches")


# The same characters as itaudit.schema.UNSTORABLE, kept here because importing the
# schema package loads jsonschema, which the agent defers until its probes have started.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def new_report(
    platform: str, collected_at: datetime, unit: str | None, collector: str, report_id: str
) -> dict[str, Any]:
    return {
        "schema": "itaudit/host-report/1",
        "report_id": report_id,
        "collected_at": iso(collected_at),
        "unit": unit,
        "platform": platform if platform in ("windows", "linux", "macos") else "other",
        "agent": {
            "name": AGENT_NAME,
            "version": __version__,
            "collector": collector,
            "elevated": None,
            "duration_ms": None,
        },
        "identity": {
            "hostname": None,
            "fqdn": None,
            "hardware_uuid": None,
            "serial": None,
            "macs": [],
            "asset_tag": None,
        },
        **{name: {} for name in SECTIONS},
        "software": [],
        "errors": [],
    }


def collect(
    ctx: OSContext,
    catalog: Catalog,
    *,
    unit: str | None = None,
    collector: str = "python",
    collected_at: datetime | None = None,
    report_id: str | None = None,
    hostname_hint: str | None = None,
    clock: Callable[[], float] = time.monotonic,
    lean: bool = False,
) -> dict[str, Any]:
    """Run every probe of ctx.platform and return a schema-valid report.

    lean=True validates without the compiled validator (25 MB less memory on
    a workstation, slower per report: right for one report, wrong for many).
    """
    started = clock()
    now = collected_at or datetime.now(UTC)
    report = new_report(ctx.platform, now, unit, collector, report_id or str(uuid.uuid4()))
    report["agent"]["elevated"] = ctx.elevated
    run = ProbeRun(ctx, catalog, report, now)
    probes = probes_for(ctx.platform)
    for probe in probes:
        probe.prefetch(run)
    # Loaded while the background reads run rather than after them: the report is checked
    # against it at the end.
    from itaudit.schema import load_schema, validate_report

    load_schema()
    try:
        for probe in probes:
            run.probe = probe.name
            try:
                probe.collect(run)
            except Exception as exc:
                # A probe met output it did not expect: say so, and let the others run.
                run.error("unparsed", f"{type(exc).__name__}: {exc}"[:1000], probe.name)
    finally:
        # Nothing may still be reading (or recording into a bundle) once the report is out.
        run.settle()
    ident = report["identity"]
    if not ident["hostname"]:
        ident["hostname"] = hostname_label(hostname_hint) or "unknown"
        run.error(
            "absent",
            f"host name not reported by the probes; using {ident['hostname']!r}",
            "identity.hostname",
        )
    report["agent"]["duration_ms"] = max(0, int((clock() - started) * 1000))
    fit_to_schema(report)
    problems = validate_report(report, compiled=not lean)
    if problems:
        raise AgentError(
            "the agent built a report that does not match the schema (a bug; please report it): "
            + "; ".join(problems[:5])
        )
    return report


def collect_live(
    catalog: Catalog, unit: str | None = None, save_bundle: Path | None = None
) -> dict[str, Any]:
    """Collect on this machine; optionally keep the raw outputs as a bundle."""
    ctx = live_context()
    writer = None
    if save_bundle is not None:
        writer = BundleWriter(save_bundle, ctx.platform, "python")
        ctx = RecordingContext(ctx, writer)
    try:
        report = collect(ctx, catalog, unit=unit, hostname_hint=socket.gethostname(), lean=True)
    finally:
        # On Windows this removes the collector's temporary bundle: raw outputs stay only
        # where --save-bundle asked for them.
        ctx.close()
    if writer is not None:
        writer.finish(
            report["collected_at"],
            report["agent"]["elevated"],
            report["identity"]["hostname"],
            ctx.utc_offset_minutes,
            report["agent"]["duration_ms"],
        )
    return report


def parse_bundle(
    path: Path, catalog: Catalog, unit: str | None = None, collector: str | None = None
) -> dict[str, Any]:
    """A HostReport from a recorded bundle (folder or zip).

    A signed bundle (signature.json) is verified first: a signed file changed
    after collection stops the parse with BundleError naming that file.
    """
    bundle = Bundle.open(path)
    bundle_signature = verify_bundle(bundle)
    collected = bundle.collected_at
    if collected is None:
        raise BundleError(
            f"{bundle.label}:manifest.json", "collected_at is missing or not a UTC date-time"
        )
    # The same bundle always gives the same report id, so parsing it twice
    # stores it once.
    digest = hashlib.sha256(json.dumps(bundle.manifest, sort_keys=True).encode()).digest()
    report_id = str(uuid.UUID(bytes=digest[:16], version=4))
    hint = bundle.manifest.get("hostname")
    report = collect(
        BundleContext(bundle),
        catalog,
        unit=unit,
        collector=collector or bundle.collector,
        collected_at=collected,
        report_id=report_id,
        hostname_hint=hint if isinstance(hint, str) else None,
    )
    duration = bundle.manifest.get("duration_ms")
    if isinstance(duration, int) and 0 <= duration <= 86_400_000:
        report["agent"]["duration_ms"] = duration
    if bundle_signature is not None:
        # Ingest verifies it again from the report alone; parse only copies it.
        report[BUNDLE_SIGNATURE_FIELD] = bundle_signature
    return report


# -- bounding -----------------------------------------------------------------


def fit_to_schema(report: dict[str, Any]) -> None:
    """Cut what exceeds the schema's bounds instead of losing the whole report.

    Strings longer than maxLength are shortened, lists longer than maxItems
    cut (with an error entry), a value that breaks a pattern becomes null
    where null is allowed. Machine output is untrusted: a display name of
    10,000 characters must not stop a report from being produced.
    """
    from itaudit.schema import load_schema

    notes: list[str] = []
    _fit(report, load_schema(), "", notes)
    for note in notes[:20]:
        entry = {"probe": "report", "kind": "unparsed", "message": note[:1024]}
        if len(report["errors"]) < 500 and entry not in report["errors"]:
            report["errors"].append(entry)


def _fit(value: Any, schema: dict[str, Any], path: str, notes: list[str]) -> Any:
    types = schema.get("type")
    types = [types] if isinstance(types, str) else (types or [])
    nullable = "null" in types or (None in schema.get("enum", [None]) and "enum" in schema)
    if isinstance(value, dict) and "properties" in schema:
        props = schema["properties"]
        for key in list(value):
            if key not in props:
                if schema.get("additionalProperties") is False:
                    del value[key]
                    notes.append(f"{path}.{key}: dropped (not in the schema)")
                continue
            value[key] = _fit(value[key], props[key], f"{path}.{key}" if path else key, notes)
        return value
    if isinstance(value, list):
        items = schema.get("items", {})
        limit = schema.get("maxItems")
        if limit is not None and len(value) > limit:
            notes.append(f"{path}: {len(value)} items, kept the first {limit}")
            del value[limit:]
        for i, item in enumerate(value):
            value[i] = _fit(item, items, f"{path}[]", notes)
        return value
    if isinstance(value, str):
        if _UNSTORABLE.search(value):
            # A NUL or a lone surrogate in what a machine wrote (a registry value, a
            # display name) would get the whole report refused: replace the characters.
            value = _UNSTORABLE.sub("\ufffd", value)
            notes.append(f"{path}: NUL or lone surrogate replaced")
        limit = schema.get("maxLength")
        if limit is not None and len(value) > limit:
            value = value[:limit]
        pattern = schema.get("pattern")
        if pattern and not re.search(pattern, value) and nullable:
            notes.append(f"{path}: value not allowed here, left out")
            return None
        enum = schema.get("enum")
        if enum is not None and value not in enum and nullable:
            return None
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        lo, hi = schema.get("minimum"), schema.get("maximum")
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            return None if "null" in types else value
    return value


def load_catalogs(extra: list[Path], workspace_file: Path | None) -> Catalog:
    files = []
    if workspace_file is not None and workspace_file.is_file():
        files.append(workspace_file)
    files.extend(extra)
    return load_catalog(files)
