"""SIGKILL in the middle of a large ingest leaves only whole reports behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from itaudit.signing import content_hash
from itaudit.store import open_store
from itaudit.store import tables as t

N_REPORTS = 3000


def _count_reports(url: str) -> int:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(t.reports)).scalar_one()
    except sa.exc.OperationalError:
        return 0  # not created yet
    except sa.exc.ProgrammingError:
        return 0
    finally:
        engine.dispose()


@pytest.mark.slow
def test_sigkill_mid_batch_leaves_whole_reports(
    tmp_path: Path, store_url: str, make_report, workspace
):
    folder = tmp_path / "batch"
    folder.mkdir()
    for i in range(N_REPORTS):
        (folder / f"r{i:05d}.json").write_text(json.dumps(make_report(f"KILL-{i:05d}")))
    env = {k: v for k, v in os.environ.items() if not k.startswith("ITAUDIT_")}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "itaudit",
            "-w",
            str(workspace.root),
            "--store",
            store_url,
            "ingest",
            "-q",
            str(folder),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    deadline = time.monotonic() + 120
    stored = 0
    while time.monotonic() < deadline and proc.poll() is None:
        stored = _count_reports(store_url)
        if stored >= 400:  # at least two batches committed, more in flight
            break
        time.sleep(0.02)
    assert proc.poll() is None, "ingest finished before it could be killed: raise N_REPORTS"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL

    store = open_store(store_url)
    try:
        assert store.integrity_check() == []
        counts = store.counts()
        assert 400 <= counts["reports"] < N_REPORTS
        assert counts["hosts"] == counts["reports"]  # one report per host here: no half-made host
        with store.read() as conn:
            rows = conn.execute(sa.select(t.reports.c.content_hash, t.reports.c.document)).all()
        for digest, text in rows:
            assert content_hash(json.loads(text)) == digest
    finally:
        store.close()

    # Running the same ingest again completes the batch: what was stored is a duplicate.
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "itaudit",
            "-w",
            str(workspace.root),
            "--store",
            store_url,
            "ingest",
            "-q",
            str(folder),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert (
        f"{N_REPORTS - counts['reports']} accepted, {counts['reports']} duplicate, 0 rejected"
        in done.stdout
    )
