"""`itaudit attest RULE ...` (record evidence) and `itaudit attest list`."""

from __future__ import annotations

import re
from dataclasses import asdict
from datetime import date
from pathlib import Path
from typing import Any

import click

from itaudit.cli.common import Env, Format, emit_rows, format_option, pass_env, workspace_options
from itaudit.errors import UsageError

_RULE_LIKE = re.compile(r"^[A-Za-z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)+$")


class _RecordByDefault(click.Group):
    """`itaudit attest RULE ...` means `itaudit attest record RULE ...`."""

    def resolve_command(self, ctx: click.Context, args: list[str]) -> Any:
        # Only something shaped like a rule id is taken as one: a mistyped
        # sub-command (`itaudit attest lst`) gets "no such command", not a
        # confusing "missing --ref".
        if args and args[0] not in self.commands and _RULE_LIKE.match(args[0]):
            args = ["record", *args]
        return super().resolve_command(ctx, args)


def _day(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError as exc:
        raise UsageError(f"{option} {value!r} is not a date (YYYY-MM-DD)") from exc


def _unit_of(org: Any, att: Any) -> str | None:
    """The attestation's unit, or for a machine's, the unit the register puts it in."""
    if att.unit is None and att.asset_tag:
        asset = org.asset(att.asset_tag)
        return asset.unit if asset else None
    return att.unit


def valid_days_for(ps: Any, org: Any, att: Any) -> int | None:
    """The rule's valid_days in the effective profile of the attestation's unit."""
    unit_id = _unit_of(org, att)
    unit = org.unit(unit_id) if unit_id else None
    eff = ps.effective.get(unit.profile) if unit else ps.base()
    er = eff.get(att.rule_id) if eff else None
    pv = er.params.get("valid_days") if er else None
    return int(pv.value) if pv is not None and pv.value is not None else None


@click.group(cls=_RecordByDefault)
def attest() -> None:
    """Record evidence for the management rules no machine can show, or list it.

    \b
    itaudit attest L1-MGT-01 --unit ho --ref "1052/QĐ-SLĐTBXH" --date 2026-03-02 --file qd.pdf
    itaudit attest L1-MGT-06 --unit dvvl --ref "Biên bản thử khôi phục" --date 2026-09-10 --expires 2027-03-10
    itaudit attest list [--unit U] [--rule R]

    An attestation expires on --expires, or else after the rule's valid_days
    parameter; `itaudit check` then fails the rule again.
    """


@attest.command("record")
@click.argument("rule")
@click.option(
    "--unit", "-u", metavar="UNIT", help="The unit the evidence is for (unit-wide rules)."
)
@click.option(
    "--host",
    metavar="HOST",
    help="The machine the evidence is for (host name or asset tag), for rules checked per machine.",
)
@click.option(
    "--ref",
    "reference",
    required=True,
    metavar="TEXT",
    help="Decision, minutes or document number.",
)
@click.option(
    "--date",
    "when",
    required=True,
    metavar="YYYY-MM-DD",
    help="Date of the evidence (signature or meeting date); not after today.",
)
@click.option(
    "--expires",
    metavar="YYYY-MM-DD",
    help="Last day the evidence counts [default: date + the rule's valid_days].",
)
@click.option(
    "--file",
    "file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The document: its name, size and SHA-256 are stored (never its content; at most 100 MB).",
)
@click.option("--note", metavar="TEXT", help="Free text kept with the attestation.")
@click.option("--by", "actor", metavar="NAME", help="Who records it [default: the current user].")
@workspace_options
@pass_env
def record(
    env: Env,
    rule: str,
    unit: str | None,
    host: str | None,
    reference: str,
    when: str,
    expires: str | None,
    file: Path | None,
    note: str | None,
    actor: str | None,
) -> None:
    """Record an attestation for RULE (an attestation rule id such as L1-MGT-01)."""
    from itaudit.check.attestations import record_attestation, takes_unit_attestation
    from itaudit.profiles import load_profiles
    from itaudit.store import utcnow

    ps = load_profiles(env.workspace.profiles, env.workspace.inventory)
    rule = rule.strip().upper()  # rule ids are upper case; `l1-mgt-01` means L1-MGT-01
    found = ps.rules().get(rule)
    if found is None:
        attestable = sorted(r.id for r in ps.rules().values() if r.kind == "attestation")
        raise UsageError(f"no rule {rule!r}; attestation rules: {', '.join(attestable)}")
    if found.kind != "attestation":
        raise UsageError(f"{rule} is checked from the machines' reports: it takes no attestation")
    if (unit is None) == (host is None):
        raise UsageError("give exactly one of --unit or --host")
    if found.scope == "unit" and unit is None:
        raise UsageError(f"{rule} is recorded per unit: use --unit")
    if found.scope == "host" and host is None and not takes_unit_attestation(found):
        raise UsageError(f"{rule} is recorded per machine: use --host")
    org = env.org()
    hostname = asset_tag = None
    if unit is not None and org.unit(unit) is None:
        raise UsageError(f"unknown unit {unit!r}; units: {', '.join(u.id for u in org.units)}")
    if host is not None:
        asset = org.asset(host) or next(
            (a for a in org.assets if a.hostname and a.hostname.lower() == host.lower()), None
        )
        row = env.store().host(host)
        if asset is None and row is None:
            raise UsageError(f"no machine {host!r} in the register or the store")
        asset_tag = asset.tag if asset else row.asset_tag if row else None
        hostname = (asset.hostname if asset and asset.hostname else None) or (
            row.hostname if row else None
        )
        if asset is not None and asset.type not in found.applies.types:
            raise UsageError(
                f"{rule} applies to {found.applies.describe()}; {asset.tag} is a {asset.type}"
            )
    evidence_date = _day(when, "--date")
    assert evidence_date is not None
    today = max(utcnow().date(), date.today())  # the officer's local day may be ahead of UTC
    if evidence_date > today:
        raise UsageError(
            f"--date {evidence_date} is after today ({today}): record evidence once it exists"
        )
    att, new = record_attestation(
        env.store(),
        rule,
        reference=reference,
        evidence_date=evidence_date,
        unit=unit,
        hostname=hostname,
        asset_tag=asset_tag,
        expires=_day(expires, "--expires"),
        file=file,
        note=note,
        recorded_by=actor,
    )
    expiry = att.effective_expiry(valid_days_for(ps, org, att))
    what = "recorded" if new else "already recorded"
    click.echo(
        f"{rule} for {att.target}: {what} (#{att.id}), {att.reference}, dated {att.date}"
        + (f", valid until {expiry}" if expiry else ", no expiry")
        + (f"; file {att.file_name} sha256 {att.file_sha256}" if att.file_sha256 else "")
    )


@attest.command("list")
@click.option("--unit", "-u", metavar="UNIT", help="Only this unit's attestations.")
@click.option("--rule", metavar="RULE", help="Only this rule's attestations.")
@format_option(Format.TABLE, Format.JSON, Format.CSV)
@workspace_options
@pass_env
def list_(env: Env, unit: str | None, rule: str | None, fmt: str) -> None:
    """List recorded attestations, newest first per rule and unit, with their state today."""
    from itaudit.check.attestations import list_attestations
    from itaudit.profiles import load_profiles
    from itaudit.store import utcnow

    ps = load_profiles(env.workspace.profiles, env.workspace.inventory)
    org = env.org()
    # A typo must not look like "nothing recorded".
    if unit is not None and org.unit(unit) is None:
        raise UsageError(f"unknown unit {unit!r}; units: {', '.join(u.id for u in org.units)}")
    if rule is not None:
        rule = rule.strip().upper()
        if rule not in ps.rules() or ps.rules()[rule].kind != "attestation":
            attestable = sorted(r.id for r in ps.rules().values() if r.kind == "attestation")
            raise UsageError(
                f"no attestation rule {rule!r}; attestation rules: {', '.join(attestable)}"
            )
    today = utcnow().date()
    rows = []
    for att in list_attestations(env.store(), rule):
        if unit is not None and _unit_of(org, att) != unit:
            continue  # a unit's list includes what was recorded for its machines
        valid_days = valid_days_for(ps, org, att)
        expiry = att.effective_expiry(valid_days)
        row = asdict(att)
        row.update(
            target=att.target,
            effective_expiry=expiry.isoformat() if expiry else None,
            state=att.state(today, valid_days),
        )
        rows.append(row)
    emit_rows(
        rows,
        fmt,
        [
            "rule_id",
            "target",
            "reference",
            "date",
            "effective_expiry",
            "state",
            "file_name",
            "recorded_by",
        ],
        ["Rule", "For", "Reference", "Date", "Valid until", "State", "File", "Recorded by"],
    )
