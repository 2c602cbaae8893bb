"""The PowerShell collector records every source the Windows probes read, under the same name."""

from __future__ import annotations

import re
from pathlib import Path

from itaudit.agent.bundle import Bundle, BundleContext
from itaudit.agent.collect import collect
from itaudit.agent.context import Kind, RecordingContext
from itaudit.agent.windows_live import collector_script

FIXTURES = Path(__file__).resolve().parent / "fixtures"


class _Spy:
    """Keeps (kind, source, target) of each read instead of writing a bundle."""

    def __init__(self):
        self.reads = {}

    def add(self, kind, target, result, duration_ms):
        self.reads[result.source] = (kind, target)


def _script_sources(text):
    out = {}
    for m in re.finditer(
        r"^Save-(Registry|RegistryTree|Cim|PowerShell) '([^']+)' '([^']+)'(?: '([^']+)')?",
        text,
        re.M,
    ):
        verb, name, a, b = m.groups()
        kind = {
            "Registry": Kind.REGISTRY,
            "RegistryTree": Kind.REGISTRY_TREE,
            "Cim": Kind.CIM,
            "PowerShell": Kind.POWERSHELL,
        }[verb]
        out[name] = (kind, f"{a}:{b}" if verb == "Cim" else a)
    for m in re.finditer(
        r"^Save-Source -Name '([^']+)' -Kind '([^']+)' -Target '([^']+)'", text, re.M
    ):
        out[m.group(1)] = (Kind(m.group(2)), m.group(3))
    return out


def test_every_source_the_windows_probes_read_is_collected_by_the_script(catalog):
    spy = _Spy()
    ctx = RecordingContext(
        BundleContext(Bundle.open(FIXTURES / "win11-defender-only" / "bundle")), spy
    )
    collect(ctx, catalog)
    script = _script_sources(collector_script())
    special = {"services": Kind.SERVICES, "processes": Kind.PROCESSES}
    problems = []
    for source, (kind, target) in spy.reads.items():
        if source not in script:
            problems.append(f"{source}: not collected by collect.ps1")
        elif script[source][0] is not kind:
            problems.append(f"{source}: script records {script[source][0]}, probes read {kind}")
        elif source not in special and script[source][1] != target:
            problems.append(
                f"{source}: script reads {script[source][1]!r}, probes expect {target!r}"
            )
    assert problems == []
    assert len(spy.reads) >= 40


def test_script_parses_no_localised_text_except_netsh():
    text = collector_script()
    assert "ipconfig.exe" not in text.lower() and "ipconfig /all" not in text.lower()
    assert "net accounts" not in text
    assert (
        "-PolicyStore ActiveStore" in text and "S-1-5-32-544" in text and "NetUserModalsGet" in text
    )


def test_agent_script_prints_and_writes_the_collector(run_cli, tmp_path):
    printed = run_cli("agent", "script", "--platform", "windows")
    assert printed.returncode == 0 and printed.stdout.startswith("#Requires -Version 5.1")
    res = run_cli("agent", "script", "--platform", "windows", "--out", str(tmp_path / "c.ps1"))
    data = (tmp_path / "c.ps1").read_bytes()
    assert res.returncode == 0
    assert data.startswith(b"\xef\xbb\xbf#Requires") and b"\r\n" in data and b"\r\r" not in data


def test_agent_script_refuses_an_unknown_platform(run_cli):
    res = run_cli("agent", "script", "--platform", "macos")
    assert res.returncode == 2
