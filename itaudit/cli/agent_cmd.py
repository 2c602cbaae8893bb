"""`itaudit agent collect | parse | script`: the workstation side.

Only the agent's own modules are imported here: no store, no reporting stack,
so `agent collect` stays small and fast on a workstation.
"""

from __future__ import annotations

import gzip
import json
import re
import sys
from pathlib import Path
from typing import Any

import click

from itaudit.cli.common import (
    EXIT_ENVIRONMENT,
    EXIT_FINDINGS,
    EXIT_USAGE,
    CommandFailed,
    Env,
    pass_env,
    workspace_options,
)
from itaudit.errors import InputError, UsageError
from itaudit.safefile import write_file

_UNIT = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
WORKSPACE_CATALOG = Path("inventory") / "security-products.yaml"


def _unit(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    if value is not None and not _UNIT.match(value):
        raise click.BadParameter(
            f"{value!r}: a unit id is lower-case letters, digits and '-' (e.g. ho, ttdvvl)"
        )
    return value


def _common(f):
    f = click.option(
        "--catalog",
        "catalogs",
        multiple=True,
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        help="Extra antivirus/EDR catalogue YAML (repeatable); WORKSPACE/inventory/security-products.yaml is read too.",
    )(f)
    f = click.option("--no-sign", is_flag=True, help="Do not sign the report.")(f)
    f = click.option(
        "--token-file",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        help="Enrolment token for the collector (--push).",
    )(f)
    f = click.option(
        "--cafile",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        help="The collector's certificate (inventory/tls/collector-cert.pem on the officer's machine).",
    )(f)
    f = click.option(
        "--push",
        metavar="URL",
        help="Send the report to an `itaudit serve` collector (https://HOST:8443).",
    )(f)
    f = click.option(
        "--key",
        "key_path",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Signing key (created on first use, mode 0600).",
    )(f)
    f = click.option(
        "--unit", "-u", callback=_unit, metavar="UNIT", help="Unit id this machine belongs to."
    )(f)
    f = click.option(
        "--out",
        "-o",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Write the report here (.json, or .json.gz to compress) instead of standard output.",
    )(f)
    return f


@click.group()
def agent() -> None:
    """Collect facts on a workstation (Linux live; Windows through the PowerShell bundle)."""


@agent.command()
@_common
@click.option(
    "--save-bundle",
    type=click.Path(file_okay=False, path_type=Path),
    help="Also keep every raw output in this folder (a bundle, e.g. to record a test fixture).",
)
@click.option(
    "--queue",
    "queue_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="With --push: keep a report that cannot be sent in this folder and send it "
    "(and every waiting one) on the next run.",
)
@click.option(
    "--queue-limit",
    type=click.IntRange(1, 1000),
    default=30,
    show_default=True,
    help="Most reports the queue keeps (the oldest are dropped).",
)
@workspace_options
@pass_env
def collect(
    env: Env,
    out: Path | None,
    unit: str | None,
    key_path: Path | None,
    no_sign: bool,
    catalogs: tuple[Path, ...],
    save_bundle: Path | None,
    push: str | None,
    cafile: Path | None,
    token_file: Path | None,
    queue_dir: Path | None,
    queue_limit: int,
) -> None:
    """Collect this machine's facts into one signed HostReport.

    Reads only; writes nothing but its own key and the output file. Run as an
    ordinary user it records in `errors` what it could not see and why; run
    as root / administrator it sees more.

    \b
    Key (created on first run, readable only by its owner):
      root: /etc/itaudit/agent-key.pem   user: ~/.config/itaudit/agent-key.pem
      Windows: %ProgramData%\\itaudit\\agent-key.pem      (--key PATH overrides)

    \b
    Exit status: 0 report written (and accepted, with --push; or kept in the
    --queue when the collector cannot take it now), 1 the collector rejected
    it, 2 usage error, 3 the machine, the key or the collector failed.
    """
    from itaudit.agent.collect import collect_live, load_catalogs

    if queue_dir is not None and not push:
        raise UsageError("--queue goes with --push URL")
    if save_bundle is not None and save_bundle.exists() and any(save_bundle.iterdir()):
        raise UsageError(f"{save_bundle} is not empty: give a new folder for --save-bundle")
    catalog = load_catalogs(list(catalogs), env.workspace.root / WORKSPACE_CATALOG)
    report = collect_live(catalog, unit, save_bundle)
    data = _finish(report, out, key_path, no_sign, default_key=True, to_stdout=push is None)
    if push and queue_dir is not None:
        from itaudit.cli.agent_ops_cmd import push_with_queue

        push_with_queue(data, push, cafile, token_file, queue_dir, queue_limit)
    elif push:
        _push(data, push, cafile, token_file)


@agent.command()
@click.argument("bundles", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@_common
@click.option(
    "--out-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write one report per bundle into this folder (HOST-YYYYMMDDTHHMMSSZ.json); "
    "needed for several bundles.",
)
@workspace_options
@pass_env
def parse(
    env: Env,
    bundles: tuple[Path, ...],
    out: Path | None,
    out_dir: Path | None,
    unit: str | None,
    key_path: Path | None,
    no_sign: bool,
    catalogs: tuple[Path, ...],
    push: str | None,
    cafile: Path | None,
    token_file: Path | None,
) -> None:
    """Turn BUNDLES (folders or .zip files from the PowerShell collector) into HostReports.

    The same parsers as the live agent read the recorded outputs. The report
    is signed only when --key is given: that key then vouches for the
    parsing, not for the workstation (the script cannot sign).

    One bundle goes to --out FILE or standard output. Several (e.g. every
    bundle on a USB stick: E:\\itaudit-bundles\\*.zip) need --out-dir (or
    --push): each report is written there as it is parsed, a bundle that
    cannot be read is reported and skipped, and the same collection given
    twice (its folder and its .zip) is written once.

    \b
    Exit status: 0 every report written, 1 the collector rejected a report,
    2 a bundle is unreadable (the others are still written) or bad usage,
    3 the key failed or the collector could not be reached.
    """
    from itaudit.agent.collect import load_catalogs, parse_bundle

    if out is not None and out_dir is not None:
        raise UsageError("give --out (one bundle) or --out-dir (one report per bundle), not both")
    if len(bundles) > 1 and out is not None:
        raise UsageError(f"--out takes one bundle, {len(bundles)} were given: use --out-dir DIR")
    if len(bundles) > 1 and out_dir is None and push is None:
        raise UsageError(f"{len(bundles)} bundles: give --out-dir DIR (or --push URL)")
    catalog = load_catalogs(list(catalogs), env.workspace.root / WORKSPACE_CATALOG)
    sign = not no_sign and key_path is not None
    if len(bundles) == 1 and out_dir is None:
        report = parse_bundle(bundles[0], catalog, unit)
        data = _finish(report, out, key_path, not sign, default_key=False, to_stdout=push is None)
        if push:
            _push(data, push, cafile, token_file)
        return

    unreadable: list[str] = []
    rejected: list[str] = []
    seen: dict[str, Path] = {}
    for number, bundle in enumerate(bundles, 1):
        label = f"[{number}/{len(bundles)}] {bundle}"
        try:
            report = parse_bundle(bundle, catalog, unit)
        except InputError as exc:
            unreadable.append(str(bundle))
            click.echo(f"{label}: not parsed: {exc}", err=True)
            continue
        if report["report_id"] in seen:
            click.echo(
                f"{label}: the same collection as {seen[report['report_id']]}: skipped", err=True
            )
            continue
        seen[report["report_id"]] = bundle
        target = out_dir / _report_name(report) if out_dir is not None else None
        data = _finish(
            report, target, key_path, not sign, default_key=False, to_stdout=False, label=label
        )
        if push:
            try:
                _push(data, push, cafile, token_file)
            except CommandFailed as exc:
                if exc.exit_code != EXIT_FINDINGS:
                    raise  # the collector cannot be reached: the next bundles would fail too
                rejected.append(str(bundle))
                click.echo(f"{label}: {exc.message}", err=True)
    summary = f"{len(seen)} report(s) " + (
        f"written to {out_dir}" if out_dir is not None else f"sent to {push}"
    )
    if unreadable:
        raise CommandFailed(
            f"{summary}; {len(unreadable)} bundle(s) could not be read: {', '.join(unreadable)}",
            EXIT_USAGE,
        )
    if rejected:
        raise CommandFailed(
            f"{summary}; the collector rejected {len(rejected)}: {', '.join(rejected)}",
            EXIT_FINDINGS,
        )
    click.echo(summary, err=True)


def _report_name(report: dict[str, Any]) -> str:
    """HOST-20240620T021504Z.json: the host name (schema-checked, file-safe) and the UTC time."""
    stamp = re.sub(r"[^0-9TZ]", "", report["collected_at"])
    return f"{report['identity']['hostname']}-{stamp}.json"


@agent.command()
@click.option(
    "--platform",
    type=click.Choice(["windows"]),
    required=True,
    help="The collector to print (Windows PowerShell 5.1).",
)
@click.option(
    "--out", "-o", type=click.Path(dir_okay=False, path_type=Path), help="Write the script to FILE."
)
def script(platform: str, out: Path | None) -> None:
    """Print the zero-install collector script for PLATFORM.

    \b
    Windows: save it as itaudit-collect.ps1 on a USB stick, then on each machine
      powershell -NoProfile -ExecutionPolicy Bypass -File itaudit-collect.ps1
    It writes a bundle folder and a .zip beside the script; `itaudit agent
    parse` turns it into a report. See docs/agent.md.
    """
    from itaudit.agent.windows_live import collector_script

    text = collector_script()
    if out is None:
        click.echo(text, nl=False)
        return
    # UTF-8 with BOM and CRLF: what Windows PowerShell 5.1 reads without surprises.
    _write_atomic(out, text.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8-sig"))
    click.echo(f"wrote {out}", err=True)


def _finish(
    report: dict[str, Any],
    out: Path | None,
    key_path: Path | None,
    no_sign: bool,
    default_key: bool,
    to_stdout: bool = True,
    label: str | None = None,
) -> bytes:
    """Sign (unless told not to), write to `out` or standard output; return the JSON bytes."""
    note = ""
    if not no_sign:
        from itaudit.agent.keys import default_key_path, load_key
        from itaudit.signing import sign_report

        path = key_path or Path(default_key_path())
        key = load_key(path)
        if key.warning:
            click.echo(f"warning: {key.warning}", err=True)
        if key.created:
            click.echo(f"created signing key {path} ({key.fingerprint})", err=True)
        report = sign_report(report, key.key)
        note = f", signed ({key.fingerprint})"
    else:
        note = ", unsigned"
    data = json.dumps(report, ensure_ascii=False, indent=1).encode("utf-8")
    errors = len(report["errors"])
    summary = f"{report['identity']['hostname']}: {errors} thing(s) not seen (see errors){note}"
    if label:
        summary = f"{label}: {summary}"
    if out is None:
        if to_stdout:
            sys.stdout.buffer.write(data + b"\n")
            sys.stdout.flush()
        click.echo(summary, err=True)
        return data
    _write_atomic(out, gzip.compress(data, mtime=0) if out.name.endswith(".gz") else data)
    click.echo(f"{summary}; written to {out}", err=True)
    return data


def _push(data: bytes, url: str, cafile: Path | None, token_file: Path | None) -> None:
    """Send to the collector; exit 1 if it rejects the report, 3 if it cannot be reached."""
    from itaudit.agent.push import PushError, push_report

    token = token_file.read_text(encoding="utf-8").strip() if token_file else None
    try:
        result = push_report(url, data, cafile=cafile, token=token)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    except PushError as exc:
        raise CommandFailed(
            f"{exc} (keep the report with --out and send it later)", EXIT_ENVIRONMENT
        ) from exc
    if result.status in ("accepted", "duplicate"):
        click.echo(
            f"collector: {result.status}" + (f" ({result.reason})" if result.reason else ""),
            err=True,
        )
        return
    raise CommandFailed(
        f"collector refused the report (HTTP {result.http_status}, {result.status}): {result.reason}",
        EXIT_FINDINGS if result.http_status in (403, 422) else EXIT_ENVIRONMENT,
    )


def _write_atomic(path: Path, data: bytes) -> None:
    """Write beside the target then rename: a pulled USB stick never leaves half a report.
    A device, pipe or socket (--out /dev/null) is written to directly, never replaced."""
    try:
        write_file(path, data, fsync=True)
    except OSError as exc:
        raise CommandFailed(
            f"cannot write {path}: {exc.strerror or exc}", EXIT_ENVIRONMENT
        ) from exc


def _attach_operations() -> None:
    # `agent install` and `agent push` live in their own module (agent_ops_cmd.py).
    from itaudit.cli.agent_ops_cmd import install, push

    agent.add_command(install)
    agent.add_command(push)


_attach_operations()
