"""`agent collect --push`: the real agent to the real collector over TLS on loopback."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from itaudit.agent.push import collector_url
from itaudit.store import open_store

TOKEN = "agent-push-token-0123456789"


@pytest.fixture
def collector(tmp_path, workspace):
    (tmp_path / "token").write_text(TOKEN)
    (tmp_path / "token").chmod(0o600)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "itaudit",
            "-w",
            str(workspace.root),
            "serve",
            "--bind",
            "127.0.0.1",
            "--port",
            "0",
            "--name",
            "localhost",
            "--token-file",
            str(tmp_path / "token"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    line = proc.stdout.readline()
    match = re.search(r":(\d+)/api/v1/reports", line)
    if not match:
        proc.kill()
        pytest.fail(f"collector did not start: {line}{proc.stderr.read()}")
    yield (
        f"https://localhost:{match.group(1)}",
        workspace.inventory / "tls" / "collector-cert.pem",
        workspace,
    )
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=20)


def _collect(run_cli, tmp_path: Path, url: str, cafile: Path, key: str, token: str = TOKEN):
    (tmp_path / "tok").write_text(token)
    return run_cli(
        "agent",
        "collect",
        "--push",
        url,
        "--cafile",
        str(cafile),
        "--token-file",
        str(tmp_path / "tok"),
        "--key",
        str(tmp_path / key),
        timeout=120,
    )


def test_collect_and_push_is_stored(tmp_path, run_cli, collector):
    url, cafile, workspace = collector
    result = _collect(run_cli, tmp_path, url, cafile, "k1.pem")
    assert result.returncode == 0, result.output
    assert "collector: accepted" in result.stderr
    assert result.stdout == ""  # the report went to the collector, not to the terminal
    store = open_store(workspace.store_url())
    try:
        hosts = store.hosts()
        assert len(hosts) == 1 and hosts[0].key_fingerprint is not None
    finally:
        store.close()


def test_push_signed_by_another_key_is_refused_with_exit_1(tmp_path, run_cli, collector):
    url, cafile, _ = collector
    assert _collect(run_cli, tmp_path, url, cafile, "k1.pem").returncode == 0
    refused = _collect(run_cli, tmp_path, url, cafile, "k2.pem")
    assert refused.returncode == 1, refused.output
    assert "collector refused the report (HTTP 422, rejected)" in refused.stderr
    assert "first seen with key" in refused.stderr


def test_wrong_token_exits_3(tmp_path, run_cli, collector):
    url, cafile, _ = collector
    result = _collect(run_cli, tmp_path, url, cafile, "k1.pem", token="wrong-token-wrong-token")
    assert result.returncode == 3 and "HTTP 401" in result.stderr


def test_unreachable_collector_exits_3(tmp_path, run_cli, collector):
    _, cafile, _ = collector
    result = _collect(run_cli, tmp_path, "https://127.0.0.1:1", cafile, "k1.pem")
    assert result.returncode == 3
    assert "cannot reach https://127.0.0.1:1/api/v1/reports" in result.stderr


def test_collector_url():
    assert collector_url("https://10.38.0.5:8443") == "https://10.38.0.5:8443/api/v1/reports"
    assert collector_url("https://h/api/v1/reports/") == "https://h/api/v1/reports"
    with pytest.raises(ValueError):
        collector_url("ftp://h")


def test_parse_pushes_every_bundle_given(tmp_path, run_cli, collector):
    url, cafile, workspace = collector
    (tmp_path / "tok").write_text(TOKEN)
    fixtures = Path(__file__).resolve().parent / "fixtures"
    result = run_cli(
        "agent",
        "parse",
        str(fixtures / "win11-defender-only" / "bundle"),
        str(fixtures / "winserver2019-no-securitycenter" / "bundle"),
        "--push",
        url,
        "--cafile",
        str(cafile),
        "--token-file",
        str(tmp_path / "tok"),
        timeout=120,
    )
    assert result.returncode == 0, result.output
    assert result.stderr.count("collector: accepted") == 2
    store = open_store(workspace.store_url())
    try:
        assert sorted(h.hostname for h in store.hosts()) == ["HO-TTR-LT02", "SLDTBXH-SRV01"]
    finally:
        store.close()
