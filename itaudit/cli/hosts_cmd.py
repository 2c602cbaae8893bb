"""`itaudit hosts`, `hosts show`, `hosts history`, `hosts rekey`, `hosts resolve`,
`hosts revoke`."""

from __future__ import annotations

import json
from dataclasses import asdict

import click

from itaudit.cli.common import Env, Format, emit_rows, format_option, pass_env, workspace_options
from itaudit.errors import InputError, UsageError
from itaudit.hostview import conflict_text, host_lines, host_sections, never_reported
from itaudit.store import HostRow


def _org_or_none(env: Env):
    try:
        return env.org()
    except InputError:
        return None


def _resolve(env: Env, ref: str) -> HostRow:
    host = env.store().host(ref)
    if host is None:
        raise UsageError(f"no host {ref!r} in the store (see `itaudit hosts`)")
    return host


@click.group(invoke_without_command=True)
@click.option("--unit", "-u", metavar="UNIT", help="Only this unit's hosts.")
@click.option(
    "--missing", is_flag=True, help="List register computers that have never reported instead."
)
@format_option(Format.TABLE, Format.JSON, Format.CSV)
@workspace_options
@pass_env
@click.pass_context
def hosts(ctx: click.Context, env: Env, unit: str | None, missing: bool, fmt: str) -> None:
    """List the hosts in the store with their latest report.

    Columns: unit, host name, type (from the register, else the hardware),
    operating system, age of the latest report, matched asset tag and how it
    was matched (hardware_uuid, serial, mac or hostname).
    """
    if ctx.invoked_subcommand is not None:
        return
    org = _org_or_none(env)
    if unit and org and org.unit(unit) is None:
        raise UsageError(f"unknown unit {unit!r}; units: {', '.join(u.id for u in org.units)}")
    if missing:
        if org is None:
            raise UsageError("--missing needs a valid asset register (see `itaudit org validate`)")
        rows = [
            {
                "unit": a.unit,
                "asset": a.tag,
                "type": a.type,
                "hostname": a.hostname,
                "assigned_to": a.assigned_to,
                "secret": a.secret,
            }
            for a in never_reported(env.store(), org, unit)
        ]
        emit_rows(rows, fmt, ["unit", "asset", "type", "hostname", "assigned_to", "secret"])
        return
    lines = host_lines(env.store(), org, unit)
    rows = [asdict(line) for line in lines]
    emit_rows(
        rows,
        fmt,
        [
            "unit",
            "hostname",
            "type",
            "os",
            "last_report",
            "asset",
            "match",
            "signed",
            "identity",
            "enrolment",
        ],
        [
            "Unit",
            "Host",
            "Type",
            "OS",
            "Last report",
            "Asset",
            "Matched by",
            "Signed",
            "Identity",
            "Enrolment",
        ],
    )
    if fmt == Format.TABLE:
        click.echo(f"\n{len(rows)} host(s)")
        suspects = [line for line in lines if line.identity.startswith("POSSIBLE IMPOSTOR")]
        if suspects:
            click.secho(
                f"{len(suspects)} possible impostor(s): a new key under a known host's name; "
                "decide with `itaudit hosts resolve ID --accept|--reject`",
                fg="red",
            )
        if org is not None and unit is None:
            absent = never_reported(env.store(), org)
            if absent:
                click.echo(
                    f"{len(absent)} register computer(s) have never reported: itaudit hosts --missing"
                )


@hosts.command()
@click.argument("host")
@format_option(Format.TABLE, Format.JSON)
@workspace_options
@pass_env
def show(env: Env, host: str, fmt: str) -> None:
    """Show the facts of HOST's latest report (HOST: name, asset tag or id)."""
    row = _resolve(env, host)
    doc = env.store().latest_document(row.id)
    if doc is None:
        raise UsageError(f"host {host!r} has no report")
    _warn_namesakes(env, row)
    if fmt == Format.JSON:
        click.echo(json.dumps(doc, ensure_ascii=False, indent=2))
        return
    for title, items in host_sections(row, doc):
        click.secho(title, bold=True)
        width = max(len(k) for k, _ in items)
        for key, value in items:
            click.echo(f"  {key:<{width}}  {value}")


def _warn_namesakes(env: Env, row: HostRow) -> None:
    """On stderr: this host is a possible impostor, or another host took its name."""
    if row.conflict_state:
        click.secho(f"warning: host #{row.id}: {conflict_text(row)}", fg="red", err=True)
    for other in env.store().hosts():
        same_name = other.id != row.id and other.hostname.lower() == row.hostname.lower()
        if same_name and other.suspect:
            click.secho(
                f"warning: host #{other.id} reports under the same name with another key: "
                f"{conflict_text(other)}",
                fg="red",
                err=True,
            )


@hosts.command()
@click.argument("host")
@format_option(Format.TABLE, Format.JSON, Format.CSV)
@workspace_options
@pass_env
def history(env: Env, host: str, fmt: str) -> None:
    """List every stored report of HOST, newest first."""
    row = _resolve(env, host)
    rows = [asdict(m) for m in env.store().history(row.id)]
    emit_rows(
        rows,
        fmt,
        ["collected_at", "received_at", "signature_state", "is_current", "source", "content_hash"],
    )


@hosts.command()
@click.argument("host")
@click.option("--by", "actor", help="Who accepts the new key [default: the current user].")
@click.option("--reason", help="Why the key changed (agent reinstalled, disk replaced...).")
@click.option(
    "--key-store",
    "slot",
    type=click.Choice(["machine", "user", "agent"]),
    help="Forget only this key of HOST: the Windows collector's machine or user key "
    "store, or the agent's Ed25519 key [default: every key of HOST].",
)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@workspace_options
@pass_env
def rekey(
    env: Env, host: str, actor: str | None, reason: str | None, slot: str | None, yes: bool
) -> None:
    """Accept a new signing key for HOST.

    The next signed report from HOST pins its key (trust on first use again).
    A Windows host may have two keys, one per key store (machine, user);
    --key-store forgets only one of them. Who did it and when is recorded.
    """
    row = _resolve(env, host)
    store = env.store()
    keys = [k for k in store.host_keys(row.id) if slot is None or k["slot"] == slot]
    if not keys and (slot is not None or row.key_fingerprint is None):
        what = f"no pinned {slot} key" if slot else "no pinned key"
        click.echo(f"{row.hostname} has {what}: its next signed report will pin one.")
        return
    shown = ", ".join(f"{k['fingerprint']} ({k['slot']})" for k in keys) or row.key_fingerprint
    if not yes:
        click.confirm(f"Forget key {shown} of {row.hostname}?", abort=True)
    store.rekey(row.id, actor, reason, slot)
    click.echo(f"{row.hostname}: key {shown} forgotten; the next signed report pins the new key.")


@hosts.command()
@click.argument("host")
@click.option("--accept", "decision", flag_value="accept", help="It is a real machine of its own.")
@click.option(
    "--reject", "decision", flag_value="reject", help="It is not: keep it as evidence only."
)
@click.option("--by", "actor", help="Who decides [default: the current user].")
@click.option("--reason", help="Why (PC replaced, name reused, investigation reference...).")
@workspace_options
@pass_env
def resolve(
    env: Env, host: str, decision: str | None, actor: str | None, reason: str | None
) -> None:
    """Decide on a possible impostor: HOST (its id, from `itaudit hosts`) took the
    name of a known host with another signing key and no identifier in common.

    --accept: a real machine of its own (e.g. a replaced PC); it is then checked
    like any other. --reject: not a machine of ours; its reports stay as evidence
    but it is no longer checked nor counted. Recorded in the store with who and why.
    """
    if decision is None:
        raise UsageError("say --accept or --reject")
    row = _resolve(env, host)
    if row.conflict_state is None:
        raise UsageError(f"host #{row.id} ({row.hostname}) is not in a name conflict")
    env.store().resolve_conflict(row.id, decision == "accept", actor, reason)
    what = "accepted as a machine of its own" if decision == "accept" else "rejected"
    click.echo(f"host #{row.id} ({row.hostname}): {what}; run `itaudit check` to update results.")


@hosts.command()
@click.argument("host")
@click.option("--reason", help="Why (machine stolen, key leaked, retired...); required to revoke.")
@click.option("--lift", is_flag=True, help="Accept HOST's pushes again.")
@click.option("--by", "actor", help="Who decides [default: the current user].")
@workspace_options
@pass_env
def revoke(env: Env, host: str, reason: str | None, lift: bool, actor: str | None) -> None:
    """Refuse HOST's further pushes to `itaudit serve` (HOST: name, asset tag or id).

    The collector answers 403 to any report claiming to be HOST, whatever secret
    or key it carries; its stored reports stay. Recorded with who and why;
    `itaudit hosts` lists it as revoked. --lift accepts it again.
    """
    from itaudit.enrolment import revoke as revoke_host

    if not lift and not (reason or "").strip():
        raise UsageError("say why with --reason (it is recorded and shown)")
    row = _resolve(env, host)
    revoke_host(env.store(), row.id, (reason or "").strip(), actor, lift=lift)
    if lift:
        click.echo(f"host #{row.id} ({row.hostname}): revocation lifted; its pushes are accepted.")
    else:
        click.echo(f"host #{row.id} ({row.hostname}): revoked; the collector refuses its pushes.")
