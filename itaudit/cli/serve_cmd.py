"""`itaudit serve`."""

from __future__ import annotations

import logging
import os
import signal
import socket
import sys
from pathlib import Path
from typing import Any

import click

from itaudit.cli.common import Env, pass_env, workspace_options
from itaudit.cli.ingest_cmd import _size
from itaudit.errors import InputError, ItauditError, UsageError


@click.command()
@click.option("--bind", "-b", default="0.0.0.0", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    "-p",
    type=click.IntRange(0, 65535),
    default=8443,
    show_default=True,
    help="TCP port (0: any free port).",
)
@click.option(
    "--cert",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="TLS certificate (PEM) [default: a self-signed one in inventory/tls/].",
)
@click.option(
    "--key",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="TLS private key (PEM) for --cert.",
)
@click.option(
    "--name",
    "names",
    multiple=True,
    help="Host name or address agents use to reach this machine (goes into the self-signed certificate); repeatable.",
)
@click.option(
    "--http",
    "plain_http",
    is_flag=True,
    help="Serve plain HTTP (only on a trusted segment: reports are still signed).",
)
@click.option(
    "--token-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="File holding the single shared secret agents may send (Authorization: Bearer); "
    "per-unit secrets: itaudit enrol create.",
)
@click.option("--max-size", default="5M", show_default=True, help="Largest report accepted.")
@click.option("--verbose", "-v", is_flag=True, help="Log every request.")
@workspace_options
@pass_env
def serve(
    env: Env,
    bind: str,
    port: int,
    cert: Path | None,
    key: Path | None,
    names: tuple[str, ...],
    plain_http: bool,
    token_file: Path | None,
    max_size: str,
    verbose: bool,
) -> None:
    """Receive reports pushed by agents over the LAN (HTTPS).

    Agents POST their signed reports to /api/v1/reports (Windows collector
    bundles, .zip, to /api/v1/bundles); each goes through the same checks as
    `itaudit ingest`. A unit's enrolment secret (itaudit enrol create) enrols a
    machine on its first push and pins its key; revoked hosts are refused. With no --cert, a self-signed certificate
    is created in inventory/tls/ on first run: give its file (or fingerprint)
    to the agents so they can verify this collector. Stop with Ctrl-C.

    \b
    Replies: 201 accepted, 200 duplicate, 422 rejected (with the reason),
    401 wrong token, 403 refused (revoked host, not its pinned key), 411 no
    Content-Length, 413 too large, 429 too many refused attempts from that
    address, 503 the store failed (send again later).
    """
    from itaudit.org.matching import RegisterIndex
    from itaudit.server import (
        CollectorServer,
        ServerConfig,
        certificate_fingerprint,
        ensure_self_signed,
    )

    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING, format="%(asctime)s %(message)s"
    )
    if (cert is None) != (key is None):
        raise UsageError("--cert and --key go together")
    if plain_http and cert is not None:
        raise UsageError("--http and --cert exclude each other")
    token = None
    if token_file is not None:
        try:
            token = token_file.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
            raise UsageError(f"{token_file}: cannot read the token ({reason})") from exc
        if len(token) < 16:
            raise UsageError(f"{token_file}: the token must be at least 16 characters")
        if os.name == "posix" and token_file.stat().st_mode & 0o077:
            # Whoever reads the token can push reports in any machine's name.
            raise UsageError(
                f"{token_file}: readable by other users (mode "
                f"{token_file.stat().st_mode & 0o777:o}); run: chmod 600 {token_file}"
            )
        if sys.platform == "win32":
            # No mode bits there: the file's access list, read by SID (itaudit/fileaccess.py).
            from itaudit.fileaccess import exposure, fix_hint

            found = exposure(token_file)
            if found.exposed:
                who = ", ".join(found.who)
                raise UsageError(f"{token_file}: readable by {who}; run: {fix_hint(token_file)}")
            if found.error:
                click.echo(f"warning: {found.error}; who may read the token is unknown", err=True)
    if not plain_http and cert is None:
        tls = env.workspace.inventory / "tls"
        try:
            cert, key = ensure_self_signed(
                tls, list(names) or [socket.gethostname(), "localhost", "127.0.0.1"]
            )
        except OSError as exc:
            raise ItauditError(
                f"cannot create the collector's certificate in {tls}: {exc.strerror or exc}"
            ) from exc
    try:
        org = env.org()
    except InputError as exc:
        click.echo(
            f"warning: the asset register is unusable, hosts will not be matched ({exc})", err=True
        )
        org = None
    config = ServerConfig(
        host=bind,
        port=port,
        max_bytes=_size(max_size),
        token=token,
        cert=None if plain_http else cert,
        key=None if plain_http else key,
        catalog_files=(env.workspace.inventory / "security-products.yaml",),
    )
    try:
        server = CollectorServer(env.store(), RegisterIndex(org), config)
    except OSError as exc:
        raise ItauditError(f"cannot listen on {bind}:{port}: {exc.strerror or exc}") from exc

    def stop(_signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    if sys.platform == "win32":
        signal.signal(signal.SIGBREAK, stop)  # Ctrl-Break in the console: stop cleanly
    click.echo(f"Listening on {server.url}{'/api/v1/reports'}", err=False)
    if config.cert is not None:
        click.echo(f"Certificate {config.cert} ({certificate_fingerprint(config.cert)})")
    else:
        click.echo("warning: plain HTTP; use it only on a trusted segment", err=True)
    if token is not None:
        click.echo("Agents must send the enrolment token (Authorization: Bearer ...).")
    click.echo("Ctrl-C to stop.", nl=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    c = server.counts
    click.echo(
        f"Stopped: {c['accepted']} accepted, {c['duplicate']} duplicate, {c['rejected']} rejected."
    )
    if c["refused"]:
        click.echo(f"{c['refused']} push(es) refused (revoked host, key not pinned, wrong unit).")
