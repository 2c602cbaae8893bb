"""`itaudit demo`."""

from __future__ import annotations

import time

import click

from itaudit.cli.common import Env, pass_env, workspace_options
from itaudit.errors import ItauditError


@click.command()
@workspace_options
@pass_env
def demo(env: Env) -> None:
    """Run the whole chain on the bundled sample department.

    Creates the workspace if needed (default: the current folder), generates one
    realistic agent report per sample machine, with defects planted on some of
    them, ingests them and runs every later stage. Use --workspace DIR to keep
    the demo apart from a real workspace; the demo refuses to write into a
    store that already holds real reports.
    """
    from itaudit.demo.run import run_demo
    from itaudit.workspace import init_workspace

    started = time.perf_counter()
    init_workspace(env.workspace.root)
    click.secho(f"itaudit demo in {env.workspace.root.resolve()}", bold=True)
    click.echo(f"Store: {env.store_label}")
    try:
        run = run_demo(env.workspace, env.store(), click.echo)
    except OSError as exc:  # a full disk, a folder made read-only meanwhile
        raise ItauditError(
            f"demo: cannot write {exc.filename or ''}: {exc.strerror or exc}"
        ) from exc
    click.echo("")
    if run.outputs:
        click.secho("Results:", bold=True)
        for label, path in run.outputs:
            click.echo(f"  {label}: {path}")
    click.echo(
        f"Done in {time.perf_counter() - started:.1f} s. Try: itaudit hosts, itaudit hosts show HO-PC071"
    )
