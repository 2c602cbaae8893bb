"""The PowerShell collector records every source the Windows probes read, under the same name."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

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


# -- Windows PowerShell 5.1 only, and reading only -------------------------------
#
# No PowerShell runs on this machine, so the script is checked as text: strings,
# here-strings and comments are blanked first (the C# of Add-Type, messages and
# regular expressions may hold any character), then the code is searched.


def _code_only(script: str) -> str:
    """The script with comments, strings and here-strings blanked (line structure kept)."""
    out: list[str] = []
    i, n = 0, len(script)
    while i < n:
        two = script[i : i + 2]
        if two == "<#":
            end = script.find("#>", i + 2)
            end = n if end < 0 else end + 2
            out.append(re.sub(r"[^\n]", " ", script[i:end]))
            i = end
        elif two in ("@'", '@"') and script[i + 2 : i + 3] in ("\n", "\r"):
            closer = "\n" + two[1] + "@"
            end = script.find(closer, i + 2)
            end = n if end < 0 else end + len(closer)
            out.append("''" + re.sub(r"[^\n]", " ", script[i + 2 : end]))
            i = end
        elif script[i] in "'\"":
            quote, j = script[i], i + 1
            while j < n:
                if script[j] == quote and script[j + 1 : j + 2] == quote:
                    j += 2  # '' or "" inside the string
                elif quote == '"' and script[j] == "`":
                    j += 2
                elif script[j] == quote:
                    break
                else:
                    j += 1
            out.append(quote + re.sub(r"[^\n]", " ", script[i + 1 : j]) + quote)
            i = j + 1
        elif script[i] == "#":
            end = script.find("\n", i)
            end = n if end < 0 else end
            out.append(" " * (end - i))
            i = end
        else:
            out.append(script[i])
            i += 1
    return "".join(out)


_PS7_ONLY = {
    r"\?\?": "the ?? and ??= operators",
    r"\?\.|\?\[": "null-conditional member access",
    r"&&|\|\|": "pipeline chain operators && and ||",
    r"(?i)-Parallel\b": "ForEach-Object -Parallel",
    r"(?i)-ThrottleLimit\b": "ForEach-Object -ThrottleLimit",
    r"(?i)-AsHashtable\b": "ConvertFrom-Json -AsHashtable",
    r"(?i)-AsArray\b": "ConvertTo-Json -AsArray",
    r"(?i)-EnumsAsStrings\b": "ConvertTo-Json -EnumsAsStrings",
    r"(?i)-EscapeHandling\b": "ConvertTo-Json -EscapeHandling",
    r"(?i)-AsByteStream\b": "Get-Content -AsByteStream",
    r"(?i)-SkipCertificateCheck\b": "Invoke-WebRequest -SkipCertificateCheck",
    r"(?i)-LeafBase\b": "Split-Path -LeafBase",
    r"(?i)\b(Join-String|Get-Error|Test-Json|Get-Uptime|Remove-Alias|Start-ThreadJob)\b": "a cmdlet added after 5.1",
    r"(?i)\$(IsWindows|IsLinux|IsMacOS|IsCoreCLR|PSStyle)\b": "an automatic variable added after 5.1",
    r"(?i)\bclean\s*\{": "the clean block",
    r"(?i)utf8NoBOM|utf8BOM": "an encoding name added after 5.1",
}


def _ps7_constructs(script: str) -> list[str]:
    code = _code_only(script)
    # `| ? {` is Where-Object's alias, valid in 5.1; every other `?` is a ternary or worse.
    code = re.sub(r"\|\s*\?\s*\{", "| {", code)
    found = [why for pattern, why in _PS7_ONLY.items() if re.search(pattern, code)]
    if "?" in re.sub(r"\?\?|\?\.|\?\[", "", code):
        found.append("the ternary operator ? :")
    head = script.lstrip("\ufeff").splitlines()[0]
    if head != "#Requires -Version 5.1":
        found.append(f"first line is {head!r}, not #Requires -Version 5.1")
    return found


@pytest.mark.parametrize(
    "snippet",
    [
        "$a = $b ?? 'x'",
        "$a ??= 1",
        "$n = $obj?.Name",
        "$v = $ok ? 1 : 2",
        "Get-X && Get-Y",
        "1..3 | ForEach-Object -Parallel { $_ }",
        "$h = '{}' | ConvertFrom-Json -AsHashtable",
        "if ($IsWindows) { }",
        "Get-Content x -AsByteStream",
        "function F { process { } clean { } }",
    ],
)
def test_the_ps51_check_catches_powershell_7_syntax(snippet):
    assert _ps7_constructs("#Requires -Version 5.1\n" + snippet + "\n") != []


def test_the_ps51_check_ignores_strings_comments_and_here_strings():
    script = (
        '#Requires -Version 5.1\n<# a ?? b && c #>\n$s = \'x ?? y\'; $t = "a `" ? b"\n'
        "# ternary ? : in a comment\n$cs = @'\nint? x = a ?? b;\n'@\nGet-Item | ? { $_ }\n"
    )
    assert _ps7_constructs(script) == []


def test_collector_is_windows_powershell_51_code():
    assert _ps7_constructs(collector_script()) == []


# Verbs that read, or shape what was read; plus the few writes of the output folder below.
_READ_VERBS = {"get", "select", "where", "foreach", "out", "join", "resolve", "convertto"}


def _commands(code: str) -> list[str]:
    return re.findall(r"(?<![\w$.\-])([A-Za-z]+-[A-Za-z][A-Za-z0-9]*)\b", code)


def test_collector_only_reads():
    code = _code_only(collector_script())
    own = set(re.findall(r"(?im)^\s*function\s+([A-Za-z]+-[A-Za-z0-9]+)", code))
    assert {"Save-Source", "Read-RegistryValues"} <= own
    writes = {
        # the output folder; when blocked by policy, that folder and its selfcheck.txt
        "New-Item": 3,
        "Compress-Archive": 1,  # the .zip beside it
        "Set-StrictMode": 1,
        "New-Object": 2,  # a UTF-8 encoder and the Windows Update session (COM)
        "Add-Type": 1,  # compiles the NetUserModalsGet reader
        "Write-Host": 5,  # progress, where the bundle went, whether it is signed, blocked
        "Remove-Item": 1,  # the collector's own temporary secedit export and its log
    }
    counts: dict[str, int] = {}
    for name in _commands(code):
        if name in own or name.split("-")[0].lower() in _READ_VERBS:
            continue
        counts[name] = counts.get(name, 0) + 1
    assert counts == writes
    # Files are written only under the output folder.
    for call in re.findall(r"\[IO\.File\]::Write\w+\(([^\n]*)", code):
        assert call.startswith("(Join-Path $OutDir"), call
    assert re.findall(r"New-Item [^\n]*", code) == [
        "New-Item -ItemType Directory -Force -Path $OutDir | Out-Null",  # blocked: self-check
        # (string literals are blanked by _code_only)
        "New-Item -ItemType File -Force -Path (Join-Path $OutDir '             ') -Value "
        "$checkLine | Out-Null",
        "New-Item -ItemType Directory -Force -Path $OutDir | Out-Null",
    ]
    # What is deleted is only the export secedit wrote under a fresh name in the temp folder.
    assert re.findall(r"Remove-Item [^\n]*", code) == [
        "Remove-Item -LiteralPath @($cfg, $log) -Force -ErrorAction SilentlyContinue"
    ]
    assert "$stem = Join-Path ([IO.Path]::GetTempPath())" in code
    assert re.findall(r"\$(cfg|log) = \$stem \+ '    '", code) == ["cfg", "log"]
    # The one key-store write: the collector's own signing key, created once, never deleted.
    assert re.findall(r"\[Security\.Cryptography\.CngKey\]::(Create|Delete)\b", code) == ["Create"]
    assert "$SigningKeyName = 'itaudit-collector'" in collector_script()
    # Nothing that changes the registry, WMI objects or services.
    for forbidden in (
        r"\.SetValue\(",
        r"CreateSubKey",
        r"\.Delete\w*\(",
        r"Invoke-(Cim|Wmi)Method",
        r"\.Put\(",
        r"\breg(\.exe)?\s+(add|delete|import|load)\b",
        r"\bsc(\.exe)?\s+(config|start|stop|delete)\b",
        r"\b(schtasks|wmic|bcdedit|powercfg)\b",
    ):
        assert not re.search(forbidden, code, re.I), forbidden
    # The native programs: netsh, to show (never set) the Wi-Fi profiles; secedit, to export
    # (never configure or import) the security policy.
    assert re.findall(r"&\s*([\w.]+\.exe)([^\n]*)", code) == [
        ("netsh.exe", " wlan show profiles"),
        ("secedit.exe", " /export /cfg $cfg /areas SECURITYPOLICY /log $log /quiet"),
    ]
