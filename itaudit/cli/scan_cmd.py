"""`itaudit scan`: scan the LAN with nmap and reconcile it with the store and register.

Only what is needed to check the request and start nmap is imported up
front; the store comes while nmap runs (see itaudit.scan.run).
"""

from __future__ import annotations

import gc
import json
import re
import signal
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import click

from itaudit.cli.common import (
    EXIT_FINDINGS,
    CommandFailed,
    Env,
    Format,
    emit_rows,
    format_option,
    pass_env,
    workspace_options,
)

# Ctrl-C: the shells' convention (128 + SIGINT), distinct from findings (1).
EXIT_INTERRUPTED = 130


class _ProgressPrinter:
    """nmap's progress on stderr: one updating line on a terminal, a line every few seconds otherwise."""

    PIPE_EVERY = 5.0

    def __init__(self, lang: str):
        self.lang = lang
        self.tty = sys.stderr.isatty()
        self.last = 0.0
        self.shown = False
        self.open_line = False  # a terminal line being rewritten, not yet ended

    def started(self, command: list[str]) -> None:
        click.echo(
            ("Đang chạy: " if self.lang == "vi" else "Running: ") + " ".join(command), err=True
        )
        # Load the output code now, while nmap works, rather than after it.
        import tabulate  # noqa: F401

        import itaudit.scan.view  # noqa: F401

    def __call__(self, p: Any) -> None:
        minutes, seconds = divmod(int(p.elapsed), 60)
        if self.lang == "vi":
            text = f"nmap: {p.done}/{p.total} địa chỉ xong ({p.up} đang bật)"
        else:
            text = f"nmap: {p.done}/{p.total} addresses done ({p.up} up)"
        if p.phase and p.phase != "done":
            text += f", {p.phase}" + (f" {p.percent:.0f}%" if p.percent is not None else "")
        text += f", {minutes}:{seconds:02d} " + ("đã trôi qua" if self.lang == "vi" else "elapsed")
        now = time.monotonic()
        if self.tty:
            click.echo("\r" + text.ljust(78), err=True, nl=p.phase == "done")
            self.open_line = p.phase != "done"
        elif p.phase == "done" or not self.shown or now - self.last >= self.PIPE_EVERY:
            click.echo(text, err=True)
        else:
            return
        self.last, self.shown = now, True

    def end_line(self) -> None:
        """End the updating line, so that a message after an interruption starts on its own."""
        if self.open_line:
            click.echo("", err=True)
            self.open_line = False


def _header(outcome: Any, lang: str) -> str:
    plan, record, out = outcome.plan, outcome.record, outcome.nmap
    vi = lang == "vi"
    unit = plan.unit.id if plan.unit else ("(không thuộc đơn vị nào)" if vi else "(no unit)")
    kind = {
        "syn": "SYN (root)" if not vi else "SYN (quyền root)",
        "connect": "TCP connect (không root)" if vi else "TCP connect (not root)",
        "ping": "chỉ dò thiết bị, không quét cổng" if vi else "discovery only, no ports",
    }[plan.scan_type]
    parts = [
        (f"Lần quét #{outcome.scan_id}" if vi else f"Scan #{outcome.scan_id}"),
        (f"đơn vị {unit}" if vi else f"unit {unit}"),
        f"{', '.join(plan.targets.texts)} ({plan.targets.addresses:,} "
        + ("địa chỉ)" if vi else "addresses)"),
        f"nmap {record.nmap_version or '?'}",
        kind,
    ]
    if out is not None:
        parts.append(f"{out.elapsed:.1f} s")
        parts.append(f"{out.hosts_up} " + ("thiết bị bật" if vi else "up"))
    options = record.options
    if options.get("ipv6") == "nd":
        parts.append("IPv6: " + ", ".join(options.get("ipv6_interfaces") or ()))
    if options.get("carried"):
        n = options["carried"]
        parts.append(
            f"{n} thiết bị giữ từ lần quét trước (không được quét lại)"
            if vi
            else f"{n} device(s) kept from earlier scans (not covered by this one)"
        )
    return " · ".join(parts)


def _ipv6_line(outcome: Any, lang: str) -> str | None:
    """Say so when IPv6 was not covered: an IPv6-only machine would go unseen."""
    options = outcome.record.options
    if options.get("ipv6") == "nd" or outcome.plan.unit is None:
        return None
    why = options.get("ipv6_note") or "?"
    return (
        f"IPv6 không được dò ({why}): máy chỉ dùng IPv6 sẽ không được thấy"
        if lang == "vi"
        else f"IPv6 was not covered ({why}): an IPv6-only machine would not be seen"
    )


def _print_table(outcome: Any, lang: str) -> None:
    from itaudit.scan.view import (
        DEVICE_COLUMNS,
        DEVICE_HEADERS,
        FINDING_COLUMNS,
        FINDING_HEADERS,
        MISSING_COLUMNS,
        MISSING_HEADERS,
        device_row,
        diff_lines,
        finding_row,
        missing_row,
        summary_line,
    )

    vi = lang == "vi"
    result = outcome.result
    click.secho(_header(outcome, lang), bold=True)
    if outcome.plan.note:
        click.echo(("Lưu ý: " if vi else "Note: ") + outcome.plan.note)
    ipv6 = _ipv6_line(outcome, lang)
    if ipv6:
        click.echo(("Lưu ý: " if vi else "Note: ") + ipv6)
    if result.devices:
        emit_rows(
            [device_row(d, lang) for d in result.devices],
            Format.TABLE,
            DEVICE_COLUMNS,
            DEVICE_HEADERS[lang],
        )
    else:
        click.echo(
            "Không thiết bị nào trả lời: mạng này có truy cập được từ máy này không?"
            if vi
            else "No device answered: can this network be reached from this computer?"
        )
    if result.missing:
        click.echo("")
        click.secho(("Vắng mặt" if vi else "Missing") + f" ({len(result.missing)})", bold=True)
        emit_rows(
            [missing_row(m, lang) for m in result.missing],
            Format.TABLE,
            MISSING_COLUMNS,
            MISSING_HEADERS[lang],
        )
    if result.findings:
        click.echo("")
        click.secho(("Phát hiện" if vi else "Findings") + f" ({len(result.findings)})", bold=True)
        emit_rows(
            [finding_row(f, lang) for f in result.findings],
            Format.TABLE,
            FINDING_COLUMNS,
            FINDING_HEADERS[lang],
        )
    click.echo("")
    click.echo(summary_line(result, lang))
    if outcome.diff_asked:
        if outcome.diff is None:
            click.echo(
                "--diff: chưa có lần quét hoàn chỉnh nào trước đó với cùng dải địa chỉ"
                if vi
                else "--diff: no earlier complete scan of the same targets"
            )
        else:
            for line in diff_lines(outcome.diff, lang):
                click.echo(line)


_STORE_SCHEME = re.compile(r"^(sqlite|postgres|postgresql)(\+[A-Za-z0-9_]+)?://(.*)$", re.DOTALL)


def _check_store_url(url: str) -> None:
    """A store URL that cannot work is a usage error before nmap starts; the store itself
    is opened (and its reachability known) only while nmap runs."""
    from itaudit.errors import UsageError

    m = _STORE_SCHEME.match(url)
    if m is None:
        scheme = url.partition(":")[0][:20]
        raise UsageError(
            f"--store: {scheme!r} is not a store URL; use sqlite:///FILE or "
            "postgresql://USER@HOST/DB"
        )
    if m.group(1) == "sqlite" and m.group(3) in ("", "/", "/:memory:"):
        raise UsageError("--store: an SQLite store needs a file: sqlite:///path/to/itaudit.db")


def _stop_on_signals() -> Callable[[], None]:
    """SIGTERM (`kill`, a timeout) and SIGHUP (the terminal closed) end a scan as Ctrl-C
    does: nmap is stopped and the scan recorded as failed. Returns what restores them."""

    def interrupt(signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    before = {}
    # Handlers can only be set from the main thread (a command run in a thread keeps its own).
    if threading.current_thread() is threading.main_thread():
        # SIGBREAK: Ctrl-Break in a Windows console, which would otherwise end itaudit
        # on the spot and leave the scan unrecorded (Ctrl-C is SIGINT everywhere).
        for name in ("SIGTERM", "SIGHUP", "SIGBREAK"):
            number = getattr(signal, name, None)
            if number is not None:
                before[number] = signal.signal(number, interrupt)

    def restore() -> None:
        for number, handler in before.items():
            signal.signal(number, handler)

    return restore


def _interrupted(running: bool, done: int, lang: str) -> str:
    """What Ctrl-C stopped, and what of it is kept."""
    vi = lang == "vi"
    if running:
        text = (
            "đã dừng theo yêu cầu; lần quét đang chạy được ghi là thất bại (failed)"
            if vi
            else "interrupted; the running scan is recorded as failed"
        )
    else:
        text = "đã dừng theo yêu cầu" if vi else "interrupted"
        if not done:
            text += "; chưa quét gì" if vi else "; nothing was scanned"
    if done:
        text += (
            f"; {done} lần quét trước đó đã xong và đã lưu"
            if vi
            else f"; {done} earlier scan(s) complete and stored"
        )
    return text


def _emit_json(outcomes: list[Any], fmt: str, lang: str) -> None:
    if fmt == Format.JSON and outcomes:
        click.echo(
            json.dumps(
                {"scans": [_as_json(o, lang) for o in outcomes]},
                ensure_ascii=False,
                indent=2,
                default=str,
            )
        )


def _as_json(outcome: Any, lang: str) -> dict[str, Any]:
    from itaudit.scan.view import device_json, diff_json, finding_json, missing_json

    record, plan, out = outcome.record, outcome.plan, outcome.nmap
    return {
        "scan": {
            "id": outcome.scan_id,
            "unit": record.unit,
            "targets": list(record.targets),
            "target_key": record.target_key,
            "addresses": record.addresses,
            "started_at": record.started_at.isoformat(),
            "finished_at": record.finished_at.isoformat() if record.finished_at else None,
            "nmap_version": record.nmap_version,
            "run_by": record.run_by,
            "options": record.options,
            "hosts_up": out.hosts_up if out else len(outcome.result.devices),
            "elapsed_s": round(out.elapsed, 3) if out else None,
            "note": plan.note,
        },
        "devices": [device_json(d) for d in outcome.result.devices],
        "missing": [missing_json(m) for m in outcome.result.missing],
        "findings": [finding_json(f, lang) for f in outcome.result.findings],
        "summary": outcome.result.summary(),
        "diff": diff_json(outcome.diff) if outcome.diff is not None else None,
    }


@click.command()
@click.argument("targets", nargs=-1, metavar="[TARGET]...")
@click.option(
    "--unit",
    "-u",
    metavar="UNIT",
    help="Reconcile with this unit (and, without TARGET, scan its subnets).",
)
@click.option(
    "--ports",
    "-p",
    default="default",
    show_default=True,
    metavar="default|none|LIST",
    help="Ports to check: the unit's list (profiles/data/scan-ports.yaml), none "
    "(find devices only), or a list such as 22,80,8000-8010.",
)
@click.option(
    "--timing",
    "-T",
    type=click.IntRange(0, 5),
    default=4,
    show_default=True,
    help="nmap timing template: 0 slowest and gentlest .. 5 fastest; use 3 or less for fragile devices.",
)
@click.option(
    "--yes-large",
    is_flag=True,
    help="Allow a target larger than a /16, or targets over 65,536 addresses in all.",
)
@click.option("--diff", is_flag=True, help="Compare with the previous scan of the same targets.")
@click.option(
    "--resolve",
    is_flag=True,
    help="Ask the system resolver for device names (reverse DNS); off by default, as an "
    "office without a reachable DNS server makes every address wait.",
)
@click.option(
    "--no-ipv6",
    "no_ipv6",
    is_flag=True,
    help="Skip IPv6 neighbour discovery on the unit's links (done by default as root "
    "when a whole unit is scanned).",
)
@click.option(
    "--lang",
    type=click.Choice(["vi", "en"]),
    default="vi",
    show_default=True,
    help="Language of the tables and findings.",
)
@format_option(Format.TABLE, Format.JSON)
@workspace_options
@pass_env
def scan(
    env: Env,
    targets: tuple[str, ...],
    unit: str | None,
    ports: str,
    timing: int,
    yes_large: bool,
    diff: bool,
    resolve: bool,
    no_ipv6: bool,
    lang: str,
    fmt: str,
) -> None:
    """Scan the LAN with nmap and reconcile it with agent reports and the register.

    \b
    TARGET: an address (10.38.16.25), a range (10.38.16.1-40 or
    10.38.16.1-10.38.16.40) or a network (10.38.16.0/24), IPv4. Without
    TARGET, the subnets of --unit (or of every unit, one scan each) from
    organization.yaml. Nothing else is ever scanned; more than 65,536
    addresses needs --yes-large.

    \b
    Each device seen is managed (sends agent reports), registered (in the
    asset register, no agent), unknown (neither) or forbidden (a state-secret
    machine, or lan = forbidden in the register). Register entries and
    reporting hosts expected on the LAN but not seen are listed as missing.
    Findings: risky open ports, devices outside the unit's subnets, agents
    that reported another address or MAC than the scan saw. Everything is
    stored for the checker and the reports.

    \b
    As root (administrator on Windows) nmap sees MAC addresses and vendors on
    the local segment, and a scan of a whole unit also finds IPv6-only
    neighbours; otherwise it runs a TCP connect scan and takes MACs from this
    computer's neighbour table. Reverse DNS is off unless --resolve.

    \b
    The unit's LAN (what check, report and readiness read) is built by
    coverage: a scan replaces only what it covered (its addresses, with an
    equal or stronger method); devices it did not cover stay, with when and
    by which scan they were seen, for the unit's window (7 days by default).

    \b
    Exit status: 0 scanned, 1 a forbidden device is on the LAN, 2 bad
    targets or options (nmap is not started), 3 nmap missing or failed,
    store unreachable, 130 interrupted (Ctrl-C or SIGTERM: nmap is stopped,
    the scan recorded as failed).
    """
    from itaudit.errors import ItauditError
    from itaudit.org.load import ORG_FILE
    from itaudit.scan.nmap_runner import ROOT_ADDS, find_nmap, is_privileged
    from itaudit.scan.ports import workspace_catalogue
    from itaudit.scan.run import ScanRequest, execute, plan_scans

    vi = lang == "vi"
    outcomes: list[Any] = []
    printer = _ProgressPrinter(lang)
    running = False
    restore = _stop_on_signals()
    try:
        org = env.org() if (env.workspace.inventory / ORG_FILE).is_file() else None
        catalogue = workspace_catalogue(
            env.workspace.profiles, {u.id for u in org.units} if org else None
        )
        privileged = is_privileged()
        request = ScanRequest(
            targets, unit, ports, timing, yes_large, diff, resolve=resolve, ipv6=not no_ipv6
        )
        plans = plan_scans(request, org, catalogue, privileged)
        _check_store_url(env.store_url)
        env.check_store_place()
        nmap_path = find_nmap()
        for i, plan in enumerate(plans):
            if len(plans) > 1 and plan.unit is not None:
                click.echo(
                    f"[{i + 1}/{len(plans)}] "
                    + (f"đơn vị {plan.unit.id}" if vi else f"unit {plan.unit.id}"),
                    err=True,
                )
            running = True
            try:
                outcome = execute(
                    plan,
                    nmap_path=nmap_path,
                    open_store=env.store,
                    org=org,
                    want_diff=diff,
                    on_progress=printer,
                    on_started=printer.started,
                )
            finally:
                printer.end_line()
            running = False
            outcomes.append(outcome)
            if fmt == Format.TABLE:
                if i:
                    click.echo("")
                _print_table(outcome, lang)
    except KeyboardInterrupt:
        _emit_json(outcomes, fmt, lang)
        raise CommandFailed(_interrupted(running, len(outcomes), lang), EXIT_INTERRUPTED) from None
    except ItauditError:
        # The scans of earlier units are stored; JSON readers get them too.
        _emit_json(outcomes, fmt, lang)
        raise
    finally:
        restore()
    _emit_json(outcomes, fmt, lang)
    if not privileged:
        click.echo(
            (
                "Không chạy với quyền root: quét TCP connect; địa chỉ MAC chỉ lấy từ bảng "
                "láng giềng của máy này (thiết bị cùng phân đoạn mạng); IPv6 không được dò. "
                if lang == "vi"
                else "Not run as root: TCP connect scan; MAC addresses only from this "
                "computer's neighbour table (devices on its own link); IPv6 not covered. "
            )
            + ROOT_ADDS[lang],
            err=True,
        )
    forbidden = sum(o.result.counts()["forbidden"] for o in outcomes)
    # Everything is stored and printed. Exempt what is loaded from the interpreter's
    # final garbage collection: it was a quarter of a scan's overhead over plain nmap
    # (benchmarks/bench_scan.py), and there is nothing left to collect.
    gc.freeze()
    if forbidden:
        raise CommandFailed(
            f"{forbidden} thiết bị bị cấm đang có trên mạng LAN"
            if lang == "vi"
            else f"{forbidden} forbidden device(s) on the LAN",
            EXIT_FINDINGS,
        )
