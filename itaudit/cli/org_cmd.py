"""`itaudit org`: check and summarise the organisation register (inventory/)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from itaudit.cli.common import (
    EXIT_FINDINGS,
    EXIT_USAGE,
    CommandFailed,
    Env,
    Format,
    ItauditGroup,
    emit_rows,
    format_option,
    pass_env,
    workspace_options,
)
from itaudit.org.counts import UnitCounts, unit_counts
from itaudit.org.load import ORG_FILE, validate_organisation

SHOW_COLUMNS = (
    "unit",
    "name",
    "staff",
    "workstations",
    "laptops",
    "servers_onsite",
    "servers_offsite",
    "other_devices",
    "secret",
    "machines_per_staff",
    "last_assessment",
)
SHOW_HEADERS = {
    "vi": (
        "Mã",
        "Đơn vị",
        "Biên chế",
        "Máy trạm",
        "Xách tay",
        "Máy chủ tại chỗ",
        "Máy chủ thuê đặt",
        "Thiết bị khác",
        "Máy mật",
        "Máy/người (%)",
        "Đánh giá gần nhất",
    ),
    "en": (
        "Unit",
        "Name",
        "Staff",
        "Workstations",
        "Laptops",
        "Servers on site",
        "Servers off site",
        "Other devices",
        "Secret",
        "Machines/staff (%)",
        "Last assessment",
    ),
}


@click.group(cls=ItauditGroup)
@workspace_options
@pass_env
def org(env: Env) -> None:
    """Check and summarise the organisation register in inventory/.

    The register is three files: organization.yaml (units, staff, subnets,
    approvals, contacts), assets.csv (the asset register) and
    incident-team.yaml (the incident-response team). See docs/organization.md.
    """


@org.command()
@click.option(
    "--strict", is_flag=True, help="Count warnings as errors: exit 1 when there is any warning."
)
@workspace_options
@pass_env
def validate(env: Env, strict: bool) -> None:
    """Check the register files and list every problem.

    Each problem is printed as file:line: field: message. Errors must be fixed before other commands can use the register; warnings
    (for example a placeholder serial number) are reported but do not stop it.
    Exit status: 0 no errors, 1 errors found, 2 no organization.yaml.
    """
    inventory = env.workspace.inventory
    if _missing(inventory / ORG_FILE):
        raise CommandFailed(
            f"{inventory / ORG_FILE}: not found; run `itaudit init` to create a workspace "
            "or give --workspace",
            EXIT_USAGE,
        )
    register, problems = validate_organisation(inventory)
    for problem in problems:
        click.echo(str(problem))
    errors = sum(p.severity == "error" for p in problems)
    warnings = len(problems) - errors
    units = len(register.units) if register else 0
    assets = len(register.assets) if register else 0
    members = len(register.team.members) if register and register.team else 0
    click.echo(
        f"{units} units, {assets} assets, {members} team members: "
        f"{errors} error(s), {warnings} warning(s)"
    )
    if errors or (strict and warnings):
        reason = "the register has errors" if errors else "--strict: the register has warnings"
        raise CommandFailed(
            f"{reason}: fix the lines above and run `itaudit org validate` again", EXIT_FINDINGS
        )


def _missing(path: Path) -> bool:
    """Not there at all; a path that cannot be looked at is validated, which says why."""
    try:
        path.stat()
    except FileNotFoundError:
        return True
    except OSError:
        return False
    return False


def _show_row(counts: UnitCounts, lang: str) -> dict[str, Any]:
    unit = counts.unit
    return {
        "unit": unit.id,
        "name": unit.name(lang),
        "staff": unit.staff,
        "workstations": counts.workstations,
        "laptops": counts.laptops,
        "servers_onsite": counts.servers_onsite,
        "servers_offsite": counts.servers_offsite,
        "other_devices": counts.other_devices,
        "secret": counts.secret,
        "machines_per_staff": counts.machines_per_staff,
        "last_assessment": unit.last_assessment.isoformat() if unit.last_assessment else None,
    }


@org.command()
@click.option("--unit", "-u", "unit_id", metavar="UNIT", help="Show only this unit (its id).")
@click.option(
    "--lang",
    type=click.Choice(["vi", "en"]),
    default="vi",
    show_default=True,
    help="Language of unit names and table headings.",
)
@format_option(Format.TABLE, Format.JSON, Format.CSV)
@workspace_options
@pass_env
def show(env: Env, unit_id: str | None, lang: str, fmt: str) -> None:
    """Summarise each unit: staff, equipment, last assessment.

    One line per unit, from the asset register. Workstations include laptops, as in the department's reports; servers are
    split into on site and hosted off site; "machines per staff" is
    workstations / staff in percent. The register must have no errors (run
    `itaudit org validate` to see them).
    """
    counts = unit_counts(env.org())
    if unit_id is not None:
        valid = [c.unit.id for c in counts]
        counts = [c for c in counts if c.unit.id == unit_id]
        if not counts:
            raise click.BadParameter(
                f"{unit_id!r} is not a unit; valid: {', '.join(valid)}", param_hint="'--unit'"
            )
    rows = [_show_row(c, lang) for c in counts]
    emit_rows(rows, fmt, SHOW_COLUMNS, SHOW_HEADERS[lang])
