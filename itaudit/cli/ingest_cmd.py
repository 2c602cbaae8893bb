"""`itaudit ingest`."""

from __future__ import annotations

import sys

import click

from itaudit.cli.common import (
    EXIT_FINDINGS,
    EXIT_USAGE,
    CommandFailed,
    Env,
    pass_env,
    workspace_options,
)
from itaudit.errors import InputError
from itaudit.ingest import DEFAULT_MAX_BYTES, FileOutcome, ingest_paths
from itaudit.org.matching import RegisterIndex


def _size(text: str) -> int:
    units = {"k": 1024, "m": 1024**2, "g": 1024**3}
    text = text.strip().lower().rstrip("b")
    try:
        scale = units.get(text[-1:], 1)
        size = int(float(text[:-1]) * scale) if scale > 1 else int(text)
    except (ValueError, OverflowError) as exc:
        raise click.BadParameter(f"{text!r} is not a size (e.g. 5M, 512k)") from exc
    if size <= 0:
        raise click.BadParameter(f"{text!r}: the size must be above zero (e.g. 5M, 512k)")
    return size


@click.command()
@click.argument("paths", nargs=-1, required=True, metavar="PATH...")
@click.option(
    "--max-size",
    default=f"{DEFAULT_MAX_BYTES // (1024 * 1024)}M",
    show_default=True,
    help="Largest report accepted (also after gzip decompression), e.g. 5M.",
)
@click.option("--quiet", "-q", is_flag=True, help="Print only rejected files and the summary.")
@workspace_options
@pass_env
def ingest(env: Env, paths: tuple[str, ...], max_size: str, quiet: bool) -> None:
    """Validate agent reports and store them.

    PATH is a report file (.json or .json.gz), a folder (searched recursively)
    or - for standard input. Each report is checked against the HostReport
    schema, its freshness and its signature; a bad file is rejected with its
    reason and the others go on. The same report twice is stored once.

    \b
    Exit status: 0 all accepted (or already stored), 1 some rejected,
    2 usage error (bad option, a PATH that does not exist or cannot be
    read: the other PATHs are still ingested), 3 the store failed.
    """
    max_bytes = _size(max_size)
    store = env.store()
    org = None
    try:
        org = env.org()
    except InputError as exc:
        click.echo(
            f"warning: the asset register is unusable, hosts will not be matched ({exc})", err=True
        )
    if "-" in paths and sys.stdin.isatty():
        click.echo("Reading one report from standard input (end with Ctrl-D)...", err=True)
    tty = sys.stderr.isatty()
    seen = 0

    def show(outcome: FileOutcome) -> None:
        nonlocal seen
        seen += 1
        if outcome.status == "rejected":
            click.echo(f"REJECTED  {outcome.source}: {outcome.reason}", err=True)
        elif not quiet:
            note = f" ({outcome.reason})" if outcome.reason and outcome.status == "accepted" else ""
            sig = "" if outcome.signed else " [unsigned]"
            click.echo(f"{outcome.status:<9} {outcome.source} -> {outcome.hostname}{sig}{note}")
        elif tty and seen % 100 == 0:
            click.echo(f"\r{seen} files...", nl=False, err=True)

    summary = ingest_paths(
        store,
        RegisterIndex(org),
        paths,
        max_bytes=max_bytes,
        on_outcome=show,
        stdin=sys.stdin.buffer,
    )
    if quiet and tty and seen >= 100:
        click.echo("", err=True)
    click.echo(
        f"{len(summary.outcomes)} file(s): {summary.accepted} accepted, "
        f"{summary.duplicates} duplicate, {summary.rejected} rejected"
    )
    if summary.bad_paths:
        raise CommandFailed(
            f"cannot use {', '.join(summary.bad_paths[:3])}"
            + (f" and {len(summary.bad_paths) - 3} more" if len(summary.bad_paths) > 3 else "")
            + ": check the path (the others were ingested)",
            EXIT_USAGE,
        )
    conflicts = [o for o in summary.outcomes if o.conflict]
    for o in conflicts:
        click.secho(f"IMPOSTOR? {o.source} -> {o.hostname}: {o.reason}", fg="red", err=True)
    if not summary.ok:
        raise CommandFailed(f"{summary.rejected} file(s) rejected", EXIT_FINDINGS)
    if conflicts:
        raise CommandFailed(
            f"{len(conflicts)} report(s) stored as possible impostors (see `itaudit hosts`)",
            EXIT_FINDINGS,
        )
