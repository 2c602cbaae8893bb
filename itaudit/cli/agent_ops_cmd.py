"""`itaudit agent install | push`, and the queue behind `agent collect --queue`.

Attached to the `agent` group by itaudit/cli/agent_cmd.py. Only the agent's
own modules are imported, as in agent_cmd.
"""

from __future__ import annotations

import re
from pathlib import Path

import click

from itaudit.cli.common import EXIT_ENVIRONMENT, EXIT_FINDINGS, CommandFailed
from itaudit.errors import UsageError

_UNIT = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")


def _token(token_file: Path | None) -> str | None:
    if token_file is None:
        return None
    try:
        return token_file.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{token_file}: cannot read the token ({exc})") from exc


def push_with_queue(
    data: bytes,
    url: str,
    cafile: Path | None,
    token_file: Path | None,
    folder: Path,
    limit: int,
) -> None:
    """Send the waiting reports, then this one; keep it in the queue if it cannot go.

    Exit: 0 sent, or kept for later because the collector is unreachable or busy
    (the report is safe: that is what the queue is for); 1 the collector refused
    it for good; 3 the collector refused the secret (kept too: fix the secret).
    """
    from itaudit.agent.push import PushError, push_report
    from itaudit.agent.queue import ReportQueue

    token = _token(token_file)
    queue = ReportQueue(folder, limit)

    def send(body: bytes):
        try:
            return push_report(url, body, cafile=cafile, token=token)
        except ValueError as exc:
            raise UsageError(str(exc)) from exc

    drained = _report_drain(queue.drain(send))
    reason = drained
    if reason is None:
        try:
            result = send(data)
        except PushError as exc:
            reason = str(exc)
        else:
            if result.status in ("accepted", "duplicate"):
                click.echo(
                    f"collector: {result.status}"
                    + (f" ({result.reason})" if result.reason else ""),
                    err=True,
                )
                return
            if result.http_status in (403, 422):
                raise CommandFailed(
                    f"collector refused the report (HTTP {result.http_status}, {result.status}): "
                    f"{result.reason}",
                    EXIT_FINDINGS,
                )
            reason = f"HTTP {result.http_status} {result.status}: {result.reason}"
    path, dropped = queue.put(data)
    for name in dropped:
        click.echo(f"queue full ({limit}): dropped the oldest report {name}", err=True)
    waiting = len(queue.items())
    message = (
        f"not sent ({reason}); kept in {path.parent} ({waiting} waiting), sent on the next run"
    )
    if "HTTP 401" in reason:
        raise CommandFailed(message + "; the collector refused the secret", EXIT_ENVIRONMENT)
    click.echo(message, err=True)


def _report_drain(drained) -> str | None:
    for name in drained.sent:
        click.echo(f"queue: sent {name}", err=True)
    for name, why in drained.refused:
        click.echo(f"queue: the collector refused {name} ({why}); removed", err=True)
    return drained.stopped


@click.command()
@click.option(
    "--push", "url", required=True, metavar="URL", help="The collector (https://HOST:8443)."
)
@click.option(
    "--queue",
    "folder",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="The queue folder of `agent collect --queue`.",
)
@click.option(
    "--cafile",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The collector's certificate.",
)
@click.option(
    "--token-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The enrolment secret (or the shared token).",
)
def push(url: str, folder: Path, cafile: Path | None, token_file: Path | None) -> None:
    """Send the reports waiting in the queue, oldest first.

    Exit status: 0 the queue is empty, 3 some reports still wait (the collector
    cannot be reached or refused the secret).
    """
    from itaudit.agent.push import push_report
    from itaudit.agent.queue import ReportQueue

    token = _token(token_file)
    queue = ReportQueue(folder)
    try:
        drained = queue.drain(lambda body: push_report(url, body, cafile=cafile, token=token))
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    stopped = _report_drain(drained)
    if stopped is not None:
        raise CommandFailed(
            f"{drained.waiting} report(s) still wait in {folder}: {stopped}", EXIT_ENVIRONMENT
        )
    click.echo(f"queue empty: {len(drained.sent)} report(s) sent", err=True)


def _unit(_ctx: click.Context, _param: click.Parameter, value: str) -> str:
    if not _UNIT.match(value):
        raise click.BadParameter(f"{value!r}: a unit id is lower-case letters, digits and '-'")
    return value


@click.command()
@click.option(
    "--platform",
    type=click.Choice(["windows", "linux"]),
    required=True,
    help="windows: write an installer kit; linux: install (or --print) systemd units.",
)
@click.option(
    "--unit", "-u", required=True, callback=_unit, help="The unit the machines belong to."
)
@click.option("--collector", metavar="URL", help="The collector (https://HOST:8443) to push to.")
@click.option(
    "--cafile",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The collector's certificate (inventory/tls/collector-cert.pem).",
)
@click.option(
    "--token-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The unit's enrolment secret (itaudit enrol create --unit U --out FILE).",
)
@click.option(
    "--share", metavar="\\\\SERVER\\FOLDER", help="Windows: drop bundles here instead of pushing."
)
@click.option(
    "--hour",
    type=click.IntRange(0, 23),
    default=10,
    show_default=True,
    help="Daily run hour (local time).",
)
@click.option(
    "--random-delay",
    type=click.IntRange(0, 720),
    default=60,
    show_default=True,
    help="Minutes of random delay after the hour, so machines do not all push at once.",
)
@click.option(
    "--queue-limit",
    type=click.IntRange(1, 1000),
    default=30,
    show_default=True,
    help="Most reports (bundles) a machine keeps while it cannot send them.",
)
@click.option(
    "--out",
    "-o",
    type=click.Path(file_okay=False, path_type=Path),
    help="Windows: folder for the installer kit (a USB stick).",
)
@click.option(
    "--print", "print_only", is_flag=True, help="Linux: print the units, install nothing."
)
@click.option(
    "--root",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("/"),
    help="Linux: install under this root (an image being built); the timer is then not enabled.",
)
def install(
    platform: str,
    unit: str,
    collector: str | None,
    cafile: Path | None,
    token_file: Path | None,
    share: str | None,
    hour: int,
    random_delay: int,
    queue_limit: int,
    out: Path | None,
    print_only: bool,
    root: Path,
) -> None:
    """Make the collector run by itself: a scheduled task (Windows) or a systemd timer (Linux).

    \b
    Windows: writes an installer kit into --out (install-itaudit.ps1,
      uninstall-itaudit.ps1, run.ps1, collect.ps1, enrolment-secret.txt); run
        powershell -NoProfile -ExecutionPolicy Bypass -File install-itaudit.ps1
      once per machine as administrator. The task runs as SYSTEM daily at
      --hour (+ --random-delay) and after start-up, then pushes the bundle
      (--collector, --cafile) or drops it into --share.
    Linux (as root, on the machine): installs itaudit-collect.service and
      .timer and enables the timer; --print only shows them.
    Both keep what cannot be sent in a bounded queue and send it on the next run.
    See docs/agent.md.
    """
    if platform == "windows":
        from itaudit.agent.install_windows import WindowsKit, write_kit

        if out is None:
            raise UsageError("--out FOLDER: where to write the installer kit (e.g. the USB stick)")
        mode = "share" if share else "push"
        kit = WindowsKit(
            unit=unit,
            mode=mode,
            collector=collector,
            cafile=cafile,
            secret=_token(token_file),
            share=share,
            hour=hour,
            random_delay=random_delay,
            queue_limit=queue_limit,
        )
        for path in write_kit(kit, out):
            click.echo(f"wrote {path}")
        click.echo(
            "On each machine, as administrator: powershell -NoProfile -ExecutionPolicy Bypass "
            f"-File {out / 'install-itaudit.ps1'}"
        )
        return
    from itaudit.agent.install_linux import LinuxInstall, render
    from itaudit.agent.install_linux import install as install_units

    if share:
        raise UsageError("--share is for Windows; a Linux machine pushes to the collector")
    if not collector or cafile is None:
        raise UsageError("Linux needs --collector URL and --cafile FILE")
    cfg = LinuxInstall(
        unit=unit,
        collector=collector,
        cafile=cafile,
        secret_file=token_file,
        hour=hour,
        random_delay=random_delay,
        queue_limit=queue_limit,
    )
    if print_only:
        for name, text in render(cfg).items():
            click.echo(f"# --- /etc/systemd/system/{name}")
            click.echo(text)
        return
    for line in install_units(cfg, root):
        click.echo(line)
