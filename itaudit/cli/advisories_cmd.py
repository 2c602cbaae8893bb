"""`itaudit advisories`: the Windows release table the patch rule judges from."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import click

from itaudit.cli.common import Env, Format, emit_rows, format_option, pass_env, workspace_options


@click.group()
def advisories() -> None:
    """Update data: the Windows release table (monthly cumulative updates).

    Rule L1-PATCH-01 judges a Windows machine by its OS revision (build.UBR)
    against profiles/data/windows-releases.yaml. A table older than the
    profile's max_release_table_age_days (default 45) makes the rule "could
    not be checked": import a newer one every month, offline.

    \b
    Examples:
      itaudit advisories show
      itaudit advisories import E:\\windows-releases.yaml
    """


@advisories.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--force", is_flag=True, help="Replace the table even with an older one (by its as_of date)."
)
@workspace_options
@pass_env
def import_(env: Env, file: Path, force: bool) -> None:
    """Check FILE as a Windows release table and copy it into the workspace.

    Every problem is named with its file, line and field (exit 2, nothing
    copied). A table older than the one in place is refused unless --force.
    """
    from itaudit.profiles.release_table import import_table

    summary = import_table(file, env.workspace.profiles, force=force)
    builds = ", ".join(f"{b} ({n})" for b, n in summary.builds.items())
    click.echo(
        f"imported {file} -> {summary.path}: as of {summary.as_of}; releases per build: "
        f"{builds}; {summary.verified} verified; {summary.gaps} listed without revision"
    )


@advisories.command("show")
@format_option(Format.TABLE, Format.JSON, Format.CSV)
@workspace_options
@pass_env
def show(env: Env, fmt: str) -> None:
    """Show the workspace's Windows release table: newest release per build, and its age."""
    from itaudit.profiles.release_table import read_table, table_path

    path = table_path(env.workspace.profiles)
    if not path.is_file():
        from itaudit.errors import UsageError

        raise UsageError(f"no release table at {path}: import one with 'itaudit advisories import'")
    catalog = read_table(path)
    newest: dict[tuple[int, bool | None], dict] = {}
    for e in catalog.entries:
        if e.get("revision") is None:
            continue
        key = (e["build"], e.get("server"))
        if key not in newest or e["released"] > newest[key]["released"]:
            newest[key] = e
    rows = [
        {
            "build": e["build"],
            "product": e["product"],
            "revision": f"{e['build']}.{e['revision']}",
            "kb": e.get("kb") or "",
            "released": e["released"].isoformat(),
            "verified": bool(e.get("verified")),
        }
        for _key, e in sorted(newest.items(), key=lambda kv: (kv[0][0], str(kv[0][1])))
    ]
    age = (date.today() - catalog.as_of).days if catalog.as_of else None
    if fmt == Format.TABLE:
        click.echo(f"{path}: as of {catalog.as_of} ({age} days ago)")
    columns = ["build", "product", "revision", "kb", "released", "verified"]
    emit_rows(rows, fmt, columns, columns)
