"""The `itaudit` command line: a thin layer over the library.

Subcommands are imported only when used, so `itaudit agent collect` on a
workstation never loads the store or the reporting stack.

Exit codes, the same for every command:
  0  success (and, for checks, nothing at or above the failure threshold)
  1  the command ran and found something: a rejected report, a failed rule, NO-GO
  2  usage or input error: bad options, a malformed file, an unknown unit
  3  the environment failed: store unreachable, nmap missing, disk full
"""

from __future__ import annotations

import importlib
import sys

import click

from itaudit import __version__
from itaudit.cli.common import Env, ItauditGroup, workspace_options

# name -> "module:attribute"; add a line here to add a command.
COMMANDS: dict[str, str] = {
    "init": "itaudit.cli.init_cmd:init",
    "org": "itaudit.cli.org_cmd:org",
    "ingest": "itaudit.cli.ingest_cmd:ingest",
    "hosts": "itaudit.cli.hosts_cmd:hosts",
    "demo": "itaudit.cli.demo_cmd:demo",
    "schema": "itaudit.cli.schema_cmd:schema",
    "agent": "itaudit.cli.agent_cmd:agent",
    "scan": "itaudit.cli.scan_cmd:scan",
    "holidays": "itaudit.cli.holidays_cmd:holidays",
    "serve": "itaudit.cli.serve_cmd:serve",
    "profiles": "itaudit.cli.profiles_cmd:profiles",
    "check": "itaudit.cli.check_cmd:check",
    "attest": "itaudit.cli.attest_cmd:attest",
    "catalog": "itaudit.cli.catalog_cmd:catalog",
    "report": "itaudit.cli.report_cmd:report",
    "ratios": "itaudit.cli.ratios_cmd:ratios",
    "readiness": "itaudit.cli.readiness_cmd:readiness",
    "advisories": "itaudit.cli.advisories_cmd:advisories",
    "doctor": "itaudit.cli.doctor_cmd:doctor",
    "enrol": "itaudit.cli.enrol_cmd:enrol",
    "store": "itaudit.cli.store_cmd:store",
    "schedule": "itaudit.cli.schedule_cmd:schedule",
}


class LazyGroup(ItauditGroup):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attr = target.split(":")
        return getattr(importlib.import_module(module_name), attr)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", "-V", prog_name="itaudit")
@workspace_options
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Level-1 security compliance and IT-asset audit for a department and its units.

    \b
    Typical flow:
      itaudit init                 create a workspace from the bundled sample
      itaudit ingest reports/      store agent reports (or: itaudit serve)
      itaudit hosts                list machines and their latest report
      itaudit scan --unit ho       scan a unit's LAN and reconcile it
      itaudit check                check every machine against its profile
      itaudit report --all         compliance reports for unit heads
      itaudit readiness --notice   GO / NO-GO before the next holiday
      itaudit demo                 run everything on the sample department

    Exit codes: 0 ok, 1 something found (rejected report, failed rule,
    NO-GO), 2 usage or input error, 3 environment error.

    The workspace (default: the current folder) holds inventory/, profiles/ and
    reports/. The store defaults to inventory/itaudit.db (SQLite); give
    --store postgresql://... or set ITAUDIT_STORE to use PostgreSQL.
    """
    ctx.ensure_object(Env)


def utf8_console(streams: tuple[object, ...] | None = None) -> None:
    """Windows consoles and redirections default to the ANSI code page (cp1252, cp437),
    in which Vietnamese names print as "?" or raise UnicodeEncodeError. UTF-8 with
    `errors="replace"` shows them in Windows Terminal, PowerShell and cmd (font
    permitting) and never stops a command over one character."""
    for stream in streams if streams is not None else (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(encoding="utf-8", errors="replace")


def main() -> None:
    if sys.platform == "win32":
        utf8_console()
    cli.main(prog_name="itaudit")
