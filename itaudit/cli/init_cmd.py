"""`itaudit init`."""

from __future__ import annotations

import click

from itaudit.cli.common import Env, pass_env, workspace_options
from itaudit.workspace import init_workspace


@click.command()
@workspace_options
@pass_env
def init(env: Env) -> None:
    """Create a workspace from the bundled sample department.

    Copies the organisation register (inventory/) and the profiles (profiles/)
    into the workspace and creates reports/. Files that already exist are never
    overwritten, so running it again only adds what is missing.
    """
    created = init_workspace(env.workspace.root)
    root = env.workspace.root.resolve()
    if created:
        click.echo(f"Created {len(created)} file(s) and folder(s) in {root}")
    else:
        click.echo(f"{root} is already a workspace; nothing was changed.")
    click.echo(
        "Next: edit inventory/organization.yaml and inventory/assets.csv, then `itaudit org validate`."
    )
