"""`itaudit schema`: the HostReport schema, its docs, and offline validation."""

from __future__ import annotations

import json
from pathlib import Path

import click

from itaudit.cli.common import EXIT_FINDINGS, CommandFailed


@click.group()
def schema() -> None:
    """The HostReport format (itaudit/host-report/1)."""


@schema.command("show")
def show() -> None:
    """Print the JSON Schema."""
    from itaudit.schema import load_schema

    click.echo(json.dumps(load_schema(), ensure_ascii=False, indent=2))


@schema.command("docs")
def docs() -> None:
    """Print the schema documentation as Markdown (docs/host-report.md)."""
    from itaudit.schema.docs import render_markdown

    click.echo(render_markdown(), nl=False)


@schema.command("validate")
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
def validate(files: tuple[Path, ...]) -> None:
    """Check report FILES against the schema without storing them.

    Exit 0 when every file is valid, 1 otherwise; each problem is printed as
    FILE: field.path: message.
    """
    from itaudit.ingest import DEFAULT_MAX_BYTES, Rejected, file_source, parse_report, read_bounded
    from itaudit.schema import validate_report

    bad = 0
    for path in files:
        try:
            doc = parse_report(read_bounded(file_source(path), DEFAULT_MAX_BYTES))
        except Rejected as exc:
            click.echo(f"{path}: {exc}", err=True)
            bad += 1
            continue
        except OSError as exc:
            click.echo(f"{path}: cannot read: {exc.strerror or exc}", err=True)
            bad += 1
            continue
        problems = validate_report(doc)
        for problem in problems:
            click.echo(f"{path}: {problem}", err=True)
        if problems:
            bad += 1
        else:
            click.echo(f"{path}: valid")
    if bad:
        raise CommandFailed(f"{bad} of {len(files)} file(s) invalid", EXIT_FINDINGS)
