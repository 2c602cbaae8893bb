"""Slow clients cannot take the collector down (issue 12, finding 7), and a token
file others can read is refused (finding 8).

Server-agnostic on purpose: it starts `itaudit serve` as a user would and talks
to it over sockets only, so it keeps its meaning when the collector moves to
another server stack. Timeouts are multiplied by ITAUDIT_TEST_TIMEOUT_SCALE
(default 1) on a loaded machine; nothing here measures speed."""

from __future__ import annotations

import json
import re
import signal
import socket
import ssl
import subprocess
import sys

import pytest
from timeouts import SCALE

TOKEN = "slow-client-test-token-0123"
SLOW_CLIENTS = 100


def _serve(tmp_path, workspace):
    token = tmp_path / "token"
    token.write_text(TOKEN)
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
            "--token-file",
            str(token),
            "--name",
            "localhost",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    line = proc.stdout.readline()
    match = re.search(r"Listening on https://127\.0\.0\.1:(\d+)/", line)
    if not match:
        proc.kill()
        pytest.fail(line + proc.stderr.read())
    return proc, int(match.group(1))


def _closed_by_server(sock: socket.socket) -> bool:
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def test_slow_clients_beyond_the_cap_are_refused_and_others_still_served(
    tmp_path, workspace, make_report
):
    proc, port = _serve(tmp_path, workspace)
    slow: list[socket.socket] = []
    try:
        for _ in range(SLOW_CLIENTS):
            sock = socket.create_connection(("127.0.0.1", port), timeout=10 * SCALE)
            sock.send(b"\x16")  # the first byte of a TLS handshake, then nothing
            slow.append(sock)
        # Beyond the per-address cap the server closes at once: no reply is waited for.
        for sock in slow[-5:]:
            sock.settimeout(10 * SCALE)
            assert _closed_by_server(sock), "a slow client beyond the cap was kept"
        # Another address of the LAN still gets a slot and its report stored.
        cert = workspace.inventory / "tls" / "collector-cert.pem"
        context = ssl.create_default_context(cafile=str(cert))
        body = json.dumps(make_report("ANOTHER-PC")).encode()
        conn = socket.create_connection(
            ("127.0.0.1", port), timeout=30 * SCALE, source_address=("127.0.0.2", 0)
        )
        tls = context.wrap_socket(conn, server_hostname="localhost")
        tls.sendall(
            b"POST /api/v1/reports HTTP/1.0\r\nHost: localhost\r\n"
            + f"Authorization: Bearer {TOKEN}\r\nContent-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        reply = b""
        while chunk := tls.recv(65536):
            reply += chunk
        tls.close()
        assert reply.startswith(b"HTTP/1.0 201"), reply[:200]
    finally:
        for sock in slow:
            sock.close()
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30 * SCALE)
    assert "1 accepted" in out, out + err


def test_a_token_file_others_can_read_is_refused(tmp_path, workspace, run_cli):
    token = tmp_path / "token"
    token.write_text(TOKEN)
    token.chmod(0o644)
    result = run_cli("-w", str(workspace.root), "serve", "--token-file", str(token))
    assert result.returncode == 2
    assert "readable by other users" in result.stderr and "chmod 600" in result.stderr
