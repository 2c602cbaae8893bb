"""The HTTPS collector: a real server on loopback, real TLS, real ingest."""

from __future__ import annotations

import gzip
import json
import re
import signal
import ssl
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from itaudit.org.matching import RegisterIndex
from itaudit.server import (
    CollectorServer,
    ServerConfig,
    certificate_fingerprint,
    ensure_self_signed,
)
from itaudit.signing import sign_report
from itaudit.store import open_store

TOKEN = "s3cret-enrolment-token"


@pytest.fixture
def collector(tmp_path, store_url):
    cert, key = ensure_self_signed(tmp_path / "tls", ["localhost", "127.0.0.1"])
    store = open_store(store_url)
    server = CollectorServer(
        store, RegisterIndex(None), ServerConfig("127.0.0.1", 0, 64 * 1024, TOKEN, cert, key)
    )
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    context = ssl.create_default_context(cafile=str(cert))
    yield server, store, context
    server.shutdown()
    server.server_close()
    store.close()


def _post(server, context, body: bytes, token: str | None = TOKEN, path: str = "/api/v1/reports"):
    request = urllib.request.Request(
        f"https://localhost:{server.server_address[1]}{path}", data=body, method="POST"
    )
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, context=context, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_signed_report_is_stored(collector, make_report):
    server, store, context = collector
    doc = sign_report(make_report("PUSH-1"), Ed25519PrivateKey.generate())
    status, body = _post(server, context, json.dumps(doc).encode())
    assert (status, body["status"], body["hostname"]) == (201, "accepted", "PUSH-1")
    assert store.host("PUSH-1").key_fingerprint is not None
    again = _post(server, context, json.dumps(doc).encode())
    assert again == (
        200,
        {"status": "duplicate", "reason": "already stored", "hostname": "PUSH-1", "current": True},
    )


def test_gzip_body(collector, make_report):
    server, store, context = collector
    status, _body = _post(
        server, context, gzip.compress(json.dumps(make_report("PUSH-GZ")).encode())
    )
    assert status == 201 and store.host("PUSH-GZ") is not None


def test_bad_report_gets_the_ingest_reason(collector, make_report):
    server, _, context = collector
    status, body = _post(server, context, b'{"schema": "itaudit/host-report/1", "truncated')
    assert status == 422 and body["status"] == "rejected" and "invalid JSON" in body["reason"]


def test_wrong_token_is_refused_and_nothing_stored(collector, make_report):
    server, store, context = collector
    status, _body = _post(
        server, context, json.dumps(make_report("INTRUDER")).encode(), token="guess"
    )
    assert status == 401
    assert store.host("INTRUDER") is None


def test_oversized_body_is_refused_before_reading(collector):
    server, store, context = collector
    status, body = _post(server, context, b"x" * (65 * 1024))
    assert status == 413 and "the limit is 65,536" in body["reason"]
    assert store.counts()["rejections"] == 0  # never reached ingest


def test_health_and_unknown_paths(collector):
    server, _, context = collector
    with urllib.request.urlopen(
        f"https://localhost:{server.server_address[1]}/healthz", context=context
    ) as r:
        assert json.loads(r.read())["status"] == "ok"
    status, _ = _post(server, context, b"{}", path="/admin")
    assert status == 404


def test_client_that_does_not_trust_the_certificate_fails(collector, make_report):
    server, _, _ = collector
    with pytest.raises(urllib.error.URLError, match="CERTIFICATE_VERIFY_FAILED"):
        _post(server, ssl.create_default_context(), b"{}")


def test_silent_client_does_not_block_others(collector, make_report):
    """A client that connects and never speaks TLS must not stall the server."""
    import socket

    server, _store, context = collector
    idle = socket.create_connection(("127.0.0.1", server.server_address[1]))
    try:
        status, _ = _post(server, context, json.dumps(make_report("AFTER-IDLE")).encode())
        assert status == 201
    finally:
        idle.close()


def test_self_signed_certificate_is_kept_and_its_key_private(tmp_path):
    cert, key = ensure_self_signed(tmp_path / "tls", ["collector.local", "10.38.0.5"])
    assert oct(key.stat().st_mode & 0o777) == "0o600"
    again = ensure_self_signed(tmp_path / "tls", ["other"])
    assert again == (cert, key)
    assert re.fullmatch(r"SHA256:([0-9A-F]{2}:){31}[0-9A-F]{2}", certificate_fingerprint(cert))


def test_serve_command_end_to_end(tmp_path, workspace, make_report):
    (tmp_path / "token").write_text(TOKEN + "\n")
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
            "--token-file",
            str(tmp_path / "token"),
            "--name",
            "localhost",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        match = re.search(r"Listening on https://127\.0\.0\.1:(\d+)/api/v1/reports", line)
        assert match, line + proc.stderr.read() if proc.poll() is not None else line
        port = int(match.group(1))
        cert = workspace.inventory / "tls" / "collector-cert.pem"
        context = ssl.create_default_context(cafile=str(cert))
        request = urllib.request.Request(
            f"https://localhost:{port}/api/v1/reports",
            data=json.dumps(make_report("E2E-PUSH")).encode(),
            method="POST",
            headers={"Authorization": f"Bearer {TOKEN}"},
        )
        with urllib.request.urlopen(request, context=context, timeout=10) as response:
            assert response.status == 201
        time.sleep(0.1)
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert "Stopped: 1 accepted, 0 duplicate, 0 rejected." in out


def test_serve_rejects_a_short_token(tmp_path, workspace, run_cli):
    (tmp_path / "token").write_text("short")
    result = run_cli("-w", str(workspace.root), "serve", "--token-file", str(tmp_path / "token"))
    assert result.returncode == 2 and "at least 16 characters" in result.stderr


def test_serve_port_in_use_exits_3(workspace, run_cli):
    import socket

    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    try:
        result = run_cli(
            "-w",
            str(workspace.root),
            "serve",
            "--bind",
            "127.0.0.1",
            "--port",
            str(holder.getsockname()[1]),
            "--http",
            timeout=30,
        )
    finally:
        holder.close()
    assert result.returncode == 3 and "cannot listen on 127.0.0.1" in result.stderr


def test_body_without_length_is_refused(collector):
    import http.client

    server, _store, context = collector
    conn = http.client.HTTPSConnection("localhost", server.server_address[1], context=context)
    conn.putrequest("POST", "/api/v1/reports")
    conn.putheader("Authorization", f"Bearer {TOKEN}")
    conn.putheader("Transfer-Encoding", "chunked")
    conn.endheaders()
    response = conn.getresponse()
    assert response.status == 411
    assert json.loads(response.read())["reason"] == "Content-Length required"
    conn.close()


def test_connections_beyond_the_limit_are_closed_at_once(tmp_path, monkeypatch, make_report):
    import socket

    import itaudit.server

    monkeypatch.setattr(itaudit.server, "MAX_CONNECTIONS", 3)
    cert, key = ensure_self_signed(tmp_path / "tls", ["localhost"])
    store = open_store(f"sqlite:///{tmp_path / 'store.db'}")
    server = CollectorServer(
        store, RegisterIndex(None), ServerConfig("127.0.0.1", 0, 64 * 1024, None, cert, key)
    )
    threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    ).start()
    port = server.server_address[1]
    idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(3)]
    try:
        time.sleep(0.3)  # let the server take the three
        extra = socket.create_connection(("127.0.0.1", port))
        extra.settimeout(5)
        assert extra.recv(1) == b""  # closed by the server, not left waiting for 30 s
        extra.close()
    finally:
        for sock in idle:
            sock.close()
    # The idle clients gone, their slots come back.
    context = ssl.create_default_context(cafile=str(cert))
    deadline = time.monotonic() + 10
    while True:
        try:
            status, _ = _post(
                server, context, json.dumps(make_report("AFTER-FLOOD")).encode(), None
            )
            break
        except (urllib.error.URLError, ConnectionError):
            assert time.monotonic() < deadline
            time.sleep(0.1)
    assert status == 201
    server.shutdown()
    server.server_close()
    store.close()


@pytest.mark.postgres
def test_store_failure_is_503_not_a_dropped_connection(tmp_path, pg_url, make_report):
    import os

    import sqlalchemy as sa

    cert, key = ensure_self_signed(tmp_path / "tls", ["localhost"])
    store = open_store(pg_url)
    server = CollectorServer(
        store, RegisterIndex(None), ServerConfig("127.0.0.1", 0, 64 * 1024, TOKEN, cert, key)
    )
    threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    ).start()
    context = ssl.create_default_context(cafile=str(cert))
    try:
        admin = sa.create_engine(os.environ["ITAUDIT_TEST_PG_URL"], isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(
                sa.text(f'DROP DATABASE "{sa.engine.make_url(pg_url).database}" WITH (FORCE)')
            )
        admin.dispose()
        status, body = _post(server, context, json.dumps(make_report("NO-STORE")).encode())
        assert status == 503
        assert body == {
            "status": "error",
            "reason": "the collector cannot store reports now; retry later",
        }
    finally:
        server.shutdown()
        server.server_close()
        store.close()


def test_serve_with_an_unusable_certificate_exits_2(tmp_path, workspace, run_cli):
    (tmp_path / "cert.pem").write_text("not a certificate")
    result = run_cli(
        "-w",
        str(workspace.root),
        "serve",
        "--bind",
        "127.0.0.1",
        "--port",
        "0",
        "--cert",
        str(tmp_path / "cert.pem"),
        "--key",
        str(tmp_path / "cert.pem"),
        timeout=30,
    )
    assert result.returncode == 2, result.output
    assert "cannot load the certificate and its key" in result.stderr
