"""`itaudit doctor` through the real CLI, in both directions: everything present
(exit 0), and one thing missing at a time (its line says what to do, exit 1).
The Windows branches run here with a fake Windows machine (no Windows at hand)."""

from __future__ import annotations

import os
import shutil
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path, PureWindowsPath

import pytest
import sqlalchemy as sa

from itaudit.doctor import Check, DoctorSetup, exit_code, run_checks
from itaudit.scan.nmap_runner import is_privileged
from itaudit.scan.windows_nmap import WindowsHost
from itaudit.workspace import Workspace

TOKEN = "s3cret-enrolment-token-0123456789"


def _store(workspace: Workspace) -> str:
    from itaudit.store import open_store

    url = f"sqlite:///{workspace.inventory / 'itaudit.db'}"
    open_store(url).close()
    return url


def _certificate(workspace: Workspace) -> None:
    from itaudit.server import ensure_self_signed

    ensure_self_signed(workspace.inventory / "tls", ["localhost"])


def _token(workspace: Workspace, mode: int = 0o600) -> Path:
    path = workspace.root / "token.txt"
    path.write_text(TOKEN + "\n", encoding="utf-8")
    path.chmod(mode)
    return path


def _line(stdout: str, label: str) -> str:
    [line] = [x for x in stdout.splitlines() if f"] {label}:" in x]
    return line


@pytest.fixture
def ready(workspace: Workspace) -> Workspace:
    """A workspace with a migrated store, a certificate and a private token."""
    _store(workspace)
    _certificate(workspace)
    _token(workspace)
    return workspace


NEEDS_NMAP = pytest.mark.skipif(shutil.which("nmap") is None, reason="nmap not installed here")


@NEEDS_NMAP
def test_all_present_every_line_ok_exit_0(run_cli, ready: Workspace) -> None:
    r = run_cli(
        "-w", str(ready.root), "doctor", "--lang", "en", "--token-file", "token.txt", cwd=ready.root
    )
    print(r.stdout)
    assert r.returncode == 0, r.stdout + r.stderr
    lines = r.stdout.splitlines()
    labels = (
        "Python",
        "nmap",
        "scan rights",
        "workspace",
        "store",
        "collector certificate",
        "enrolment token",
        "clock",
        "holiday calendar",
        "disk space",
    )
    # Without root (or CAP_NET_RAW) scans still work, with less: a note, not a fault.
    rights = "[ok]" if is_privileged() else "[note]"
    for label in labels:
        expected = rights if label == "scan rights" else "[ok]"
        assert _line(r.stdout, label).startswith(expected), label
    assert len(lines) == len(labels)
    assert "up to date" in _line(r.stdout, "store")
    assert "readable only by its owner" in _line(r.stdout, "enrolment token")


@NEEDS_NMAP
def test_vietnamese_is_the_default(run_cli, ready: Workspace) -> None:
    r = run_cli("-w", str(ready.root), "doctor", "--token-file", "token.txt", cwd=ready.root)
    assert r.returncode == 0, r.stdout + r.stderr
    assert _line(r.stdout, "kho dữ liệu").startswith("[ổn]")
    assert "đã cập nhật" in r.stdout


def test_nmap_missing_says_how_to_install_exit_1(run_cli, ready: Workspace, tmp_path: Path) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    r = run_cli(
        "-w",
        str(ready.root),
        "doctor",
        "--lang",
        "en",
        "--token-file",
        "token.txt",
        cwd=ready.root,
        env={"PATH": str(empty)},
    )
    print(r.stdout)
    assert r.returncode == 1, r.stdout + r.stderr
    line = _line(r.stdout, "nmap")
    assert line.startswith("[FIX]")
    assert "apt-get install nmap" in line and "nmap.org/download" in line
    assert "1 check(s) to fix" in r.stderr
    assert "scan rights" not in r.stdout  # no rights to judge without nmap


def test_store_of_a_newer_version_says_upgrade_exit_1(run_cli, ready: Workspace) -> None:
    url = f"sqlite:///{ready.inventory / 'itaudit.db'}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            sa.text("INSERT INTO schema_migrations (id, applied_at) VALUES (:i, :t)"),
            {"i": "core.999_from_the_future", "t": datetime(2026, 1, 1)},
        )
    engine.dispose()
    r = run_cli(
        "-w", str(ready.root), "doctor", "--lang", "en", "--token-file", "token.txt", cwd=ready.root
    )
    print(r.stdout)
    assert r.returncode == 1, r.stdout + r.stderr
    line = _line(r.stdout, "store")
    assert line.startswith("[FIX]")
    assert "newer itaudit" in line and "core.999_from_the_future" in line
    assert "pip install -U itaudit" in line


def test_store_not_migrated_yet_is_a_note(run_cli, ready: Workspace) -> None:
    engine = sa.create_engine(f"sqlite:///{ready.inventory / 'itaudit.db'}")
    with engine.begin() as conn:
        last = conn.execute(sa.text("SELECT max(id) FROM schema_migrations")).scalar()
        conn.execute(sa.text("DELETE FROM schema_migrations WHERE id = :i"), {"i": last})
    engine.dispose()
    r = run_cli(
        "-w", str(ready.root), "doctor", "--lang", "en", "--token-file", "token.txt", cwd=ready.root
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert _line(r.stdout, "store").startswith("[note]")
    assert "1 migration(s) not applied" in r.stdout


def test_workspace_missing_its_files_exit_1(run_cli, tmp_path: Path) -> None:
    bare = tmp_path / "bare"
    bare.mkdir()
    r = run_cli("-w", str(bare), "doctor", "--lang", "en", cwd=bare)
    print(r.stdout)
    assert r.returncode == 1, r.stdout + r.stderr
    line = _line(r.stdout, "workspace")
    assert line.startswith("[FIX]") and "itaudit init" in line
    assert "organization.yaml" in line
    assert not (bare / "inventory").exists()  # doctor changes nothing


def test_register_with_errors_points_to_org_validate(run_cli, ready: Workspace) -> None:
    assets = ready.inventory / "assets.csv"
    text = assets.read_text(encoding="utf-8-sig")
    first, rest = text.split("\n", 1)
    assets.write_text(first + "\nBROKEN,no-such-type,no-such-unit,,,,,,\n" + rest, "utf-8")
    r = run_cli(
        "-w", str(ready.root), "doctor", "--lang", "en", "--token-file", "token.txt", cwd=ready.root
    )
    assert r.returncode == 1, r.stdout + r.stderr
    line = _line(r.stdout, "workspace")
    assert line.startswith("[FIX]") and "itaudit org validate" in line


@pytest.mark.skipif(os.name != "posix", reason="POSIX mode bits")
def test_token_readable_by_others_says_chmod_exit_1(run_cli, ready: Workspace) -> None:
    _token(ready, mode=0o644)
    r = run_cli(
        "-w", str(ready.root), "doctor", "--lang", "en", "--token-file", "token.txt", cwd=ready.root
    )
    print(r.stdout)
    assert r.returncode == 1, r.stdout + r.stderr
    line = _line(r.stdout, "enrolment token")
    assert line.startswith("[FIX]")
    assert "chmod 600" in line and "mode 644" in line


@pytest.mark.skipif(os.name != "posix", reason="POSIX mode bits")
def test_collector_key_readable_by_others_exit_1(run_cli, ready: Workspace) -> None:
    (ready.inventory / "tls" / "collector-key.pem").chmod(0o640)
    r = run_cli(
        "-w", str(ready.root), "doctor", "--lang", "en", "--token-file", "token.txt", cwd=ready.root
    )
    assert r.returncode == 1, r.stdout + r.stderr
    bad = [x for x in r.stdout.splitlines() if x.startswith("[FIX] collector certificate")]
    assert len(bad) == 1 and "collector-key.pem" in bad[0] and "chmod 600" in bad[0]


def test_short_token_exit_1(run_cli, ready: Workspace) -> None:
    (ready.root / "token.txt").write_text("short\n", encoding="utf-8")
    r = run_cli(
        "-w", str(ready.root), "doctor", "--lang", "en", "--token-file", "token.txt", cwd=ready.root
    )
    assert r.returncode == 1
    assert "at least 16 characters" in _line(r.stdout, "enrolment token")


# --- the library with what the CLI cannot fake: a clock, a Windows machine -----------


def _setup(workspace: Workspace, **kw: object) -> DoctorSetup:
    url = f"sqlite:///{workspace.inventory / 'itaudit.db'}"
    return DoctorSetup(workspace=workspace, store_url=url, store_label=url, lang="en", **kw)  # type: ignore[arg-type]


def _by_name(checks: list[Check], name: str) -> list[Check]:
    return [c for c in checks if c.name == name]


def test_clock_behind_a_stored_report_is_a_fault(ready: Workspace) -> None:
    url = f"sqlite:///{ready.inventory / 'itaudit.db'}"
    engine = sa.create_engine(url)
    collected = datetime(2026, 12, 1, 8, 0)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO hosts (id, hostname, hostname_key, first_seen)"
                " VALUES (1, 'pc-1', 'pc-1', :c)"
            ),
            {"c": collected},
        )
        conn.execute(
            sa.text(
                "INSERT INTO reports (host_id, content_hash, report_uuid, collected_at,"
                " received_at, signature_state, size_bytes, document)"
                " VALUES (1, 'h', 'u', :c, :c, 'valid', 2, '{}')"
            ),
            {"c": collected},
        )
    engine.dispose()
    behind = run_checks(_setup(ready, now=datetime(2026, 11, 30, tzinfo=UTC)))
    [clock] = _by_name(behind, "clock")
    assert clock.status == "fault" and "behind" in clock.text and "2026-12-01 08:00" in clock.text
    right = run_checks(_setup(ready, now=collected.replace(tzinfo=UTC) + timedelta(days=1)))
    assert _by_name(right, "clock")[0].status == "ok"


def test_clock_in_year_2000_is_a_fault(workspace: Workspace) -> None:
    checks = run_checks(_setup(workspace, now=datetime(2000, 1, 1, tzinfo=UTC)))
    [clock] = _by_name(checks, "clock")
    assert clock.status == "fault" and "cannot be right" in clock.text
    assert exit_code(checks) == 1


def test_certificate_expiring_soon_is_a_note_and_expired_a_fault(ready: Workspace) -> None:
    from cryptography import x509

    cert = ready.inventory / "tls" / "collector-cert.pem"
    until = x509.load_pem_x509_certificate(cert.read_bytes()).not_valid_after_utc
    soon = _by_name(run_checks(_setup(ready, now=until - timedelta(days=10))), "certificate")
    assert [c.status for c in soon] == ["note"] and "in 10 days" in soon[0].text
    gone = _by_name(run_checks(_setup(ready, now=until + timedelta(days=1))), "certificate")
    assert [c.status for c in gone] == ["fault"] and "expired" in gone[0].text


def _windows(
    files: set[str],
    registry: dict[tuple[str, str], object],
    elevated: bool | None,
    path_nmap: str | None = None,
) -> WindowsHost:
    env = {
        "ProgramFiles": r"C:\Program Files",
        "ProgramFiles(x86)": r"C:\Program Files (x86)",
        "SystemRoot": r"C:\Windows",
    }
    lower = {f.lower() for f in files}
    return WindowsHost(
        environ=env,
        is_file=lambda p: str(p).lower() in lower,
        read_hklm=lambda key, name: registry.get((key, name)),
        which=lambda _name: path_nmap,
        elevated=lambda: elevated,
    )


class _FakeWindowsRunner:
    """Answers `nmap --version` and Get-Acl as a Windows machine would."""

    def __init__(self, acl: str):
        self.acl = acl

    def __call__(self, argv: list[str], extra: object) -> tuple[int, str]:
        if argv[0].lower().endswith("nmap.exe"):
            return 0, "Nmap version 7.95 ( https://nmap.org )\nPlatform: i686-pc-windows-windows\n"
        if argv[0] == "powershell.exe":
            return 0, self.acl
        return 127, ""


NMAP_EXE = r"C:\Program Files (x86)\Nmap\nmap.exe"
NPCAP = {(r"SOFTWARE\Npcap", ""): r"C:\Program Files\Npcap"}
PRIVATE_ACL = (
    "S-1-5-18|Allow|2032127\nS-1-5-32-544|Allow|2032127\nS-1-5-21-1-2-3-1001|Allow|2032127\n"
)


def test_windows_all_present(ready: Workspace) -> None:
    host = _windows(
        {NMAP_EXE},
        {
            **NPCAP,
            (r"SYSTEM\CurrentControlSet\Services\npcap\Parameters", "AdminOnly"): 0,
            (r"SYSTEM\CurrentControlSet\Control\FileSystem", "LongPathsEnabled"): 1,
        },
        elevated=False,
    )
    checks = run_checks(
        _setup(
            ready,
            platform="win32",
            windows=host,
            runner=_FakeWindowsRunner(PRIVATE_ACL),
            token_file=ready.root / "token.txt",
        )
    )
    assert {c.name: c.status for c in checks if c.status != "ok"} == {}, checks
    assert NMAP_EXE in _by_name(checks, "nmap")[0].text
    assert "7.95" in _by_name(checks, "nmap")[0].text


def test_windows_without_npcap_says_what_the_scan_cannot_see(ready: Workspace) -> None:
    host = _windows({NMAP_EXE}, {}, elevated=True)
    checks = run_checks(
        _setup(ready, platform="win32", windows=host, runner=_FakeWindowsRunner(PRIVATE_ACL))
    )
    [rights] = _by_name(checks, "privileges")
    assert rights.status == "fault"
    assert "Npcap is not installed" in rights.text and "no MAC addresses" in rights.text
    assert "neighbour table" in rights.text and "npcap.com" in rights.text
    [long_paths] = _by_name(checks, "long_paths")
    assert long_paths.status == "note" and "260" in long_paths.text


def test_windows_token_readable_by_users_gives_the_icacls_line(ready: Workspace) -> None:
    acl = PRIVATE_ACL + "S-1-5-32-545|Allow|1179817\n"  # BUILTIN\Users: ReadAndExecute
    host = _windows({NMAP_EXE}, NPCAP, elevated=True)
    checks = run_checks(
        _setup(
            ready,
            platform="win32",
            windows=host,
            runner=_FakeWindowsRunner(acl),
            token_file=ready.root / "token.txt",
        )
    )
    [token] = _by_name(checks, "token")
    assert token.status == "fault" and "Users" in token.text
    assert "icacls" in token.text and "/inheritance:r" in token.text
    assert exit_code(checks) == 1


def test_windows_nmap_missing_names_the_folders_looked_in(workspace: Workspace) -> None:
    host = _windows(set(), NPCAP, elevated=True)
    checks = run_checks(
        _setup(workspace, platform="win32", windows=host, runner=_FakeWindowsRunner(PRIVATE_ACL))
    )
    [nmap] = _by_name(checks, "nmap")
    assert nmap.status == "fault"
    assert str(PureWindowsPath(r"C:\Program Files\Nmap\nmap.exe")) in nmap.text
    assert "nmap.org/download" in nmap.text


def test_unprivileged_linux_scan_is_a_note_not_a_fault() -> None:
    # Only the meaning of the line: whether this process is privileged is the machine's.
    assert exit_code([Check("privileges", "note", "not root")]) == 0
    assert exit_code([Check("nmap", "fault", "missing")]) == 1


@NEEDS_NMAP
def test_nmap_version_read_from_the_real_nmap(ready: Workspace) -> None:
    checks = run_checks(_setup(ready))
    [nmap] = _by_name(checks, "nmap")
    assert nmap.status == "ok" and "version 7." in nmap.text, nmap
    assert sys.platform != "win32"
