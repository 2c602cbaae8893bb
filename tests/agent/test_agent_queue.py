"""The bounded local queue: a report that cannot be pushed is kept and sent later."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys

import pytest
from timeouts import scaled

from itaudit.agent.push import PushError, PushResult
from itaudit.agent.queue import ReportQueue
from itaudit.store import open_store

TOKEN = "queue-test-token-0123456789"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(workspace, token_file, port: int) -> subprocess.Popen:
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
            str(port),
            "--name",
            "localhost",
            "--token-file",
            str(token_file),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    line = proc.stdout.readline()
    if not re.search(r":(\d+)/api/v1/reports", line):
        proc.kill()
        pytest.fail(f"collector did not start: {line}{proc.stderr.read()}")
    return proc


def _stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.communicate(timeout=scaled(20))
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()


def test_push_while_the_collector_is_down_is_sent_later(tmp_path, workspace, run_cli):
    from itaudit.server import ensure_self_signed

    token = tmp_path / "token"
    token.write_text(TOKEN)
    token.chmod(0o600)
    cert, _key = ensure_self_signed(workspace.inventory / "tls", ["localhost"])
    port = _free_port()  # nothing listens there yet
    url = f"https://localhost:{port}"
    queue = tmp_path / "queue"
    common = ["--cafile", str(cert), "--token-file", str(token)]
    down = run_cli(
        "agent",
        "collect",
        "--push",
        url,
        *common,
        "--key",
        str(tmp_path / "k.pem"),
        "--queue",
        str(queue),
        timeout=180,
    )
    assert down.returncode == 0, down.output
    assert "kept in" in down.stderr and "1 waiting" in down.stderr
    waiting = ReportQueue(queue).items()
    assert len(waiting) == 1
    # The queue alone, collector still down: nothing lost, exit 3.
    still = run_cli("agent", "push", "--push", url, "--queue", str(queue), *common)
    assert still.returncode == 3 and "1 report(s) still wait" in still.output
    assert ReportQueue(queue).items() == waiting

    proc = _serve(workspace, token, port)
    try:
        sent = run_cli("agent", "push", "--push", url, "--queue", str(queue), *common)
        assert sent.returncode == 0, sent.output
        assert f"queue: sent {waiting[0].name}" in sent.stderr
    finally:
        _stop(proc)
    assert ReportQueue(queue).items() == []
    store = open_store(workspace.store_url())
    try:
        assert store.counts()["reports"] == 1
        assert len(store.hosts()) == 1
    finally:
        store.close()


def _reply(status: str, code: int) -> PushResult:
    return PushResult(code, status, "")


def test_queue_is_bounded_oldest_dropped(tmp_path):
    queue = ReportQueue(tmp_path / "q", limit=2)
    first, _ = queue.put(b'{"n": 1}')
    queue.put(b'{"n": 2}')
    _path, dropped = queue.put(b'{"n": 3}')
    assert dropped == [first.name]
    assert len(queue.items()) == 2
    sent: list[bytes] = []
    result = queue.drain(lambda data: sent.append(data) or _reply("accepted", 201))
    assert sent == [b'{"n": 2}', b'{"n": 3}']  # oldest first
    assert len(result.sent) == 2 and queue.items() == []


def test_drain_stops_at_the_first_that_cannot_go_and_drops_refused_ones(tmp_path):
    queue = ReportQueue(tmp_path / "q")
    for n in range(3):
        queue.put(f'{{"n": {n}}}'.encode())
    replies = iter([_reply("rejected", 422), _reply("error", 503)])
    result = queue.drain(lambda data: next(replies))
    assert len(result.refused) == 1 and "HTTP 422" in result.refused[0][1]
    assert result.stopped is not None and "503" in result.stopped
    assert result.waiting == 2 and len(queue.items()) == 2

    def unreachable(_data: bytes) -> PushResult:
        raise PushError("cannot reach https://x: connection refused")

    result = queue.drain(unreachable)
    assert result.sent == [] and "connection refused" in (result.stopped or "")
    assert len(queue.items()) == 2


def test_queue_without_push_is_a_usage_error(tmp_path, run_cli):
    result = run_cli("agent", "collect", "--queue", str(tmp_path / "q"))
    assert result.returncode == 2 and "--queue goes with --push" in result.output
