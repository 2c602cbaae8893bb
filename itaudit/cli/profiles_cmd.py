"""`itaudit profiles validate` and `itaudit profiles show`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from itaudit.cli.common import (
    EXIT_USAGE,
    CommandFailed,
    Env,
    Format,
    emit_rows,
    format_option,
    pass_env,
    workspace_options,
)
from itaudit.errors import InputError, UsageError


@click.group()
def profiles() -> None:
    """Check profiles for mistakes, and show the rules a unit is checked against.

    Profiles live in the workspace's profiles/ folder: level1.yaml (the base),
    units/<unit>.yaml (one per unit), frameworks/ (legal mappings) and data/
    (reference tables). The format is in docs/profiles.md.
    """


@profiles.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@workspace_options
@pass_env
def validate(env: Env, paths: tuple[Path, ...]) -> None:
    """Check profiles, frameworks and catalogues; print every problem as file:line.

    Without PATH, checks the workspace's profiles/ folder. A PATH may be a
    profiles folder, or single files (a profile, a framework, a catalogue),
    checked together with the workspace's profiles they extend or cite.
    Exit 0 when there is no error (warnings are printed), 2 otherwise.
    """
    from itaudit.profiles import unit_profile_problems, validate_profiles

    folders = [p for p in paths if p.is_dir()]
    files = [p for p in paths if not p.is_dir()]
    if len(folders) > 1:
        raise UsageError("give at most one profiles folder (and any number of files)")
    root = folders[0] if folders else env.workspace.profiles
    ps, problems = validate_profiles(root, env.workspace.inventory, files)
    org = None
    if ps is not None and env.workspace.is_initialised() and not folders:
        try:
            org = env.org()
        except InputError:
            org = None  # `itaudit org validate` reports the register's own problems
    if ps is not None and org is not None:
        problems = problems + unit_profile_problems(ps, org)
    errors = [p for p in problems if p.severity == "error"]
    for p in problems:
        click.echo(str(p))
    if ps is not None:
        rules = len(ps.rules())
        click.echo(
            f"{len(ps.files)} profiles, {rules} rules, {len(ps.frameworks)} frameworks, "
            f"{len(ps.catalogs)} catalogues: {len(errors)} error(s), "
            f"{len(problems) - len(errors)} warning(s)"
        )
    if errors:
        raise CommandFailed(f"{len(errors)} error(s) in the profiles", EXIT_USAGE)


def _profile_name(env: Env, name: str, ps: Any) -> str:
    """A unit id (its profile) or a profile name."""
    try:
        org = env.org()
    except InputError:
        org = None
    if org is not None:
        unit = org.unit(name)
        if unit is not None:
            return unit.profile
    if name in ps.effective:
        return name
    units = (
        ", ".join(u.id for u in org.units) if org is not None else "see inventory/organization.yaml"
    )
    raise UsageError(f"no unit or profile {name!r} (units: {units})")


def _show_rows(eff: Any, today: Any) -> list[dict[str, Any]]:
    rows = []
    for er in eff.rules:
        rule = er.rule
        params = "; ".join(
            f"{name}={_fmt(pv.value)} [{pv.where}{'' if pv.origin == 'default' else ', set by ' + pv.origin}]"
            for name, pv in er.params.items()
        )
        missing = [n for n in rule.params if n not in er.params]
        if missing:
            params = "; ".join(filter(None, [params, *(f"{n}=NOT SET" for n in missing)]))
        rows.append(
            {
                "rule": rule.id,
                "severity": rule.severity,
                "kind": rule.kind,
                "applies": rule.applies.describe() if rule.scope == "host" else "unit",
                "state": "enabled"
                if er.disabled is None
                else f"disabled: {er.disabled.reason} [{er.disabled.where}]",
                "params": params,
                "defined_in": str(rule.where),
                "title_vi": rule.title.vi,
                "title_en": rule.title.en,
            }
        )
    return rows


def _fmt(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(map(str, value)) + "]"
    return str(value)


@profiles.command()
@click.argument("unit")
@format_option(Format.TABLE, Format.JSON)
@workspace_options
@pass_env
def show(env: Env, unit: str, fmt: str) -> None:
    """Show UNIT's effective rules after inheritance, and where each value came from.

    UNIT is a unit id (its `profile` in organization.yaml is shown) or a
    profile name such as level1. Every parameter names the file and line that
    set it; disabled rules give their reason; waivers show whether they expired.
    """
    from itaudit.profiles import load_profiles
    from itaudit.store import utcnow

    ps = load_profiles(env.workspace.profiles, env.workspace.inventory)
    name = _profile_name(env, unit, ps)
    eff = ps.profile(name)
    today = utcnow().date()
    rows = _show_rows(eff, today)
    waivers = [
        {
            "rule": w.rule,
            "machine": w.target,
            "expires": w.expires.isoformat(),
            "state": "expired" if w.expired(today) else "active",
            "decision": w.decision,
            "approved_by": w.approved_by,
            "reason": w.reason,
            "where": str(w.where),
        }
        for w in eff.waivers
    ]
    if fmt == Format.JSON:
        click.echo(
            json.dumps(
                {"profile": name, "chain": list(eff.chain), "rules": rows, "waivers": waivers},
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    title = f" ({eff.title.vi})" if eff.title else ""
    click.secho(f"Profile {name}{title}: {' → '.join(eff.chain)}", bold=True)
    emit_rows(
        rows,
        Format.TABLE,
        ["rule", "severity", "kind", "state", "params", "defined_in"],
        ["Rule", "Severity", "Kind", "State", "Parameters [set at]", "Defined in"],
    )
    enabled = sum(1 for r in eff.rules if r.disabled is None)
    click.echo(f"\n{enabled} enabled rule(s), {len(eff.rules) - enabled} disabled")
    if waivers:
        click.secho("\nWaivers:", bold=True)
        emit_rows(
            waivers,
            Format.TABLE,
            ["rule", "machine", "expires", "state", "decision", "where"],
            ["Rule", "Machine", "Expires", "State", "Decision", "Where"],
        )
