"""Demo stages of the checker: the sample attestations, then the check itself."""

from __future__ import annotations

import zlib
from datetime import timedelta
from importlib import resources
from typing import Any

import yaml

from itaudit.check.attestations import record_attestation

SAMPLE_FILE = "attestations.yaml"
RECORDED_BY = "itaudit demo (sample)"


def sample_attestations(run: Any) -> list[dict[str, Any]]:
    """The demo's attestations with dates resolved against the demo's now."""
    text = resources.files("itaudit.demo").joinpath(SAMPLE_FILE).read_text(encoding="utf-8")
    today = run.now.date()
    out = []
    unit_ids = [u.id for u in run.org.units]
    for item in yaml.safe_load(text)["attestations"]:
        if "servers" in item:
            out.extend(_server_attestations(run, item, today))
            continue
        units = unit_ids if item["units"] == "all" else list(item["units"])
        units = [u for u in units if u not in set(item.get("except", ()))]
        day = today - timedelta(days=int(item["days_ago"]))
        expires = (
            today + timedelta(days=int(item["expires_in_days"]))
            if "expires_in_days" in item
            else None
        )
        for unit in units:
            # A stable, plausible decision number per unit and rule.
            n = 100 + zlib.crc32(f"{item['rule']}:{unit}".encode()) % 900
            ref = item["ref"].format(n=n, code=unit.upper(), date=day.strftime("%d/%m/%Y"))
            out.append(
                {"rule": item["rule"], "unit": unit, "ref": ref, "date": day, "expires": expires}
            )
    return out


def _server_attestations(run: Any, item: dict[str, Any], today: Any) -> list[dict[str, Any]]:
    """Per-machine attestations (a server's verified backup) for `servers:` items."""
    servers = [a for a in run.org.assets if a.type == "server"]
    wanted = {a.tag for a in servers} if item["servers"] == "all" else set(item["servers"])
    wanted -= set(item.get("except", ()))
    day = today - timedelta(days=int(item["days_ago"]))
    return [
        {
            "rule": item["rule"],
            "host": a.hostname,
            "asset_tag": a.tag,
            "ref": item["ref"].format(host=a.hostname or a.tag, date=day.strftime("%d/%m/%Y")),
            "date": day,
            "expires": None,
        }
        for a in servers
        if a.tag in wanted
    ]


def stage_attestations(run: Any) -> None:
    """Record the sample attestations (idempotent: a second demo adds none)."""
    added = 0
    items = sample_attestations(run)
    for item in items:
        _att, new = record_attestation(
            run.store,
            item["rule"],
            reference=item["ref"],
            evidence_date=item["date"],
            unit=item.get("unit"),
            hostname=item.get("host"),
            asset_tag=item.get("asset_tag"),
            expires=item["expires"],
            recorded_by=RECORDED_BY,
        )
        added += new
    run.echo(f"Attestations: {len(items)} sample records of management evidence ({added} new)")


def stage_check(run: Any) -> None:
    """Check every machine and unit against its profile; print the per-unit summary."""
    from itaudit.check.runs import run_check
    from itaudit.cli.check_cmd import print_summary
    from itaudit.profiles import load_profiles

    profiles = load_profiles(run.workspace.profiles, run.workspace.inventory)
    summary = run_check(run.store, run.org, profiles, now=run.now, run_by=RECORDED_BY)
    run.results["check"] = summary
    t = summary.totals
    run.echo(
        f"Check: run {summary.run_id}, {t['machines']} machines against {len(profiles.effective) - 1} unit "
        f"profiles: {t['failed']} failed, {t['errors']} unknown, {t['waived']} waived; "
        f"{summary.expired_waivers} expired waiver(s), {summary.expired_attestations} expired attestation(s)"
    )
    print_summary(summary, echo=lambda text: run.echo("  " + text.replace("\n", "\n  ")))
