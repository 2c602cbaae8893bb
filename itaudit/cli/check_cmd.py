"""`itaudit check`: evaluate every machine against its unit's profile, store the run."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from typing import Any

import click

from itaudit.cli.common import (
    EXIT_FINDINGS,
    CommandFailed,
    Env,
    Format,
    emit_rows,
    format_option,
    pass_env,
    workspace_options,
)
from itaudit.errors import UsageError
from itaudit.profiles.model import SEVERITIES

EVIDENCE_CLIP = 400  # characters of one evidence line in --show-failures


def parse_moment(text: str) -> datetime:
    """`2026-11-20` or `2026-11-20T08:00:00Z` (UTC when no offset) for --now."""
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise UsageError(
            f"--now {text!r} is not a date or date-time (2026-11-20T08:00:00Z)"
        ) from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}"


def summary_rows(units: list[dict[str, Any]], totals: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for u in [*units, {**totals, "unit": "TOTAL", "profile": ""}]:
        ur = u["unit_rules"]
        rows.append(
            {
                "unit": u["unit"] or "(no unit)",
                "profile": u["profile"] or "",
                "machines": u["machines"],
                "compliant": f"{u['compliant']} ({_pct(u['compliant_share'])}%)",
                "mean_score": _pct(u["mean_score"]),
                "passed": u["passed"],
                "failed": u["failed"],
                "errors": u["errors"],
                "not_applicable": u["not_applicable"],
                "waived": u["waived"],
                "unit_rules": f"{ur['passed']}/{ur['passed'] + ur['failed'] + ur['errors']}",
            }
        )
    return rows


def print_summary(summary: Any, echo: Any = click.echo) -> None:
    """The per-unit table the command and the demo print."""
    from tabulate import tabulate

    rows = summary_rows(summary.units, summary.totals)
    columns = [
        "unit",
        "machines",
        "compliant",
        "mean_score",
        "passed",
        "failed",
        "errors",
        "not_applicable",
        "waived",
        "unit_rules",
    ]
    headers = [
        "Unit",
        "Machines",
        "Compliant",
        "Score %",
        "Pass",
        "Fail",
        "Error",
        "N/A",
        "Waived",
        "Unit rules ok",
    ]
    echo(
        tabulate(
            [[r[c] for c in columns] for r in rows],
            headers=headers,
            tablefmt="simple",
            disable_numparse=True,
        )
    )


@click.command()
@click.option("--unit", "-u", metavar="UNIT", help="Only this unit's machines and unit-wide rules.")
@click.option(
    "--host", metavar="HOST", help="Only this machine (host name, asset tag or store id)."
)
@click.option(
    "--framework",
    metavar="ID",
    help="Only the rules that evidence this framework's requirements (e.g. circular-12-2022).",
)
@click.option(
    "--fail-on",
    type=click.Choice(SEVERITIES),
    default="high",
    show_default=True,
    help="Exit 1 when a rule of this severity or higher fails.",
)
@click.option(
    "--now",
    "as_of",
    metavar="DATETIME",
    help="Check as of this time (UTC), for replays: signature, patch and report ages are computed against it [default: now].",
)
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    metavar="N",
    help="Processes checking machines in parallel [default: one per CPU from 10,000 machines, else 1].",
)
@click.option(
    "--show-failures",
    is_flag=True,
    help="Also list every failed and unknown (error) result with its evidence.",
)
@format_option(Format.TABLE, Format.JSON)
@workspace_options
@pass_env
def check(
    env: Env,
    unit: str | None,
    host: str | None,
    framework: str | None,
    fail_on: str,
    as_of: str | None,
    workers: int | None,
    show_failures: bool,
    fmt: str,
) -> None:
    """Check every machine's latest report against its unit's profile; store the run.

    Register computers that never reported are checked too (they fail
    L1-REG-02), and so is each unit's management evidence (attestations).
    Prints a summary per unit: machines, fully compliant machines (no failed
    and no unknown rule), mean score (passed / (passed + failed + could not check) per machine),
    and every pass, fail, error (fact not reported), not-applicable and waived
    result counted. Exit 0 when no rule at or above --fail-on failed, 1
    otherwise, 2 on usage or profile errors.
    """
    from itaudit.check.runs import run_check
    from itaudit.profiles import load_profiles

    now = parse_moment(as_of) if as_of else None
    org = env.org()
    ps = load_profiles(env.workspace.profiles, env.workspace.inventory)
    store = env.store()
    tty = sys.stderr.isatty()

    def progress(done: int) -> None:
        if tty:
            click.echo(f"\rchecked {done:,} machines…", nl=False, err=True)

    summary = run_check(
        store,
        org,
        ps,
        now=now,
        unit=unit,
        host=host,
        framework=framework,
        progress=progress,
        workers=workers,
    )
    if tty and summary.totals["machines"] >= 5000:
        click.echo("", err=True)
    failing = summary.failed_at_or_above(fail_on)
    expired = _expired(env, summary)
    if fmt == Format.JSON:
        out = summary.as_dict()
        out["fail_on"] = fail_on
        out["failed_at_or_above"] = failing
        out["expired"] = expired
        out["results"] = json_results(env, summary.run_id)
        out["unknown_products"] = [p.as_dict() for p in _unknown_products(env, unit)]
        click.echo(json.dumps(out, ensure_ascii=False, indent=2))
    else:
        print_summary(summary)
        sev = summary.totals["failed_by_severity"]
        click.echo("\nFailed rules by severity: " + ", ".join(f"{s} {sev[s]}" for s in SEVERITIES))
        if summary.expired_waivers or summary.expired_attestations:
            click.echo(
                f"Expired: {summary.expired_waivers} waiver(s), {summary.expired_attestations} attestation(s) "
                "(an expired waiver no longer excuses a failure)"
            )
            for w in expired["waivers"]:
                click.echo(
                    f"  waiver {w['rule']} for {w['target']} expired on {w['expires']} "
                    f"({w['decision']}; {w['where']})"
                )
            for a in expired["attestations"]:
                click.echo(
                    f"  attestation {a['rule']} for {a['target']} expired on {a['expires']} "
                    f"({a['reference']})"
                )
        click.echo(
            f"Check run {summary.run_id} stored (as of {summary.checked_at:%Y-%m-%d %H:%M} UTC)."
        )
        if show_failures:
            _print_failures(env, summary.run_id)
        from itaudit.check.unknown_products import summary_lines

        for line in summary_lines(_unknown_products(env, unit)):
            click.echo(line)
    if failing:
        raise CommandFailed(
            f"{failing} failed rule result(s) at or above '{fail_on}'", EXIT_FINDINGS
        )


def _unknown_products(env: Env, unit: str | None) -> list[Any]:
    """Security products seen on the fleet that the catalogue does not know (catalog unknown)."""
    from itaudit.check.unknown_products import unknown_products, workspace_catalog

    return unknown_products(env.store(), workspace_catalog(env.workspace.root), unit=unit)


def _expired(env: Env, summary: Any) -> dict[str, list[dict[str, Any]]]:
    """The expired waivers and attestations the run met, named (the summary only counts them)."""
    out: dict[str, list[dict[str, Any]]] = {"waivers": [], "attestations": []}
    if not (summary.expired_waivers or summary.expired_attestations):
        return out
    from itaudit.check.results import load_run

    run = load_run(env.store(), summary.run_id)
    out["waivers"] = [
        {
            "rule": w.rule,
            "target": w.target,
            "expires": w.expires.isoformat(),
            "decision": w.decision,
            "where": w.where,
        }
        for w in run.waivers
        if w.expired
    ]
    out["attestations"] = [
        {
            "rule": a.rule,
            "target": a.target,
            "expires": a.expires.isoformat() if a.expires else None,
            "reference": a.reference,
        }
        for a in run.attestations
        if a.state == "expired"
    ]
    return out


def json_results(env: Env, run_id: int) -> list[dict[str, Any]]:
    """Per subject and rule: status, severity, waiver, and evidence for every non-pass.

    A stable output for scripts (docs/reports.md, "check --format json"): keys are only added.
    """
    from itaudit.check.results import iter_results, load_run

    run = load_run(env.store(), run_id)
    rows = []
    for r in iter_results(env.store(), run):
        w = r.waiver
        rows.append(
            {
                "kind": r.kind,
                "unit": r.unit,
                "host": r.hostname,
                "asset_tag": r.asset_tag,
                "rule": r.rule_id,
                "status": r.status,
                "severity": r.severity,
                "waiver": None
                if w is None
                else {
                    "reason": w.reason,
                    "approved_by": w.approved_by,
                    "expires": w.expires.isoformat(),
                    "expired": w.expired,
                },
                "evidence": None if r.status == "pass" else list(r.evidence),
            }
        )
    return rows


def _print_failures(env: Env, run_id: int) -> None:
    from itaudit.check.results import iter_results, load_run

    run = load_run(env.store(), run_id)
    rows = []
    for r in iter_results(env.store(), run):
        if r.status in ("fail", "error"):
            # The tests that held say nothing about why the rule failed: show the
            # others whole rather than cut the deciding value off.
            deciding = [line for line in r.evidence if not line.endswith(": met")]
            rows.append(
                {
                    "unit": r.unit,
                    "subject": r.subject,
                    "rule": r.rule_id,
                    "severity": r.severity,
                    "status": r.status,
                    "evidence": " | ".join(line[:EVIDENCE_CLIP] for line in deciding or r.evidence),
                }
            )
    click.echo("")
    emit_rows(rows, Format.TABLE, ["unit", "subject", "rule", "severity", "status", "evidence"])
