"""tools/capture_fixture.py: anonymising a recorded bundle keeps it a valid bundle."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from itaudit.agent.bundle import Bundle, BundleContext, BundleWriter
from itaudit.agent.context import Kind, Result, Status

TOOL = Path(__file__).resolve().parents[2] / "tools" / "capture_fixture.py"


def _tool():
    spec = importlib.util.spec_from_file_location("capture_fixture", TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_anonymise_replaces_whole_names_and_rehashes(tmp_path):
    writer = BundleWriter(tmp_path / "b", "linux")
    writer.add(Kind.FILE, "/proc/sys/kernel/hostname", Result("hostname", Status.OK, "vm\n"), 1)
    writer.add(
        Kind.COMMAND,
        "systemd-detect-virt",
        Result("systemd-detect-virt", Status.OK, "kvm\n"),
        1,
    )
    writer.add(
        Kind.INTERFACES,
        "interfaces",
        Result("interfaces", Status.OK, {"eth0": {"mac": "02:FC:00:00:00:01", "host": "vm.lan"}}),
        1,
    )
    writer.finish("2026-11-30T10:00:00Z", True, "vm", 0)
    tool = _tool()
    tool.anonymise(tmp_path / "b", {"vm": "FIXTURE-PC01", "02:fc:00:00:00:01": "02:00:00:00:00:01"})
    ctx = BundleContext(Bundle.open(tmp_path / "b"))  # hashes were recomputed: every read is ok
    assert ctx.read_text("hostname", "").value == "FIXTURE-PC01\n"
    assert ctx.run("systemd-detect-virt", []).value == "kvm\n"
    assert ctx.interfaces().value == {
        "eth0": {"mac": "02:00:00:00:00:01", "host": "FIXTURE-PC01.lan"}
    }
    assert ctx.bundle.manifest["hostname"] == "FIXTURE-PC01"
