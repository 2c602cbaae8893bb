"""`itaudit doctor`: is this machine ready to be the officer's side?

Each check gives one line: ok, a note (it works, with less: what to do for more)
or a fault (something is missing or broken: what to do). Nothing is changed: the
store is opened without migrating, no certificate is created.

Everything the checks look at comes through `DoctorSetup`, so tests give a fake
platform, a fake Windows machine or an old clock, and the CLI gives the real ones.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from itaudit.fileaccess import Runner, exposure, fix_hint, run_command
from itaudit.i18n import format_date, t
from itaudit.scan.windows_nmap import WindowsHost, live_host
from itaudit.workspace import Workspace

Status = Literal["ok", "note", "fault"]
MIN_PYTHON = (3, 11)
CERT_WARN_DAYS = 30
DISK_NOTE_BYTES = 1 << 30  # 1 GiB: a year of reports of a large department
DISK_FAULT_BYTES = 100 << 20
CLOCK_SLACK_SECONDS = 300  # agents' clocks drift; five minutes is not a fault
# A clock outside these years is wrong whatever the store says (a dead CMOS battery
# gives 2000 or 1970).
CLOCK_YEARS = (2024, 2100)
LONG_PATHS_KEY = r"SYSTEM\CurrentControlSet\Control\FileSystem"


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    text: str

    def line(self, lang: str) -> str:
        mark = t(f"doctor.status.{self.status}", lang)
        return f"[{mark}] {t(f'doctor.label.{self.name}', lang)}: {self.text}"


@dataclass
class DoctorSetup:
    workspace: Workspace
    store_url: str
    store_label: str
    token_file: Path | None = None
    lang: str = "vi"
    platform: str = sys.platform
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    windows: WindowsHost | None = None
    which: Callable[[str], str | None] = shutil.which
    runner: Runner = run_command
    python: tuple[int, int, int] = (
        sys.version_info.major,
        sys.version_info.minor,
        sys.version_info.micro,
    )

    def __post_init__(self) -> None:
        if self.platform == "win32" and self.windows is None:
            self.windows = live_host()


def run_checks(setup: DoctorSetup) -> list[Check]:
    """Every check, in the order an officer fixes things."""
    checks = [_python(setup), *_nmap(setup), _workspace(setup)]
    store, newest = _store(setup)
    checks.append(store)
    checks.extend(_certificate(setup))
    checks.append(_token(setup))
    checks.append(_clock(setup, newest))
    checks.append(_calendar(setup))
    checks.append(_disk(setup))
    if setup.platform == "win32":
        checks.append(_long_paths(setup))
    return checks


def _python(s: DoctorSetup) -> Check:
    version = ".".join(map(str, s.python))
    if s.python[:2] >= MIN_PYTHON:
        return Check("python", "ok", t("doctor.python.ok", s.lang, version=version))
    return Check("python", "fault", t("doctor.python.old", s.lang, version=version))


def _nmap_version(path: str, runner: Runner) -> str | None:
    code, out = runner([path, "--version"], {})
    first = out.strip().splitlines()[0] if out.strip() else ""
    return first.removeprefix("Nmap version ").split(" ")[0] or None if code == 0 else None


def _nmap(s: DoctorSetup) -> list[Check]:
    from itaudit.scan import windows_nmap as wn

    lang = s.lang
    if s.platform == "win32":
        assert s.windows is not None
        path = wn.find_nmap_exe(s.windows)
        if path is None:
            return [Check("nmap", "fault", wn.missing_nmap_hint(s.windows, lang))]
    else:
        found = s.which("nmap")
        if found is None:
            return [Check("nmap", "fault", t("doctor.nmap.missing", lang))]
        path = found
    version = _nmap_version(path, s.runner)
    if version is None:
        nmap = Check("nmap", "fault", t("doctor.nmap.broken", lang, path=path))
    else:
        nmap = Check("nmap", "ok", t("doctor.nmap.ok", lang, path=path, version=version))
    return [nmap, _privileges(s)]


def _privileges(s: DoctorSetup) -> Check:
    from itaudit.scan import windows_nmap as wn

    lang = s.lang
    if s.platform == "win32":
        assert s.windows is not None
        status = wn.npcap_status(s.windows)
        problem = wn.explain(status, lang)
        if problem is None:
            return Check("privileges", "ok", t("doctor.npcap.ok", lang, where=status.where))
        return Check("privileges", "fault" if not status.installed else "note", problem)
    from itaudit.scan.nmap_runner import is_privileged

    if is_privileged():
        return Check("privileges", "ok", t("doctor.privileges.raw", lang))
    return Check("privileges", "note", t("doctor.privileges.unprivileged", lang))


def _workspace(s: DoctorSetup) -> Check:
    from itaudit.org.load import ORG_FILE, validate_organisation

    lang = s.lang
    org_file = s.workspace.inventory / ORG_FILE
    if not org_file.is_file():
        return Check("workspace", "fault", t("doctor.workspace.missing", lang, path=org_file))
    register, problems = validate_organisation(s.workspace.inventory)
    errors = sum(p.severity == "error" for p in problems)
    missing = [
        name for name in ("profiles",) if not (s.workspace.root / name).is_dir()
    ]  # profiles/ holds the rules every check runs
    if errors or register is None:
        return Check("workspace", "fault", t("doctor.workspace.errors", lang, errors=errors))
    if missing:
        path = s.workspace.root / missing[0]
        return Check("workspace", "fault", t("doctor.workspace.missing", lang, path=path))
    return Check(
        "workspace",
        "ok",
        t(
            "doctor.workspace.ok",
            lang,
            units=len(register.units),
            assets=len(register.assets),
            members=len(register.team.members) if register.team else 0,
            warnings=len(problems) - errors,
        ),
    )


def _token(s: DoctorSetup) -> Check:
    lang = s.lang
    path = s.token_file
    if path is None:
        return Check("token", "note", t("doctor.token.none", lang))
    try:
        length = len(path.read_text(encoding="utf-8").strip())
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8"
        return Check("token", "fault", t("doctor.token.unreadable", lang, path=path, reason=reason))
    if length < 16:
        return Check("token", "fault", t("doctor.token.short", lang, path=path, length=length))
    found = exposure(path, s.platform, s.runner)
    if found.error:
        return Check("token", "fault", found.error)
    if found.exposed:
        fix = fix_hint(path, s.platform)
        who = ", ".join(found.who)
        return Check("token", "fault", t("doctor.token.exposed", lang, path=path, who=who, fix=fix))
    return Check("token", "ok", t("doctor.token.ok", lang, path=path, length=length))


def _calendar(s: DoctorSetup) -> Check:
    from itaudit.readiness.calendar import FIRST_YEAR, LAST_YEAR

    lang = s.lang
    year = s.now.year
    params = {"first": FIRST_YEAR, "last": LAST_YEAR}
    if not FIRST_YEAR <= year <= LAST_YEAR:
        return Check("calendar", "fault", t("doctor.calendar.outside", lang, year=year, **params))
    if year + 1 > LAST_YEAR:
        return Check("calendar", "note", t("doctor.calendar.ends", lang, **params))
    return Check("calendar", "ok", t("doctor.calendar.ok", lang, **params))


def _store_folder(s: DoctorSetup) -> Path:
    if s.store_url.startswith("sqlite:///"):
        return Path(s.store_url.removeprefix("sqlite:///")).parent
    return s.workspace.root


def _disk(s: DoctorSetup) -> Check:
    lang = s.lang
    folder = _store_folder(s)
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    try:
        free = shutil.disk_usage(folder).free
    except OSError as exc:
        reason = exc.strerror or str(exc)
        return Check("disk", "fault", t("doctor.disk.unknown", lang, folder=folder, reason=reason))
    shown = f"{free / (1 << 30):.1f} GiB"
    shown = shown.replace(".", ",") if lang == "vi" else shown
    if free < DISK_FAULT_BYTES:
        return Check("disk", "fault", t("doctor.disk.low", lang, free=shown, folder=folder))
    if free < DISK_NOTE_BYTES:
        return Check("disk", "note", t("doctor.disk.low", lang, free=shown, folder=folder))
    return Check("disk", "ok", t("doctor.disk.ok", lang, free=shown, folder=folder))


def _long_paths(s: DoctorSetup) -> Check:
    """Windows refuses paths over 260 characters unless long paths are enabled (python.exe
    itself declares it can use them). A workspace deep in a user's folder, with
    reports named after units, gets there."""
    assert s.windows is not None
    value = s.windows.read_hklm(LONG_PATHS_KEY, "LongPathsEnabled")
    if value == 1:
        return Check("long_paths", "ok", t("doctor.long_paths.enabled", s.lang))
    return Check("long_paths", "note", t("doctor.long_paths.disabled", s.lang))


def format_date_time(moment: datetime, lang: str) -> str:
    """A UTC moment as the officer reads it."""
    return f"{format_date(moment, lang)} {moment:%H:%M} UTC"


def exit_code(checks: list[Check]) -> int:
    """0 when nothing is missing, 1 otherwise (notes do not count)."""
    return 1 if any(c.status == "fault" for c in checks) else 0


def _store(s: DoctorSetup) -> tuple[Check, datetime | None]:
    """The store's version, read without migrating; and the newest collected_at in it."""
    import sqlalchemy as sa

    from itaudit.errors import ItauditError
    from itaudit.store import open_store
    from itaudit.store import tables as tb
    from itaudit.store.migrations import all_migrations

    lang = s.lang
    url = s.store_label
    if s.store_url.startswith("sqlite:///"):
        file = Path(s.store_url.removeprefix("sqlite:///"))
        if not file.exists():
            return Check("store", "note", t("doctor.store.none", lang, url=url)), None
    try:
        store = open_store(s.store_url, migrate=False)
    except ItauditError as exc:
        return Check("store", "fault", t("doctor.store.error", lang, url=url, reason=exc)), None
    try:
        try:
            applied = set(store.applied_migrations())
        except ItauditError as exc:
            return Check("store", "fault", t("doctor.store.error", lang, url=url, reason=exc)), None
        known = [m.id for m in all_migrations()]
        newer = sorted(applied - set(known))
        if newer:
            ids = ", ".join(newer[:3])
            return Check("store", "fault", t("doctor.store.newer", lang, url=url, ids=ids)), None
        newest = None
        if "core.001_initial" in applied:  # the reports table exists
            try:
                with store.read() as conn:
                    newest = conn.execute(
                        sa.select(sa.func.max(tb.reports.c.collected_at))
                    ).scalar()
            except ItauditError:
                newest = None
        pending = len([m for m in known if m not in applied])
        if pending:
            check = Check(
                "store", "note", t("doctor.store.pending", lang, url=url, pending=pending)
            )
        else:
            check = Check("store", "ok", t("doctor.store.ok", lang, url=url, applied=len(applied)))
        return check, newest.replace(tzinfo=UTC) if isinstance(newest, datetime) else None
    finally:
        store.close()


def _certificate(s: DoctorSetup) -> list[Check]:
    """The collector's certificate (inventory/tls/, made by `itaudit serve`): its expiry,
    and who may read its private key."""
    from cryptography import x509

    lang = s.lang
    folder = s.workspace.inventory / "tls"
    cert, key = folder / "collector-cert.pem", folder / "collector-key.pem"
    if not cert.exists():
        return [Check("certificate", "note", t("doctor.certificate.none", lang, folder=folder))]
    try:
        loaded = x509.load_pem_x509_certificate(cert.read_bytes())
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)[:200]
        return [
            Check(
                "certificate", "fault", t("doctor.certificate.bad", lang, path=cert, reason=reason)
            )
        ]
    until = loaded.not_valid_after_utc
    days = (until - s.now).days
    params = {"path": cert, "date": format_date(until, lang), "days": days, "keyfile": key}
    if until <= s.now:
        out = [Check("certificate", "fault", t("doctor.certificate.expired", lang, **params))]
    elif days < CERT_WARN_DAYS:
        out = [Check("certificate", "note", t("doctor.certificate.soon", lang, **params))]
    else:
        out = [Check("certificate", "ok", t("doctor.certificate.ok", lang, **params))]
    if key.exists():
        found = exposure(key, s.platform, s.runner)
        if found.error:
            out.append(Check("certificate", "fault", found.error))
        elif found.exposed:
            text = t(
                "doctor.certificate.key_exposed",
                lang,
                keyfile=key,
                who=", ".join(found.who),
                fix=fix_hint(key, s.platform),
            )
            out.append(Check("certificate", "fault", text))
    return out


def _clock(s: DoctorSetup, newest: datetime | None) -> Check:
    """A clock outside plausible years, or behind a report already collected, makes
    freshness and readiness dates wrong."""
    lang = s.lang
    now_text = format_date_time(s.now, lang)
    if not CLOCK_YEARS[0] <= s.now.year <= CLOCK_YEARS[1]:
        return Check("clock", "fault", t("doctor.clock.odd", lang, now=now_text))
    if newest is not None and (newest - s.now).total_seconds() > CLOCK_SLACK_SECONDS:
        newest_text = format_date_time(newest, lang)
        return Check(
            "clock", "fault", t("doctor.clock.behind", lang, now=now_text, newest=newest_text)
        )
    if newest is None:
        return Check("clock", "ok", t("doctor.clock.ok_alone", lang, now=now_text))
    return Check(
        "clock",
        "ok",
        t("doctor.clock.ok", lang, now=now_text, newest=format_date_time(newest, lang)),
    )
