"""Writers never replace what a path really is (issue 12, finding 5).

`itaudit agent collect --out /dev/null` as root used to turn /dev/null into a
0600 regular file. The tests use a device node and a FIFO of their own (never
the machine's /dev/null), through the real CLI and through the report writer."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest

from itaudit.report.render import RenderError, write_bytes
from itaudit.safefile import UnsafePath, write_file


def _null_device(folder: Path) -> Path:
    if os.geteuid() != 0:
        pytest.skip("creating a device node needs root")
    node = folder / "null"
    os.mknod(node, stat.S_IFCHR | 0o666, os.makedev(1, 3))  # the same device as /dev/null
    return node


def test_cli_writes_into_a_character_device_without_replacing_it(tmp_path, run_cli):
    node = _null_device(tmp_path)
    result = run_cli("agent", "script", "--platform", "windows", "--out", str(node))
    assert result.returncode == 0, result.output
    assert stat.S_ISCHR(os.lstat(node).st_mode), "the device node was replaced"
    assert not list(tmp_path.glob(".null.*.tmp"))


def test_cli_writes_into_a_fifo_for_a_reader(tmp_path, run_cli):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    result = run_cli("agent", "script", "--platform", "windows", "--out", str(fifo))
    reader.join(60)
    assert result.returncode == 0, result.output
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert got and b"itaudit" in got[0] and got[0].startswith(b"\xef\xbb\xbf")


def test_cli_refuses_a_folder_and_a_link_out_of_its_folder(tmp_path, run_cli):
    folder = tmp_path / "a-folder"
    folder.mkdir()
    result = run_cli("agent", "script", "--platform", "windows", "--out", str(folder))
    assert result.returncode != 0 and folder.is_dir()
    secret = tmp_path / "elsewhere" / "authorized_keys"
    secret.parent.mkdir()
    secret.write_text("ssh-ed25519 AAAA officer\n")
    out = tmp_path / "usb"
    out.mkdir()
    (out / "collect.ps1").symlink_to(secret)
    result = run_cli("agent", "script", "--platform", "windows", "--out", str(out / "collect.ps1"))
    assert result.returncode == 3, result.output
    assert "outside" in result.output and "refused" in result.output
    assert secret.read_text() == "ssh-ed25519 AAAA officer\n"
    assert (out / "collect.ps1").is_symlink()


def test_a_link_inside_its_folder_writes_its_target(tmp_path):
    target = tmp_path / "report-2026.html"
    target.write_text("old")
    os.chmod(target, 0o640)
    link = tmp_path / "latest.html"
    link.symlink_to(target.name)
    assert write_file(link, b"new") == target
    assert link.is_symlink() and target.read_bytes() == b"new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640  # the officer's permissions kept


def test_the_report_writer_uses_the_same_rules(tmp_path):
    fifo = tmp_path / "department.md"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    write_bytes(fifo, b"# report\n")
    reader.join(60)
    assert got == [b"# report\n"] and stat.S_ISFIFO(os.lstat(fifo).st_mode)
    with pytest.raises(RenderError, match="is a folder"):
        write_bytes(tmp_path, b"x")
    with pytest.raises(UnsafePath):
        write_file(tmp_path, b"x")
