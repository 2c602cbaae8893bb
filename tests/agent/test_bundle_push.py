"""What the Windows scheduled task sends: a collector bundle (.zip) pushed to a real
`itaudit serve` at /api/v1/bundles with the unit's enrolment secret."""

from __future__ import annotations

import json
import re
import signal
import ssl
import subprocess
import sys
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta

import pytest
from signedbundle import p256_key, signed_windows_bundle
from timeouts import scaled

from itaudit.agent.bundle import zip_bundle
from itaudit.store import open_store


@pytest.fixture
def collector(workspace, run_cli):
    ws = str(workspace.root)
    created = run_cli("-w", ws, "enrol", "create", "--unit", "ho")
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
        context = ssl.create_default_context(
            cafile=str(workspace.inventory / "tls" / "collector-cert.pem")
        )

        def post(body: bytes, secret: str) -> tuple[int, dict]:
            request = urllib.request.Request(
                f"https://localhost:{match.group(1)}/api/v1/bundles",
                data=body,
                method="POST",
                headers={"Authorization": f"Bearer {secret}", "Content-Type": "application/zip"},
            )
            try:
                with urllib.request.urlopen(request, context=context, timeout=scaled(30)) as r:
                    return r.status, json.loads(r.read())
            except urllib.error.HTTPError as exc:
                return exc.code, json.loads(exc.read())

        yield post, created.stdout.strip()
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.communicate(timeout=scaled(20))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()


def test_signed_bundle_is_parsed_enrolled_and_pinned(tmp_path, collector, workspace):
    post, secret = collector
    when = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    folder = signed_windows_bundle(tmp_path / "b", p256_key(), collected_at=when)
    status, body = post(zip_bundle(folder, tmp_path / "b.zip").read_bytes(), secret)
    assert status == 201, body
    assert body["hostname"] == "HO-TTR-LT02"
    store = open_store(workspace.store_url())
    try:
        host = store.host("HO-TTR-LT02")
        assert host is not None and host.unit == "ho"
        assert [k["slot"] for k in store.host_keys(host.id)] == ["machine"]
    finally:
        store.close()
    # Another machine key under that name: refused (the secret alone is not enough).
    other = signed_windows_bundle(tmp_path / "c", p256_key(), collected_at=when)
    status, body = post(zip_bundle(other, tmp_path / "c.zip").read_bytes(), secret)
    assert status == 403 and "pinned key" in body["reason"]


def test_blocked_collector_is_named_not_silent(tmp_path, collector, workspace):
    post, secret = collector
    folder = tmp_path / "blocked"
    folder.mkdir()
    (folder / "selfcheck.txt").write_text(
        "itaudit-selfcheck/1 status=blocked host=HO-KT-PC07 language_mode=ConstrainedLanguage "
        "cause=script policy (AppLocker or WDAC)\r\n",
        encoding="utf-8-sig",
    )
    status, body = post(zip_bundle(folder, tmp_path / "blocked.zip").read_bytes(), secret)
    assert status == 422
    assert "blocked by policy" in body["reason"] and "ConstrainedLanguage" in body["reason"]
    store = open_store(workspace.store_url())
    try:
        assert store.counts()["rejections"] == 1
    finally:
        store.close()


def test_not_a_zip_is_rejected_with_a_reason(collector):
    post, secret = collector
    status, body = post(b"PK\x03\x04 broken", secret)
    assert status == 422 and "bundle" in body["reason"]
