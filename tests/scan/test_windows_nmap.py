"""nmap on Windows, tested here: nmap.exe found in a fake install tree (real folders
standing for C:\\ and D:\\), Npcap read from a fake registry, and the plain message
from nmap's own recorded words."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path, PureWindowsPath

import pytest

from itaudit.scan.windows_nmap import (
    NPCAP_PARAMETERS,
    NpcapStatus,
    WindowsHost,
    explain,
    explain_nmap_output,
    find_nmap_exe,
    missing_nmap_hint,
    nmap_candidates,
    nmap_says_no_npcap,
    npcap_status,
)

ENV = {
    "ProgramFiles": r"C:\Program Files",
    "ProgramW6432": r"C:\Program Files",
    "ProgramFiles(x86)": r"C:\Program Files (x86)",
    "SystemRoot": r"C:\Windows",
}

# nmap 7.80 on Windows without a usable Npcap, as published in a public walkthrough
# ("nmap -A craft.htb"); the warning is the one nmap's winfix.cc (win_init) prints.
NMAP_780_NO_NPCAP = (
    "WARNING: Could not import all necessary Npcap functions. You may need to upgrade to the "
    "latest version from https://npcap.org. Resorting to connect() mode -- Nmap may not "
    "function completely\n"
    "Starting Nmap 7.80 ( https://nmap.org ) at 2020-01-04 07:53 Changement de date\n"
)
# nmap's winfix.cc (start_service) when the npcap service will not start.
NMAP_NO_SERVICE = (
    "Unable to start npcap service: ShellExecute returned 5.\n"
    "Resorting to unprivileged (non-administrator) mode.\n"
)
NMAP_CLEAN = "Starting Nmap 7.95 ( https://nmap.org ) at 2026-12-04 09:00 SE Asia Standard Time\n"


def _tree(root: Path, files: list[str]) -> None:
    """Make the Windows files under root/<drive letter>/..."""
    for name in files:
        win = PureWindowsPath(name)
        target = root / win.drive.rstrip(":") / Path(*win.parts[1:])
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(b"MZ")


def _host(
    root: Path,
    env: Mapping[str, str] = ENV,
    registry: Mapping[tuple[str, str], object] | None = None,
    on_path: str | None = None,
    elevated: bool | None = False,
) -> WindowsHost:
    def is_file(path: PureWindowsPath) -> bool:
        return (root / path.drive.rstrip(":") / Path(*path.parts[1:])).is_file()

    reg = dict(registry or {})
    return WindowsHost(
        environ=env,
        is_file=is_file,
        read_hklm=lambda key, name: reg.get((key, name)),
        which=lambda _name: on_path,
        elevated=lambda: elevated,
    )


# --- finding nmap.exe -------------------------------------------------------------


def test_nmap_in_program_files_though_not_on_path(tmp_path: Path) -> None:
    _tree(tmp_path, [r"C:\Program Files\Nmap\nmap.exe"])
    assert find_nmap_exe(_host(tmp_path)) == r"C:\Program Files\Nmap\nmap.exe"


def test_nmap_of_an_old_32_bit_installer(tmp_path: Path) -> None:
    _tree(tmp_path, [r"C:\Program Files (x86)\Nmap\nmap.exe"])
    assert find_nmap_exe(_host(tmp_path)) == r"C:\Program Files (x86)\Nmap\nmap.exe"


def test_program_files_on_another_drive_from_the_environment(tmp_path: Path) -> None:
    _tree(tmp_path, [r"D:\Apps\Nmap\nmap.exe", r"C:\Program Files\Nmap\readme.txt"])
    env = {**ENV, "ProgramFiles": r"D:\Apps", "ProgramW6432": r"D:\Apps"}
    assert find_nmap_exe(_host(tmp_path, env=env)) == r"D:\Apps\Nmap\nmap.exe"


def test_path_wins_over_the_install_folders(tmp_path: Path) -> None:
    _tree(tmp_path, [r"C:\Program Files\Nmap\nmap.exe"])
    host = _host(tmp_path, on_path=r"C:\Tools\nmap.exe")
    assert find_nmap_exe(host) == r"C:\Tools\nmap.exe"


def test_a_folder_named_nmap_exe_is_not_nmap(tmp_path: Path) -> None:
    (tmp_path / "C" / "Program Files" / "Nmap" / "nmap.exe").mkdir(parents=True)
    assert find_nmap_exe(_host(tmp_path)) is None


def test_no_nmap_anywhere_names_where_it_looked(tmp_path: Path) -> None:
    host = _host(tmp_path)
    assert find_nmap_exe(host) is None
    hint = missing_nmap_hint(host, "en")
    assert r"C:\Program Files\Nmap\nmap.exe" in hint
    assert r"C:\Program Files (x86)\Nmap\nmap.exe" in hint
    assert "https://nmap.org/download.html" in hint
    assert "Không thấy nmap.exe" in missing_nmap_hint(host, "vi")


def test_candidates_without_environment_fall_back_to_c(tmp_path: Path) -> None:
    assert [str(p) for p in nmap_candidates({})] == [
        r"C:\Program Files\Nmap\nmap.exe",
        r"C:\Program Files (x86)\Nmap\nmap.exe",
    ]


# --- Npcap -------------------------------------------------------------------------

NPCAP_REG = {(r"SOFTWARE\Npcap", ""): r"C:\Program Files\Npcap"}


def test_npcap_for_everyone_is_usable_without_elevation(tmp_path: Path) -> None:
    status = npcap_status(
        _host(tmp_path, registry={**NPCAP_REG, (NPCAP_PARAMETERS, "AdminOnly"): 0})
    )
    assert status == NpcapStatus(True, r"C:\Program Files\Npcap", False, False)
    assert status.usable is True
    assert explain(status, "en") is None


def test_npcap_admin_only_not_elevated_says_run_as_administrator(tmp_path: Path) -> None:
    reg = {**NPCAP_REG, (NPCAP_PARAMETERS, "AdminOnly"): 1}
    status = npcap_status(_host(tmp_path, registry=reg, elevated=False))
    assert status.usable is False
    text = explain(status, "en")
    assert text is not None
    assert "Run as administrator" in text and "no MAC addresses" in text
    assert "neighbour table" in text
    assert npcap_status(_host(tmp_path, registry=reg, elevated=True)).usable is True


def test_npcap_found_only_by_its_dll_in_system32(tmp_path: Path) -> None:
    _tree(tmp_path, [r"C:\Windows\System32\Npcap\wpcap.dll"])
    status = npcap_status(_host(tmp_path))
    assert status.installed and status.where == r"C:\Windows\System32\Npcap\wpcap.dll"
    assert status.admin_only is None and status.usable is None  # never "fine" unread
    text = explain(status, "en")
    assert text is not None and "could not be read" in text


def test_npcap_in_the_32_bit_registry_view(tmp_path: Path) -> None:
    reg = {(r"SOFTWARE\WOW6432Node\Npcap", ""): r"C:\Program Files\Npcap"}
    assert npcap_status(_host(tmp_path, registry=reg)).installed


def test_no_npcap_says_what_the_scan_cannot_see_and_how_to_fix(tmp_path: Path) -> None:
    status = npcap_status(_host(tmp_path, elevated=True))
    assert not status.installed and status.usable is False
    en = explain(status, "en")
    vi = explain(status, "vi")
    assert en is not None and vi is not None
    assert "Npcap is not installed" in en and "https://npcap.com/#download" in en
    assert "no MAC addresses" in en and "state-secret machines" in en and "arp -a" in en
    assert "Chưa cài Npcap" in vi and "máy mật" in vi and "địa chỉ MAC" in vi


# --- what nmap printed ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("stderr", "kind"),
    [(NMAP_780_NO_NPCAP, "missing"), (NMAP_NO_SERVICE, "service"), (NMAP_CLEAN, None)],
)
def test_nmap_output_read(stderr: str, kind: str | None) -> None:
    assert nmap_says_no_npcap(stderr) == kind


def test_nmap_output_explained_plainly() -> None:
    text = explain_nmap_output(NMAP_780_NO_NPCAP, "en")
    assert text is not None
    assert "fell back to connect scans" in text and "no MAC addresses" in text
    assert explain_nmap_output(NMAP_CLEAN, "en") is None
    service = explain_nmap_output(NMAP_NO_SERVICE, "vi")
    assert service is not None and "sc start npcap" in service
