"""`itaudit agent install --platform linux`: the units, checked by systemd itself,
then the end-to-end path on this machine: install the timer, run the service's
ExecStart once (systemd is not PID 1 here), push, enrol, pin, revoke."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from timeouts import scaled

from itaudit.agent.install_linux import LinuxInstall, render, systemd_quote

SYSTEMD_ANALYZE = shutil.which("systemd-analyze")


def _exec_start(service: Path) -> list[str]:
    line = next(x for x in service.read_text().splitlines() if x.startswith("ExecStart="))
    # What systemd does with the line: split words (quotes as in a shell), then %% -> %.
    return [w.replace("%%", "%").replace("$$", "$") for w in shlex.split(line[len("ExecStart=") :])]


@pytest.mark.parametrize(
    ("arg", "word"),
    [
        ("https://10.38.0.5:8443", "https://10.38.0.5:8443"),
        ("/opt/it audit/bin/itaudit", '"/opt/it audit/bin/itaudit"'),
        ("50%", "50%%"),
        ("$HOME", "$$HOME"),
    ],
)
def test_exec_start_words_are_quoted_for_systemd(arg, word):
    assert systemd_quote(arg) == word


def test_print_shows_the_units_and_installs_nothing(tmp_path, run_cli, workspace):
    cert = tmp_path / "c.pem"
    cert.write_text("x")
    result = run_cli(
        "agent",
        "install",
        "--platform",
        "linux",
        "--unit",
        "ho",
        "--collector",
        "https://10.38.0.5:8443",
        "--cafile",
        str(cert),
        "--hour",
        "7",
        "--print",
    )
    assert result.returncode == 0, result.output
    assert "# --- /etc/systemd/system/itaudit-collect.service" in result.stdout
    assert "OnCalendar=*-*-* 07:00:00" in result.stdout
    assert "RandomizedDelaySec=60min" in result.stdout and "Persistent=true" in result.stdout
    assert "--queue /var/lib/itaudit/queue" in result.stdout


@pytest.mark.skipif(
    SYSTEMD_ANALYZE is None, reason="systemd-analyze missing (.ci/run installs systemd)"
)
def test_units_pass_systemd_analyze_verify(tmp_path):
    cert = tmp_path / "c.pem"
    cert.write_text("x")
    units = render(LinuxInstall("ho", "https://10.38.0.5:8443", cert, tmp_path / "s"))
    for name, text in units.items():
        (tmp_path / name).write_text(text)
    done = subprocess.run(
        [SYSTEMD_ANALYZE, "verify", *(str(tmp_path / n) for n in units)],
        capture_output=True,
        text=True,
        timeout=scaled(60),
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "itaudit-collect" not in done.stderr  # no warning about our units


def test_verify_catches_a_broken_unit(tmp_path):
    if SYSTEMD_ANALYZE is None:
        pytest.skip("systemd-analyze missing")
    (tmp_path / "itaudit-collect.service").write_text(
        "[Service]\nType=oneshot\nExecStart=relative/path\n"
    )
    done = subprocess.run(
        [SYSTEMD_ANALYZE, "verify", str(tmp_path / "itaudit-collect.service")],
        capture_output=True,
        text=True,
        timeout=scaled(60),
        check=False,
    )
    assert done.returncode != 0


def test_install_then_run_push_enrol_pin_revoke(tmp_path, run_cli, workspace):
    ws = str(workspace.root)
    secret_file = tmp_path / "ho.secret"
    created = run_cli("-w", ws, "enrol", "create", "--unit", "ho", "--out", str(secret_file))
    assert created.returncode == 0, created.output
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "itaudit",
            "-w",
            ws,
            "serve",
            "--bind",
            "127.0.0.1",
            "--port",
            "0",
            "--name",
            "localhost",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        match = re.search(r":(\d+)/api/v1/reports", proc.stdout.readline())
        assert match, proc.stderr.read()
        root = tmp_path / "root"
        cert = workspace.inventory / "tls" / "collector-cert.pem"
        installed = run_cli(
            "agent",
            "install",
            "--platform",
            "linux",
            "--unit",
            "ho",
            "--collector",
            f"https://localhost:{match.group(1)}",
            "--cafile",
            str(cert),
            "--token-file",
            str(secret_file),
            "--root",
            str(root),
        )
        assert installed.returncode == 0, installed.output
        service = root / "etc/systemd/system/itaudit-collect.service"
        assert (root / "etc/systemd/system/itaudit-collect.timer").is_file()
        assert (root / "etc/itaudit/enrolment-secret").stat().st_mode & 0o077 == 0
        # The service's command, its /etc and /var paths moved under the test root,
        # and a key of the test's own (as root the agent would use /etc/itaudit).
        argv = [
            w.replace("/etc/itaudit", str(root / "etc/itaudit")).replace(
                "/var/lib/itaudit", str(root / "var/lib/itaudit")
            )
            for w in _exec_start(service)
        ] + ["--key", str(tmp_path / "agent-key.pem")]

        def run_service() -> subprocess.CompletedProcess:
            return subprocess.run(
                argv, capture_output=True, text=True, timeout=scaled(180), check=False
            )

        first = run_service()
        assert first.returncode == 0, first.stderr
        assert "collector: accepted" in first.stderr
        hosts = json.loads(run_cli("-w", ws, "hosts", "-f", "json").stdout)
        assert len(hosts) == 1 and hosts[0]["enrolment"] == "enrolled (ho)"
        assert hosts[0]["signed"] is True
        name = hosts[0]["hostname"]
        # The key is pinned: another key under this machine's name is refused.
        other = subprocess.run(
            [*argv[:-1], str(tmp_path / "another-key.pem")],
            capture_output=True,
            text=True,
            timeout=scaled(180),
            check=False,
        )
        assert other.returncode == 1 and "only the pinned key may push" in other.stderr
        revoked = run_cli("-w", ws, "hosts", "revoke", name, "--reason", "sold")
        assert revoked.returncode == 0, revoked.output
        after = run_service()
        assert after.returncode == 1 and "revoked" in after.stderr
        assert not any((root / "var/lib/itaudit/queue").iterdir())  # refused for good: not queued
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.communicate(timeout=scaled(20))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
