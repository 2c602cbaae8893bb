"""Per-unit enrolment, pinned keys, revocation and the rate limit, through a real
`itaudit serve` on loopback (TLS, its own process, its own store file)."""

from __future__ import annotations

import json
import re
import signal
import ssl
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from timeouts import scaled

from itaudit.server_gate import RateLimiter
from itaudit.signing import sign_report
from itaudit.store import open_store

SHARED = "shared-token-for-old-agents-0123"


class Collector:
    def __init__(self, workspace, proc: subprocess.Popen, port: int):
        self.workspace = workspace
        self.proc = proc
        self.port = port
        cert = workspace.inventory / "tls" / "collector-cert.pem"
        self.context = ssl.create_default_context(cafile=str(cert))

    def post(self, document: dict, secret: str | None) -> tuple[int, dict]:
        request = urllib.request.Request(
            f"https://localhost:{self.port}/api/v1/reports",
            data=json.dumps(document).encode(),
            method="POST",
        )
        if secret is not None:
            request.add_header("Authorization", f"Bearer {secret}")
        try:
            with urllib.request.urlopen(request, context=self.context, timeout=scaled(20)) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())


def _secret(run_cli, workspace, unit: str, *extra: str) -> str:
    result = run_cli("-w", str(workspace.root), "enrol", "create", "--unit", unit, *extra)
    assert result.returncode == 0, result.output
    return result.stdout.strip()


@pytest.fixture
def collector(tmp_path, workspace, run_cli):
    token = tmp_path / "shared-token"
    token.write_text(SHARED)
    token.chmod(0o600)
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
            str(token),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        match = re.search(r":(\d+)/api/v1/reports", line)
        if not match:
            proc.kill()
            pytest.fail(f"collector did not start: {line}{proc.stderr.read()}")
        yield Collector(workspace, proc, int(match.group(1)))
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.communicate(timeout=scaled(20))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()


def _signed(make_report, name: str, key: Ed25519PrivateKey, **kw) -> dict:
    return sign_report(make_report(name, **kw), key)


def _hosts_json(run_cli, workspace) -> dict[str, dict]:
    result = run_cli("-w", str(workspace.root), "hosts", "-f", "json")
    assert result.returncode == 0, result.output
    return {h["hostname"]: h for h in json.loads(result.stdout)}


def test_first_push_enrols_and_pins_then_only_that_key_may_push(collector, run_cli, make_report):
    secret = _secret(run_cli, collector.workspace, "ho")
    key = Ed25519PrivateKey.generate()
    first = _signed(make_report, "HO-ENROL-1", key, unit="ho")
    assert collector.post(first, secret)[0] == 201
    assert _hosts_json(run_cli, collector.workspace)["HO-ENROL-1"]["enrolment"] == "enrolled (ho)"

    # The same machine later: its pinned key, accepted.
    later = dict(first, report_id="6f1f7c8e-0000-4000-8000-000000000001")
    later["identity"] = dict(first["identity"])
    later = sign_report({k: v for k, v in later.items() if k != "signature"}, key)
    assert collector.post(later, secret)[0] == 201

    # Someone else with the unit's secret, claiming the name with a fresh key: refused,
    # and the shared token does not open that door either.
    impostor = _signed(make_report, "HO-ENROL-1", Ed25519PrivateKey.generate(), unit="ho")
    for bearer in (secret, SHARED):
        status, body = collector.post(impostor, bearer)
        assert status == 403, body
        assert "only the pinned key may push" in body["reason"]
    store = open_store(collector.workspace.store_url())
    try:
        assert [h.hostname for h in store.hosts()].count("HO-ENROL-1") == 1
    finally:
        store.close()


def test_unit_secret_enrols_signed_reports_of_its_unit_only(collector, run_cli, make_report):
    secret = _secret(run_cli, collector.workspace, "ho")
    status, body = collector.post(make_report("HO-UNSIGNED", unit="ho"), secret)
    assert status == 403 and "signed reports only" in body["reason"], body
    other = _signed(make_report, "DVVL-PC9", Ed25519PrivateKey.generate(), unit="dvvl")
    status, body = collector.post(other, secret)
    assert status == 403 and "for unit dvvl" in body["reason"]
    # The shared token keeps working for machines that use it (back-compat).
    assert collector.post(make_report("OLD-AGENT-1"), SHARED)[0] == 201


def test_revoked_host_is_refused_and_listed(collector, run_cli, make_report):
    ws = collector.workspace
    secret = _secret(run_cli, ws, "ho")
    key = Ed25519PrivateKey.generate()
    assert collector.post(_signed(make_report, "HO-LOST-7", key, unit="ho"), secret)[0] == 201
    refused = run_cli("-w", str(ws.root), "hosts", "revoke", "HO-LOST-7")
    assert refused.returncode == 2 and "--reason" in refused.output
    done = run_cli("-w", str(ws.root), "hosts", "revoke", "HO-LOST-7", "--reason", "laptop stolen")
    assert done.returncode == 0, done.output
    status, body = collector.post(_signed(make_report, "HO-LOST-7", key, unit="ho"), secret)
    assert status == 403 and "revoked" in body["reason"] and "laptop stolen" in body["reason"]
    assert _hosts_json(run_cli, ws)["HO-LOST-7"]["enrolment"].startswith("revoked ")
    lifted = run_cli("-w", str(ws.root), "hosts", "revoke", "HO-LOST-7", "--lift")
    assert lifted.returncode == 0
    assert collector.post(_signed(make_report, "HO-LOST-7", key, unit="ho"), secret)[0] == 201


def test_rotated_secret_serves_enrolled_hosts_but_enrols_no_new_one(
    collector, run_cli, make_report
):
    ws = collector.workspace
    old = _secret(run_cli, ws, "ho")
    key = Ed25519PrivateKey.generate()
    first = make_report("HO-ROT-1", unit="ho")
    assert collector.post(sign_report(first, key), old)[0] == 201
    again = run_cli("-w", str(ws.root), "enrol", "create", "--unit", "ho")
    assert again.returncode == 2 and "--rotate" in again.output
    new = _secret(run_cli, ws, "ho", "--rotate")
    assert new != old
    # The enrolled machine still pushes with the secret it was installed with.
    later = make_report(
        "HO-ROT-1",
        unit="ho",
        **{k: first["identity"][k] for k in ("serial", "hardware_uuid", "macs")},
    )
    assert collector.post(sign_report(later, key), old)[0] == 201
    status, body = collector.post(
        _signed(make_report, "HO-ROT-2", Ed25519PrivateKey.generate(), unit="ho"), old
    )
    assert status == 403 and "replaced" in body["reason"]
    assert (
        collector.post(
            _signed(make_report, "HO-ROT-2", Ed25519PrivateKey.generate(), unit="ho"), new
        )[0]
        == 201
    )
    listed = run_cli("-w", str(ws.root), "enrol", "list", "-f", "json")
    assert [s["state"] for s in json.loads(listed.stdout)] == ["rotated", "active"]


def test_bad_secrets_are_logged_and_rate_limited(collector, run_cli, make_report):
    ws = collector.workspace
    _secret(run_cli, ws, "ho")
    codes = [collector.post(make_report("GUESS"), f"guess-{n}")[0] for n in range(12)]
    assert codes[:10] == [401] * 10
    assert codes[10:] == [429, 429]
    # Even the right secret waits until the window has passed: the address is blocked.
    status, body = collector.post(make_report("GUESS"), SHARED)
    assert status == 429 and "retry in" in body["reason"]
    failures = run_cli("-w", str(ws.root), "enrol", "failures", "-f", "json")
    rows = json.loads(failures.stdout)
    assert len(rows) == 10 and {r["address"] for r in rows} == {"127.0.0.1"}
    assert {r["reason"] for r in rows} == {"missing or wrong enrolment secret"}


def test_rate_limiter_window_slides():
    now = [1000.0]
    limiter = RateLimiter(limit=3, window=60, clock=lambda: now[0])
    for _ in range(3):
        assert limiter.blocked_for("10.0.0.9") == 0
        limiter.failed("10.0.0.9")
    assert limiter.blocked_for("10.0.0.9") == 60
    assert limiter.blocked_for("10.0.0.10") == 0  # per address
    now[0] += 61
    assert limiter.blocked_for("10.0.0.9") == 0


def test_secret_is_stored_hashed(tmp_path, workspace, run_cli):
    out = tmp_path / "ho.secret"
    result = run_cli(
        "-w", str(workspace.root), "enrol", "create", "--unit", "ho", "--out", str(out)
    )
    assert result.returncode == 0, result.output
    secret = out.read_text().strip()
    assert len(secret) >= 40 and out.stat().st_mode & 0o077 == 0
    db = Path(workspace.store_url().removeprefix("sqlite:///")).read_bytes()
    assert secret.encode() not in db
    unknown = run_cli("-w", str(workspace.root), "enrol", "create", "--unit", "nope")
    assert unknown.returncode == 2 and "unknown unit" in unknown.output
